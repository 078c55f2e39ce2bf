"""What operators and users see when things break: a readiness check (GET /api/v1/health),
503 数据库暂时无法连接 in one log line when the database cannot be reached (never 500 and a
traceback), and an unhandled error numbered (出错编号) for the person and in its one log
record, with the request and the account but never the query string."""

from __future__ import annotations

import logging
import re

import pytest
import sqlalchemy as sa
from conftest import PASSWORD, statements, token_headers

from service.api.common import DB_UNAVAILABLE, ERROR_ID_HEADER
from service.db import begin, db
from service.limits import limiter

HEALTH = "/api/v1/health"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NUMBER = re.compile(r"出错编号 (E\d{8}-[0-9A-F]{6})")
ID_NUMBER = "440106199106069126"


def sign_in_page(client, username: str) -> None:
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)


@pytest.fixture
def unreachable(app):
    """Make the app's database refuse connections, as when it goes away after the start:
    every new connection is made to a closed port (PostgreSQL), or to a file in a folder
    that is not there (SQLite); the connections pooled so far are dropped."""
    with app.app_context():
        engine = db.engine
    state = {"on": False}

    def elsewhere(_dialect, _record, _cargs, cparams):
        if not state["on"]:
            return
        if pg:
            cparams.update(host="127.0.0.1", port=1)
        else:
            _cargs[:] = ["/nonexistent-memberflow-folder/x.sqlite3"]
            cparams.pop("database", None)

    # before the app's own `do_connect` (PostgreSQL: service.db.begin makes the connection)
    pg = engine.dialect.name == "postgresql"
    if pg:
        sa.event.remove(engine, "do_connect", begin.connect)
    sa.event.listen(engine, "do_connect", elsewhere)
    if pg:
        sa.event.listen(engine, "do_connect", begin.connect)

    def switch() -> None:
        state["on"] = True
        engine.dispose()

    yield switch
    state["on"] = False
    sa.event.remove(engine, "do_connect", elsewhere)


def memberflow_records(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("memberflow")]


def test_health_answers_ok_after_a_query_without_sign_in(app):
    client = app.test_client()
    with statements(app) as sent:
        reply = client.get(HEALTH)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json() == {"status": "ok"}
    assert any(s.startswith("SELECT 1") for s in sent), sent


