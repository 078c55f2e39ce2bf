"""Reading an uploaded .xlsx with bounded memory and time.

An .xlsx is a zip of XML. A few hundred kilobytes can expand to gigabytes (a zip bomb),
hold a million empty rows, or nest XML a million deep, and openpyxl reads whatever it is
given. So before openpyxl touches the file, its zip directory and every XML part are
checked here: member count, sizes and compression ratio from the directory; then each XML
part is streamed once through expat (nothing kept) for its nesting depth, the number of
rows and shared strings, the elements in one row, the length of one text and of all. Only then
does openpyxl read the first sheet, in read-only mode, no wider than the header, counting
every row it yields (empty ones too) against the row limit, until a deadline in CPU
time of the request thread (time waiting for a busy CPU is not the file's cost).

Refusals are FormInvalid (422: not an .xlsx, malformed, too many rows or columns) or
TooLarge (413: too big once unpacked, or too slow to read), each saying what is wrong.
"""

from __future__ import annotations

import struct
import time
import zipfile
from dataclasses import dataclass
from io import BytesIO
from xml.parsers import expat

from openpyxl import load_workbook

from service.domain.errors import FormInvalid, ServiceError, TooLarge

MB = 1024 * 1024
NOT_XLSX = "不是有效的 Excel 文件（.xlsx）"
SAVE_AS_XLSX = "请在 Excel 中另存为 .xlsx 格式（文件 → 另存为 → Excel 工作簿）后重新导入"
HEADER_IN_ROW_1 = "表头（列名）须在第1行：请删除表头上方的标题行或空行"
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # an .xls (Excel 97-2003) or encrypted file
_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_ROW, _SHARED_STRING = f"{_MAIN} row", f"{_MAIN} si"
_MERGE_CELL = f"{_MAIN} mergeCell"
_CHUNK = 64 * 1024
_XML_STARTS = (b"<", b"\xef\xbb\xbf", b"\xff\xfe", b"\xfe\xff")  # markup or a BOM


@dataclass(frozen=True)
class Limits:
    """What one import may cost; the defaults fit the largest real export with room."""

    max_rows: int = 20000  # data rows below the header, empty rows included
    max_columns: int = 64  # the header row, up to its last named column
    max_members: int = 200  # files in the zip (a workbook has about a dozen)
    max_directory: int = 256 * 1024  # bytes of zip directory
    max_unpacked: int = 64 * MB  # all files together, unpacked
    max_member: int = 32 * MB  # one file, unpacked
    max_ratio: int = 100  # unpacked / packed, for files over 1 MB
    max_shared_strings: int = 100_000
    max_depth: int = 64  # XML nesting
    max_item_elements: int = 20_000  # elements inside one row or one shared string
    max_loose_elements: int = 50_000  # elements of one XML part outside rows and strings
    max_text: int = 32 * 1024  # characters of one XML text
    max_part_text: int = 16 * MB  # characters of all the text of one XML part
    max_cell: int = 1000  # characters of one cell's value
    seconds: float = 8.0  # CPU seconds of the whole read, checks included (this thread's)


LIMITS = Limits()


@dataclass(frozen=True)
class Table:
    """The first sheet: its header names and its non-empty rows (Excel row number, values)."""

    header: list[str]
    rows: list[tuple[int, tuple]]


def read_table(content: bytes, limits: Limits = LIMITS) -> Table:
    """The first sheet of an uploaded .xlsx; FormInvalid or TooLarge when it is refused."""
    deadline = time.thread_time() + limits.seconds
    check_archive(content, limits, deadline)
    try:
        wb = load_workbook(BytesIO(content), read_only=True, data_only=True)
    except Exception as exc:  # noqa: BLE001 - openpyxl raises anything on a malformed file
        raise _not_xlsx() from exc
    try:
        return _read_first_sheet(wb, limits, deadline)
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - as above, while the rows are parsed
        raise _not_xlsx() from exc
    finally:
        wb.close()


def _read_first_sheet(wb, limits: Limits, deadline: float) -> Table:
    if not wb.worksheets:
        raise _malformed("没有工作表")
    if time.thread_time() > deadline:
        raise _timeout(limits)
    sheet = wb.worksheets[0]
    sheet.reset_dimensions()  # read what is there, not what the file claims
    first = next(sheet.iter_rows(max_row=1, max_col=limits.max_columns + 1, values_only=True), ())
    header = [str(h).strip() if h is not None else "" for h in first]
    while header and not header[-1]:
        header.pop()
    if len(header) > limits.max_columns:
        raise _malformed(f"列数超过{limits.max_columns}列")
    if not header:
        return Table([], [])
    rows, empty = [], 0
    # as wide as the header: a sheet that claims 16,384 columns is read 6 wide, not padded
    for number, values in enumerate(
        sheet.iter_rows(min_row=2, max_col=len(header), values_only=True), start=2
    ):
        if number - 1 > limits.max_rows:
            raise _too_many_rows(limits, empty, number - 2)
        if time.thread_time() > deadline:
            raise _timeout(limits)
        if all(v is None or v == "" for v in values):
            empty += 1
            continue
        for v in values:
            if isinstance(v, str) and len(v) > limits.max_cell:
                problem = f"单元格内容超过{limits.max_cell}个字符"
                raise FormInvalid(
                    {f"第{number}行": problem}, f"Excel 文件第{number}行{problem}，未导入任何记录"
                )
        rows.append((number, values))
    return Table(header, rows)


