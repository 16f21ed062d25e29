"""Real images made with Pillow for the photo tests: a JPEG as a phone writes it (EXIF with a GPS
position, the camera, and an orientation), and helpers to read what was stored back."""

from __future__ import annotations

import io

from PIL import Image

GPS_IFD = 0x8825
ORIENTATION = 0x0112
MAKE = 0x010F
#: 广州市番禺区 (latitude 22°56'N, longitude 113°23'E): where the "phone" says the photo was taken.
GPS = {1: "N", 2: (22.0, 56.0, 12.5), 3: "E", 4: (113.0, 23.0, 4.0)}


def phone_jpeg(
    size: tuple[int, int] = (160, 120),
    *,
    orientation: int = 6,
    color: tuple[int, int, int] = (200, 40, 40),
) -> bytes:
    """A JPEG carrying EXIF GPS, camera make and ``orientation`` (6: shown turned 90° clockwise).
    Its left half is ``color`` and its right half white, so orientation can be checked."""
    image = Image.new("RGB", size, (255, 255, 255))
    image.paste(color, (0, 0, size[0] // 2, size[1]))
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    exif[MAKE] = "MinWeiPhone"
    exif.get_ifd(GPS_IFD).update(GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif, quality=90)
    return out.getvalue()


def exif_of(data: bytes) -> dict[int, object]:
    """The EXIF tags of an image (empty when it has none)."""
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif())


def gps_of(data: bytes) -> dict[int, object]:
    with Image.open(io.BytesIO(data)) as image:
        return dict(image.getexif().get_ifd(GPS_IFD))


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def png(size: tuple[int, int] = (40, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGBA", size, (0, 120, 200, 128)).save(out, format="PNG")
    return out.getvalue()
