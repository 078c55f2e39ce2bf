"""The secretariat reassigning a task while its holder completes it, with real threads on
PostgreSQL: the database decides, exactly one of them wins, the other gets 409."""

from __future__ import annotations

import pytest
from conftest import (
    applicant_data,
    form_values,
    open_task,
    race,
    seed_world,
    start_form,
    step_task,
    token_headers,
)
from sqlalchemy import func, select
from test_concurrency import add_reviewers

from service.db import db
from service.db.models import Account, AuditRecord, UserTask
from service.domain.validation import make_resident_id

pytestmark = pytest.mark.alone  # see scripts/test

ROUNDS = 6


def at_association_review(app, world, n: int) -> dict:
    """A new join application (its own applicant) waiting for the association's review."""
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    data = applicant_data(client, unit, id_number=make_resident_id(f"44010619850315{n:03d}"))
    inst = start_form(client, unit, "member_join", data)
    step_task(
        client,
        unit,
        inst["id"],
        {
            **form_values(client, unit, inst["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    step_task(
        client, token_headers(client, world.logins["agency"]), inst["id"], {"decision": "approve"}
    )
    return open_task(client, token_headers(client, world.logins["association"]), inst["id"])


def test_a_reassign_racing_the_holders_completion_has_exactly_one_outcome(pg_app):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    admin = token_headers(client, world.logins["admin"])
    holder_name, other_name = add_reviewers(pg_app, 2)
    holder = token_headers(client, holder_name)
    with pg_app.app_context():
        ids = dict(db.session.execute(select(Account.username, Account.id)).all())
        db.session.remove()
    outcomes = set()
    for n in range(ROUNDS):
        task = at_association_review(pg_app, world, n)
        assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=holder).status_code == 200

        def act(i, task_id=task["id"]):
            c = pg_app.test_client()
            if i == 0:
                reply = c.post(
                    f"/api/v1/tasks/{task_id}/complete",
                    headers=holder,
                    json={"data": {"decision": "approve"}},
                )
            else:
                reply = c.post(
                    f"/api/v1/tasks/{task_id}/reassign",
                    headers=admin,
                    json={"account_id": ids[other_name]},
                )
            return reply.status_code, reply.get_json()

        (completed, _), (reassigned, body) = race(2, act)
        assert sorted([completed, reassigned]) == [200, 409], (completed, reassigned, body)
        with pg_app.app_context():
            row = db.session.get(UserTask, task["id"])
            actions = dict(
                db.session.execute(
                    select(AuditRecord.action, func.count())
                    .where(AuditRecord.user_task_id == task["id"])
                    .group_by(AuditRecord.action)
                ).all()
            )
            db.session.remove()
        if completed == 200:
            outcomes.add("completed")
            assert (row.state, row.completed_by) == ("completed", ids[holder_name])
            assert actions == {"claim": 1, "complete": 1}
        else:
            outcomes.add("reassigned")
            assert (row.state, row.claimed_by) == ("open", ids[other_name])
            assert actions == {"claim": 1, "reassign": 1}
    assert outcomes  # each round ended one way or the other, never both, never a 500