def _too_many_rows(limits: Limits, empty: int, counted: int) -> FormInvalid:
    if empty * 2 > counted:
        return FormInvalid(
            {"file": f"Excel 文件空行过多（空行也计入{limits.max_rows}行的上限）"},
            f"Excel 文件空行过多：空行也计入一次最多{limits.max_rows}行的上限，"
            "请删除空行后重新导入，未导入任何记录",
        )
    return FormInvalid(
        {"file": f"一次最多导入{limits.max_rows}行"},
        f"Excel 文件超过{limits.max_rows}行：一次最多导入{limits.max_rows}行，未导入任何记录",
    )


def _not_xlsx() -> FormInvalid:
    return FormInvalid({"file": NOT_XLSX}, f"{NOT_XLSX}，未导入任何记录")


def _other_format(content: bytes) -> FormInvalid:
    """What to say of a file that is no zip at all: an .xls or a .csv is to be saved as .xlsx."""
    if content.startswith(_OLE2):
        what = "这是旧版 Excel 文件（.xls）或已加密的文件"
    else:
        sample = content[:4096]
        try:
            text = sample.decode("utf-8") if not sample.startswith(b"\xff\xfe") else ""
        except UnicodeDecodeError:
            try:
                text = sample.decode("gb18030")
            except UnicodeDecodeError:
                text = ""
        if not (text and ("," in text or "\t" in text) and "\x00" not in text):
            return _not_xlsx()
        what = "这是 CSV 文本文件"
    return FormInvalid(
        {"file": f"{what}，{SAVE_AS_XLSX}"}, f"{what}，未导入任何记录；{SAVE_AS_XLSX}"
    )


def merged_cell(ref: str) -> FormInvalid:
    """A merged cell: its value is only in its first cell, the others read as empty."""
    problem = f"含合并单元格（{ref}）"
    return FormInvalid(
        {"file": problem},
        f"Excel 文件{problem}，未导入任何记录；请取消合并单元格"
        "（开始 → 合并后居中 → 取消单元格合并），并在每一行填写完整后重新导入",
    )


def _timeout(limits: Limits) -> TooLarge:
    seconds = f"{limits.seconds:g}"
    return TooLarge(
        f"Excel 文件处理超时（超过{seconds}秒），请拆分成较小的文件后重新导入，未导入任何记录",
        {"file": f"处理超时（超过{seconds}秒）"},
    )


def _unpacked_too_large(what: str) -> TooLarge:
    return TooLarge(f"Excel 文件解压后过大：{what}，未导入任何记录", {"file": "解压后过大"})


def _malformed(what: str) -> FormInvalid:
    return FormInvalid(
        {"file": f"Excel 文件结构异常：{what}"}, f"Excel 文件结构异常：{what}，未导入任何记录"
    )


# --- the zip ------------------------------------------------------------------------------


def _directory_size(content: bytes) -> tuple[int, int]:
    """(entries, bytes) of the zip directory, read from its end record before zipfile does."""
    start = content.rfind(b"PK\x05\x06", max(0, len(content) - 22 - 65535))
    if start < 0 or len(content) - start < 22:
        raise _other_format(content) if not content.startswith(b"PK") else _not_xlsx()
    entries, size = struct.unpack_from("<HL", content, start + 10)
    if entries == 0xFFFF or size == 0xFFFFFFFF:  # zip64: the real figures are further back
        locator = start - 20
        if locator < 0 or content[locator : locator + 4] != b"PK\x06\x07":
            raise _not_xlsx()
        (offset,) = struct.unpack_from("<Q", content, locator + 8)
        if offset + 56 > len(content) or content[offset : offset + 4] != b"PK\x06\x06":
            raise _not_xlsx()
        entries, size = struct.unpack_from("<QQ", content, offset + 32)
    return entries, size


