"""A GET only reads: on PostgreSQL its transaction begins READ ONLY, so the server refuses a
write in it, and ends with COMMIT, so psycopg keeps the statements it prepared on the
connection (a ROLLBACK makes it deallocate them all, in a round trip of its own)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import seed_world, token_headers

from service.db import db
from service.db.models import Agency
from service.db.uow import UnitOfWork, begin_read_only
from service.db.wire import traced


def _client_traces(app, world):
    client = app.test_client()
    head = token_headers(client, world.logins["association"])
    with app.app_context():
        engine = db.engine

    def get(url: str):
        with traced(engine) as wire:
            reply = client.get(url, headers=head)
        assert reply.status_code == 200, reply.get_json()
        return wire

    return get


@pytest.fixture
def pg_world(pg_app):
    return pg_app, seed_world(pg_app)


def test_a_get_is_one_read_only_transaction_ended_by_commit(pg_world):
    app, world = pg_world
    get = _client_traces(app, world)
    for _ in range(12):  # the first use on each of the pool's connections prepares them
        get("/api/v1/tasks")
    wire = get("/api/v1/tasks")
    said = " ".join(wire.text.split())
    assert "ROLLBACK" not in said and "DEALLOCATE" not in said, said
    assert said.endswith('CommandComplete "COMMIT" B 5 ReadyForQuery I'), said
    # the list with its BEGIN, then the COMMIT; nothing prepared again
    assert wire.trips == 2 and wire.prepares == 0, wire.text
    assert "\tParse\t" not in wire.text, wire.text


def test_a_get_begins_read_only(pg_world):
    app, world = pg_world
    get = _client_traces(app, world)
    first = " ".join(get("/api/v1/instances").text.split())
    assert "BEGIN READ ONLY" in first, first


def test_a_write_in_a_read_only_transaction_is_refused_and_leaves_nothing(pg_app):
    with pg_app.app_context():
        begin_read_only(db.session)
        with pytest.raises(sa.exc.DBAPIError, match="read-only transaction"):
            with UnitOfWork(db.session) as uow:
                uow.session.add(Agency(name="佛山市建设监理服务中心", city="佛山"))
                uow.session.flush()
        # the next transaction reads and writes as always
        with UnitOfWork(db.session) as uow:
            uow.session.add(Agency(name="佛山市建设监理服务中心", city="佛山"))
            uow.commit()
        names = db.session.scalars(sa.select(Agency.name)).all()
        db.session.remove()
    assert names.count("佛山市建设监理服务中心") == 1


def test_a_read_write_transaction_left_uncommitted_is_rolled_back(pg_app):
    """Only a read-only transaction is ended by COMMIT: one that may have written and was
    not committed is rolled back, as always."""
    with pg_app.app_context():
        with UnitOfWork(db.session) as uow:
            uow.session.add(Agency(name="肇庆市建设监理服务中心", city="肇庆"))
            uow.session.flush()
        found = db.session.scalars(sa.select(Agency.name)).all()
        db.session.remove()
    assert "肇庆市建设监理服务中心" not in found


def test_a_failed_get_ends_its_read_only_transaction_by_commit_too(pg_world):
    """A refused GET (no such task) wrote nothing either: its transaction ends with COMMIT
    as well, the prepared statements kept."""
    app, world = pg_world
    client = app.test_client()
    head = token_headers(client, world.logins["association"])
    with app.app_context():
        engine = db.engine
    with traced(engine) as wire:
        assert client.get("/api/v1/tasks/999999", headers=head).status_code == 404
    said = " ".join(wire.text.split())
    assert "ROLLBACK" not in said and "DEALLOCATE" not in said, said
    assert 'CommandComplete "COMMIT"' in said, said


def test_a_read_only_transaction_a_statement_aborted_is_rolled_back(pg_app):
    """An aborted transaction is rolled back, as psycopg expects after an error (it then
    forgets what it prepared, which an error may have left unsure)."""
    with pg_app.app_context():
        with traced(db.engine) as wire:
            begin_read_only(db.session)
            with UnitOfWork(db.session) as uow:
                with pytest.raises(sa.exc.ProgrammingError):
                    uow.session.execute(sa.text("SELECT no_such_column FROM agencies"))
            db.session.remove()
        said = " ".join(wire.text.split())
        assert 'Query "ROLLBACK"' in said and '"COMMIT"' not in said, said
        # the session goes on
        assert db.session.execute(sa.text("SELECT 1")).scalar() == 1
        db.session.remove()
