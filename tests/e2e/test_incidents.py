"""A diagram that fails at run time (a misspelt name in a condition) gives the reviewer a 409
with an incident number instead of a 500; nothing of the step is kept; operators list the
incident; the unit withdraws (撤回) or the secretariat terminates (终止) the stuck form, and
the applicant may apply again. SQLite and PostgreSQL."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from conftest import (
    app_on_design,
    applicant_data,
    form_values,
    open_task,
    seed_world,
    token_headers,
)

REPO = Path(__file__).resolve().parents[2]
AGENCY_RETURN = '<bpmn:sequenceFlow id="flow_agency_return" name="退回" sourceRef="agency_gateway" targetRef="return_merge">\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "return"'  # noqa: E501


@pytest.fixture
def broken(db_url, tmp_path):
    """member_join whose agency gateway reads `decison` (misspelt): fails at run time."""
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    bpmn = design / "processes" / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    assert AGENCY_RETURN in text
    bpmn.write_text(
        text.replace(AGENCY_RETURN, AGENCY_RETURN.replace("decision ==", "decison ==")),
        encoding="utf-8",
    )
    app = app_on_design(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    return app, client, heads, world


def _stuck_form(client, heads) -> tuple[dict, dict]:
    data = applicant_data(client, heads["unit"])
    started = client.post(
        "/api/v1/processes/member_join/instances", headers=heads["unit"], json={"data": data}
    )
    assert started.status_code == 201, started.get_json()
    inst = started.get_json()
    task = open_task(client, heads["unit"], inst["id"])
    values = form_values(client, heads["unit"], inst["id"])
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=heads["unit"],
        json={"data": {**values, "decision": "approve", "member_level": "普通会员"}},
    )
    assert done.status_code == 200, done.get_json()
    task = open_task(client, heads["agency"], inst["id"])
    failed = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=heads["agency"],
        json={"data": {"decision": "approve", "remark": "同意"}},
    )
    return inst, failed, data


def test_a_failing_step_is_an_incident_not_a_500(broken):
    app, client, heads, world = broken
    inst, failed, _data = _stuck_form(client, heads)
    assert failed.status_code == 409, failed.get_json()
    body = failed.get_json()
    number = body["errors"]["incident"]
    assert re.fullmatch(r"INC-\d{8}-\d{4}", number)
    assert number in body["message"] and "未保存" in body["message"]
    # nothing of the step was kept: the form waits at the agency, the task still open
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=heads["agency"]).get_json()
    assert view["status"] == "机构初审中"
    assert [t["task_name"] for t in view["open_tasks"]] == ["agency_review"]
    # the same failure again counts on the same incident
    task = open_task(client, heads["agency"], inst["id"])
    again = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=heads["agency"],
        json={"data": {"decision": "approve"}},
    )
    assert again.status_code == 409 and again.get_json()["errors"]["incident"] == number

    listed = client.get("/api/v1/incidents", headers=heads["admin"]).get_json()
    [incident] = listed["items"]
    assert (incident["number"], incident["instance_id"], incident["task_name"]) == (
        number,
        inst["id"],
        "agency_review",
    )
    assert incident["occurrences"] == 2 and incident["status_label"] == "待处理"
    assert "member_join.bpmn" in incident["message"] and "decison" in incident["message"]
    assert client.get("/api/v1/incidents", headers=heads["unit"]).status_code == 404


def test_the_unit_withdraws_a_stuck_form_and_the_person_applies_again(broken):
    app, client, heads, world = broken
    inst, failed, data = _stuck_form(client, heads)
    number = failed.get_json()["errors"]["incident"]
    # not someone else's form
    other = client.post(
        f"/api/v1/instances/{inst['id']}/withdraw", headers=heads["other_unit"], json={}
    )
    assert other.status_code == 404
    withdrawn = client.post(
        f"/api/v1/instances/{inst['id']}/withdraw", headers=heads["unit"], json={}
    )
    assert withdrawn.status_code == 200, withdrawn.get_json()
    assert withdrawn.get_json()["status"] == "已撤回"
    assert withdrawn.get_json()["incidents_closed"] == [number]
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=heads["unit"]).get_json()
    assert view["finished"] is True and view["open_tasks"] == []
    assert view["approval_record"][-1]["action"] == "withdraw"
    assert client.get("/api/v1/incidents", headers=heads["admin"]).get_json()["total"] == 0
    again = client.post(
        "/api/v1/processes/member_join/instances", headers=heads["unit"], json={"data": data}
    )
    assert again.status_code == 201, again.get_json()
    twice = client.post(f"/api/v1/instances/{inst['id']}/withdraw", headers=heads["unit"], json={})
    assert twice.status_code == 409


def test_the_secretariat_terminates_and_a_form_under_review_is_not_withdrawn(broken):
    app, client, heads, world = broken
    data = applicant_data(client, heads["unit"])
    inst = client.post(
        "/api/v1/processes/member_join/instances", headers=heads["unit"], json={"data": data}
    ).get_json()
    task = open_task(client, heads["unit"], inst["id"])
    values = form_values(client, heads["unit"], inst["id"])
    client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=heads["unit"],
        json={"data": {**values, "decision": "approve", "member_level": "普通会员"}},
    )
    # at the agency, with no incident: the unit may not take it back from the reviewer
    held = client.post(f"/api/v1/instances/{inst['id']}/withdraw", headers=heads["unit"], json={})
    assert held.status_code == 409 and "审核中" in held.get_json()["message"]
    url = f"/api/v1/instances/{inst['id']}/terminate"
    assert client.post(url, headers=heads["unit"], json={"reason": "x"}).status_code == 404
    missing = client.post(url, headers=heads["admin"], json={})
    assert missing.status_code == 422 and "reason" in missing.get_json()["errors"]
    done = client.post(url, headers=heads["admin"], json={"reason": "申请人放弃入会"})
    assert done.status_code == 200 and done.get_json()["status"] == "已终止"
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=heads["admin"]).get_json()
    assert view["approval_record"][-1]["remark"] == "申请人放弃入会"
    assert client.get("/api/v1/tasks", headers=heads["agency"]).get_json()["total"] == 0
    assert client.post(url, headers=heads["admin"], json={"reason": "再次"}).status_code == 409


def test_the_form_page_shows_the_incident_and_lets_the_unit_withdraw(broken):
    from test_account_pages_http import csrf, sign_in, text

    app, client, heads, world = broken
    inst, failed, _data = _stuck_form(client, heads)
    number = failed.get_json()["errors"]["incident"]
    page = app.test_client()
    sign_in(page, world.unit_name)
    url = f"/forms/{inst['id']}"
    shown = text(page.get(url))
    assert number in shown and "撤回表单" in shown
    done = page.post(f"{url}/withdraw", data={"csrf_token": csrf(page, url)})
    assert done.status_code == 302
    after = text(page.get(url))
    assert "已撤回" in after and "撤回表单" not in after

    admin = app.test_client()
    sign_in(admin, "admin")
    assert "终止表单" not in text(admin.get(url))  # finished: nothing to settle
