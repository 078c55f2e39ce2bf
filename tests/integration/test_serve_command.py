"""`memberflow serve` is gunicorn with threaded workers; the development server only with
`--dev`, never in production; no reply names the server software."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import urllib.request

import pytest
from served import MEMBERFLOW, start

from service.db.migrate import upgrade

pytestmark = pytest.mark.alone  # see scripts/test


@pytest.fixture
def sqlite_env(tmp_path) -> dict:
    url = f"sqlite:///{tmp_path / 'memberflow.sqlite3'}"
    upgrade(url)
    return {
        "MEMBERFLOW_DATABASE_URL": url,
        "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "MEMBERFLOW_SECRET_KEY": "s" * 40,
    }


def get(url: str):
    with urllib.request.urlopen(url, timeout=10) as reply:
        return reply.status, reply.headers, reply.read()


def test_serve_runs_gunicorn_with_the_configured_threaded_workers(sqlite_env, tmp_path):
    env = {**sqlite_env, "MEMBERFLOW_WORKERS": "3", "MEMBERFLOW_THREADS": "4"}
    server = start(env, tmp_path, "gunicorn", "--workers", "2")
    try:
        status, headers, _ = get(server.url + "/login")
        assert status == 200
        assert headers.get_all("Server") == ["memberflow"]  # not gunicorn, once
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert len(server.workers_when(2)) == 2  # --workers wins over MEMBERFLOW_WORKERS
        log = server.output()
        assert "Using worker: service.server.Worker" in log and "development server" not in log
        # the master froze what it built before the workers forked, and tuned the collector
        frozen = re.search(
            r"Garbage collector: (\d+) objects frozen; young generation "
            r"collected every 10000 allocations",
            log,
        )
        assert frozen and int(frozen[1]) > 100_000, log
        assert server.stop() == 0
    finally:
        server.reap()


def raw(url: str, request: bytes) -> bytes:
    """What the server answers to `request`, sent as it is, until it closes the connection."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as conn:
        conn.sendall(request)
        answer = b""
        while chunk := conn.recv(65536):
            answer += chunk
    return answer


def test_what_gunicorn_refuses_before_the_app_a_person_reads_in_chinese(sqlite_env, tmp_path):
    """An address over gunicorn's 4,094 characters (a long search) is a 414 and headers too
    large (a browser's cookies) a 431, each a page in Chinese saying what to do, where
    gunicorn wrote English; a request no browser sends stays gunicorn's 400."""
    server = start(sqlite_env, tmp_path, "gunicorn", "--workers", "1")
    try:
        long = "/records?q=" + "张" * 100 + "a" * 5000
        answer = raw(server.url, f"GET {long} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 414 URI Too Long\r\n"), head
        assert b"Content-Type: text/html; charset=utf-8" in head
        page = body.decode()
        assert "<title>请求地址过长</title>" in page and "请缩短搜索内容后重试" in page
        cookie = b"Cookie: session=" + b"x" * 9000 + b"\r\n"
        answer = raw(server.url, b"GET /login HTTP/1.1\r\nHost: x\r\n" + cookie + b"\r\n")
        head, _, body = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 431 Request Header Fields Too Large\r\n"), head
        assert "请清除本站的 Cookie 后重新登录" in body.decode()
        garbage = raw(server.url, b"NOT HTTP AT ALL\r\n\r\n")
        assert garbage.startswith(b"HTTP/1.1 400 Bad Request"), garbage[:100]
        status, _, _ = get(server.url + "/login")  # the worker serves on
        assert status == 200
        assert server.stop() == 0
    finally:
        server.reap()


def test_serve_dev_runs_the_development_server_without_its_banner(sqlite_env, tmp_path):
    server = start(sqlite_env, tmp_path, "dev", "--dev")
    try:
        status, headers, _ = get(server.url + "/login")
        assert status == 200
        assert headers.get_all("Server") == ["memberflow"]  # no Werkzeug/… Python/…
        assert "development server" in server.output()
        assert server.workers() == []
    finally:
        server.reap()


def run(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(MEMBERFLOW), *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_the_development_server_and_unknown_environments(sqlite_env):
    done = run({**sqlite_env, "MEMBERFLOW_ENV": "production"}, "serve", "--dev", "--port", "1")
    assert done.returncode == 1 and "开发服务器" in done.stderr, done.stderr
    done = run({**sqlite_env, "MEMBERFLOW_ENV": "Production"}, "serve", "--port", "1")
    assert done.returncode == 1 and "MEMBERFLOW_ENV" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    weak = {**sqlite_env, "MEMBERFLOW_ENV": "production", "MEMBERFLOW_SECRET_KEY": "short"}
    done = run(weak, "db", "upgrade")
    assert done.returncode == 1 and "32 字节" in done.stderr, done.stderr


def test_tune_collector_freezes_the_built_heap_and_raises_the_young_threshold():
    # in a process of its own: freezing is for good, and pytest's heap is not a server's
    code = (
        "import gc, json; from service.server import tune_collector; "
        "before = gc.get_threshold(); frozen = tune_collector(); "
        "print(json.dumps([before, gc.get_threshold(), frozen, gc.get_freeze_count()]))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    before, after, frozen, count = json.loads(done.stdout)
    assert before == [700, 10, 10]  # Python's default, against which the figures were measured
    assert after == [10_000, 10, 10]
    assert frozen == count > 10_000  # the modules imported so far, at least
