"""Run the Alembic migrations that live beside the models."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config as AlembicConfig

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


class MigrationRefused(RuntimeError):
    """A migration that found data it must not change by itself: its message (Chinese) says
    what and how to fix it; nothing was changed. `memberflow db upgrade` prints it alone."""


def alembic_config(database_url: str) -> AlembicConfig:
    """An Alembic configuration for the given database, without an ini file."""
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    """Bring the database schema up to `revision`."""
    command.upgrade(alembic_config(database_url), revision)


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
