"""Small .xlsx files built part by part, hostile ones included (for the import tests)."""

from __future__ import annotations

import io
import struct
import zipfile

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
HEADER = ("身份证号", "姓名", "已完成学时", "考试状态", "考试次数")
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG = "http://schemas.openxmlformats.org/package/2006"
_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"

CONTENT_TYPES = (
    f'<Types xmlns="{_PKG}/content-types">'
    f'<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{_TYPE}.worksheet+xml"/>'
    f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_TYPE}.sharedStrings+xml"/>'
    "</Types>"
)
PARTS = {
    "[Content_Types].xml": CONTENT_TYPES,
    "_rels/.rels": (
        f'<Relationships xmlns="{_PKG}/relationships"><Relationship Id="rId1" '
        f'Type="{_REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<workbook xmlns="{MAIN}" xmlns:r="{_REL}"><sheets>'
        '<sheet name="学习记录" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        f'<Relationships xmlns="{_PKG}/relationships">'
        f'<Relationship Id="rId1" Type="{_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_REL}/sharedStrings" Target="sharedStrings.xml"/>'
        "</Relationships>"
    ),
    "xl/sharedStrings.xml": f'<sst xmlns="{MAIN}"/>',
}


def cell(ref: str, value) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>'


def row(number: int, values) -> str:
    cells = "".join(cell(f"{chr(65 + i)}{number}", v) for i, v in enumerate(values))
    return f'<row r="{number}">{cells}</row>'


def sheet(rows: str = "", dimension: str | None = None, header=HEADER) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        f'<worksheet xmlns="{MAIN}">{dim}<sheetData>{row(1, header)}{rows}</sheetData></worksheet>'
    )


def xlsx(sheet_xml: str | None = None, parts: dict | None = None) -> bytes:
    """An .xlsx of PARTS and the given sheet; `parts` adds or replaces files by path."""
    files = dict(PARTS)
    files["xl/worksheets/sheet1.xml"] = sheet_xml or sheet()
    files.update(parts or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
        for name, text in files.items():
            z.writestr(name, text.encode() if isinstance(text, str) else text)
    return buf.getvalue()


def shared_strings_bomb(mb: int = 4) -> bytes:
    """Shared strings that unpack to `mb` MB from a few kilobytes."""
    strings = "<si><t>x</t></si>" * (mb * 1024 * 1024 // 17)
    return xlsx(
        sheet(row(2, ["x"])), {"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>'}
    )


def marked_encrypted(content: bytes) -> bytes:
    """The same zip with every member flagged as encrypted (as a password-protected one is)."""
    data = bytearray(content)
    for signature, flag_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        start = data.find(signature)
        while start >= 0:
            data[start + flag_at] |= 0x1
            start = data.find(signature, start + 4)
    return bytes(data)


def as_zip64(content: bytes, claimed_entries: int | None = None) -> bytes:
    """The same archive with its directory's end in zip64 form (optionally claiming more)."""
    end = content.rfind(b"PK\x05\x06")
    sig, disk, disk_cd, _, total, size, offset, _ = struct.unpack_from("<4s4H2LH", content, end)
    entries = claimed_entries or total
    record = struct.pack(
        "<4sQ2H2L4Q", b"PK\x06\x06", 44, 45, 45, 0, 0, entries, entries, size, offset
    )
    locator = struct.pack("<4sLQL", b"PK\x06\x07", 0, end, 1)
    marker = struct.pack("<4s4H2LH", sig, disk, disk_cd, 0xFFFF, 0xFFFF, 0xFFFFFFFF, 0xFFFFFFFF, 0)
    return content[:end] + record + locator + marker
