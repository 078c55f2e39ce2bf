"""The first sheet of an .xlsx as a stream of rows, for imports of tens of thousands of rows.

`excel_import.read_table` reads through openpyxl and keeps every row: right for a few
thousand rows, but openpyxl spends about half a millisecond of CPU per row of forty
columns and the list grows with the file. This reader takes the same precautions first
(`check_archive`: zip bomb, too many rows or strings, hostile XML — refused before any
parsing) and then streams the sheet's XML once through expat, yielding each row as it
ends, so memory holds one chunk and one row (and the shared strings, bounded by the
limits). Its own CPU time is bounded by `limits.seconds`; the caller's work between rows
is not counted. Dates are real dates where the cell's number format is a date format, counted
in the workbook's own date system (1900, or 1904 as older Mac Excel saves).
"""

from __future__ import annotations

import posixpath
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from io import BytesIO
from xml.etree import ElementTree
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format

from service.domain.errors import FormInvalid, ServiceError
from service.services.documents.excel_import import (
    LIMITS,
    Limits,
    _malformed,
    _not_xlsx,
    _timeout,
    check_archive,
)

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CHUNK = 64 * 1024
_ROW, _CELL, _VALUE, _TEXT = (f"{_MAIN} {n}" for n in ("row", "c", "v", "t"))
_SI, _PHONETIC = f"{_MAIN} si", f"{_MAIN} rPh"
_EPOCH = datetime(1899, 12, 30)
_EPOCH_1904 = datetime(1904, 1, 1)  # older Mac Excel's date system (<workbookPr date1904>)
# Excel's built-in East Asian date formats (年月日 in a Chinese locale): a workbook names them
# by id only, and openpyxl's BUILTIN_FORMATS does not hold them
_LOCALE_DATE_FORMATS = {*range(27, 37), *range(50, 59)}


@dataclass
class Sheet:
    """The header (names of the first row) and an iterator of (row number, values)."""

    header: list[str]
    rows: Iterator[tuple[int, tuple]]


def _column(ref: str) -> int:
    """0-based column of a cell reference such as "AB12"."""
    n = 0
    for ch in ref:
        if "A" <= ch <= "Z":
            n = n * 26 + ord(ch) - 64
        else:
            break
    return n - 1


def _rels(archive: zipfile.ZipFile, part: str) -> dict[str, tuple[str, str]]:
    """Relationship id -> (type's last word, target path) of a part."""
    folder, name = posixpath.split(part)
    path = posixpath.join(folder, "_rels", name + ".rels")
    try:
        root = ElementTree.fromstring(archive.read(path))
    except KeyError:
        return {}
    out = {}
    for rel in root.iter(f"{{{_PKG_REL}}}Relationship"):
        target = rel.get("Target", "")
        full = target.lstrip("/") if target.startswith("/") else posixpath.join(folder, target)
        out[rel.get("Id")] = (rel.get("Type", "").rsplit("/", 1)[-1], posixpath.normpath(full))
    return out


def _date_styles(archive: zipfile.ZipFile, path: str | None) -> set[int]:
    """Indexes of the cell styles whose number format shows a date."""
    if path is None or path not in archive.namelist():
        return set()
    root = ElementTree.fromstring(archive.read(path))
    formats = dict(BUILTIN_FORMATS)
    for fmt in root.iter(f"{{{_MAIN}}}numFmt"):
        formats[int(fmt.get("numFmtId", "0"))] = fmt.get("formatCode", "")
    xfs = root.find(f"{{{_MAIN}}}cellXfs")
    found = set()
    for index, xf in enumerate(xfs if xfs is not None else []):
        format_id = int(xf.get("numFmtId", "0"))
        code = formats.get(format_id)
        if is_date_format(code or "") or (code is None and format_id in _LOCALE_DATE_FORMATS):
            found.add(index)
    return found


def _epoch(book: ElementTree.Element) -> datetime:
    """Day 0 of the workbook's date serials: 1904-01-01 where it says date1904, else Excel's
    1899-12-30."""
    props = book.find(f"{{{_MAIN}}}workbookPr")
    flag = props.get("date1904", "") if props is not None else ""
    return _EPOCH_1904 if flag.strip().lower() in ("1", "true") else _EPOCH


def _shared_strings(archive: zipfile.ZipFile, path: str | None) -> list[str]:
    if path is None or path not in archive.namelist():
        return []
    strings: list[str] = []
    parts: list[str] = []
    state = {"in_t": False, "skip": 0}

    def start(name, _attrs):
        if name == _PHONETIC:  # phonetic guide text is not part of the value
            state["skip"] += 1
        elif name == _TEXT and not state["skip"]:
            state["in_t"] = True

    def end(name):
        if name == _PHONETIC:
            state["skip"] -= 1
        elif name == _TEXT:
            state["in_t"] = False
        elif name == _SI:
            strings.append("".join(parts))
            parts.clear()

    def chars(data):
        if state["in_t"]:
            parts.append(data)

    parser = expat.ParserCreate(namespace_separator=" ")
    parser.StartElementHandler, parser.EndElementHandler = start, end
    parser.CharacterDataHandler = chars
    parser.ParseFile(archive.open(path))
    return strings


