"""A claim decides its race in the database with the claimer's scope in its WHERE: on
PostgreSQL, with real threads, a claim that waited for a unit's move to another agency finds
the task in the new agency and is refused (409)."""

from __future__ import annotations

import threading
import time

import sqlalchemy as sa
from conftest import make_app, seed_world, token_headers
from test_work_follows_agency_changes import agency_task, enrolment

from service.db.models import UserTask


def test_a_claim_that_waited_for_a_unit_move_is_refused(pg_url, tmp_path):
    """PostgreSQL, real threads: the old agency's reviewer claims while the move holds the
    task's row; once the move commits, the claim finds the task in another agency: 409, and
    the task waits unclaimed in the new agency's queue."""
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    client = app.test_client()
    headers = {}

    def login(who):
        if who not in headers:
            headers[who] = token_headers(client, world.logins[who])
        return headers[who]

    form = enrolment(app, client, login, world.unit_id, "张三", "44010619850303123")
    task = agency_task(app, form).id
    reviewer = login("agency")
    engine = sa.create_engine(pg_url)
    answers = []
    try:
        with engine.connect() as mover:
            mover.execute(
                sa.update(UserTask)
                .where(UserTask.id == task)
                .values(agency_id=world.other_agency_id)
            )  # the move's UPDATE, not yet committed
            claimer = threading.Thread(
                target=lambda: answers.append(
                    app.test_client().post(f"/api/v1/tasks/{task}/claim", headers=reviewer)
                )
            )
            claimer.start()
            time.sleep(0.5)  # the claim waits for the row
            assert not answers
            mover.commit()
            claimer.join(timeout=30)
    finally:
        engine.dispose()
    assert answers[0].status_code == 409, answers[0].get_json()
    assert agency_task(app, form).claimed_by is None
