"""Migration 0036 on SQLite and PostgreSQL: the table of 单位账号密码重置 requests comes
and goes with it, and what it builds is what the model declares (columns, indexes, the
partial unique index of one 待处理 request per unit)."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from service.db.migrate import alembic_config, upgrade
from service.db.models import Base

TABLE = "unit_password_requests"


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def ours(name, kind, parents) -> bool:
    """Only this migration's table and what belongs to it."""
    if kind == "table":
        return name == TABLE
    return kind == "schema" or parents.get("table_name") == TABLE


def ours_declared(obj, name, kind, _reflected, _compare_to) -> bool:
    table = obj if kind == "table" else getattr(obj, "table", None)
    return table is not None and table.name == TABLE


def differences(url: str) -> list:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            opts = {"include_name": ours, "include_object": ours_declared}
            context = MigrationContext.configure(conn, opts=opts)
            return compare_metadata(context, Base.metadata)
    finally:
        engine.dispose()


def test_the_table_comes_and_goes_and_matches_the_model(app, db_url):
    assert TABLE in tables(db_url)
    assert differences(db_url) == []
    command.downgrade(alembic_config(db_url), "0029")
    assert TABLE not in tables(db_url)
    upgrade(db_url)
    assert TABLE in tables(db_url)
    pending = sa.create_engine(db_url)
    try:
        indexes = {i["name"]: i for i in sa.inspect(pending).get_indexes(TABLE)}
    finally:
        pending.dispose()
    assert indexes["uq_unit_password_requests_pending"]["unique"]
