"""`memberflow serve` is gunicorn with threaded workers; the development server only with
`--dev`, never in production; no reply names the server software."""

from __future__ import annotations

import json
import os
import re
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
        assert "Using worker: gthread" in log and "development server" not in log
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