def check_archive(content: bytes, limits: Limits = LIMITS, deadline: float | None = None):
    """Refuse a zip bomb, a huge directory or hostile XML before any parser builds a tree."""
    deadline = deadline if deadline is not None else time.thread_time() + limits.seconds
    entries, directory = _directory_size(content)
    if entries > limits.max_members or directory > limits.max_directory:
        raise _malformed(f"包含的文件过多（超过{limits.max_members}个）")
    try:
        archive = zipfile.ZipFile(BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _not_xlsx() from exc
    with archive:
        members = archive.infolist()
        if len(members) > limits.max_members:
            raise _malformed(f"包含的文件过多（超过{limits.max_members}个）")
        total = 0
        for info in members:
            if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
                raise _not_xlsx()
            if info.flag_bits & 0x1:
                raise FormInvalid(
                    {"file": "Excel 文件已加密"},
                    "Excel 文件已加密，未导入任何记录；请取消密码后重新导入",
                )
            total += info.file_size
            if info.file_size > limits.max_member or total > limits.max_unpacked:
                raise _unpacked_too_large(f"超过{limits.max_unpacked // MB}MB")
            if info.file_size > MB and info.file_size > limits.max_ratio * info.compress_size:
                raise _unpacked_too_large(f"压缩比超过{limits.max_ratio}倍，疑似压缩炸弹")
        for info in members:  # by content, not name: openpyxl follows the rels to any name
            _scan_xml(archive, info, limits, deadline)


# --- the XML parts ---------------------------------------------------------------------


class _XmlScan:
    """Counts what openpyxl would build from one XML part, refusing past the limits."""

    def __init__(self, limits: Limits):
        self.limits = limits
        self.depth = self.items = self.in_item = self.item_elements = self.loose = 0
        self.text = self.all_text = 0

    def start(self, name, attrs) -> None:
        self.depth += 1
        self.text = 0
        if self.depth > self.limits.max_depth:
            raise _malformed(f"XML 嵌套超过{self.limits.max_depth}层")
        if self.in_item:
            self.item_elements += 1
            if self.item_elements > self.limits.max_item_elements:
                raise _malformed("单行的单元格过多")
        elif name == _MERGE_CELL:
            raise merged_cell(attrs.get("ref", ""))
        elif name == _ROW or name == _SHARED_STRING:
            # openpyxl clears a row or a shared string once read: only the count stays
            self.in_item, self.item_elements = self.depth, 0
            self.items += 1
            self._count_item(name, attrs)
        else:
            self.loose += 1
            if self.loose > self.limits.max_loose_elements:
                raise _malformed("XML 元素过多")

    def _count_item(self, name, attrs) -> None:
        limits = self.limits
        if name == _SHARED_STRING:
            if self.items > limits.max_shared_strings:
                raise _unpacked_too_large(f"共享字符串超过{limits.max_shared_strings}个")
            return
        number = attrs.get("r", "")
        row = int(number) if number.isdigit() and len(number) < 10 else self.items
        # the header and max_rows rows; a row numbered far below counts the rows it skips
        if max(row, self.items) > limits.max_rows + 1:
            raise FormInvalid(
                {"file": f"Excel 文件行数（含空行）超过{limits.max_rows}行"},
                f"Excel 文件行数过多或空行过多：空行也计入一次最多{limits.max_rows}行的上限，"
                "未导入任何记录",
            )

    def end(self, _name) -> None:
        if self.in_item == self.depth:
            self.in_item = 0
        self.depth -= 1
        self.text = 0

    def chars(self, data: str) -> None:
        self.text += len(data)
        self.all_text += len(data)
        if self.text > self.limits.max_text:
            raise _malformed(f"单元格或文字内容超过{self.limits.max_text}个字符")
        if self.all_text > self.limits.max_part_text:
            raise _unpacked_too_large(f"文字内容超过{self.limits.max_part_text // MB}M个字符")


def _refuse_dtd(*_args) -> None:
    raise _malformed("不允许包含 DTD 或实体声明")


def _scan_xml(archive: zipfile.ZipFile, info: zipfile.ZipInfo, limits, deadline) -> None:
    scan = _XmlScan(limits)
    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler = scan.start
    parser.EndElementHandler = scan.end
    parser.CharacterDataHandler = scan.chars
    parser.StartDoctypeDeclHandler = _refuse_dtd
    parser.EntityDeclHandler = _refuse_dtd
    try:
        with archive.open(info) as stream:
            chunk = stream.read(_CHUNK)
            if not chunk.lstrip(b" \t\r\n").startswith(_XML_STARTS):
                return  # an image or other binary part: no parser reads it as XML
            while chunk:
                parser.Parse(chunk, False)
                if time.thread_time() > deadline:
                    raise _timeout(limits)
                chunk = stream.read(_CHUNK)
            parser.Parse(b"", True)
    except expat.ExpatError as exc:
        raise _not_xlsx() from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:  # CRC, truncation
        raise _not_xlsx() from exc
