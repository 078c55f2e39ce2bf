"""`memberflow serve`'s log, read as an operator reads it: an unhandled error is one record
with time, pid, level, logger, request, account and the 出错编号 the caller was shown; the
access log holds no ID number or name typed into the certificate lookup."""

from __future__ import annotations

import json
import re
import sqlite3
import urllib.error
import urllib.parse
import urllib.request

import pytest
from served import start

from service.db.migrate import upgrade

pytestmark = pytest.mark.alone  # see scripts/test

ID_NUMBER = "440106199106069126"
NAME = "冯佩珊"


@pytest.fixture
def sqlite_env(tmp_path) -> dict:
    path = tmp_path / "memberflow.sqlite3"
    upgrade(f"sqlite:///{path}")
    return {
        "MEMBERFLOW_DATABASE_URL": f"sqlite:///{path}",
        "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "MEMBERFLOW_SECRET_KEY": "s" * 40,
        "MEMBERFLOW_WORKERS": "1",
    }


def request(url: str, body: dict | None = None):
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Content-Type": "application/json"} if body is not None else {}
    try:
        with urllib.request.urlopen(
            urllib.request.Request(url, data=data, headers=headers), timeout=10
        ) as reply:
            return reply.status, reply.headers, reply.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_an_error_and_a_lookup_in_the_log_of_serve(sqlite_env, tmp_path):
    server = start(sqlite_env, tmp_path, "gunicorn")
    try:
        query = urllib.parse.urlencode({"id_number": ID_NUMBER, "name": NAME})
        status, _headers, _body = request(f"{server.url}/lookup?{query}")
        assert status in (200, 404)
        assert request(f"{server.url}/api/v1/health")[0] == 200

        # a bug's stand-in: a table the sign-in reads is gone; a member signs in with the ID
        # number, which the failed statement carries (never logged)
        with sqlite3.connect(
            sqlite_env["MEMBERFLOW_DATABASE_URL"].removeprefix("sqlite:///")
        ) as db:
            db.execute("DROP TABLE accounts")
        status, headers, body = request(
            f"{server.url}/api/v1/auth/token", {"username": ID_NUMBER, "password": "x" * 8}
        )
        assert status == 500, body
        message = json.loads(body)["message"]
        [number] = re.findall(r"出错编号 (E\d{8}-[0-9A-F]{6})", message)
        assert headers["X-Error-Id"] == number
        assert server.stop() == 0
    finally:
        server.reap()
    log = server.output()
    lines = log.splitlines()
    stamp = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\] \[\d+\]"
    errors = [i for i, line in enumerate(lines) if "unhandled error" in line]
    assert len(errors) == 1, log
    assert re.fullmatch(
        stamp + rf" \[ERROR\] memberflow\.api: unhandled error {number}: "
        r"POST /api/v1/auth/token account=-",
        lines[errors[0]],
    ), lines[errors[0]]
    assert lines[errors[0] + 1] == "Traceback (most recent call last):"
    # the access log: the lookup's line, without what was typed
    [lookup] = [line for line in lines if '"GET /lookup?' in line]
    assert "/lookup?id_number=***&name=*** HTTP/1.1" in lookup
    assert ID_NUMBER not in log and urllib.parse.quote(NAME) not in log and NAME not in log
