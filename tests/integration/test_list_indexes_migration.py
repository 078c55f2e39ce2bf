"""Migration 0008 on SQLite and PostgreSQL: it gives the database the list indexes (trigrams
on PostgreSQL alone) and goes down and up again. (The name search the service writes now,
and the indexes it uses, are 0020's: test_search_by_persons_migration.)"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from service.db.migrate import alembic_config, upgrade

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


def test_the_list_indexes_come_and_go(blank_url):
    dialect = sa.make_url(blank_url).get_backend_name()
    upgrade(blank_url, "0007")
    before = indexes(blank_url)
    assert REPLACED <= before and not (ADDED | TRIGRAMS) & before
    upgrade(blank_url, "0008")
    after = indexes(blank_url)
    assert ADDED <= after and not REPLACED & after
    assert (TRIGRAMS <= after) == (dialect == "postgresql")
    command.downgrade(alembic_config(blank_url), "0007")
    assert indexes(blank_url) == before
    upgrade(blank_url, "0008")  # again: the extension is there already
    assert indexes(blank_url) == after
