"""Migration 0021 on SQLite and PostgreSQL: on PostgreSQL it gives the persons' names an index
of their characters, goes down and up again, and SQLite is left as it was; and a search of
one or two characters, which has no trigram, is planned on that index and never on the
trigram index (which would read all of it), even on a work queue's generic plan, made
before the text is known. Three characters and more stay with the trigrams."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from alembic import command
from test_list_indexes_migration import indexes
from test_search_by_persons_migration import declared

from service.db.migrate import alembic_config, upgrade
from service.db.models import UserTask
from service.domain.actor import Actor
from service.services.workflow import queue
from service.services.workflow.instances import instances_query

CHARACTERS = "ix_instance_persons_name_chars"
TRIGRAMS = "ix_instance_persons_name_trgm"
ASSOCIATION = Actor(1, "协会审核员", "association_reviewer")


def test_the_characters_index_comes_and_goes_on_postgresql(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0020")
    before = indexes(blank_url)
    assert CHARACTERS not in before
    upgrade(blank_url, "0021")
    after = indexes(blank_url)
    assert after - before == ({CHARACTERS} if postgres else set())
    command.downgrade(alembic_config(blank_url), "0020")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert indexes(blank_url) == declared("postgresql" if postgres else "sqlite")


def generic_plan(conn, stmt) -> str:
    """PostgreSQL's generic plan of `stmt` (its parameters unknown when it is planned), as a
    work queue runs it, with sequential scans ruled out."""
    return plan_of(conn, stmt, "force_generic_plan", seqscan=False)


def plans_of(url: str, statements: dict, mode: str) -> dict[str, str]:
    """`plan_of` each labelled statement on the database at `url`, sequential scans allowed."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            plans = {}
            for label, stmt in statements.items():
                plans[label] = plan_of(conn, stmt, mode)
                conn.rollback()
            return plans
    finally:
        engine.dispose()


def scalars_of(url: str, stmt) -> list:
    """The first column of each row `stmt` reads from the database at `url`."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return list(conn.scalars(stmt))
    finally:
        engine.dispose()


def plan_of(conn, stmt, mode: str, seqscan: bool = True) -> str:
    """PostgreSQL's plan of `stmt`, prepared as the driver prepares it, under `mode` (the
    plan_cache_mode: force_generic_plan or force_custom_plan); `seqscan`: whether the
    planner may read a table whole."""
    compiled = stmt.compile(conn, compile_kwargs={"render_postcompile": True})
    names: list[str] = []

    def numbered(match) -> str:
        if match.group(1) not in names:
            names.append(match.group(1))
        return f"${names.index(match.group(1)) + 1}"

    sql = re.sub(r"%\((\w+)\)s", numbered, compiled.string).replace("%%", "%")
    values = ", ".join(
        str(v) if isinstance(v, int) else "'" + v.replace("'", "''") + "'"
        for v in (compiled.params[name] for name in names)
    )
    cursor = conn.connection.cursor()
    cursor.execute(f"SET LOCAL plan_cache_mode = {mode}")
    cursor.execute(f"SET LOCAL enable_seqscan = {'on' if seqscan else 'off'}")
    cursor.execute("PREPARE searched AS " + sql)
    cursor.execute(f"EXPLAIN EXECUTE searched({values})")
    plan = "\n".join(row[0] for row in cursor.fetchall())
    cursor.execute("DEALLOCATE searched")
    return plan


@pytest.mark.parametrize(
    ("q", "used", "unused"),
    [
        ("志强", CHARACTERS, TRIGRAMS),
        ("强", CHARACTERS, TRIGRAMS),
        ("陈志强", TRIGRAMS, CHARACTERS),
    ],
)
def test_a_short_search_is_planned_on_the_characters_and_a_long_one_on_trigrams(
    fresh_statistics, q, used, unused
):
    engine = sa.create_engine(fresh_statistics)
    searches = {
        "to do": queue.query(ASSOCIATION, queue.Filters(q=q), sa.select(UserTask.id)),
        "done": queue.query(ASSOCIATION, queue.Filters(scope="done", q=q), sa.select(UserTask.id)),
        "instances": instances_query(ASSOCIATION, q=q),
    }
    try:
        with engine.connect() as conn:
            for label, stmt in searches.items():
                plan = generic_plan(conn, stmt)
                assert used in plan and unused not in plan, (label, plan)
            conn.rollback()
    finally:
        engine.dispose()
