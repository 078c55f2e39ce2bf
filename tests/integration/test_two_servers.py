"""Two application processes on two ports serve one PostgreSQL database, one object store
(S3 through moto's server) and one rate-limit counter (Redis): requests alternate between
them through a whole join lifecycle and nothing is lost."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
import uuid

import pytest
import sqlalchemy as sa
from conftest import make_app, pdf_bytes, png_bytes, seed_world
from objectstore import CREDENTIALS, object_store
from served import start

from service.db.models import AuditRecord, StoredFile, UserTask
from service.domain.validation import make_resident_id

pytestmark = pytest.mark.alone  # see scripts/test

REDIS = "redis://127.0.0.1:6379"


def redis_up() -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


class Http:
    """JSON and multipart requests, as a client behind a proxy at `address`."""

    def __init__(self, address: str):
        self.address = address

    def call(self, method, url, body=None, token=None, files=None):
        headers = {"X-Forwarded-For": self.address}
        data = None
        if token:
            headers["Authorization"] = f"Bearer {token}"
        if files is not None:
            boundary = uuid.uuid4().hex
            name, content = files
            data = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                    f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                ).encode()
                + content
                + f"\r\n--{boundary}--\r\n".encode()
            )
            headers["Content-Type"] = f"multipart/form-data; boundary={boundary}"
        elif body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(url, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=30) as reply:
                raw = reply.read()
                kind = reply.headers.get("Content-Type", "")
                return reply.status, json.loads(raw) if "json" in kind else raw
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            return exc.code, json.loads(raw) if raw.startswith(b"{") else raw


def test_two_servers_share_one_database_one_object_store_and_one_rate_limit(
    pg_url, tmp_path, monkeypatch
):
    if not redis_up():
        pytest.skip("SKIPPED LOUDLY: Redis is not running on 127.0.0.1:6379")
    world = seed_world(make_app(pg_url, tmp_path))
    with object_store(monkeypatch) as s3:
        env = {
            **CREDENTIALS,
            "MEMBERFLOW_DATABASE_URL": pg_url,
            "MEMBERFLOW_SECRET_KEY": "two-servers-" + "x" * 32,
            "MEMBERFLOW_STORAGE": f"s3://{s3.bucket}/uploads",
            "MEMBERFLOW_S3_ENDPOINT_URL": s3.endpoint_url,
            "MEMBERFLOW_RATELIMIT_STORAGE": REDIS,
            "MEMBERFLOW_JOIN_RATE_LIMIT": "5 per minute",
            "MEMBERFLOW_PROXIES": "1",
            "MEMBERFLOW_WORKERS": "1",
            "MEMBERFLOW_THREADS": "4",
        }
        servers = []
        try:
            for name in ("a", "b"):
                servers.append(
                    start({**env, "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / name)}, tmp_path, name)
                )
            a, b = (s.url + "/api/v1" for s in servers)
            turn = iter(range(10_000))

            def either() -> str:
                return (a, b)[next(turn) % 2]

            # a client address of its own for this run: Redis outlives the test
            http = Http(f"198.51.100.{random.randint(1, 254)}")

            def login(username: str) -> str:
                status, body = http.call(
                    "POST",
                    either() + "/auth/token",
                    {"username": username, "password": "secret123"},
                )
                assert status == 200, body
                return body["access_token"]

            unit, agency, association = (
                login(world.logins[r]) for r in ("unit", "agency", "association")
            )
            status, code = http.call(
                "POST", either() + f"/units/{world.unit_id}/join-codes", {"variant": "full"}, unit
            )
            assert status == 201, code
            code = code["code"]

            contents = {
                "photo": png_bytes("#102030"),
                "id_front": png_bytes("#203040"),
                "id_back": png_bytes("#304050"),
                "diploma": png_bytes("#405060"),
                "diploma_verification": pdf_bytes(),
            }
            ids = {}
            for i, (field, content) in enumerate(contents.items()):
                base = (a, b)[i % 2]  # uploads alternate between the servers
                status, body = http.call(
                    "POST", f"{base}/join-codes/{code}/files", files=(f"{field}.bin", content)
                )
                assert status == 201, body
                ids[field] = body["id"]
            data = {
                "name": "陈志强",
                "id_type": "resident_id",
                "id_number": make_resident_id("44010619850315231"),
                "mobile": "13802511234",
                "address": "广州市天河区体育西路100号",
                "education": {
                    "level": "本科",
                    "school": "华南理工大学",
                    "major": "土木工程",
                    "graduated_on": "2008-07-01",
                },
                "title": "中级",
                "declaration": True,
                **ids,
            }
            status, started = http.call(
                "POST", b + f"/join-codes/{code}/applications", {"data": data}
            )
            assert status == 201, started
            instance = started["id"]
            # a sixth upload by this client within the minute: refused, whichever server it reaches
            status, _ = http.call(
                "POST", a + f"/join-codes/{code}/files", files=("late.png", png_bytes("#ffffff"))
            )
            assert status == 429

            # every file comes back, byte for byte, from the other server than took it
            for i, (field, content) in enumerate(contents.items()):
                base = (b, a)[i % 2]
                status, body = http.call("GET", f"{base}/files/{ids[field]}", token=agency)
                assert status == 200 and body == content, field

            def step(token: str, data: dict) -> dict:
                status, view = http.call("GET", either() + f"/instances/{instance}", token=token)
                assert status == 200, view
                task = view["open_tasks"][0]["id"]
                status, done = http.call("POST", either() + f"/tasks/{task}/claim", token=token)
                assert status == 200, done
                status, done = http.call(
                    "POST", either() + f"/tasks/{task}/complete", {"data": data}, token
                )
                assert status == 200, done
                return done

            again = {k: v for k, v in data.items() if k != "declaration"}  # the start's own
            assert (
                step(unit, {**again, "decision": "approve", "member_level": "普通会员"})["status"]
                == "机构初审中"
            )
            assert step(agency, {"decision": "approve"})["status"] == "协会初审中"
            assert (
                step(association, {"decision": "approve", "remark": "同意"})["status"] == "待缴费"
            )
            for server in servers:
                assert server.stop() == 0
        finally:
            for server in servers:
                server.reap()

        # nothing lost: every row's bytes are in the bucket, every step is in the record
        engine = sa.create_engine(pg_url)
        try:
            with engine.connect() as conn:
                hashes = set(conn.scalars(sa.select(StoredFile.sha256)))
                actions = conn.execute(
                    sa.select(AuditRecord.action, AuditRecord.status_after)
                    .where(AuditRecord.instance_id == instance)
                    .order_by(AuditRecord.id)
                ).all()
                open_tasks = conn.scalar(
                    sa.select(sa.func.count()).select_from(UserTask).where(UserTask.state == "open")
                )
        finally:
            engine.dispose()
        assert {k.removeprefix("uploads/") for k in s3.keys()} == hashes
        assert [s for a_, s in actions if a_ == "complete"] == [
            "机构初审中",
            "协会初审中",
            "待缴费",
        ]
        assert open_tasks == 1
        for server in servers:
            assert "Traceback" not in server.output()
