"""Previews of uploaded materials: image thumbnails and PDF pages drawn as PNG images.

Reviewers look at materials in the page; a PDF is drawn page by page on the server, so no
browser plug-in is needed. Results are kept in a small in-memory cache keyed by the
content's hash (a hash's bytes never change, so a cached preview never goes stale); the
bytes are read from the storage only on a miss.
"""

from __future__ import annotations

import io
import math
import threading
from collections import OrderedDict
from collections.abc import Callable

import pypdfium2
from PIL import Image, ImageDraw

from service.domain.errors import NotFound
from service.services.documents.photo import upright_rgb
from service.storage import Blob

THUMB_SIZE = (240, 240)
PAGE_WIDTH = 1100  # pixels of a drawn PDF page
# at most this many pixels a drawn page (an A4 page 1100 wide is 1.7 million): a page 400
# points wide and 14,400 tall (PDF allows it) would otherwise be 1100 × 39,600 pixels,
# seconds of CPU and some 300 MB, under the one pdfium lock every preview waits for
MAX_PAGE_PIXELS = 6_000_000
MAX_PAGES = 20
_PDFIUM = threading.Lock()  # pdfium is not thread-safe


class _Cache:
    """A small thread-safe LRU of computed previews."""

    def __init__(self, size: int):
        self.size = size
        self.items: OrderedDict = OrderedDict()
        self.lock = threading.Lock()

    def get(self, key, compute: Callable):
        with self.lock:
            if key in self.items:
                self.items.move_to_end(key)
                return self.items[key]
        value = compute()
        with self.lock:
            self.items[key] = value
            while len(self.items) > self.size:
                self.items.popitem(last=False)
        return value


_thumbs = _Cache(256)
_pages = _Cache(64)
_counts = _Cache(256)


def _png(image: Image.Image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", optimize=True)
    return buf.getvalue()


def _placeholder(text: str) -> bytes:
    image = Image.new("RGB", THUMB_SIZE, "#eef1f5")
    ImageDraw.Draw(image).text((12, THUMB_SIZE[1] // 2 - 6), text, fill="#555")
    return _png(image)


def _render_pdf_page(content: bytes, index: int, width: int) -> Image.Image | None:
    with _PDFIUM:
        pdf = pypdfium2.PdfDocument(content)
        try:
            if index >= len(pdf):
                return None
            page = pdf[index]
            w, h = max(page.get_width(), 1), max(page.get_height(), 1)
            scale = min(width / w, 3.0, math.sqrt(MAX_PAGE_PIXELS / (w * h)))
            return page.render(scale=scale).to_pil().convert("RGB")
        finally:
            pdf.close()


def _thumbnail(content: bytes, content_type: str) -> bytes:
    try:
        if content_type == "application/pdf":
            image = _render_pdf_page(content, 0, THUMB_SIZE[0] * 2)
            if image is None:
                return _placeholder("PDF")
        else:
            image = Image.open(io.BytesIO(content))
            image.draft("RGB", (THUMB_SIZE[0] * 2, THUMB_SIZE[1] * 2))  # JPEG: decode small
            image = upright_rgb(image)  # a phone's portrait photo stands, not lies
        image.thumbnail(THUMB_SIZE)
        return _png(image)
    except (OSError, ValueError, Image.DecompressionBombError, pypdfium2.PdfiumError):
        return _placeholder("无法预览")


def thumbnail(blob: Blob, content_type: str) -> bytes:
    """A PNG no larger than 240×240 of an image, or of a PDF's first page."""
    if content_type.startswith("video/"):  # shown by a player, not drawn: its bytes unread
        return _thumbs.get("video", lambda: _placeholder("VIDEO"))
    return _thumbs.get((blob.key, content_type), lambda: _thumbnail(blob.read(), content_type))


def _page(content: bytes, number: int) -> bytes | None:
    try:
        image = _render_pdf_page(content, number - 1, PAGE_WIDTH)
    except (OSError, ValueError, pypdfium2.PdfiumError):
        return _placeholder("无法预览")
    return _png(image) if image is not None else None


def pdf_page(blob: Blob, number: int) -> bytes:
    """Page `number` (from 1) of a PDF as a PNG; NotFound past its last page."""
    png = None
    if 1 <= number <= MAX_PAGES:
        png = _pages.get((blob.key, number), lambda: _page(blob.read(), number))
    if png is None:
        raise NotFound("该页不存在")
    return png


def _count(content: bytes) -> int:
    try:
        with _PDFIUM:
            pdf = pypdfium2.PdfDocument(content)
            try:
                return len(pdf)
            finally:
                pdf.close()
    except (OSError, ValueError, pypdfium2.PdfiumError):
        return 0


def pdf_page_count(blob: Blob) -> int:
    """How many pages a PDF has (0 when it cannot be read)."""
    return _counts.get(blob.key, lambda: _count(blob.read()))
