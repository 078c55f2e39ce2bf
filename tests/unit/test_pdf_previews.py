"""PDF pages are drawn at the reviewer's width, but never into an image of millions of
pixels more than a page needs: a page may be 14,400 points long."""

from __future__ import annotations

import io

import pytest
from pypdf import PdfWriter

from service.services.documents import previews


def pdf_of(width: float, height: float) -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=width, height=height)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


@pytest.mark.parametrize(
    ("width", "height"), [(400, 14400), (14400, 14400), (3, 14400)], ids=["tall", "huge", "thin"]
)
def test_an_oversized_page_is_drawn_within_the_pixel_budget(width, height):
    image = previews._render_pdf_page(pdf_of(width, height), 0, previews.PAGE_WIDTH)
    assert image.width * image.height <= previews.MAX_PAGE_PIXELS * 1.01  # pdfium rounds up
    assert abs(image.width / image.height - width / height) < 0.01  # not distorted


def test_an_a4_page_is_still_drawn_at_the_full_width():
    image = previews._render_pdf_page(pdf_of(595, 842), 0, previews.PAGE_WIDTH)
    assert image.width == previews.PAGE_WIDTH
