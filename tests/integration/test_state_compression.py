"""Migration 0022: an instance's state is compressed with LZ4 on PostgreSQL.

The migration sets the column's compression and takes it back on SQLite and PostgreSQL
(SQLite's schema is left as it was); a state saved by a move is stored with LZ4; and a
state stored before, with pglz, is read as it was written and rewritten with LZ4 by the
instance's next move."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from conftest import applicant_data, start_form, step_task, token_headers

from service.db.migrate import alembic_config, upgrade
from service.domain.validation import make_resident_id

COMPRESSION = (
    "SELECT attcompression FROM pg_attribute "
    "WHERE attrelid = 'process_instances'::regclass AND attname = 'state'"
)
STORED = "SELECT pg_column_compression(state), length(state) FROM process_instances WHERE id = :i"


def _schema(url: str) -> str:
    """The state column's compression (PostgreSQL: '' is the server's default, 'l' LZ4,
    'p' pglz); on SQLite the table's whole declaration."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                return conn.execute(sa.text(COMPRESSION)).scalar_one()
            return conn.execute(
                sa.text("SELECT sql FROM sqlite_master WHERE name = 'process_instances'")
            ).scalar_one()
    finally:
        engine.dispose()


def test_the_state_s_compression_comes_and_goes(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0021")
    before = _schema(blank_url)
    upgrade(blank_url, "0022")  # this migration's own change (later ones add columns)
    after = _schema(blank_url)
    if postgres:
        assert (before, after) == ("", "l")
    else:
        assert after == before and "state TEXT" in after
    command.downgrade(alembic_config(blank_url), "0021")
    assert _schema(blank_url) == before
    upgrade(blank_url, "0022")
    assert _schema(blank_url) == after


@pytest.fixture
def app(pg_app):
    """This module's app (and its world) on PostgreSQL alone: SQLite does not compress."""
    return pg_app


def _set(app, method: str) -> None:
    engine = sa.create_engine(app.extensions["memberflow"].config.database_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    f"ALTER TABLE process_instances ALTER COLUMN state SET COMPRESSION {method}"
                )
            )
    finally:
        engine.dispose()


def _stored(app, instance_id: int) -> tuple[str, int]:
    engine = sa.create_engine(app.extensions["memberflow"].config.database_url)
    try:
        with engine.connect() as conn:
            return tuple(conn.execute(sa.text(STORED), {"i": instance_id}).one())
    finally:
        engine.dispose()


def test_a_state_stored_with_pglz_is_read_then_rewritten_with_lz4(app, world):
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    agency = token_headers(client, world.logins["agency"])
    assert (
        _stored(app, start_form(client, unit, "member_join", applicant_data(client, unit))["id"])[0]
        == "lz4"
    )  # as the migrations left the column

    _set(app, "pglz")  # a state saved before the migration
    try:
        data = applicant_data(client, unit, id_number=make_resident_id("44010619850315201"))
        old = start_form(client, unit, "member_join", data)
    finally:
        _set(app, "lz4")
    method, length = _stored(app, old["id"])
    assert method == "pglz" and length > 2000  # large enough to be compressed

    again = {k: v for k, v in data.items() if k not in ("variant", "declaration")}
    moved = step_task(
        client, unit, old["id"], {"decision": "approve", "member_level": "普通会员", **again}
    )
    assert [t["task_name"] for t in moved["open_tasks"]] == ["agency_review"], moved
    assert _stored(app, old["id"])[0] == "lz4"
    # what the old state held is there after the move: the form's data and its next step
    view = client.get(f"/api/v1/instances/{old['id']}", headers=agency).get_json()
    assert view["data"]["id_number"] == data["id_number"], view
    assert [t["task_name"] for t in view["open_tasks"]] == ["agency_review"], view
