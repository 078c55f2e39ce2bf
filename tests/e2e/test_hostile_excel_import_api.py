"""Hostile Excel uploads to the learning import answer 413 or 422 in Chinese, never 500."""

from __future__ import annotations

import io

import pytest
from conftest import in_db
from hostile_xlsx import row, shared_strings_bomb, sheet, xlsx
from sqlalchemy import func, select

from service.db.models import AuditRecord, LearningTask

GOOD = ("440106198001011234", "张三", 24, "已通过", 1)
EMPTY_ROWS = "".join(f'<row r="{i}"/>' for i in range(3, 100_003))


def _counts(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(LearningTask)),
        session.scalar(select(func.count()).select_from(AuditRecord)),
    )


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        pytest.param(shared_strings_bomb(mb=4), 413, "Excel 文件解压后过大", id="zip bomb"),
        pytest.param(xlsx(sheet(row(2, GOOD) + EMPTY_ROWS)), 422, "空行过多", id="empty rows"),
        pytest.param(xlsx(parts={"xl/workbook.xml": "<workbook"}), 422, "不是有效的", id="broken"),
    ],
)
def test_a_hostile_excel_upload_is_refused_with_what_is_wrong_and_changes_nothing(
    app, client, login, content, status, words
):
    before = in_db(app, _counts)
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=login("association"),
        data={"file": (io.BytesIO(content), "学习记录.xlsx")},
    )
    assert reply.status_code == status, reply.get_json()
    assert words in reply.get_json()["message"]
    assert "未导入任何记录" in reply.get_json()["message"]
    assert in_db(app, _counts) == before