class _RowParser:
    """expat handlers that turn <row> elements into value tuples, collected in `ready`."""

    def __init__(
        self, shared: list[str], date_styles: set[int], limits: Limits, epoch: datetime = _EPOCH
    ):
        self.shared, self.date_styles, self.limits = shared, date_styles, limits
        self.epoch = epoch
        self.ready: list[tuple[int, dict[int, object]]] = []
        self.row: dict[int, object] | None = None
        self.row_number = 0
        self.col = -1
        self.cell_type = self.cell_style = None
        self.text: list[str] = []
        self.collect = False

    def start(self, name, attrs):
        if name == _CELL and self.row is not None:
            ref = attrs.get("r")
            self.col = _column(ref) if ref else self.col + 1
            self.cell_type = attrs.get("t", "n")
            style = attrs.get("s")
            self.cell_style = int(style) if style and style.isdigit() else 0
            self.text = []
        elif (name == _VALUE or name == _TEXT) and self.row is not None:
            self.collect = True
        elif name == _ROW:
            number = attrs.get("r")
            self.row_number = int(number) if number and number.isdigit() else self.row_number + 1
            self.row, self.col = {}, -1

    def chars(self, data):
        if self.collect:
            self.text.append(data)

    def end(self, name):
        if name == _VALUE or name == _TEXT:
            self.collect = False
        elif name == _CELL and self.row is not None:
            value = self._value("".join(self.text))
            if value is not None and value != "":
                self.row[self.col] = value
        elif name == _ROW and self.row is not None:
            self.ready.append((self.row_number, self.row))
            self.row = None

    def _short(self, text: str) -> str:
        if len(text) > self.limits.max_cell:
            problem = f"单元格内容超过{self.limits.max_cell}个字符"
            raise FormInvalid(
                {f"第{self.row_number}行": problem},
                f"Excel 文件第{self.row_number}行{problem}，未导入任何记录",
            )
        return text

    def _value(self, text: str):
        kind = self.cell_type
        if kind == "s":
            try:
                return self._short(self.shared[int(text)])
            except (ValueError, IndexError):
                raise _not_xlsx() from None
        if kind in ("inlineStr", "str", "e"):
            return self._short(text)
        if kind == "b":
            return text.strip() == "1"
        if kind == "d":
            return text.strip()[:10]
        if not text.strip():
            return None
        try:
            number = float(text)
        except ValueError:
            raise _not_xlsx() from None
        if self.cell_style in self.date_styles:
            try:
                return (self.epoch + timedelta(days=number)).date()
            except OverflowError:
                return text
        return int(number) if number.is_integer() and abs(number) < 2**53 else number


def stream_first_sheet(content: bytes, limits: Limits = LIMITS) -> Sheet:
    """The first sheet's header and a lazy iterator of its non-empty data rows.

    FormInvalid (422) or TooLarge (413) as `excel_import.read_table` refuses a file; a
    refusal found while rows stream (a long cell, the time limit) is raised from the iterator.
    """
    deadline = time.thread_time() + limits.seconds
    check_archive(content, limits, deadline)
    try:
        archive = zipfile.ZipFile(BytesIO(content))
        rels = _rels(archive, "xl/workbook.xml")
        book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
        sheets = book.find(f"{{{_MAIN}}}sheets")
        first = sheets[0] if sheets is not None and len(sheets) else None
        if first is None:
            raise _malformed("没有工作表")
        sheet_path = rels[first.get(f"{{{_REL}}}id")][1]
        by_type = {kind: path for kind, path in rels.values()}
        shared = _shared_strings(archive, by_type.get("sharedStrings"))
        date_styles = _date_styles(archive, by_type.get("styles"))
        epoch = _epoch(book)
        stream = archive.open(sheet_path)
    except ServiceError:
        raise
    except Exception as exc:  # noqa: BLE001 - a malformed package fails anywhere above
        raise _not_xlsx() from exc
    rows = _rows(
        archive,
        stream,
        _RowParser(shared, date_styles, limits, epoch),
        limits,
        deadline - time.thread_time(),
    )
    try:
        header_row = next(rows, None)
    except ServiceError:
        raise
    header: list[str] = []
    if header_row is not None and header_row[0] == 1:
        cells = header_row[1]
        header = [str(cells.get(i, "")).strip() for i in range(max(cells, default=-1) + 1)]
    while header and not header[-1]:
        header.pop()
    if len(header) > limits.max_columns:
        raise _malformed(f"列数超过{limits.max_columns}列")
    width = len(header)

    def data_rows() -> Iterator[tuple[int, tuple]]:
        if header_row is not None and header_row[0] != 1:
            yield header_row[0], tuple(header_row[1].get(i) for i in range(width))
        for number, cells in rows:
            values = tuple(cells.get(i) for i in range(width))
            if any(v is not None for v in values):
                yield number, values

    return Sheet(header, data_rows())


def _rows(archive, stream, parser: _RowParser, limits: Limits, budget: float):
    """(row number, {column: value}) per <row>, parsing a chunk at a time within `budget`."""
    expat_parser = expat.ParserCreate(namespace_separator=" ")
    expat_parser.StartElementHandler = parser.start
    expat_parser.EndElementHandler = parser.end
    expat_parser.CharacterDataHandler = parser.chars
    with archive, stream:
        while True:
            began = time.thread_time()
            try:
                chunk = stream.read(_CHUNK)
                expat_parser.Parse(chunk, not chunk)
            except ServiceError:
                raise
            except (expat.ExpatError, zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
                raise _not_xlsx() from exc
            budget -= time.thread_time() - began
            if budget < 0:
                raise _timeout(limits)
            ready, parser.ready = parser.ready, []
            yield from ready
            if not chunk:
                return
