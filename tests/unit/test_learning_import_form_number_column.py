"""The learning import's form-number column is 单号; files made from the earlier template,
whose header said 表单编号, are read the same."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook, load_workbook

from service.services.documents import learning_template
from service.services.education.learning import read_workbook

REQUIRED = ["身份证号", "姓名", "已完成学时", "考试状态", "考试次数"]
ROW = ["440106198001011234", "张三", 24, "已通过", 1, "JY-20260402000001"]


def workbook(header: list[str]) -> bytes:
    wb = Workbook()
    wb.active.append(header)
    wb.active.append(ROW)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


@pytest.mark.parametrize("column", ["单号", "表单编号"])
def test_the_form_number_is_read_under_either_header(column):
    [(label, record)] = read_workbook(workbook([*REQUIRED, column]))
    assert label == "第2行"
    assert record["business_key"] == "JY-20260402000001"


def test_the_template_writes_the_current_header():
    sheet = load_workbook(io.BytesIO(learning_template.import_template())).worksheets[0]
    assert [c.value for c in sheet[1]] == [*REQUIRED, "单号"]
