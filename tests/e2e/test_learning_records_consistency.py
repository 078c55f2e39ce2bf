"""Learning records (POST /api/v1/learning-records and its Excel import) never go back on what
is recorded and never contradict themselves: the completed hours and the exam attempts do not
decrease, the exam status agrees with the attempts (未考试: none; 未通过 and 已通过: at least
one), the hours are at most the task's required hours, and a number too large says so. Each
refusal names its row and field; nothing of a refused batch is saved."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from conftest import in_db
from openpyxl import Workbook
from sqlalchemy import select
from test_other_education_api import approve, enrol, record, seed, supervisor

from service.db.models import LearningTask

pytestmark = pytest.mark.usefixtures("pinned_clock")

NAME = "罗建平"


def learner(app, client, login, world, name=NAME, prefix="44010619750909678", number=None) -> str:
    """A person whose continuing education (24 hours required) was approved: learning open."""
    cert = supervisor(date(2027, 2, 28), number=number or "JL2024000001")
    n = seed(app, world.unit_id, name, prefix, [cert])
    inst = enrol(
        client, login("unit"), "continuing_education", [(n, name)], certificate_type="监理员"
    )
    approve(app, client, login, inst["id"], "60.00")
    return n


def state(app, id_number) -> tuple[Decimal, int, str]:
    def read(s):
        task = s.scalars(select(LearningTask).where(LearningTask.id_number == id_number)).one()
        return Decimal(task.completed_hours), task.exam_attempts, task.status

    return in_db(app, read)


def refused(client, login, rows) -> dict[str, str]:
    return record(client, login, rows, expect=422)["errors"]


def test_hours_and_attempts_never_go_back_and_the_status_agrees_with_the_attempts(
    app, client, login, world
):
    n = learner(app, client, login, world)
    assert record(client, login, [(n, NAME, 8, "未考试", 0)])["updated"] == 1
    assert state(app, n) == (Decimal("8"), 0, "学习中")

    # 8 h, then 2 h: the hours do not go back
    assert refused(client, login, [(n, NAME, 2, "未考试", 0)]) == {
        "records.0": "已完成学时不能少于已记录的8学时（现为2）"
    }
    assert state(app, n) == (Decimal("8"), 0, "学习中")

    assert record(client, login, [(n, NAME, 10, "未通过", 5)])["updated"] == 1
    # attempts 5, then 3: the attempts do not go back
    assert refused(client, login, [(n, NAME, 10, "未通过", 3)]) == {
        "records.0": "考试次数不能少于已记录的5次（现为3次）"
    }
    # 未通过, then 未考试: an exam taken is not untaken
    assert refused(client, login, [(n, NAME, 10, "未考试", 0)]) == {
        "records.0": f"{NAME}已记录考试5次，考试状态不能改为未考试"
    }
    # a row contradicting itself: 未考试 with attempts, 未通过 without
    assert refused(client, login, [(n, NAME, 10, "未考试", 5)]) == {
        "records.0": "考试状态为未考试时考试次数应为0（现为5次）"
    }
    assert refused(client, login, [(n, NAME, 10, "未通过", 0)]) == {
        "records.0": "考试状态为未通过时考试次数至少为1次"
    }
    assert state(app, n) == (Decimal("10"), 5, "学习中")

    # the same values again change nothing and are accepted; more of both is taken
    assert record(client, login, [(n, NAME, 10, "未通过", 5)])["updated"] == 1
    assert record(client, login, [(n, NAME, 12.5, "未通过", 6)])["updated"] == 1
    assert state(app, n) == (Decimal("12.5"), 6, "学习中")


def test_hours_are_at_most_the_required_ones_and_too_many_is_said_so(app, client, login, world):
    n = learner(app, client, login, world)
    for hours in (30, 24.5, 9999, 99999, "1e9"):
        assert refused(client, login, [(n, NAME, hours, "未通过", 1)]) == {
            "records.0": f"已完成学时不能超过学习任务要求的24学时（现为{Decimal(str(hours)):f}）"
            if hours != "1e9"
            else "已完成学时不能超过学习任务要求的24学时（现为1000000000）"
        }, hours
    for wrong in (-1, "abc", "NaN", "sNaN", "Infinity"):
        assert refused(client, login, [(n, NAME, wrong, "未通过", 1)]) == {
            "records.0": "已完成学时应为不小于0的数字"
        }, wrong
    assert refused(client, login, [(n, NAME, 8, "未通过", 99999)]) == {
        "records.0": "考试次数不能超过10次（现为99999次）"
    }
    assert state(app, n) == (Decimal("0"), 0, "开课未学习")
    # exactly the required hours is fine (and a pass needs them)
    assert record(client, login, [(n, NAME, 24, "已通过", 1)])["passed"] == 1
    assert state(app, n) == (Decimal("24"), 1, "已通过")


def test_a_refused_row_saves_nothing_of_its_batch_or_file(app, client, login, world):
    a = learner(app, client, login, world)
    b = learner(app, client, login, world, "何美玲", "44010619850505234", "JL2024000002")
    assert record(client, login, [(a, NAME, 8, "未通过", 2), (b, "何美玲", 6, "未考试", 0)])
    before = (state(app, a), state(app, b))

    # a good row and a row going back: the batch is refused whole, the good row not saved
    assert refused(client, login, [(a, NAME, 9, "未通过", 3), (b, "何美玲", 4, "未考试", 0)]) == {
        "records.1": "已完成学时不能少于已记录的6学时（现为4）"
    }
    assert (state(app, a), state(app, b)) == before

    # the same through the platform's Excel export, its rows named as the sheet numbers them
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "已完成学时", "考试状态", "考试次数"])
    ws.append([a, NAME, 9, "未通过", 3])
    ws.append([b, "何美玲", 7, "未考试", 2])
    assert import_errors(client, login, wb) == {
        "第3行": "考试状态为未考试时考试次数应为0（现为2次）"
    }
    wb = Workbook()
    ws = wb.active
    ws.append(["身份证号", "姓名", "已完成学时", "考试状态", "考试次数"])
    ws.append([a, NAME, 30, "未通过", 3])
    ws.append([b, "何美玲", 7, "未考试", 0])
    assert import_errors(client, login, wb) == {
        "第2行": "已完成学时不能超过学习任务要求的24学时（现为30）"
    }
    assert (state(app, a), state(app, b)) == before


def import_errors(client, login, wb) -> dict[str, str]:
    buf = io.BytesIO()
    wb.save(buf)
    reply = client.post(
        "/api/v1/learning-records/import",
        headers=login("association"),
        data={"file": (io.BytesIO(buf.getvalue()), "学习记录.xlsx")},
    )
    assert reply.status_code == 422, reply.get_json()
    return reply.get_json()["errors"]
