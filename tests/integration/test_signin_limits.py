"""The sign-in limiter and the public limits under real concurrency: threads and a second
process against one database (PostgreSQL, and the embedded SQLite, whose server runs two
worker processes too), and Redis when it is configured."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import uuid

import pytest
from conftest import PASSWORD, REPO, make_app, race, seed_world

from service.services.membership.signin_limits import SigninGuard, SigninPolicy

pytestmark = pytest.mark.alone  # see scripts/test

REDIS_URL = "redis://127.0.0.1:6379/15"  # a database of its own; the keys are removed after


def token(client, username: str, password: str) -> int:
    body = {"username": username, "password": password}
    return client.post("/api/v1/auth/token", json=body).status_code


def test_simultaneous_wrong_passwords_never_check_more_passwords_than_the_limit(app):
    seed_world(app)
    results = race(24, lambda _i: token(app.test_client(), "jigou", "wrong-password"))
    assert results.count(401) == 5 and results.count(429) == 19, results
    assert token(app.test_client(), "jigou", PASSWORD) == 429  # locked: the right one waits


SECOND_PROCESS = """
import json, sys
from pathlib import Path
from service import create_app
from service.config import load_config

url, folder, password = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
app = create_app(load_config(database_url=url, instance_dir=folder, files_dir=folder / "files",
                             secret_key="test-secret", testing=True, lookup_rate="3 per minute"))
client = app.test_client()
body = {"username": "jigou", "password": password}
codes = [client.post("/api/v1/auth/token", json=body).status_code]
codes += [client.get("/api/v1/public/certificates?number=NOPE").status_code for _ in range(2)]
print(json.dumps(codes))
"""


def test_a_lockout_and_the_lookup_limit_hold_across_processes_sharing_the_database(
    db_url, tmp_path
):
    app = make_app(db_url, tmp_path, lookup_rate="3 per minute")
    seed_world(app)
    client = app.test_client()
    assert [token(client, "jigou", "wrong-password") for _ in range(5)] == [401] * 5
    lookups = [client.get("/api/v1/public/certificates?number=NOPE").status_code for _ in range(2)]
    assert 429 not in lookups
    other = subprocess.run(
        [sys.executable, "-c", SECOND_PROCESS, db_url, str(tmp_path / "second"), PASSWORD],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert other.returncode == 0, other.stderr
    signed_in, *looked_up = json.loads(other.stdout.strip().splitlines()[-1])
    assert signed_in == 429  # the lock taken in this process holds in the other one
    assert looked_up[0] != 429 and looked_up[1] == 429  # 3 per minute over both processes


def _redis():
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis not reachable at {REDIS_URL}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires Redis for this test. " + message)
        pytest.skip("SKIPPED LOUDLY: " + message)
    return client


def test_with_redis_configured_the_counters_live_in_redis(tmp_path, sqlite_template):
    redis = _redis()
    secret = f"redis-test-{uuid.uuid4().hex}"  # keys of this run only
    apps = []
    for name in ("one", "two"):  # two apps on two different databases: only Redis is shared
        path = tmp_path / f"{name}.sqlite3"
        shutil.copy(sqlite_template, path)
        folder = tmp_path / name
        apps.append(
            make_app(f"sqlite:///{path}", folder, secret_key=secret, ratelimit_storage=REDIS_URL)
        )
    guard = SigninGuard(None, "127.0.0.1", SigninPolicy(), secret)
    keys = [f"memberflow:{guard._key(k, 'nobody')}" for k in ("tries", "lock", "level")]
    keys.append(f"memberflow:{guard._key('address', '127.0.0.1')}")
    try:
        first, second = (app.test_client() for app in apps)
        assert [token(first, "nobody", "wrong-password") for _ in range(5)] == [401] * 5
        assert redis.get(keys[0]) == b"5"
        assert token(second, "nobody", "wrong-password") == 429
        assert int(redis.get(keys[1])) == 1 and 0 < redis.ttl(keys[1]) <= 900
    finally:
        redis.delete(*keys)
        redis.close()
