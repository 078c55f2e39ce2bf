"""Migration plans running while reviewers complete tasks of the same forms, on
PostgreSQL with real threads: plans sweep every form from version 1 to 2 and back while
the reviewers work. Every completion either lands (200) or is refused cleanly (409) and
lands when taken again; no completion is lost under a migration, none is made twice, and
each form's queue rows agree with its engine state afterwards."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from conftest import (
    app_on_design,
    applicant_data,
    design_copy,
    form_values,
    open_task,
    race,
    seed_world,
    step_task,
    token_headers,
)
from sqlalchemy import func, select

from service.db import db
from service.db.models import AuditRecord, ProcessInstance, UserTask
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_resident_id
from service.engine import Instance
from service.services.workflow.migration import BUSY, run_plan

pytestmark = pytest.mark.alone  # see scripts/test

KEY = "member_join"
FORMS = 48
REVIEWERS = 4


def design(root: Path, edit: tuple[str, str] | None = None) -> Path:
    """A copy of member_join's files whose BPMN has `edit`'s (old, new) text replaced."""

    def replace(copy: Path) -> None:
        bpmn = copy / "processes" / f"{KEY}.bpmn"
        text = bpmn.read_text(encoding="utf-8")
        old, new = edit
        assert old in text
        bpmn.write_text(text.replace(old, new), encoding="utf-8")

    return design_copy(root, KEY, replace if edit is not None else None)


app_on = app_on_design


# the agency's queue rows change (their label): the plan locks them too; or only a later
# task's label changes: the plan touches the instance rows alone
EDITS = {
    "queue_rows_change": ('value="机构初审中"', 'value="机构审核中"'),
    "instance_rows_only": ('value="协会初审中"', 'value="协会审核中"'),
}


@pytest.mark.parametrize("edit", sorted(EDITS))
def test_a_plan_and_reviewers_on_the_same_forms_lose_nothing(pg_url, tmp_path, edit):
    old = app_on(pg_url, tmp_path, design(tmp_path / "v1"))
    world = seed_world(old)
    client = old.test_client()
    unit = token_headers(client, world.logins["unit"])
    forms = []
    for i in range(FORMS):
        data = applicant_data(client, unit, id_number=make_resident_id(f"44010619850101{i:03d}"))
        reply = client.post(f"/api/v1/processes/{KEY}/instances", headers=unit, json={"data": data})
        assert reply.status_code == 201, reply.get_json()
        inst = reply.get_json()["id"]
        values = form_values(client, unit, inst)
        step_task(client, unit, inst, {**values, "decision": "approve", "member_level": "普通会员"})
        forms.append(inst)
    agency = token_headers(client, world.logins["agency"])
    tasks = {inst: open_task(client, agency, inst)["id"] for inst in forms}

    new = app_on(pg_url, tmp_path, design(tmp_path / "v2", EDITS[edit]))
    admin = Actor(None, "并发测试", "secretariat_admin")
    replies: dict[int, list[int]] = {inst: [] for inst in forms}
    lock = threading.Lock()

    def plan(source: int, target: int, dry_run: bool = False, batch_size: int = 200) -> dict:
        with new.app_context():
            try:
                return run_plan(
                    new.extensions["memberflow"],
                    UnitOfWork(db.session),
                    admin,
                    KEY,
                    source,
                    target,
                    dry_run=dry_run,
                    batch_size=batch_size,
                )
            finally:
                db.session.remove()

    assert plan(1, 2, dry_run=True)["movable"] == FORMS  # and both versions parsed, warm
    reviewed = threading.Event()
    sweeps: list[dict] = []

    def act(i: int):
        if i == 0:  # migrations sweep every form, 1 → 2 → 1 …, while the reviewers work
            while not reviewed.is_set() or len(sweeps) < 2:
                source = 1 + len(sweeps) % 2
                sweeps.append(plan(source, 3 - source, batch_size=4))
            return None
        reviewer = new.test_client()
        for inst in forms[i - 1 :: REVIEWERS]:
            reply = reviewer.post(
                f"/api/v1/tasks/{tasks[inst]}/complete",
                headers=agency,
                json={"data": {"decision": "approve"}},
            )
            with lock:
                replies[inst].append(reply.status_code)
        return None

    def reviewer_then_signal(i: int):
        try:
            return act(i)
        finally:
            if i:
                with lock:
                    done.append(i)
                    if len(done) == REVIEWERS:
                        reviewed.set()

    done: list[int] = []
    race(1 + REVIEWERS, reviewer_then_signal)
    codes = {code for got in replies.values() for code in got}
    assert codes <= {200, 409}, replies
    assert len(sweeps) >= 2
    for sweep in sweeps:  # nothing refused for a reason of its own: at most busy for a moment
        assert all(r == [BUSY] for i in sweep["items"] for r in [i["reasons"]] if r), sweep

    # a refused completion is taken again and lands (on whichever version the form is now)
    reviewer = new.test_client()
    for inst, got in replies.items():
        if got[-1] == 409:
            reply = reviewer.post(
                f"/api/v1/tasks/{tasks[inst]}/complete",
                headers=agency,
                json={"data": {"decision": "approve"}},
            )
            assert reply.status_code == 200, reply.get_json()
    # whatever the plan could not take while a reviewer held it, a second run moves
    rest = plan(1, 2)
    assert rest["migrated"] == rest["total"]

    with new.app_context():
        session = db.session
        definitions = new.extensions["memberflow"].definitions
        for inst in forms:
            row = session.get(ProcessInstance, inst)
            assert definitions.version_number(session, row.definition_version_id) == 2
            engine = Instance.load(
                definitions.version(session, row.definition_version_id), row.state
            )
            open_rows = session.scalars(
                select(UserTask).where(UserTask.instance_id == inst, UserTask.state == "open")
            ).all()
            # the agency's completion is in the engine state, and the queue agrees with it
            assert [t.name for t in engine.ready_tasks()] == ["association_review"], inst
            assert {t.engine_task_id for t in open_rows} == {t.id for t in engine.ready_tasks()}
            assert row.status == engine.status
            agency_rows = session.scalars(
                select(UserTask.state).where(
                    UserTask.instance_id == inst, UserTask.task_name == "agency_review"
                )
            ).all()
            assert agency_rows == ["completed"], inst
            completions = session.scalar(
                select(func.count()).where(
                    AuditRecord.instance_id == inst,
                    AuditRecord.action == "complete",
                    AuditRecord.task_name == "agency_review",
                )
            )
            migrations = session.scalar(
                select(func.count()).where(
                    AuditRecord.instance_id == inst, AuditRecord.action == "migrate"
                )
            )
            assert completions == 1 and migrations >= 1, inst
        db.session.remove()
