"""The electronic certificate (电子证) drawn as one A4 PDF page with reportlab.

Chinese text uses the TrueType font named by MEMBERFLOW_CERTIFICATE_FONT, embedded in the
PDF (a subset), so every viewer shows it the same; without one, reportlab's built-in CID
font STSong-Light needs no font file on the server but is not embedded, so the viewer
shows the Chinese in its own Chinese font (phones and Acrobat have one; a viewer without
any Chinese font shows blanks). The QR code carries the public lookup address.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass
from datetime import date
from functools import cache
from pathlib import Path

from PIL import Image
from reportlab.lib.colors import HexColor
from reportlab.lib.pagesizes import A4, landscape
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas

from service.services.documents.qr import qr_image

log = logging.getLogger("memberflow.documents")
ISSUER = "广东省建设监理协会"
FONT = "STSong-Light"
_RED, _INK, _GREY = HexColor("#a4161a"), HexColor("#222222"), HexColor("#888888")


@dataclass(frozen=True)
class Document:
    """What one certificate's PDF shows, and the font it is written in (see `font_for`)."""

    facts: dict
    url: str
    photo: Image.Image | None
    font: str = FONT


@cache
def font_for(path: str | None = None) -> str:
    """The registered font to write in: a TrueType file embedded in the PDF, or the CID font.

    reportlab keeps a global registry, so each font is registered once per process.
    """
    if path:
        name = f"certificate-{Path(path).stem}"
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=0))
        return name
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


def check_font(path: str) -> None:
    """Load the configured font now (start-up), as a certificate would: a file reportlab
    cannot embed (PostScript/CFF outlines, as in Noto CJK's .ttc and .otf files, or no font
    at all) stops the start with what to set, instead of every certificate failing."""
    from reportlab.pdfbase.ttfonts import TTFError

    from service.config import ConfigError

    try:
        name = font_for(path)
    except (TTFError, OSError, ValueError) as exc:
        raise ConfigError(
            f"MEMBERFLOW_CERTIFICATE_FONT 不是可用的 TrueType 字体：{path}（{exc}）。"
            "需要 TrueType 轮廓的 .ttf 文件（或其 .ttc 合集，如 wqy-microhei.ttc）；"
            "PostScript/CFF 轮廓的字体（如 NotoSansCJK-Regular.ttc、.otf）不能嵌入 PDF"
        ) from exc
    face = getattr(pdfmetrics.getFont(name), "face", None)
    glyphs = getattr(face, "charToGlyph", None) or {}
    if glyphs and not all(ord(ch) in glyphs for ch in ISSUER):
        log.warning(
            "MEMBERFLOW_CERTIFICATE_FONT=%s 不含汉字（如“%s”）：电子证上的中文将无法显示",
            path,
            ISSUER,
        )


def _day(value: date | None) -> str:
    return f"{value.year}年{value.month:02d}月{value.day:02d}日" if value else "—"


def _specialties(facts: dict) -> str:
    names = [s for s in (facts["specialty_1"], facts["specialty_2"]) if s]
    return "、".join(names) or "—"


def _valid_until(facts: dict) -> str:
    """有效期至, with the last 延续 when there was one: a renewed certificate read as one
    issued for six years."""
    renewed = facts.get("renewed_on")
    said = _day(facts["valid_until"])
    return f"{said}（{_day(renewed)}延续）" if renewed else said


def _fields(facts: dict) -> list[tuple[str, str]]:
    return [
        ("姓名", facts["name"]),
        ("身份证号", facts["id_number_masked"]),
        ("证书类型", facts["type"]),
        ("专业", _specialties(facts)),
        ("证书编号", facts["number"]),
        ("发证日期", _day(facts["first_issued_on"])),
        ("有效期至", _valid_until(facts)),
        ("工作单位", facts["unit_name"]),
    ]


_ROW = 30  # points between two rows of the details
_SIZE, _ONE_LINE_FLOOR, _FLOOR = 15, 11, 8  # a value's size: at most, on one line, at least
_LEADING = 1.15


def _wrap(text: str, size: float, width: float, font: str) -> list[str]:
    """`text` broken into lines no wider than `width`, by character (Chinese has no spaces)."""
    lines, line = [], ""
    for ch in text:
        if line and pdfmetrics.stringWidth(line + ch, font, size) > width:
            lines.append(line)
            line = ch
        else:
            line += ch
    return [*lines, line]


def _fit(text: str, width: float, font: str, max_lines: int) -> tuple[float, list[str]]:
    """The size and lines a value is written in within `width`: one line, shrunk to no
    less than 11 points; else broken over at most `max_lines` lines, shrunk to no less
    than 8; a value longer still (never one the forms accept) ends its last line in "…"."""
    size = _SIZE
    while size > _ONE_LINE_FLOOR and pdfmetrics.stringWidth(text, font, size) > width:
        size -= 0.5
    lines = _wrap(text, size, width, font)
    while len(lines) > max_lines and size > _FLOOR:
        size -= 0.5
        lines = _wrap(text, size, width, font)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and pdfmetrics.stringWidth(last + "…", font, size) > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return size, lines


