"""Run the Alembic migrations that live beside the models."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # alembic is imported where it is used: a server's start needs none of it
    from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# one `memberflow db upgrade` at a time on a PostgreSQL database (a session-level advisory
# lock taken by migrations/env.py): a second one waits, then finds nothing left to do
MIGRATION_LOCK = 0x6D666D6967  # "mfmig"


class MigrationRefused(RuntimeError):
    """A migration that found data it must not change by itself: its message (Chinese) says
    what and how to fix it; nothing was changed. `memberflow db upgrade` prints it alone."""


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration for the given database, without an ini file."""
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    from alembic import command

    command.upgrade(alembic_config(database_url), revision)


_REVISION = re.compile(r"""^(down_revision|revision)\s*(?::[^=]*)?=\s*(.+?)\s*$""", re.M)


@cache
def code_revisions() -> tuple[frozenset[str], frozenset[str]]:
    """(every revision this code has, its heads): read from the migration files' `revision`
    and `down_revision` lines, without importing them (alembic's own reading of the scripts
    takes about a second; `tests/unit/test_schema_revision_check.py` compares the two)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (MIGRATIONS / "versions").glob("*.py"):
        for name, value in _REVISION.findall(path.read_text(encoding="utf-8")):
            found = set(re.findall(r"""["']([^"']+)["']""", value))
            (revisions if name == "revision" else parents).update(found)
    return frozenset(revisions), frozenset(revisions - parents)


def drop_everything(database_url: str) -> None:
    """Drop every table of the database (the demo's fresh start; never used in production)."""
    import warnings

    from sqlalchemy import MetaData, create_engine
    from sqlalchemy.exc import SAWarning

    engine = create_engine(database_url)
    try:
        if engine.dialect.name == "postgresql":
            # procrastinate's queue (background jobs): its functions hang on its tables; what
            # is left (types, functions) the migration that creates the queue clears first
            with engine.begin() as conn:
                conn.exec_driver_sql(
                    "DROP TABLE IF EXISTS procrastinate_events, procrastinate_periodic_defers, "
                    "procrastinate_jobs, procrastinate_workers CASCADE"
                )
        metadata = MetaData()
        with warnings.catch_warnings():  # expression indexes are dropped with their tables
            warnings.simplefilter("ignore", SAWarning)
            metadata.reflect(engine)
        metadata.drop_all(engine)
    finally:
        engine.dispose()
