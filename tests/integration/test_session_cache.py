"""A signed-in request reads no account: each process keeps what it read of an account's
sessions (services/membership/sessions.py), drops it when a change to the account commits
here, and rereads it after MEMBERFLOW_SESSION_RECHECK seconds when the change came from
another process."""

from __future__ import annotations

import gc
import time

import pytest
import sqlalchemy as sa
from conftest import make_app, seed_world, token_headers

from service.db import db
from service.db.listen import Listener
from service.db.models import Account
from service.db.uow import UnitOfWork
from service.services.membership import sessions

pytestmark = pytest.mark.alone  # see scripts/test


def _account_reads(app, call) -> int:
    """How many statements reading the accounts table `call()` made."""
    seen = []

    def on_statement(_conn, _cursor, statement, *_args):
        if "FROM accounts" in statement:
            seen.append(statement)

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        call()
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)
    return len(seen)


def test_a_signed_in_request_reads_no_account(app, client, world):
    heads = token_headers(client, world.logins["association"])
    assert client.get("/api/v1/tasks", headers=heads).status_code == 200
    reads = _account_reads(app, lambda: client.get("/api/v1/tasks", headers=heads))
    assert reads == 0


def test_with_no_recheck_window_every_request_reads_the_account(db_url, tmp_path):
    app = make_app(db_url, tmp_path, session_recheck_seconds=0)
    world = seed_world(app)
    client = app.test_client()
    heads = token_headers(client, world.logins["association"])
    assert client.get("/api/v1/tasks", headers=heads).status_code == 200
    reads = _account_reads(app, lambda: client.get("/api/v1/tasks", headers=heads))
    assert reads == 1


def test_signing_out_is_refused_at_once_in_this_process(client, world):
    first = token_headers(client, world.logins["association"])
    second = token_headers(client, world.logins["association"])
    assert client.get("/api/v1/tasks", headers=first).status_code == 200
    assert client.get("/api/v1/tasks", headers=second).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=first).status_code in (200, 204)
    refused = client.get("/api/v1/tasks", headers=first)
    assert refused.status_code == 401
    assert "登录" in refused.get_json()["message"]
    assert client.get("/api/v1/tasks", headers=second).status_code == 200
    assert client.post("/api/v1/auth/logout-all", headers=second).status_code in (200, 204)
    assert client.get("/api/v1/tasks", headers=second).status_code == 401


def test_a_change_written_as_a_statement_is_seen_at_once(app, client, world):
    heads = token_headers(client, world.logins["association"])
    assert client.get("/api/v1/tasks", headers=heads).status_code == 200
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            uow.session.execute(
                sa.update(Account)
                .where(Account.username == world.logins["association"])
                .values(active=False)
            )
            uow.commit()
        db.session.remove()
    refused = client.get("/api/v1/tasks", headers=heads)
    assert refused.status_code == 401
    assert refused.get_json()["message"] == "账号不存在或已停用"


def test_another_process_learns_of_a_sign_out_within_its_window(pg_url, tmp_path):
    here = make_app(pg_url, tmp_path / "a")
    world = seed_world(here)
    there = make_app(pg_url, tmp_path / "b", session_recheck_seconds=1)
    strict = make_app(pg_url, tmp_path / "c", session_recheck_seconds=0)
    heads = token_headers(here.test_client(), world.logins["association"])
    for app in (here, there, strict):
        assert app.test_client().get("/api/v1/tasks", headers=heads).status_code == 200
    assert here.test_client().post("/api/v1/auth/logout-all", headers=heads).status_code in (
        200,
        204,
    )
    assert here.test_client().get("/api/v1/tasks", headers=heads).status_code == 401
    assert strict.test_client().get("/api/v1/tasks", headers=heads).status_code == 401
    time.sleep(1.1)
    assert there.test_client().get("/api/v1/tasks", headers=heads).status_code == 401


def test_on_postgresql_every_process_refuses_a_disabled_account_at_once(pg_url, tmp_path):
    """The change is announced with its commit (NOTIFY) and heard by the other process at
    its next request, long before its recheck window ends; its requests still read no
    account meanwhile."""
    here = make_app(pg_url, tmp_path / "a")
    world = seed_world(here)
    there = make_app(pg_url, tmp_path / "b", session_recheck_seconds=600)
    heads = token_headers(here.test_client(), world.logins["association"])
    other = token_headers(here.test_client(), world.logins["finance"])
    elsewhere = there.test_client()
    assert elsewhere.get("/api/v1/tasks", headers=heads).status_code == 200
    assert elsewhere.get("/api/v1/tasks", headers=other).status_code == 200
    reads = _account_reads(there, lambda: elsewhere.get("/api/v1/tasks", headers=heads))
    assert reads == 0
    admin = token_headers(here.test_client(), "admin")
    with here.app_context():
        account = db.session.scalar(
            sa.select(Account.id).where(Account.username == world.logins["association"])
        )
        db.session.remove()
    done = here.test_client().post(f"/api/v1/accounts/{account}/disable", headers=admin)
    assert done.status_code == 200
    deadline = time.monotonic() + 2  # the NOTIFY's way through the server: milliseconds
    status = 200
    while status == 200 and time.monotonic() < deadline:
        status = elsewhere.get("/api/v1/tasks", headers=heads).status_code
    assert status == 401
    # the other accounts' entries were kept: no read for them
    reads = _account_reads(there, lambda: elsewhere.get("/api/v1/tasks", headers=other))
    assert reads == 0


def _listening(url: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity"
                    " WHERE datname = current_database() AND query LIKE 'LISTEN %'"
                )
            )
    finally:
        engine.dispose()


def test_the_listener_costs_no_statement_anything_and_closes_with_its_app(pg_url, tmp_path):
    """The session cache adds no event to the engine (an engine event, even one that never
    fires, sends every statement through SQLAlchemy's event dispatch), and its listening
    connection is closed when the app is done, or when the listener is dropped."""
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    client = app.test_client()
    heads = token_headers(client, world.logins["association"])
    assert client.get("/api/v1/tasks", headers=heads).status_code == 200
    with app.app_context():
        engine = db.engine
    assert not engine._has_events  # SQLAlchemy's flag for "dispatch on every execute"
    assert _listening(pg_url) == 1
    sessions.uninstall(engine)
    assert _listening(pg_url) == 0
    listener = Listener(engine, sessions.CHANNEL)
    assert listener.drain() is None and listener.drain() == []
    assert _listening(pg_url) == 1
    del listener
    gc.collect()
    assert _listening(pg_url) == 0
