"""Alembic environment: the URL (or an open connection) comes from service.db.migrate."""

from contextlib import contextmanager

from alembic import context
from sqlalchemy import create_engine, text

from service.db.migrate import MIGRATION_LOCK
from service.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


@contextmanager
def one_at_a_time(conn):
    """On PostgreSQL, hold the migrations' advisory lock (session level, so that it spans
    the migrations' own transaction): two upgrades started together (one per host at a
    deployment) run one after the other, the second finding the database up to date. The
    lock goes with the connection if the process dies. SQLite has one writer anyway."""
    if conn.dialect.name != "postgresql":
        yield
        return
    conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK})
    conn.commit()  # the migrations begin their own transaction, reading the version anew
    try:
        yield
    finally:
        try:
            if conn.in_transaction():
                conn.rollback()
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK})
            conn.commit()
        except Exception:  # noqa: BLE001, S110 - a broken connection: the lock went with it
            pass


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(config.get_main_option("sqlalchemy.url"))
    try:  # a migration that fails (e.g. a refused downgrade) leaves no connection open
        with engine.connect() as conn, one_at_a_time(conn):
            context.configure(
                connection=conn, target_metadata=target_metadata, render_as_batch=True
            )
            with context.begin_transaction():
                context.run_migrations()
    finally:
        engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
