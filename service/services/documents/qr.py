"""QR codes: every code the platform shows (join, confirmation, certificate lookup)."""

from __future__ import annotations

import io

import qrcode
from PIL import Image


def qr_image(text: str, box_size: int = 8) -> Image.Image:
    """A black-on-white QR image of `text` with a two-module quiet zone."""
    return qrcode.make(text, box_size=box_size, border=2).get_image().convert("L")


def qr_png(text: str, box_size: int = 8) -> bytes:
    """The QR image of `text` as PNG bytes."""
    buf = io.BytesIO()
    qr_image(text, box_size).save(buf, format="PNG")
    return buf.getvalue()
