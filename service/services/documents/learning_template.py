"""学习记录导入模板: an empty workbook with the learning import's header row, as
`learning.read_workbook` reads it (its required columns, then the optional 单号).

Only the header: the first sheet, row 1. The 身份证号 and 单号 columns are formatted as
text, so that an ID number typed or pasted below is kept as typed (as a number Excel would
show it as 4.40106E+17 and the import refuses it); 考试状态 offers its three values.
"""

from __future__ import annotations

import io

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation

from service.services.education import learning

TEMPLATE_NAME = "学习记录导入模板.xlsx"
TEXT_COLUMNS = ("身份证号", "单号")
WIDTHS = {"身份证号": 22, "姓名": 12, "单号": 22}
EXAM_STATUSES = ("未考试", "未通过", "已通过")
LAST_ROW = learning.MAX_ROWS + 1


def columns() -> list[tuple[str, bool]]:
    """The import's columns, each with whether it is required: the required ones first."""
    return [(n, True) for n in learning.COLUMNS] + [(n, False) for n in learning.OPTIONAL_COLUMNS]


def headers() -> list[str]:
    """The template's header row."""
    return [name for name, _required in columns()]


def import_template() -> bytes:
    """The template workbook, as bytes."""
    wb = Workbook()
    ws = wb.active
    ws.title = "学习记录"
    names = headers()
    ws.append(names)
    for index, name in enumerate(names, start=1):
        letter = get_column_letter(index)
        cell = ws.cell(row=1, column=index)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(horizontal="center")
        ws.column_dimensions[letter].width = WIDTHS.get(name, 12)
        if name in TEXT_COLUMNS:
            ws.column_dimensions[letter].number_format = "@"
        if name == "考试状态":
            choices = DataValidation(
                type="list",
                formula1='"' + ",".join(EXAM_STATUSES) + '"',
                allow_blank=True,
                error="考试状态应为 未考试、未通过 或 已通过",
                errorTitle="考试状态",
            )
            choices.add(f"{letter}2:{letter}{LAST_ROW}")
            ws.add_data_validation(choices)
    ws.freeze_panes = "A2"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()