def _frame(canvas: Canvas, width: float, height: float) -> None:
    canvas.setStrokeColor(_RED)
    canvas.setLineWidth(4)
    canvas.rect(24, 24, width - 48, height - 48)
    canvas.setLineWidth(1)
    canvas.rect(34, 34, width - 68, height - 68)


def _heading(canvas: Canvas, width: float, height: float, font: str) -> None:
    canvas.setFillColor(_RED)
    canvas.setFont(font, 34)
    canvas.drawCentredString(width / 2, height - 100, "培训证书")
    canvas.setFillColor(_INK)
    canvas.setFont(font, 16)
    canvas.drawCentredString(width / 2, height - 130, ISSUER)


def _photo(canvas: Canvas, photo: Image.Image | None, x: float, y: float) -> None:
    """The holder's photo in a 1-inch frame; without one the frame stays blank (a word
    printed in it read as part of the certificate, and a photo may be pasted there)."""
    w, h = 96, 128
    canvas.setStrokeColor(_GREY)
    canvas.rect(x, y, w, h)
    if photo is None:
        return
    canvas.drawImage(ImageReader(photo), x, y, w, h, preserveAspectRatio=True, anchor="c")


def _details(canvas: Canvas, facts: dict, x: float, top: float, font: str) -> None:
    """The fields one per row. A value too long for its row at 11 points takes two lines
    centred on the row; the last row (工作单位, the longest) runs down over the free space
    below it. Nothing reaches the QR code on the right or the page's edge."""
    value_x, width = x + 90, 330
    fields = _fields(facts)
    for index, (label, value) in enumerate(fields):
        y = top - index * _ROW
        canvas.setFillColor(_GREY)
        canvas.setFont(font, 13)
        canvas.drawString(x, y, f"{label}：")
        canvas.setFillColor(_INK)
        last = index == len(fields) - 1
        size, lines = _fit(value, width, font, 6 if last else 2)
        canvas.setFont(font, size)
        leading = size * _LEADING
        first = y if last else y + (len(lines) - 1) * leading / 2
        for number, line in enumerate(lines):
            canvas.drawString(value_x, first - number * leading, line)


def _qr(canvas: Canvas, url: str, x: float, y: float, font: str) -> None:
    image = qr_image(url, box_size=6)
    canvas.drawImage(ImageReader(image), x, y, 130, 130)
    canvas.setFillColor(_GREY)
    canvas.setFont(font, 10)
    canvas.drawCentredString(x + 65, y - 14, "扫码查询证书")


def _footer(canvas: Canvas, facts: dict, font: str) -> None:
    canvas.setFillColor(_INK)
    canvas.setFont(font, 12)
    canvas.drawString(80, 70, f"发证单位：{ISSUER}")
    canvas.drawString(80, 52, f"证书状态：{facts['status_label']}")


def _status_mark(canvas: Canvas, width: float, height: float, font: str, label: str) -> None:
    """A certificate no longer in force (已过期, 已升级) may still be downloaded by its holder,
    its unit and the association, but says so across the page: a printout of it must not
    read as a valid certificate."""
    canvas.saveState()
    canvas.setFillColor(_RED)
    canvas.setFont(font, 48)
    canvas.translate(width - 220, height - 120)
    canvas.rotate(-18)
    canvas.drawCentredString(0, 0, label)
    canvas.restoreState()


def render_pdf(doc: Document) -> bytes:
    """One certificate on an A4 landscape page; invariant mode keeps the bytes reproducible."""
    width, height = landscape(A4)
    buf = io.BytesIO()
    canvas = Canvas(buf, pagesize=(width, height), invariant=1, pageCompression=1)
    canvas.setTitle(f"培训证书 {doc.facts['number']}")
    canvas.setAuthor(ISSUER)
    canvas.setSubject(f"{doc.facts['type']} {doc.facts['name']}")
    canvas.setCreator("memberflow")
    _frame(canvas, width, height)
    _heading(canvas, width, height, doc.font)
    _photo(canvas, doc.photo, 80, height - 310)
    _details(canvas, doc.facts, 210, height - 190, doc.font)
    _qr(canvas, doc.url, width - 200, 80, doc.font)
    _footer(canvas, doc.facts, doc.font)
    if doc.facts["status"] != "valid":
        _status_mark(canvas, width, height, doc.font, doc.facts["status_label"])
    canvas.showPage()
    canvas.save()
    return buf.getvalue()
