"""Migration 0019: on PostgreSQL the narrow index of completed tasks carries the scope
columns, so that every role's done total is counted from it alone; it goes down and up
again; SQLite's index stays as it was. And the index holds every column a done list's
conditions name, whatever the role (were a scope column added to scope.task_scope and not
to the index, the test says which)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.sql import visitors

from service.db.migrate import alembic_config, upgrade
from service.db.models import UserTask
from service.domain.actor import Actor
from service.services.workflow.queue import _in_scope

NAME = "ix_user_tasks_completed"
KEYS = ["completed_by", "role", "completed_at", "id"]
SCOPE = ["unit_id", "agency_id", "member_id"]
ACTORS = [
    Actor(1, "单位管理员", "unit_admin", unit_id=3),
    Actor(2, "广州初审员", "agency_reviewer", agency_id=4),
    Actor(3, "协会审核员", "association_reviewer"),
    Actor(4, "协会财务", "finance_reviewer"),
    Actor(5, "陈志强", "member", unit_id=3, member_id=6),
]


def columns_of(url: str, name: str = NAME) -> tuple[list[str], list[str]]:
    """An index's key columns and its included ones, in order, as the database has them
    (the narrow done index's by default)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(f"PRAGMA index_xinfo('{name}')").all()
                return [r.name for r in rows if r.key and r.name], []  # no INCLUDE here
            rows = conn.execute(
                sa.text(
                    "SELECT a.attname, k.n <= i.indnkeyatts AS is_key "
                    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                    "WHERE c.relname = :name ORDER BY k.n"
                ),
                {"name": name},
            ).all()
            return [r.attname for r in rows if r.is_key], [r.attname for r in rows if not r.is_key]
    finally:
        engine.dispose()


def test_the_done_index_carries_the_scope_on_postgresql_alone(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0018")
    assert columns_of(blank_url) == (KEYS, [])
    upgrade(blank_url)
    assert columns_of(blank_url) == (KEYS, SCOPE if postgres else [])
    command.downgrade(alembic_config(blank_url), "0018")
    assert columns_of(blank_url) == (KEYS, [])
    upgrade(blank_url)
    assert columns_of(blank_url)[1] == (SCOPE if postgres else [])


def predicate_of(url: str, name: str = NAME) -> str:
    """A partial index's WHERE (the narrow done index's by default), as PostgreSQL spells it."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(
                sa.text(
                    "SELECT pg_get_expr(i.indpred, i.indrelid) FROM pg_index i "
                    "JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = :name"
                ),
                {"name": name},
            ).scalar_one()
    finally:
        engine.dispose()


def test_every_role_s_done_list_names_only_columns_the_index_holds(pg_url):
    keys, included = columns_of(pg_url)
    assert predicate_of(pg_url) == "((state)::text = 'completed'::text)"
    held = set(keys) | set(included) | {"state"}  # the partial index's own condition
    table = UserTask.__table__
    for actor in ACTORS:
        named = set()
        for condition in _in_scope(actor, "done"):
            for element in visitors.iterate(condition):
                if isinstance(element, sa.Column) and element.table is table:
                    named.add(element.name)
        assert "completed_by" in named, (actor.role, named)
        assert named <= held, (actor.role, sorted(named - held))
