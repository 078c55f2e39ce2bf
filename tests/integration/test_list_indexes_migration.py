"""Migration 0008 on SQLite and PostgreSQL: the list indexes the models declare are the ones
the database gets (trigrams on PostgreSQL alone), it goes down and up again, and on
PostgreSQL the name search the service writes can use the trigram indexes."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from service.db.migrate import alembic_config, upgrade
from service.db.models import Base
from service.domain.actor import Actor
from service.services.workflow.instances import instances_query

TABLES = ("process_instances", "instance_persons", "user_tasks")
ADDED = {
    "ix_process_instances_unit_status_id",
    "ix_process_instances_agency_status_id",
    "ix_process_instances_status_id",
    "ix_process_instances_key_id",
    "ix_process_instances_submitted_at",
    "ix_user_tasks_completed",
}
TRIGRAMS = {"ix_process_instances_subject_name_trgm", "ix_instance_persons_name_trgm"}
REPLACED = {"ix_process_instances_unit_status", "ix_process_instances_agency_status"}


def indexes(url: str) -> set[str]:
    """The names of the ix_ indexes on the list tables, as the database has them."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                rows = conn.execute(
                    sa.text("SELECT indexname FROM pg_indexes WHERE tablename = ANY(:t)"),
                    {"t": list(TABLES)},
                )
            else:
                rows = conn.execute(
                    sa.text(
                        "SELECT name FROM sqlite_master WHERE type = 'index' "
                        "AND tbl_name IN ('process_instances', 'instance_persons', 'user_tasks')"
                    )
                )
            return {name for (name,) in rows if name.startswith("ix_")}
    finally:
        engine.dispose()


def declared(dialect: str) -> set[str]:
    """The names of the ix_ indexes the models declare on the list tables for `dialect`."""
    found = set()
    for table in TABLES:
        for index in Base.metadata.tables[table].indexes:
            only = index._ddl_if.dialect if index._ddl_if else None
            if index.name.startswith("ix_") and only in (None, dialect):
                found.add(index.name)
    return found


def test_the_list_indexes_come_and_go_as_the_models_declare_them(blank_url):
    dialect = sa.make_url(blank_url).get_backend_name()
    upgrade(blank_url, "0007")
    before = indexes(blank_url)
    assert REPLACED <= before and not (ADDED | TRIGRAMS) & before
    upgrade(blank_url)
    after = indexes(blank_url)
    assert after == declared(dialect)
    assert ADDED <= after and not REPLACED & after
    assert (TRIGRAMS <= after) == (dialect == "postgresql")
    command.downgrade(alembic_config(blank_url), "0007")
    assert indexes(blank_url) == before
    upgrade(blank_url)  # again: the extension is there already
    assert indexes(blank_url) == after


def test_the_name_search_the_service_writes_can_use_the_trigram_indexes(pg_url):
    """With a sequential scan ruled out, PostgreSQL answers the search by the trigram
    indexes; were the LIKE spelt so that they cannot serve it, it could not."""
    stmt = instances_query(Actor(1, "协会审核员", "association_reviewer"), q="王建国")
    engine = sa.create_engine(pg_url)
    try:
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            cursor = conn.connection.cursor()
            cursor.execute("SET LOCAL enable_seqscan = off")
            cursor.execute("EXPLAIN " + sql)  # no parameters: % is the SQL's own
            plan = "\n".join(row[0] for row in cursor.fetchall())
    finally:
        engine.dispose()
    assert "ix_process_instances_subject_name_trgm" in plan, plan
    assert "ix_instance_persons_name_trgm" in plan, plan
