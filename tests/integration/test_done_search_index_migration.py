"""Migration 0023 on SQLite and PostgreSQL: the index a done list's name-search total is
counted from, form by form (`queue._counted_by_forms`), comes and goes; its keys are the
completer and the form, and on PostgreSQL it carries every other column a done list's
conditions name, whatever the role, so that each form's lookup reads nothing else."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.sql import visitors
from test_done_count_index_migration import ACTORS
from test_list_indexes_migration import indexes
from test_search_by_persons_migration import declared

from service.db.migrate import alembic_config, upgrade
from service.db.models import UserTask
from service.services.workflow.queue import _in_scope

NAME = "ix_user_tasks_completed_forms"


def columns_of(url: str) -> tuple[list[str], list[str], str | None]:
    """The index's key columns, its included ones and its WHERE, as the database has them."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "sqlite":
                rows = conn.exec_driver_sql(f"PRAGMA index_xinfo('{NAME}')").all()
                sql = conn.exec_driver_sql(
                    "SELECT sql FROM sqlite_master WHERE name = ?", (NAME,)
                ).scalar_one()
                return [r.name for r in rows if r.key and r.name], [], sql.split(" WHERE ")[1]
            rows = conn.execute(
                sa.text(
                    "SELECT a.attname, k.n <= i.indnkeyatts AS is_key, "
                    "pg_get_expr(i.indpred, i.indrelid) AS predicate "
                    "FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
                    "CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n) "
                    "JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum "
                    "WHERE c.relname = :name ORDER BY k.n"
                ),
                {"name": NAME},
            ).all()
            return (
                [r.attname for r in rows if r.is_key],
                [r.attname for r in rows if not r.is_key],
                rows[0].predicate,
            )
    finally:
        engine.dispose()


def test_the_forms_index_of_completed_tasks_comes_and_goes(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0022")
    before = indexes(blank_url)
    upgrade(blank_url)
    after = indexes(blank_url)
    assert after - before == {NAME}
    assert after == declared("postgresql" if postgres else "sqlite")
    keys, included, where = columns_of(blank_url)
    assert keys == ["completed_by", "instance_id"]
    if postgres:
        assert included == ["role", "unit_id", "agency_id", "member_id"]
        assert where == "((state)::text = 'completed'::text)"
    else:
        assert where == "state = 'completed'"
    command.downgrade(alembic_config(blank_url), "0022")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert indexes(blank_url) == after


def test_every_role_s_lookup_names_only_columns_the_index_holds(pg_url):
    keys, included, _where = columns_of(pg_url)
    held = set(keys) | set(included) | {"state"}  # the partial index's own condition
    table = UserTask.__table__
    for actor in ACTORS:
        named = {"instance_id"}  # the form looked up
        for condition in _in_scope(actor, "done"):
            for element in visitors.iterate(condition):
                if isinstance(element, sa.Column) and element.table is table:
                    named.add(element.name)
        assert named <= held, (actor.role, sorted(named - held))