def test_health_is_documented_public_and_free_of_rate_limits(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    operation = spec["paths"][HEALTH]["get"]
    assert operation["security"] == [] and operation["summary"].startswith("（公开）")
    assert "503" in operation["responses"] and "200" in operation["responses"]
    with app.test_request_context(HEALTH):
        from flask import request

        endpoint = request.url_rule.endpoint
        scope = limiter.limit_manager.exemption_scope(app, endpoint, request.blueprint)
    assert endpoint == "schedules.health"
    assert scope  # neither application-wide nor default limits count it


def test_an_unreachable_database_answers_503_in_one_log_line(app, world, unreachable, caplog):
    client = app.test_client()
    headers = token_headers(client, "admin")
    unreachable()
    caplog.set_level(logging.INFO)
    cases = [
        (HEALTH, {}, "json"),
        ("/api/v1/instances", headers, "json"),
        ("/api/v1/auth/me", headers, "json"),
        (f"/lookup?id_number={ID_NUMBER}&name=冯佩珊", {}, "page"),
    ]
    for path, extra, kind in cases:
        caplog.clear()
        reply = client.get(path, headers=extra)
        assert reply.status_code == 503, (path, reply.get_data(as_text=True)[:300])
        if kind == "json":
            body = reply.get_json()
            assert body == {
                "code": 503,
                "status": "Service Unavailable",
                "message": DB_UNAVAILABLE,
            }, path
        else:
            page = reply.get_data(as_text=True)
            assert DB_UNAVAILABLE in page and "系统暂时无法使用" in page, path
        records = memberflow_records(caplog)
        assert len(records) == 1, (path, [r.getMessage() for r in records])
        [record] = records
        line = record.getMessage()
        assert record.levelno == logging.ERROR and record.exc_info is None, path
        assert "\n" not in line and line.startswith("database unreachable: GET "), line
        assert ID_NUMBER not in line and "冯佩珊" not in line
    # pages and documents that need no database answer; on PostgreSQL a GET's read-only
    # transaction begins before the view: 503 then, never 500
    for path in ("/login", "/", "/api/v1/openapi.json", "/api/v1/docs"):
        caplog.clear()
        reply = client.get(path)
        assert reply.status_code in (200, 302, 503), path
        assert len(memberflow_records(caplog)) <= 1, path


def test_a_signed_in_page_gets_the_503_page_too(app, world, unreachable, caplog):
    """The page's frame (menu, name) reads the database for the person signed in: the error
    page is drawn without it rather than failing again."""
    client = app.test_client()
    sign_in_page(client, "admin")
    unreachable()
    reply = client.get("/")
    assert reply.status_code == 503
    assert DB_UNAVAILABLE in reply.get_data(as_text=True)
    assert len(memberflow_records(caplog)) == 1


@pytest.fixture
def failing(app):
    """Views that fail in our own code once the caller is known (API and page)."""
    from service.api.common import actor
    from service.web.pages import page_actor

    def api_boom():
        actor()
        raise RuntimeError("a bug of ours")

    def page_boom():
        page_actor()
        raise RuntimeError("a bug of ours")

    def sql_boom():
        actor()
        db.session.execute(sa.text("SELECT * FROM no_such_table WHERE x = :v"), {"v": ID_NUMBER})

    app.add_url_rule("/api/v1/test-boom", "test_api_boom", api_boom)
    app.add_url_rule("/test-boom", "test_page_boom", page_boom)
    app.add_url_rule("/api/v1/test-sql-boom", "test_sql_boom", sql_boom)
    return app


def test_an_unhandled_error_is_numbered_for_the_caller_and_in_its_one_log_record(
    failing, world, caplog
):
    client = failing.test_client()
    headers = token_headers(client, "admin")
    caplog.set_level(logging.INFO)
    caplog.clear()
    reply = client.get(f"/api/v1/test-boom?q={ID_NUMBER}", headers=headers)
    assert reply.status_code == 500
    body = reply.get_json()
    [number] = NUMBER.findall(body["message"])
    assert body["message"].startswith("服务器内部错误")
    assert reply.headers[ERROR_ID_HEADER] == number
    [record] = memberflow_records(caplog)
    assert record.levelno == logging.ERROR and record.exc_info is not None
    admin_id = client.get("/api/v1/auth/me", headers=headers).get_json()["id"]
    assert record.getMessage() == (
        f"unhandled error {number}: GET /api/v1/test-boom account={admin_id}"
    )
    assert record.error_id == number and record.account_id == admin_id
    assert ID_NUMBER not in record.getMessage()


def test_the_error_page_shows_the_number_the_log_has(failing, world, caplog):
    client = failing.test_client()
    sign_in_page(client, "admin")
    caplog.set_level(logging.INFO)
    caplog.clear()
    reply = client.get("/test-boom")
    assert reply.status_code == 500
    page = reply.get_data(as_text=True)
    [number] = NUMBER.findall(page)
    assert "并告知上面的出错编号" in page
    [record] = memberflow_records(caplog)
    assert record.getMessage().startswith(f"unhandled error {number}: GET /test-boom account=")
    assert record.getMessage().split("account=")[1] != "-"


def test_two_errors_have_two_numbers(failing, world):
    client = failing.test_client()
    headers = token_headers(client, "admin")
    numbers = {
        client.get("/api/v1/test-boom", headers=headers).headers[ERROR_ID_HEADER] for _ in range(2)
    }
    assert len(numbers) == 2


def test_a_failed_statement_s_values_stay_out_of_the_log(failing, world, caplog):
    client = failing.test_client()
    headers = token_headers(client, "admin")
    caplog.set_level(logging.INFO)
    caplog.clear()
    reply = client.get("/api/v1/test-sql-boom", headers=headers)
    assert reply.status_code == 500
    [record] = memberflow_records(caplog)
    assert "no_such_table" in caplog.text  # the traceback is there, with the SQL
    assert ID_NUMBER not in caplog.text and "parameters hidden" in caplog.text
