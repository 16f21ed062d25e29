"""How long cleaning one phone photo takes (``tickets.photos.clean_image``: decode, apply the EXIF
orientation, re-encode without EXIF at most 2560 px, thumbnail), and how large the result is.

The photo is made here: 4032×3024 (a 12-megapixel phone camera), smooth gradients with noise so the
JPEG is phone-sized, EXIF with GPS and orientation 6. Run:
``.venv/bin/python -m benchmarks.bench_photos [--runs 5]``."""

from __future__ import annotations

import argparse
import io
import statistics
import time

from PIL import Image

from tests.support.images import GPS, GPS_IFD, ORIENTATION
from tickets.photos import clean_image


def phone_photo(width: int = 4032, height: int = 3024) -> bytes:
    gradient = Image.linear_gradient("L").resize((width, height))
    noise = Image.effect_noise((width, height), 12)
    image = Image.merge("RGB", (gradient, noise, gradient.transpose(Image.Transpose.ROTATE_180)))
    exif = Image.Exif()
    exif[ORIENTATION] = 6
    exif.get_ifd(GPS_IFD).update(GPS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=90, exif=exif)
    return out.getvalue()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    raw = phone_photo()
    times = []
    for _ in range(args.runs):
        start = time.process_time()
        kept = clean_image(raw, max_bytes=20 * 1024 * 1024)
        times.append(time.process_time() - start)
    print(f"input: 4032x3024 JPEG, {len(raw) / 1e6:.2f} MB, with EXIF GPS")
    print(
        f"stored: {kept.width}x{kept.height}, {kept.size / 1e6:.2f} MB; thumbnail {len(kept.thumb) / 1e3:.1f} kB"
    )
    print(
        f"CPU seconds per photo: median {statistics.median(times):.3f}, min {min(times):.3f} ({args.runs} runs)"
    )


if __name__ == "__main__":
    main()
