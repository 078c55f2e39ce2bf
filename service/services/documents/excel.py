"""Excel exports in openpyxl's write-only mode: rows stream out, memory stays flat.

Every export is a list of `Column`s and an iterable of row tuples. Text columns are
always written as strings, never as numbers or formulas; those whose text Excel would
read as a number (ID numbers, certificate numbers, form numbers) also get the "@"
format, so Excel never shows an ID number in scientific notation. Date columns are real
Excel dates; everything else is written as it is, but text is text in any column, and
without the control characters an xlsx file cannot hold (stored before input refused them).

A sheet of money (开票记录) may end with a bold 合计 row: the number of rows and the sum of
each money column, added up while the rows stream out and written as plain values, never
as a formula (a sheet with no formula cannot be made to run one).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable, Sequence
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter

XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
MONEY_FORMAT = "#,##0.00"
TOTAL_LABEL = "合计"


@dataclass(frozen=True)
class Column:
    """A column: its Chinese header, its kind (text/date/datetime/money/number) and width."""

    header: str
    kind: str = "text"
    width: float = 14


_FORMATS = {"text": "@", "date": DATE_FORMAT, "datetime": DATETIME_FORMAT, "money": MONEY_FORMAT}


def _styles(ws) -> dict:
    """One style per formatted kind, built once (setting a format on every cell is slow)."""
    styles = {}
    for kind, number_format in _FORMATS.items():
        cell = WriteOnlyCell(ws)
        cell.number_format = number_format
        styles[kind] = cell._style
    return styles


def _needs_text_format(value: str) -> bool:
    """Whether a text would be read as a number, formula or error code if Excel retyped it.

    Such text (ID, mobile, certificate and receipt numbers...) gets the "@" format and is
    marked as a string; other text is a string anyway and needs no per-cell style.
    """
    return value[:1].isdigit() or value[:1] in "=+-#." or value.upper() in ("TRUE", "FALSE")


def _cell(ws, value, column: Column, styles: dict):
    if value is None or value == "":
        return None
    kind = column.kind
    if isinstance(value, str):
        kind = "text"  # a text in a number or date column is text too: never a formula
    if kind not in styles:
        return value
    if kind == "text":
        value = str(value)
        if not value.isprintable():  # cheap test first: control characters are rare
            # a control character (a BEL pasted into a school's name) cannot be stored in
            # the sheet's XML: openpyxl would refuse the whole export; it shows nothing anyway
            value = ILLEGAL_CHARACTERS_RE.sub("", value)
            if not value:
                return None
        if not _needs_text_format(value):
            return value  # plain text: written as a string as it is, no per-cell style needed
    elif kind == "date" and isinstance(value, datetime):
        value = value.date()
    elif kind == "money" and not isinstance(value, Decimal):
        value = Decimal(value)
    cell = WriteOnlyCell(ws)
    cell._style = copy(styles[kind])  # before the value: a date cell then keeps its format
    cell.value = value
    if kind == "text":
        cell.data_type = "s"  # text typed as "=..." or "#N/A" stays text, never a formula
    return cell


def _amount(value) -> Decimal | None:
    """A money cell's value as a number to add up; None for an empty cell or a text (written
    as text, see `_cell`: Excel's own SUM leaves it out too)."""
    if value is None or isinstance(value, str | bool):
        return None
    return value if isinstance(value, Decimal) else Decimal(str(value))


def _totals_row(ws, columns: Sequence[Column], count: int, sums: dict[int, Decimal]) -> list:
    """The 合计 row, bold: 合计 and 共 N 条 in the first two columns that hold no money, each
    money column's sum in its own format."""
    labels = iter((TOTAL_LABEL, f"共 {count} 条"))
    bold = Font(bold=True)
    cells = []
    for index in range(len(columns)):
        cell = WriteOnlyCell(ws)
        if index in sums:
            cell.number_format = MONEY_FORMAT
            cell.value = sums[index]
        else:
            cell.value = next(labels, None)
        cell.font = bold
        cells.append(cell)
    return cells


def write_workbook(
    target,
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    numbered: bool = True,
    totals: bool = False,
) -> int:
    """Write one sheet (header row, then `rows`) to a path or binary file; rows written.

    With `numbered`, a first column 序号 counts the rows from 1, as the manual's lists do.
    With `totals`, a last bold row 合计 gives the number of rows and each money column's sum
    (not counted in the rows written).
    """
    wb = Workbook(write_only=True)
    ws = wb.create_sheet(title=title[:31])
    all_columns = ([Column("序号", "number", 6)] if numbered else []) + list(columns)
    for index, column in enumerate(all_columns):
        ws.column_dimensions[get_column_letter(index + 1)].width = column.width
    ws.freeze_panes = "A2"
    bold = Font(bold=True)
    centre = Alignment(horizontal="center", vertical="center")
    header = []
    for column in all_columns:
        cell = WriteOnlyCell(ws, value=column.header)
        cell.font = bold
        cell.alignment = centre
        header.append(cell)
    ws.append(header)
    styles = _styles(ws)
    sums = {i: Decimal("0.00") for i, c in enumerate(all_columns) if c.kind == "money"}
    count = 0
    for row in rows:
        count += 1
        values = ([count] if numbered else []) + list(row)
        ws.append([_cell(ws, v, c, styles) for v, c in zip(values, all_columns, strict=True)])
        if totals:
            for index in sums:
                amount = _amount(values[index])
                if amount is not None:
                    sums[index] += amount
    if totals:
        ws.append(_totals_row(ws, all_columns, count, sums))
    wb.save(target)
    return count


def workbook_bytes(
    title: str,
    columns: Sequence[Column],
    rows: Iterable[Sequence],
    numbered: bool = True,
    totals: bool = False,
) -> bytes:
    """The workbook as bytes (spooled to disk past 8 MB while it is written)."""
    with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buf:
        write_workbook(buf, title, columns, rows, numbered, totals)
        buf.seek(0)
        return buf.read()
