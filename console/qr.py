"""QR codes for the printable progress posters (标识+二维码), drawn as inline SVG by segno."""

from __future__ import annotations

import io

import segno


def svg(url: str, *, scale: int = 6) -> str:
    """An SVG QR code for ``url`` (error correction M survives a creased or weathered print)."""
    code = segno.make(url, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=scale,
        border=2,
        xmldecl=False,
        svgclass="qr",
        lineclass=None,
        omitsize=True,  # a viewBox instead of a fixed size: the page's CSS sizes it
    )
    return out.getvalue().decode("ascii")
