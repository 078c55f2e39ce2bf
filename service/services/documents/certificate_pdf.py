"""The electronic certificate (电子证) drawn as one A4 PDF page with reportlab.

Chinese text uses the TrueType font named by MEMBERFLOW_CERTIFICATE_FONT, embedded in the
PDF (a subset), so every viewer shows it the same; without one, reportlab's built-in CID
font STSong-Light needs no font file on the server but is not embedded, so the viewer
shows the Chinese in its own Chinese font (phones and Acrobat have one; a viewer without
any Chinese font shows blanks). The QR code carries the public lookup address.

A character the font cannot write (STSong-Light's UCS-2 encoding has nothing above U+FFFF,
so 𠮷 U+20BB7 and the rest of CJK Extension B onwards print blank; a TrueType font lacks
what is not in its cmap) is written in the first fallback TrueType font that has it
(MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS: Debian's Hanazono and BabelStone Han), each run of
text measured in its own font so that shrinking and wrapping stay right. A character no font
has is printed as its code point (U+31351) in small Latin letters and logged: a blank in a
name on a certificate reads as a different name.
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
from reportlab.pdfbase.ttfonts import SUBSETN, TTFont
from reportlab.pdfgen.canvas import Canvas

from service.services.documents.qr import qr_image

log = logging.getLogger("memberflow.documents")
ISSUER = "广东省建设监理协会"
FONT = "STSong-Light"
Fonts = tuple[str, tuple[str, ...]]  # the font written in and its fallbacks' files

_RED, _INK, _GREY = HexColor("#a4161a"), HexColor("#222222"), HexColor("#888888")


@dataclass(frozen=True)
class Document:
    """What one certificate's PDF shows, and the font it is written in (see `font_for`)."""

    facts: dict
    url: str
    photo: Image.Image | None
    font: str = FONT
    fallbacks: tuple[str, ...] = ()  # TrueType files, for the characters `font` lacks


class _TTFont(TTFont):
    """A TrueType font whose characters above U+FFFF copy and search as themselves.

    reportlab's ToUnicode map writes each code point as four hex digits, so 𠮷 U+20BB7 read
    back from the PDF as U+20BB (₻); the PDF reference wants UTF-16, a surrogate pair.
    """

    def addObjects(self, doc) -> None:
        state = self.state.get(doc)
        subsets = [list(subset) for subset in state.subsets] if state else []
        super().addObjects(doc)
        for n, subset in enumerate(subsets):
            if max(subset, default=0) > 0xFFFF:
                face = self.face
                base = b"".join((SUBSETN(n), b"+", face.name, face.subfontNameX)).decode("pdfdoc")
                doc.idToObject[f"toUnicodeCMap:{base}"].content = _to_unicode(base, subset)


def _to_unicode(name: str, subset: list[int]) -> str:
    """The ToUnicode CMap reportlab writes, each character's code point in UTF-16."""
    pairs = [
        f"<{i:02X}> <{chr(c).encode('utf-16-be').hex().upper()}>" for i, c in enumerate(subset)
    ]
    return "\n".join(
        [
            "/CIDInit /ProcSet findresource begin",
            "12 dict begin",
            "begincmap",
            f"/CIDSystemInfo << /Registry ({name}) /Ordering ({name}) /Supplement 0 >> def",
            f"/CMapName /{name} def",
            "/CMapType 2 def",
            "1 begincodespacerange",
            f"<00> <{len(subset) - 1:02X}>",
            "endcodespacerange",
            f"{len(subset)} beginbfchar",
            *pairs,
            "endbfchar",
            "endcmap",
            "CMapName currentdict /CMap defineresource pop",
            "end",
            "end",
        ]
    )


@cache
def font_for(path: str | None = None) -> str:
    """The registered font to write in: a TrueType file embedded in the PDF, or the CID font.

    reportlab keeps a global registry, so each font is registered once per process.
    """
    if path:
        name = f"certificate-{Path(path).stem}"
        pdfmetrics.registerFont(_TTFont(name, path, subfontIndex=0))
        return name
    pdfmetrics.registerFont(UnicodeCIDFont(FONT))
    return FONT


