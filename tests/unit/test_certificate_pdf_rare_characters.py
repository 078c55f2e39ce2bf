"""Names with characters outside the BMP (CJK Extension B onwards: 𠮷 U+20BB7, 𪚥, 𬌗, 𱍐)
print on the certificate in a fallback font instead of a blank; a character no font has
prints as its code point and is logged."""

from __future__ import annotations

import io
import logging
import os
from datetime import date
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import reportlab
from pypdf import PdfReader
from reportlab.lib.pagesizes import A4, landscape

from service.config import CERTIFICATE_FALLBACK_FONTS, ConfigError, load_config
from service.services.documents.certificate_pdf import Document, font_for, render_pdf

WIDTH, HEIGHT = landscape(A4)
QR_LEFT = WIDTH - 200
INNER_FRAME = 34
FALLBACKS = tuple(p for p in CERTIFICATE_FALLBACK_FONTS if Path(p).is_file())
VERA = str(Path(reportlab.__file__).parent / "fonts" / "Vera.ttf")  # Latin only


@pytest.fixture(autouse=True)
def debian_fonts():
    """Skip loudly without fonts-hanazono and fonts-babelstone-han, but fail under CI=true
    (scripts/_browser.sh installs them)."""
    if len(FALLBACKS) < len(CERTIFICATE_FALLBACK_FONTS):
        message = "fonts-hanazono and fonts-babelstone-han are not installed"
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires " + message)
        pytest.skip("!!!!!!!! " + message + " !!!!!!!!")


def facts(name: str, unit_name: str) -> dict:
    return {
        "name": name,
        "id_number_masked": "**************1235",
        "type": "监理员",
        "specialty_1": "房屋建筑工程",
        "specialty_2": None,
        "number": "GDJL-2025-000007",
        "first_issued_on": date(2025, 3, 1),
        "valid_until": date(2028, 2, 29),
        "unit_name": unit_name,
        "status": "valid",
        "status_label": "有效",
    }


def render(name: str, unit_name: str, font: str | None = None) -> bytes:
    return render_pdf(
        Document(facts(name, unit_name), "http://x/", None, font_for(font), FALLBACKS)
    )


def text_in(pdf: bytes, left=0.0, bottom=0.0, right=WIDTH, top=HEIGHT) -> str:
    doc = pdfium.PdfDocument(pdf)
    try:
        page = doc[0].get_textpage()
        return "".join(page.get_text_bounded(left, bottom, right, top).split())
    finally:
        doc.close()


def embedded_fonts(pdf: bytes) -> list[str]:
    fonts = PdfReader(io.BytesIO(pdf)).pages[0]["/Resources"]["/Font"]
    names = []
    for ref in fonts.values():
        font = ref.get_object()
        descriptor = font.get("/FontDescriptor")
        if descriptor is not None and "/FontFile2" in descriptor.get_object():
            names.append(str(font["/BaseFont"]))
    return names


def test_a_name_and_a_unit_name_from_extension_b_print_whole():
    pdf = render("陈𠮷䶮", "广东𠮷祥建设监理有限公司")
    values = text_in(pdf, 290, 80, QR_LEFT, HEIGHT - 170)
    assert "陈𠮷䶮" in values  # copied or searched as themselves, not as U+20BB (₻)
    assert "广东𠮷祥建设监理有限公司" in values
    assert [n for n in embedded_fonts(pdf) if "HanaMinB" in n], embedded_fonts(pdf)


def test_characters_of_extensions_c_to_h_print_whole():
    pdf = render("黄𪚥", "王𱍐𬌗监理")  # 𪚥 Ext B, 𬌗 Ext E, 𱍐 U+31350 Ext H
    values = text_in(pdf, 290, 80, QR_LEFT, HEIGHT - 170)
    assert "黄𪚥" in values and "王𱍐𬌗监理" in values
    assert [n for n in embedded_fonts(pdf) if "BabelStone" in n], embedded_fonts(pdf)


def test_a_certificate_with_no_rare_character_embeds_no_fallback_font():
    assert embedded_fonts(render("张三", "广州珠江工程建设监理有限公司")) == []


def test_a_truetype_font_without_chinese_writes_the_chinese_in_a_fallback_font():
    pdf = render("张三𠮷", "Pearl River 监理 Ltd", font=VERA)
    assert "张三𠮷" in text_in(pdf) and "PearlRiver监理Ltd" in text_in(pdf)
    fonts = embedded_fonts(pdf)
    for face in ("BitstreamVeraSans", "HanaMinA", "HanaMinB"):  # Latin, 张三, 𠮷
        assert [n for n in fonts if face in n], fonts


def test_a_character_no_font_has_prints_as_its_code_point_and_is_logged(caplog):
    with caplog.at_level(logging.WARNING, logger="memberflow.documents"):
        pdf = render("陈\U000f0000明", "广州监理")  # private use: in no font
    assert "陈U+F0000明" in text_in(pdf, 290, 80, QR_LEFT, HEIGHT - 170)
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert "GDJL-2025-000007" in warning and "U+F0000" in warning and "姓名" in warning


@pytest.mark.parametrize("font", [None, VERA], ids=["cid", "latin-truetype"])
def test_a_long_unit_name_of_rare_characters_wraps_inside_its_place(font):
    """Each run measured in its own font (Vera's width for a character it lacks is not a
    Chinese character's): nothing reaches the QR code or the frame."""
    unit_name = "广东" + "𠮷𪚥𬌗祥" * 40 + "公司"  # 164 characters, 120 outside the BMP
    pdf = render("𠮷" * 24, unit_name, font)
    assert text_in(pdf, QR_LEFT, 0, WIDTH, HEIGHT) == "扫码查询证书"
    assert text_in(pdf, 0, 0, INNER_FRAME, HEIGHT) == ""
    assert text_in(pdf, 0, 0, WIDTH, INNER_FRAME) == ""
    values = text_in(pdf, 290, 80, QR_LEFT, HEIGHT - 170)
    assert "𠮷" * 24 in values and unit_name in values


# --- the configuration ---------------------------------------------------------------------


def test_unset_the_installed_debian_fonts_are_the_fallbacks(monkeypatch, tmp_path):
    monkeypatch.delenv("MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS", raising=False)
    assert load_config(instance_dir=tmp_path).certificate_fallback_fonts == FALLBACKS


def test_the_fallbacks_are_a_list_of_paths_and_empty_means_none(monkeypatch, tmp_path):
    name = "MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS"
    monkeypatch.setenv(name, os.pathsep.join([VERA, FALLBACKS[0]]))
    assert load_config(instance_dir=tmp_path).certificate_fallback_fonts == (VERA, FALLBACKS[0])
    monkeypatch.setenv(name, "")
    assert load_config(instance_dir=tmp_path).certificate_fallback_fonts == ()


def test_a_missing_or_postscript_fallback_font_stops_start_up(monkeypatch, tmp_path):
    name = "MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS"
    monkeypatch.setenv(name, str(tmp_path / "nope.ttf"))
    with pytest.raises(ConfigError, match="字体文件不存在"):
        load_config(instance_dir=tmp_path)
    noto = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")  # CFF outlines
    if noto.is_file():
        monkeypatch.setenv(name, str(noto))
        with pytest.raises(ConfigError, match="不是 TrueType 字体"):
            load_config(instance_dir=tmp_path)
