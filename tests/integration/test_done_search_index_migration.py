"""Migration 0023 on SQLite and PostgreSQL: the index a done list's name-search total is
counted from, form by form (`queue._counted_by_forms`), comes and goes; its keys are the
completer and the form, and on PostgreSQL it carries every other column a done list's
conditions name, whatever the role, so that each form's lookup reads nothing else."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.sql import visitors
from test_done_count_index_migration import ACTORS, columns_of, predicate_of
from test_list_indexes_migration import indexes
from test_search_by_persons_migration import declared

from service.db.migrate import alembic_config, upgrade
from service.db.models import UserTask
from service.services.workflow.queue import _in_scope

NAME = "ix_user_tasks_completed_forms"


def sqlite_predicate(url: str) -> str:
    """The index's WHERE on SQLite, as its CREATE INDEX statement spells it."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            sql = conn.exec_driver_sql(
                "SELECT sql FROM sqlite_master WHERE name = ?", (NAME,)
            ).scalar_one()
            return sql.split(" WHERE ")[1]
    finally:
        engine.dispose()


def test_the_forms_index_of_completed_tasks_comes_and_goes(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0022")
    before = indexes(blank_url)
    upgrade(blank_url, "0023")
    after = indexes(blank_url)
    assert after - before == {NAME}
    keys, included = columns_of(blank_url, NAME)
    assert keys == ["completed_by", "instance_id"]
    if postgres:
        assert included == ["role", "unit_id", "agency_id", "member_id"]
        assert predicate_of(blank_url, NAME) == "((state)::text = 'completed'::text)"
    else:
        assert sqlite_predicate(blank_url) == "state = 'completed'"
    command.downgrade(alembic_config(blank_url), "0022")
    assert indexes(blank_url) == before
    upgrade(blank_url, "0023")
    assert indexes(blank_url) == after
    upgrade(blank_url)
    assert indexes(blank_url) == declared("postgresql" if postgres else "sqlite")


def test_every_role_s_lookup_names_only_columns_the_index_holds(pg_url):
    keys, included = columns_of(pg_url, NAME)
    held = set(keys) | set(included) | {"state"}  # the partial index's own condition
    table = UserTask.__table__
    for actor in ACTORS:
        named = {"instance_id"}  # the form looked up
        for condition in _in_scope(actor, "done"):
            for element in visitors.iterate(condition):
                if isinstance(element, sa.Column) and element.table is table:
                    named.add(element.name)
        assert named <= held, (actor.role, sorted(named - held))