@cache
def _fallback(path: str) -> str | None:
    """The registered name of a fallback font, loaded at its first use (Hanazono and BabelStone
    Han take 180 MB of memory together, which a process showing no rare character never
    needs); None, and an error logged once, when reportlab cannot load it."""
    from reportlab.pdfbase.ttfonts import TTFError

    name = f"certificate-fallback-{Path(path).stem}"
    try:
        pdfmetrics.registerFont(_TTFont(name, path, subfontIndex=0))
    except (TTFError, OSError, ValueError) as exc:
        log.error("证书备用字体无法加载，已跳过：%s（%s）", path, exc)
        return None
    return name


def _has(font: str, ch: str) -> bool:
    """Whether `font` writes `ch`: a TrueType font when its cmap has it; the CID font for any
    character of the BMP (its text goes out as UTF-16, and the UCS-2 CMap maps no surrogate)."""
    registered = pdfmetrics.getFont(font)
    if isinstance(registered, TTFont):
        return ord(ch) in registered.face.charToGlyph
    return ord(ch) <= 0xFFFF


def _font_of(ch: str, font: str, fallbacks: tuple[str, ...]) -> str | None:
    if _has(font, ch):
        return font
    for path in fallbacks:
        name = _fallback(path)
        if name and _has(name, ch):
            return name
    return None


def _runs(text: str, font: str, fallbacks: tuple[str, ...]) -> list[tuple[str | None, str]]:
    """`text` cut into runs of one font each; None for characters no font has."""
    runs: list[tuple[str | None, str]] = []
    for ch in text:
        name = _font_of(ch, font, fallbacks)
        if runs and runs[-1][0] == name:
            runs[-1] = (name, runs[-1][1] + ch)
        else:
            runs.append((name, ch))
    return runs


_CODE_FONT, _CODE_SCALE = "Helvetica", 0.55  # a missing character's code point: small, Latin


def _codes(text: str) -> str:
    return " ".join(f"U+{ord(ch):04X}" for ch in text)


def _pieces(text: str, size: float, fonts: Fonts) -> list[tuple[str, float, str]]:
    """What drawing `text` writes: (font, size, text) in order."""
    return [
        (name, size, run) if name else (_CODE_FONT, size * _CODE_SCALE, _codes(run))
        for name, run in _runs(text, *fonts)
    ]


def _width(text: str, size: float, fonts: Fonts) -> float:
    return sum(pdfmetrics.stringWidth(t, f, s) for f, s, t in _pieces(text, size, fonts))


def _draw(
    canvas: Canvas, x: float, y: float, text: str, size: float, fonts: Fonts, centred=False
) -> None:
    """`text` from (x, y), or centred on x, each run in its font."""
    if centred:
        x -= _width(text, size, fonts) / 2
    for font, run_size, run in _pieces(text, size, fonts):
        canvas.setFont(font, run_size)
        canvas.drawString(x, y, run)
        x += pdfmetrics.stringWidth(run, font, run_size)


def _warn_missing(doc: Document) -> None:
    """One warning per certificate naming each character no font writes, printed as its code."""
    fonts = (doc.font, doc.fallbacks)
    for label, value in _fields(doc.facts):
        missing = "".join(run for name, run in _runs(value, *fonts) if name is None)
        if missing:
            log.warning(
                "证书 %s 的%s“%s”中 %s 没有可用字体，已印为编码；请配置含该字的 "
                "MEMBERFLOW_CERTIFICATE_FALLBACK_FONTS",
                doc.facts["number"],
                label,
                value,
                _codes(missing),
            )


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


def _wrap(text: str, size: float, width: float, fonts: Fonts) -> list[str]:
    """`text` broken into lines no wider than `width`, by character (Chinese has no spaces)."""
    lines, line = [], ""
    for ch in text:
        if line and _width(line + ch, size, fonts) > width:
            lines.append(line)
            line = ch
        else:
            line += ch
    return [*lines, line]


def _fit(text: str, width: float, fonts: Fonts, max_lines: int) -> tuple[float, list[str]]:
    """The size and lines a value is written in within `width`: one line, shrunk to no
    less than 11 points; else broken over at most `max_lines` lines, shrunk to no less
    than 8; a value longer still (never one the forms accept) ends its last line in "…"."""
    size = _SIZE
    while size > _ONE_LINE_FLOOR and _width(text, size, fonts) > width:
        size -= 0.5
    lines = _wrap(text, size, width, fonts)
    while len(lines) > max_lines and size > _FLOOR:
        size -= 0.5
        lines = _wrap(text, size, width, fonts)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _width(last + "…", size, fonts) > width:
            last = last[:-1]
        lines = [*lines[: max_lines - 1], last + "…"]
    return size, lines


