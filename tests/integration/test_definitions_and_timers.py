"""Definition versions, start-up validation and waiting timers, through the service."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    REPO,
    app_on_design,
    applicant_data,
    business_day,
    form_values,
    open_task,
    seed_world,
    token_headers,
    upload,
)
from sqlalchemy import func, select

from service.cli import main as cli
from service.db import db
from service.db.models import DefinitionVersion, WaitingEvent
from service.engine import DefinitionError

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

RECEIPT = {"decision": "approve", "receipt_number": "R-1"}  # dated at its use: business_day


def design_copy(tmp_path: Path) -> Path:
    """A private copy of processes/, rules/ and forms/ that a test may edit."""
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def app_on(db_url: str, tmp_path: Path, design: Path):
    return app_on_design(db_url, tmp_path, design)


def complete(client, headers, task_id, data):
    reply = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data})
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_an_instance_finishes_on_the_diagram_it_started_with(db_url, tmp_path):
    design = design_copy(tmp_path)
    old_app = app_on(db_url, tmp_path, design)
    world = seed_world(old_app)
    client = old_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    agency = token_headers(client, world.logins["agency"])
    data = applicant_data(client, unit)
    old = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    ).get_json()

    bpmn = design / "processes" / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    assert 'value="协会初审中"' in text
    bpmn.write_text(text.replace('value="协会初审中"', 'value="协会审核中"'), encoding="utf-8")
    new_app = app_on(db_url, tmp_path, design)
    client = new_app.test_client()
    with new_app.app_context():
        versions = db.session.scalar(
            select(func.count())
            .select_from(DefinitionVersion)
            .where(DefinitionVersion.process_key == "member_join")
        )
    assert versions == 2
    listed = client.get("/api/v1/processes/member_join", headers=unit).get_json()
    assert 'value="协会审核中"' in listed["bpmn"]
    assert listed["version"] == 2  # numbered per business type, not a database id
    other_key = client.get("/api/v1/processes/engineer_cpd", headers=unit).get_json()
    assert other_key["version"] == 1

    from service.domain.validation import make_resident_id

    other = applicant_data(client, unit, id_number=make_resident_id("44010219900620432"))
    new = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": other}
    ).get_json()
    for inst in (old, new):
        task = open_task(client, unit, inst["id"])
        values = form_values(client, unit, inst["id"])
        complete(
            client, unit, task["id"], {**values, "decision": "approve", "member_level": "普通会员"}
        )
        task = open_task(client, agency, inst["id"])
        inst["after_agency"] = complete(client, agency, task["id"], {"decision": "approve"})
    assert old["after_agency"]["status"] == "协会初审中"
    assert new["after_agency"]["status"] == "协会审核中"

    association = token_headers(client, world.logins["association"])
    finance = token_headers(client, world.logins["finance"])
    task = open_task(client, association, old["id"])
    complete(client, association, task["id"], {"decision": "approve"})
    task = open_task(client, unit, old["id"])
    complete(client, unit, task["id"], {"fee_voucher": upload(client, unit)})
    task = open_task(client, finance, old["id"])
    receipt = {**RECEIPT, "receipt_date": business_day(client)}  # not before the submission
    assert complete(client, finance, task["id"], receipt)["status"] == "审批完成"

    # each form says its version; the versions list counts the forms on each
    shown = client.get(f"/api/v1/instances/{old['id']}", headers=association).get_json()
    assert shown["version"] == 1
    assert client.get(f"/api/v1/instances/{new['id']}", headers=unit).get_json()["version"] == 2
    history = client.get("/api/v1/processes/member_join/versions", headers=association)
    assert history.status_code == 200, history.get_json()
    assert [
        (v["number"], v["current"], v["running"], v["finished"], v["deployed_by"])
        for v in history.get_json()["items"]
    ] == [(2, True, 1, 0, "服务器启动"), (1, False, 0, 1, "服务器启动")]
    assert all(len(v["digest"]) == 64 for v in history.get_json()["items"])
    refused = client.get("/api/v1/processes/member_join/versions", headers=unit)
    assert refused.status_code == 404


def test_a_broken_file_stops_start_up_naming_file_element_and_line(db_url, tmp_path):
    design = design_copy(tmp_path)
    bpmn = design / "processes" / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    bpmn.write_text(
        text.replace("len(failure_reasons) &gt; 0", "len(failure_reasons) &gt;", 1),
        encoding="utf-8",
    )
    with pytest.raises(DefinitionError) as info:
        app_on(db_url, tmp_path, design)
    problem = info.value.problems[0]
    assert problem.file == "processes/member_join.bpmn"
    assert problem.element == "flow_ineligible" and isinstance(problem.line, int)
    assert "processes/member_join.bpmn:" in str(info.value)


def test_memberflow_check_exits_non_zero_on_a_problem(tmp_path, monkeypatch):
    design = design_copy(tmp_path)
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    ok = CliRunner().invoke(cli, ["check"])
    assert ok.exit_code == 0 and "member_join" in ok.output
    (design / "forms" / "member_join" / "agency_review.schema.json").unlink()
    broken = CliRunner().invoke(cli, ["check"])
    assert broken.exit_code == 1
    assert "forms/member_join/agency_review.schema.json" in broken.output
    assert "agency_review" in broken.output


def test_waiting_timers_are_indexed_rows_kept_in_step_with_the_engine(db_url, tmp_path):
    design = design_copy(tmp_path)
    shutil.copy(FIXTURES / "timer_probe.bpmn", design / "processes" / "timer_probe.bpmn")
    (design / "forms" / "timer_probe").mkdir()
    for form in ("start", "unit_pay"):
        shutil.copy(
            FIXTURES / "timer_probe.start.schema.json",
            design / "forms" / "timer_probe" / f"{form}.schema.json",
        )
    app = app_on(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    started = client.post(
        "/api/v1/processes/timer_probe/instances", headers=unit, json={"data": {"note": "x"}}
    )
    assert started.status_code == 201, started.get_json()
    inst = started.get_json()
    with app.app_context():
        rows = db.session.scalars(select(WaitingEvent)).all()
        assert [(r.instance_id, r.kind, r.name) for r in rows] == [
            (inst["id"], "timer", "缴费期限")
        ]
        from service.db.models import ProcessInstance

        submitted = db.session.get(ProcessInstance, inst["id"]).submitted_at
        assert abs(rows[0].due_at - (submitted + timedelta(days=30))) < timedelta(minutes=1)
    task = open_task(client, unit, inst["id"])
    assert complete(client, unit, task["id"], {})["status"] == "审批完成"
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(WaitingEvent)) == 0


@pytest.mark.parametrize("lost", ["one file", "the whole folder"])
def test_a_start_up_on_folders_lacking_a_business_type_deploys_nothing(db_url, tmp_path, lost):
    """A wrong MEMBERFLOW_PROCESSES_DIR, or a .bpmn file missing, is no deployment: every
    server keeps running the newest one (as a deploy that would remove a business type is
    refused), instead of following an empty or shrunken set."""
    from service.db.models import DefinitionDeployment

    first = app_on(db_url, tmp_path / "a", design_copy(tmp_path / "a"))
    client = first.test_client()
    world = seed_world(first)
    unit = token_headers(client, world.logins["unit"])

    def keys() -> set[str]:
        reply = client.get("/api/v1/processes", headers=unit)
        assert reply.status_code == 200, reply.get_json()
        return {p["key"] for p in reply.get_json()}

    before = keys()
    assert "member_join" in before
    with first.app_context():
        deployments = db.session.scalar(select(func.count()).select_from(DefinitionDeployment))
        db.session.remove()
    shrunk = design_copy(tmp_path / "b")
    if lost == "one file":
        (shrunk / "processes" / "member_join.bpmn").unlink()
    else:
        shutil.rmtree(shrunk / "processes")
        (shrunk / "processes").mkdir()
    second = app_on(db_url, tmp_path / "b", shrunk)
    with second.app_context():
        after = db.session.scalar(select(func.count()).select_from(DefinitionDeployment))
        db.session.remove()
    assert after == deployments
    assert keys() == before  # the first server, following the newest deployment
    other = second.test_client()
    listed = other.get("/api/v1/processes", headers=token_headers(other, world.logins["unit"]))
    assert {p["key"] for p in listed.get_json()} == before
