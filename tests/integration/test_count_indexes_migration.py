"""Migration 0027: on PostgreSQL the totals of the open queues and of the done lists have
indexes of their own, partial, holding as keys every column each role's conditions name and
nothing besides (so B-tree deduplication applies: an index with INCLUDE columns is never
deduplicated); they come and go with the migration; SQLite is left as it was; and on a
queue long enough for the planner to care, the association's total and a done list's total
are counted from them, while the pages are still read in their order from the covering
indexes."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from plans import explained, plan_nodes
from sqlalchemy import event
from sqlalchemy.sql import visitors
from test_done_count_index_migration import ACTORS, columns_of, predicate_of
from test_list_indexes_migration import indexes
from test_search_by_persons_migration import declared

from service.db import db
from service.db.migrate import alembic_config, upgrade
from service.db.models import COUNTED_DONE, COUNTED_OPEN, UserTask
from service.services.workflow.queue import _in_scope

OPEN, DONE = "ix_user_tasks_open_count", "ix_user_tasks_done_count"


def test_the_count_indexes_come_and_go_on_postgresql_alone(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0026")
    before = indexes(blank_url)
    upgrade(blank_url, "0027")
    after = indexes(blank_url)
    assert after - before == ({OPEN, DONE} if postgres else set())
    if postgres:
        assert columns_of(blank_url, OPEN) == (list(COUNTED_OPEN), [])
        assert columns_of(blank_url, DONE) == (list(COUNTED_DONE), [])
        assert predicate_of(blank_url, OPEN) == "((state)::text = 'open'::text)"
        assert predicate_of(blank_url, DONE) == "((state)::text = 'completed'::text)"
    command.downgrade(alembic_config(blank_url), "0026")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert indexes(blank_url) == declared("postgresql" if postgres else "sqlite")


def test_every_role_s_total_names_only_columns_its_count_index_holds():
    table = UserTask.__table__
    for scope, keys in (("available", COUNTED_OPEN), ("done", COUNTED_DONE)):
        held = set(keys) | {"state"}  # the partial index's own condition
        for actor in ACTORS:
            named = set()
            for condition in _in_scope(actor, scope):
                for element in visitors.iterate(condition):
                    if isinstance(element, sa.Column) and element.table is table:
                        named.add(element.name)
            assert named <= held, (scope, actor.role, sorted(named - held))


def _indexes_read(plan: dict) -> set[tuple[str, str]]:
    """(scan, index) of every index scan in a plan (EXPLAIN's JSON)."""
    return {(n["Node Type"], n["Index Name"]) for n in plan_nodes(plan) if "Index Name" in n}


def _total_plan(plan: dict) -> dict:
    """The InitPlan that counts the list's total."""
    (total,) = [
        p for p in plan.get("Plans", []) if p.get("Subplan Name", "").startswith("InitPlan")
    ]
    return total


def test_long_lists_are_counted_from_the_count_indexes(app, client, login, world, db_url):
    """3,000 open tasks in the association's queue and 3,000 it has done (rows written by
    SQL, the table vacuumed and analysed as autovacuum keeps it): the lists' totals, as the
    service asks for them, are index-only scans of the count indexes, and each page still
    comes from its covering index, in its order."""
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL's indexes (SQLite has no count indexes)")
    headers = login("association")
    with app.app_context():
        engine = db.engine
    with engine.begin() as conn:
        reviewer = conn.exec_driver_sql(
            "SELECT id FROM accounts WHERE username = %(u)s", {"u": world.logins["association"]}
        ).scalar_one()
        version = conn.exec_driver_sql(
            "INSERT INTO definition_versions (process_key, digest, files, created_at, number) "
            "VALUES ('member_join', 'count-test', '{}', now(), 99) RETURNING id"
        ).scalar_one()
        conn.exec_driver_sql(
            "INSERT INTO process_instances (process_key, definition_version_id, business_key, "
            "status, state, finished, version, submitted_at, updated_at, agency_id, unit_id) "
            "SELECT 'member_join', %(version)s, 'CNT-' || n, '协会审核中', '{}', false, 1, now(), "
            "now(), %(agency)s, %(unit)s FROM generate_series(1, 6000) n",
            {"version": version, "agency": world.agency_id, "unit": world.unit_id},
        )
        conn.exec_driver_sql(
            "INSERT INTO user_tasks (instance_id, engine_task_id, process_key, task_name, title, "
            "lane, role, agency_id, unit_id, submitted_at, status_label, state, created_at, "
            "completed_by, completed_at) "
            "SELECT p.id, 'e' || p.id, 'member_join', 'association_review', '协会审核', '协会', "
            "'association_reviewer', p.agency_id, p.unit_id, p.submitted_at, '协会审核中', "
            "CASE WHEN p.id %% 2 = 0 THEN 'open' ELSE 'completed' END, now(), "
            "CASE WHEN p.id %% 2 = 0 THEN NULL ELSE %(reviewer)s END, "
            "CASE WHEN p.id %% 2 = 0 THEN NULL ELSE now() END "
            "FROM process_instances p WHERE p.business_key LIKE 'CNT-%%'",
            {"reviewer": reviewer},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE user_tasks")
    sent: list[tuple] = []

    def on_statement(_conn, _cursor, statement, params, *_args):
        if "FROM user_tasks" in statement:  # the list's (not the caller's account)
            sent.append((statement, params))

    for scope, index, page_index in (
        ("available", OPEN, "ix_user_tasks_open_role"),
        ("done", DONE, "ix_user_tasks_completed"),
    ):
        sent.clear()
        event.listen(engine, "before_cursor_execute", on_statement)
        try:
            reply = client.get("/api/v1/tasks", headers=headers, query_string={"scope": scope})
        finally:
            event.remove(engine, "before_cursor_execute", on_statement)
        assert reply.status_code == 200, reply.get_json()
        assert reply.get_json()["total"] == 3000, (scope, reply.get_json()["total"])
        (statement,) = sent
        plan = explained(engine, *statement)
        assert _indexes_read(_total_plan(plan)) == {("Index Only Scan", index)}, (scope, plan)
        assert ("Index Only Scan", page_index) in _indexes_read(plan), (scope, plan)
