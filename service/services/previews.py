"""Previews of uploaded materials: image thumbnails and PDF pages drawn as PNG images.

Reviewers look at materials in the page; a PDF is drawn page by page on the server, so no
browser plug-in is needed. Results are kept in a small in-memory cache (the blob path
names the content's hash, so a cached preview never goes stale).
"""

from __future__ import annotations

import io
import threading
from functools import lru_cache
from pathlib import Path

import pypdfium2
from PIL import Image, ImageDraw

from service.domain.errors import NotFound

THUMB_SIZE = (240, 240)
PAGE_WIDTH = 1100  # pixels of a drawn PDF page
MAX_PAGES = 20
_PDFIUM = threading.Lock()  # pdfium is not thread-safe


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _placeholder(text: str) -> bytes:
    image = Image.new("RGB", THUMB_SIZE, "#eef1f5")
    ImageDraw.Draw(image).text((12, THUMB_SIZE[1] // 2 - 6), text, fill="#555")
    return _png(image)


def _render_pdf_page(path: str, index: int, width: int) -> Image.Image | None:
    with _PDFIUM:
        pdf = pypdfium2.PdfDocument(path)
        try:
            if index >= len(pdf):
                return None
            page = pdf[index]
            scale = min(width / max(page.get_width(), 1), 3.0)
            return page.render(scale=scale).to_pil().convert("RGB")
        finally:
            pdf.close()


@lru_cache(maxsize=256)
def _thumbnail(path: str, content_type: str) -> bytes:
    try:
        if content_type == "application/pdf":
            image = _render_pdf_page(path, 0, THUMB_SIZE[0] * 2)
            if image is None:
                return _placeholder("PDF")
        else:
            image = Image.open(path)
            image.draft("RGB", (THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2))  # JPEG: decode small
            image = image.convert("RGB")
        image.thumbnail(THUMB_SIZE)
        return _png(image)
    except (OSError, ValueError, Image.DecompressionBombError, pypdfium2.PdfiumError):
        return _placeholder("无法预览")


def thumbnail(path: Path, content_type: str) -> bytes:
    """A PNG no larger than 240×240 of an image, or of a PDF's first page."""
    return _thumbnail(str(path), content_type)


@lru_cache(maxsize=64)
def _page(path: str, number: int) -> bytes | None:
    try:
        image = _render_pdf_page(path, number - 1, PAGE_WIDTH)
    except (OSError, ValueError, pypdfium2.PdfiumError):
        return _placeholder("无法预览")
    return _png(image) if image is not None else None


def pdf_page(path: Path, number: int) -> bytes:
    """Page `number` (from 1) of a PDF as a PNG; NotFound past its last page."""
    png = _page(str(path), number) if 1 <= number <= MAX_PAGES else None
    if png is None:
        raise NotFound("该页不存在")
    return png


def pdf_page_count(path: Path) -> int:
    """How many pages a PDF has (0 when it cannot be read)."""
    try:
        with _PDFIUM:
            pdf = pypdfium2.PdfDocument(str(path))
            try:
                return len(pdf)
            finally:
                pdf.close()
    except (OSError, ValueError, pypdfium2.PdfiumError):
        return 0
