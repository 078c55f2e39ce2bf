"""The certificate PDF keeps long values inside their place: no text over the QR code or
off the page, nothing lost (a unit's name may be 200 characters, a person's 50)."""

from __future__ import annotations

from datetime import date

import pypdfium2 as pdfium
import pytest
from reportlab.lib.pagesizes import A4, landscape

from service.services.documents.certificate_pdf import Document, font_for, render_pdf

WIDTH, HEIGHT = landscape(A4)
QR_LEFT = WIDTH - 200  # the QR code and its caption, down the right of the page
INNER_FRAME = 34  # the inner red frame, points from each edge


def facts(name: str, unit_name: str) -> dict:
    return {
        "name": name,
        "id_number_masked": "**************1235",
        "type": "监理员",
        "specialty_1": "房屋建筑工程",
        "specialty_2": "市政公用工程",
        "number": "GDJL-2025-000001",
        "first_issued_on": date(2025, 3, 1),
        "valid_until": date(2028, 2, 29),
        "unit_name": unit_name,
        "status": "valid",
        "status_label": "有效",
    }


def text_in(page, left: float, bottom: float, right: float, top: float) -> str:
    return "".join(page.get_textpage().get_text_bounded(left, bottom, right, top).split())


@pytest.mark.parametrize(
    ("name", "unit_name"),
    [
        ("张三", "广州珠江工程建设监理有限公司"),
        ("欧阳" * 25, "广东省" + "珠江三角洲工程建设监理" * 19 + "公司"),  # 50 and 200
        ("欧阳娜娜", "广东" + "华南建设项目管理" * 6 + "有限公司"),  # 54: two lines
        ("Nguyen Thi Minh Khai Tran Le Hoang Phuong Anh Ngoc", "Ltd" * 66),
    ],
    ids=["short", "longest", "two-lines", "latin"],
)
def test_a_long_name_or_unit_name_stays_whole_left_of_the_qr_code_and_inside_the_frame(
    name, unit_name
):
    doc = Document(facts(name, unit_name), "http://x/", None, font_for(None))
    pdf = pdfium.PdfDocument(render_pdf(doc))
    try:
        page = pdf[0]
        assert text_in(page, QR_LEFT, 0, WIDTH, HEIGHT) == "扫码查询证书"
        assert text_in(page, 0, 0, INNER_FRAME, HEIGHT) == ""
        assert text_in(page, 0, 0, WIDTH, INNER_FRAME) == ""
        values = text_in(page, 290, 80, QR_LEFT, HEIGHT - 170)
        assert "".join(name.split()) in values
        assert unit_name in values
    finally:
        pdf.close()


def test_rows_do_not_run_into_each_other():
    """A two-line name stays between the rows above and below it."""
    doc = Document(facts("欧阳" * 25, "广州珠江工程"), "http://x/", None, font_for(None))
    pdf = pdfium.PdfDocument(render_pdf(doc))
    try:
        page = pdf[0]
        name_row = HEIGHT - 190  # the first row's baseline
        assert text_in(page, 290, name_row - 14, QR_LEFT, name_row + 24) == "欧阳" * 25
        assert text_in(page, 290, name_row - 44, QR_LEFT, name_row - 16) == "**************1235"
    finally:
        pdf.close()
