"""The work queues run on PostgreSQL's generic plans (`db.begin.generic_plans`): a queue
page's statement is planned once per connection, not at every page; the setting goes with
the BEGIN, ends with its transaction, and changes no answer. The instance list, whose
generic plan is a bad one, plans as PostgreSQL chooses."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import applicant_data, seed_world, start_form, token_headers

from service.db import begin, db
from service.db.uow import plan_once
from service.db.wire import traced


def _plans(driver, starts: str) -> tuple[int, int]:
    """(generic, custom) plans the connection's prepared statement starting with `starts`
    has run on so far."""
    with driver.cursor() as cur:
        cur.execute(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements"
            " WHERE statement LIKE %s",
            (starts + "%",),
        )
        found = cur.fetchall()
    driver.commit()
    assert len(found) == 1, found
    return found[0]


def _mode(driver) -> str:
    with driver.cursor() as cur:
        cur.execute("SHOW plan_cache_mode")
        (mode,) = cur.fetchone()
    driver.commit()
    return mode


@pytest.fixture
def listed(pg_app):
    """The app with a form in the unit's queue (its pre-review), and the unit's headers."""
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    start_form(client, unit, "member_join", applicant_data(client, unit))
    return pg_app, client, {"unit": unit}


def test_a_queue_page_is_planned_once_with_its_begin(listed):
    who, path, starts = "unit", "/api/v1/tasks?scope=available", "SELECT (SELECT count("
    app, client, heads = listed
    with app.app_context():
        engine = db.engine
    used = []

    def on_statement(conn, _cursor, statement, *_args):
        if statement.startswith(starts):
            used.append(conn.connection.driver_connection)

    sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        with traced(engine) as wire:
            first = client.get(path, headers=heads[who])
        for _ in range(5):  # beyond the five runs PostgreSQL plans anew before it may choose
            again = client.get(path, headers=heads[who])
            assert again.get_json() == first.get_json()
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)
    assert first.status_code == 200 and first.get_json()["total"] == 1, first.get_json()
    # the SET goes to the server with the BEGIN and the list's statement, in one round trip
    trip = wire.text[: wire.text.index("ReadyForQuery")]
    for part in ("BEGIN READ ONLY", "plan_cache_mode = force_generic_plan", starts[:30]):
        assert part in trip, trip
    # each run on a connection used its one generic plan: none was planned for its values
    for driver in set(used):
        generic, custom = _plans(driver, starts)
        assert custom == 0 and generic == used.count(driver), (generic, custom)
        # and the transaction after it plans as PostgreSQL chooses again
        assert _mode(driver) == "auto"


def test_the_instance_list_plans_as_postgresql_chooses(listed):
    app, client, heads = listed
    with app.app_context():
        engine = db.engine
    with traced(engine) as wire:
        reply = client.get("/api/v1/instances", headers=heads["unit"])
    assert reply.status_code == 200 and reply.get_json()["total"] == 1, reply.get_json()
    assert "SELECT process_instances.id" in wire.text and "plan_cache_mode" not in wire.text


def test_generic_plans_inside_a_transaction_last_until_its_end(pg_app):
    with pg_app.app_context():
        session = db.session()
        session.execute(sa.text("SELECT 1"))  # the transaction has begun
        driver = session.connection().connection.driver_connection
        plan_once(session)  # sent now, in the transaction
        assert session.execute(sa.text("SHOW plan_cache_mode")).scalar() == "force_generic_plan"
        session.commit()
        assert session.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"
        session.rollback()
        # asked between transactions, on a rolled-back one: it is forgotten with it
        plan_once(session)
        assert driver.generic_plans
        session.rollback()
        assert not driver.generic_plans
        assert session.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"
        db.session.remove()


def test_a_connection_in_autocommit_mode_is_left_alone(pg_app):
    with pg_app.app_context():
        engine = db.engine
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        driver = conn.connection.driver_connection
        begin.generic_plans(driver)
        assert not driver.generic_plans
        assert conn.execute(sa.text("SHOW plan_cache_mode")).scalar() == "auto"
