"""Migration 0029 on SQLite and PostgreSQL: a form keeps a digest of the data its
Idempotency-Key came with; the column comes and goes with the migration, and a form saved
before it (no digest) still replays its key for its own business type alone."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from conftest import applicant_data

from service.db.migrate import alembic_config, upgrade

URL = "/api/v1/processes/{}/instances"


def columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("process_instances")}
    finally:
        engine.dispose()


def test_the_digest_comes_and_goes_and_older_forms_replay_by_business_type(
    app, client, login, world, db_url
):
    data = applicant_data(client, login("unit"))
    headers = {**login("unit"), "Idempotency-Key": "before-0029"}
    first = client.post(URL.format("member_join"), headers=headers, json={"data": data})
    assert first.status_code == 201, first.get_json()
    assert "idempotency_digest" in columns(db_url)
    command.downgrade(alembic_config(db_url), "0028")
    assert "idempotency_digest" not in columns(db_url)
    upgrade(db_url)
    assert "idempotency_digest" in columns(db_url)
    # saved without a digest: the same business type replays, whatever the data
    changed = {**data, "mobile": "13900000000"}
    again = client.post(URL.format("member_join"), headers=headers, json={"data": changed})
    assert again.status_code == 200 and again.get_json()["id"] == first.get_json()["id"]
    other = client.post(URL.format("unit_name_change"), headers=headers, json={"data": {}})
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]
