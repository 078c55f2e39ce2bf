"""A designer's script that loops forever, builds a huge value or changes the shared policy
is stopped, named with its file, element and line, and leaves the instance as it was."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import REPO, app_on_design, in_db, seed_world, token_headers
from sqlalchemy import func, select

from service.db.models import AuditRecord, ProcessInstance, UserTask

pytestmark = pytest.mark.alone  # see scripts/test

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


@pytest.fixture
def probe(db_url, tmp_path):
    """An app whose processes include tests/fixtures/script_probe.bpmn; (app, client, unit)."""
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    shutil.copy(FIXTURES / "script_probe.bpmn", design / "processes" / "script_probe.bpmn")
    forms = design / "forms" / "script_probe"
    forms.mkdir()
    shutil.copy(FIXTURES / "timer_probe.start.schema.json", forms / "start.schema.json")
    shutil.copy(FIXTURES / "script_probe.unit_fill.schema.json", forms / "unit_fill.schema.json")
    app = app_on_design(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    return app, client, token_headers(client, world.logins["unit"])


def incident_message(client) -> str:
    """The cause the one incident recorded, as operators and designers read it."""
    admin = token_headers(client, "admin")
    [incident] = client.get("/api/v1/incidents", headers=admin).get_json()["items"]
    return incident["message"]


def start(client, unit) -> tuple[int, int]:
    reply = client.post(
        "/api/v1/processes/script_probe/instances", headers=unit, json={"data": {"note": "x"}}
    )
    assert reply.status_code == 201, reply.get_json()
    body = reply.get_json()
    return body["id"], body["open_tasks"][0]["id"]


def complete(client, unit, task_id: int, mode: str):
    return client.post(
        f"/api/v1/tasks/{task_id}/complete", headers=unit, json={"data": {"mode": mode}}
    )


def snapshot(app, instance_id: int) -> tuple:
    def read(session):
        row = session.get(ProcessInstance, instance_id)
        audits = session.scalar(
            select(func.count()).select_from(AuditRecord).where(AuditRecord.instance_id == row.id)
        )
        open_tasks = session.scalar(
            select(func.count())
            .select_from(UserTask)
            .where(UserTask.instance_id == row.id, UserTask.completed_at.is_(None))
        )
        return row.status, row.version, row.state, audits, open_tasks

    return in_db(app, read)


@pytest.mark.parametrize(
    ("mode", "where", "words"),
    [
        # a gateway's condition: the flow that carries it as well (the gateway has several)
        pytest.param(
            "count",
            "[mode_gateway] 顺序流 [f_counted] 第45行 的条件：表达式",
            "CPU 时间",
            id="endless condition",
        ),
        pytest.param("spin", "[run_script] 脚本第3行", "CPU 时间", id="endless loop"),
        pytest.param("huge", "[run_script] 脚本第6行", "生成的值过大", id="a gigabyte string"),
        pytest.param("grow", "[run_script] 脚本第9行", "内存", id="a list that grows without end"),
    ],
)
def test_a_runaway_script_is_stopped_with_its_file_element_and_line_and_changes_nothing(
    probe, mode, where, words
):
    app, client, unit = probe
    instance_id, task_id = start(client, unit)
    before = snapshot(app, instance_id)
    reply = complete(client, unit, task_id, mode)
    assert reply.status_code == 409, reply.get_json()  # an incident, not a 500
    message = reply.get_json()["message"]
    assert "未保存" in message and "流程设计人员将修复" in message
    assert not re.search(r"[A-Za-z]", message.replace(reply.get_json()["errors"]["incident"], ""))
    cause = incident_message(client)  # what failed where: the designers', on the incident
    # the file, the element's line in it, the element (and the script's line)
    assert re.search(rf"processes/script_probe\.bpmn 第\d+行 {re.escape(where)}", cause), cause
    assert words in cause
    assert snapshot(app, instance_id) == before
    done = complete(client, unit, task_id, "ok")
    assert done.status_code == 200 and done.get_json()["status"] == "审批完成"


@pytest.mark.parametrize("mode", ["append", "assign"])
def test_a_script_cannot_change_the_policy_that_other_instances_read(probe, mode):
    app, client, unit = probe
    instance_id, task_id = start(client, unit)
    before = snapshot(app, instance_id)
    reply = complete(client, unit, task_id, mode)
    assert reply.status_code == 409, reply.get_json()  # an incident, not a 500
    assert "只读" in incident_message(client)
    assert snapshot(app, instance_id) == before

    other_id, other_task = start(client, unit)
    assert complete(client, unit, other_task, "ok").status_code == 200
    data = client.get(f"/api/v1/instances/{other_id}", headers=unit).get_json()["data"]
    assert data["allowed"] == ["specialty_change", "upgrade_education"]
    assert data["join_combined"] is False
