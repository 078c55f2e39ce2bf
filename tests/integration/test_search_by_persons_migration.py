"""Migration 0020 on SQLite and PostgreSQL: on PostgreSQL the trigram index of every form's
name gives way to one of the forms with a name and no ID number (partial), it goes down and
up again, SQLite is left as it was; the list indexes at the head are the ones the models
declare; and the name search the service writes can use the persons' trigram index and
the forms' partial one."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from test_done_count_index_migration import predicate_of
from test_list_indexes_migration import TABLES, indexes

from service.db.migrate import alembic_config, upgrade
from service.db.models import Base
from service.domain.actor import Actor
from service.services.workflow.instances import instances_query

EVERY = "ix_process_instances_subject_name_trgm"
UNLISTED = "ix_process_instances_unlisted_name_trgm"
PERSONS = "ix_instance_persons_name_trgm"


def declared(dialect: str) -> set[str]:
    """The names of the ix_ indexes the models declare on the list tables for `dialect`."""
    found = set()
    for table in TABLES:
        for index in Base.metadata.tables[table].indexes:
            only = index._ddl_if.dialect if index._ddl_if else None
            if index.name.startswith("ix_") and only in (None, dialect):
                found.add(index.name)
    return found


def test_the_unlisted_names_index_replaces_every_name_s_on_postgresql(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0019")
    before = indexes(blank_url)
    assert (EVERY in before) == postgres and UNLISTED not in before
    upgrade(blank_url)
    after = indexes(blank_url)
    assert after == declared("postgresql" if postgres else "sqlite")
    assert EVERY not in after and (UNLISTED in after) == postgres
    assert (PERSONS in after) == postgres
    if postgres:
        assert predicate_of(blank_url, UNLISTED) == (
            "((subject_id_number IS NULL) AND (subject_name IS NOT NULL))"
        )
    command.downgrade(alembic_config(blank_url), "0019")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert indexes(blank_url) == after


def plan(conn, sql: str) -> str:
    cursor = conn.connection.cursor()
    cursor.execute("EXPLAIN " + sql)  # no parameters: % is the SQL's own
    return "\n".join(row[0] for row in cursor.fetchall())


def test_the_name_search_the_service_writes_can_use_the_trigram_indexes(fresh_statistics):
    """With a sequential scan ruled out, PostgreSQL answers the search by the persons'
    trigram index, and a form's own name by the partial one (once the index of every
    form's missing ID number, which an empty table makes cheaper, is gone too); were the
    LIKE spelt so that they cannot serve it, or the condition so that it does not imply
    the partial index's, it could not."""
    stmt = instances_query(Actor(1, "协会审核员", "association_reviewer"), q="王建国")
    engine = sa.create_engine(fresh_statistics)
    try:
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            conn.execute(sa.text("SET LOCAL enable_seqscan = off"))
            assert PERSONS in plan(conn, sql)
            conn.execute(sa.text("DROP INDEX ix_process_instances_subject_id_number"))
            assert UNLISTED in plan(conn, sql)
            conn.rollback()  # the index comes back
    finally:
        engine.dispose()