def _frame(canvas: Canvas, width: float, height: float) -> None:
    canvas.setStrokeColor(_RED)
    canvas.setLineWidth(4)
    canvas.rect(24, 24, width - 48, height - 48)
    canvas.setLineWidth(1)
    canvas.rect(34, 34, width - 68, height - 68)


def _heading(canvas: Canvas, width: float, height: float, fonts: Fonts) -> None:
    canvas.setFillColor(_RED)
    _draw(canvas, width / 2, height - 100, "培训证书", 34, fonts, centred=True)
    canvas.setFillColor(_INK)
    _draw(canvas, width / 2, height - 130, ISSUER, 16, fonts, centred=True)


def _photo(canvas: Canvas, photo: Image.Image | None, x: float, y: float) -> None:
    """The holder's photo in a 1-inch frame; without one the frame stays blank (a word
    printed in it read as part of the certificate, and a photo may be pasted there)."""
    w, h = 96, 128
    canvas.setStrokeColor(_GREY)
    canvas.rect(x, y, w, h)
    if photo is None:
        return
    canvas.drawImage(ImageReader(photo), x, y, w, h, preserveAspectRatio=True, anchor="c")


def _details(canvas: Canvas, facts: dict, x: float, top: float, fonts: Fonts) -> None:
    """The fields one per row. A value too long for its row at 11 points takes two lines
    centred on the row; the last row (工作单位, the longest) runs down over the free space
    below it. Nothing reaches the QR code on the right or the page's edge."""
    value_x, width = x + 90, 330
    fields = _fields(facts)
    for index, (label, value) in enumerate(fields):
        y = top - index * _ROW
        canvas.setFillColor(_GREY)
        _draw(canvas, x, y, f"{label}：", 13, fonts)
        canvas.setFillColor(_INK)
        last = index == len(fields) - 1
        size, lines = _fit(value, width, fonts, 6 if last else 2)
        leading = size * _LEADING
        first = y if last else y + (len(lines) - 1) * leading / 2
        for number, line in enumerate(lines):
            _draw(canvas, value_x, first - number * leading, line, size, fonts)


def _qr(canvas: Canvas, url: str, x: float, y: float, fonts: Fonts) -> None:
    image = qr_image(url, box_size=6)
    canvas.drawImage(ImageReader(image), x, y, 130, 130)
    canvas.setFillColor(_GREY)
    _draw(canvas, x + 65, y - 14, "扫码查询证书", 10, fonts, centred=True)


def _footer(canvas: Canvas, facts: dict, fonts: Fonts) -> None:
    canvas.setFillColor(_INK)
    _draw(canvas, 80, 70, f"发证单位：{ISSUER}", 12, fonts)
    _draw(canvas, 80, 52, f"证书状态：{facts['status_label']}", 12, fonts)


def _status_mark(canvas: Canvas, width: float, height: float, fonts: Fonts, label: str) -> None:
    """A certificate no longer in force (已过期, 已升级) may still be downloaded by its holder,
    its unit and the association, but says so across the page: a printout of it must not
    read as a valid certificate."""
    canvas.saveState()
    canvas.setFillColor(_RED)
    canvas.translate(width - 220, height - 120)
    canvas.rotate(-18)
    _draw(canvas, 0, 0, label, 48, fonts, centred=True)
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
    fonts = (doc.font, doc.fallbacks)
    _frame(canvas, width, height)
    _heading(canvas, width, height, fonts)
    _photo(canvas, doc.photo, 80, height - 310)
    _warn_missing(doc)
    _details(canvas, doc.facts, 210, height - 190, fonts)
    _qr(canvas, doc.url, width - 200, 80, fonts)
    _footer(canvas, doc.facts, fonts)
    if doc.facts["status"] != "valid":
        _status_mark(canvas, width, height, fonts, doc.facts["status_label"])
    canvas.showPage()
    canvas.save()
    return buf.getvalue()
