"""Every export's cells: text a user typed is never a live formula, in any column; a 合计
row is plain values."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from openpyxl import load_workbook

from service.services.documents.excel import Column, workbook_bytes

TYPED = ["=1+2", '=HYPERLINK("http://example.com","x")', "+1", "-1", "@SUM(A1)", "#N/A"]


@pytest.mark.parametrize("kind", ["text", "number", "date", "datetime", "money"])
def test_typed_text_is_a_string_cell_in_every_kind_of_column(kind):
    content = workbook_bytes("导出", [Column("值", kind)], [(value,) for value in TYPED])
    sheet = load_workbook(io.BytesIO(content)).active
    cells = [row[1] for row in sheet.iter_rows(min_row=2)]
    assert [(c.value, c.data_type) for c in cells] == [(v, "s") for v in TYPED]


def test_control_characters_are_left_out_instead_of_failing_the_whole_export():
    typed = ["广东工业大学\x07", "工程\x0b管理", "\x1b", "换行\n和制表\t保留"]
    content = workbook_bytes("导出", [Column("值")], [(value,) for value in typed])
    sheet = load_workbook(io.BytesIO(content)).active
    values = [row[1].value for row in sheet.iter_rows(min_row=2)]
    assert values == ["广东工业大学", "工程管理", None, "换行\n和制表\t保留"]


def test_a_total_row_adds_up_the_money_written_once_and_leaves_typed_text_out():
    columns = [Column("名称"), Column("金额", "money"), Column("费用", "money")]
    rows = iter([("甲", Decimal("60.00"), 20), ("乙", "=1+2", Decimal("0.50")), ("丙", None, 1)])
    content = workbook_bytes("导出", columns, rows, totals=True)  # a generator: read once
    sheet = load_workbook(io.BytesIO(content)).active
    last = list(sheet.iter_rows(min_row=sheet.max_row))[0]
    assert sheet.max_row == 5
    assert [c.value for c in last] == ["合计", "共 3 条", 60, 21.5]
    assert [c.data_type for c in last] == ["s", "s", "n", "n"] and all(c.font.b for c in last)


def test_a_sheet_without_totals_ends_with_its_last_row():
    content = workbook_bytes("导出", [Column("金额", "money")], [(Decimal("1.00"),)])
    assert load_workbook(io.BytesIO(content)).active.max_row == 2
