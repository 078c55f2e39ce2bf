"""A real server under concurrent load is killed with SIGKILL and started again: every
instance still loads, the open tasks are the engine's ready tasks, no task was completed
twice, and every instance's audit trail is an unbroken chain of statuses."""

from __future__ import annotations

import threading
import time
from collections import Counter
from http.client import HTTPException

import pytest
import sqlalchemy as sa
from conftest import make_app, pdf_bytes, png_bytes, seed_world
from served import start
from test_two_servers import Http

from service.db import db
from service.db.models import AuditRecord, ProcessInstance, UserTask
from service.domain.validation import make_resident_id
from service.engine import Instance

pytestmark = pytest.mark.alone  # see scripts/test

LOAD_THREADS = 4
LOAD_SECONDS = 3.0


def application(seq: int, files: dict) -> dict:
    return {
        "name": "陈志强",
        "id_type": "resident_id",
        "id_number": make_resident_id(f"44010619850315{seq:03d}"),
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
        **files,
    }


def check_consistency(app) -> dict:
    """The proof, read straight from the database and the engine."""
    definitions = app.extensions["memberflow"].definitions
    with app.app_context():
        session = db.session
        try:
            instances = session.scalars(sa.select(ProcessInstance).order_by(ProcessInstance.id))
            counted = 0
            for row in instances:
                defn = definitions.version(session, row.definition_version_id)
                engine = Instance.load(defn, row.state)  # every instance loads
                ready = {t.id for t in engine.ready_tasks()}
                open_rows = set(
                    session.scalars(
                        sa.select(UserTask.engine_task_id).where(
                            UserTask.instance_id == row.id, UserTask.state == "open"
                        )
                    )
                )
                assert open_rows == ready, (row.id, open_rows, ready)
                assert engine.status == row.status, row.id
                current = None
                records = session.scalars(
                    sa.select(AuditRecord)
                    .where(AuditRecord.instance_id == row.id)
                    .order_by(AuditRecord.id)
                ).all()
                assert records and records[0].action == "start", row.id
                for record in records:
                    if record.status_before is not None:
                        assert record.status_before == current, (row.id, record.id)
                    if record.status_after is not None:
                        current = record.status_after
                assert current == row.status, row.id
                counted += 1
            completions = Counter(
                session.scalars(
                    sa.select(AuditRecord.user_task_id).where(AuditRecord.action == "complete")
                )
            )
            assert [t for t, n in completions.items() if n > 1] == []  # none completed twice
            done = set(session.scalars(sa.select(UserTask.id).where(UserTask.state != "open")))
            assert done == set(completions), "a completed task without its record, or v.v."
            return {"instances": counted, "completed_tasks": len(done)}
        finally:
            session.remove()


def test_a_server_killed_under_load_restarts_with_every_instance_consistent(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    env = {
        "MEMBERFLOW_DATABASE_URL": pg_url,
        "MEMBERFLOW_SECRET_KEY": "crash-recovery-" + "x" * 32,
        "MEMBERFLOW_FILES_DIR": str(tmp_path / "files"),
        "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "MEMBERFLOW_WORKERS": "2",
        "MEMBERFLOW_THREADS": "4",
    }
    server = start(env, tmp_path, "server")
    restarted = None
    try:
        api = server.url + "/api/v1"
        http = Http("127.0.0.1")

        def login(who: str) -> str:
            status, body = http.call(
                "POST",
                api + "/auth/token",
                {"username": world.logins[who], "password": "secret123"},
            )
            assert status == 200, body
            return body["access_token"]

        unit, agency = login("unit"), login("agency")
        files = {}
        for field, content in (
            ("photo", png_bytes("#102030")),
            ("id_front", png_bytes("#203040")),
            ("id_back", png_bytes("#304050")),
            ("diploma", png_bytes("#405060")),
            ("diploma_verification", pdf_bytes()),
        ):
            status, body = http.call("POST", api + "/files", token=unit, files=(field, content))
            assert status == 201, body
            files[field] = body["id"]

        stop = threading.Event()
        answers: Counter = Counter()

        def drive(worker: int) -> None:
            """Start applications and take each through the unit's and the agency's review."""
            for k in range(200):
                if stop.is_set():
                    return
                data = application(worker * 200 + k, files)
                try:
                    status, view = http.call(
                        "POST",
                        api + "/processes/member_join/instances",
                        {"data": {**data, "variant": "full"}},
                        unit,
                    )
                    answers[status] += 1
                    if status != 201:
                        continue
                    for token, decision in (
                        (unit, {**data, "decision": "approve", "member_level": "普通会员"}),
                        (agency, {"decision": "approve"}),
                    ):
                        status, now = http.call(
                            "GET", api + f"/instances/{view['id']}", token=token
                        )
                        task = now["open_tasks"][0]["id"]
                        status, _ = http.call(
                            "POST", api + f"/tasks/{task}/complete", {"data": decision}, token
                        )
                        answers[status] += 1
                # the server was killed under this request: the connection was refused or
                # reset, or it closed in the middle of the reply's body
                except (OSError, HTTPException):
                    answers["cut off"] += 1
                    return

        threads = [threading.Thread(target=drive, args=(i,)) for i in range(LOAD_THREADS)]
        for t in threads:
            t.start()
        time.sleep(LOAD_SECONDS)
        server.kill()  # SIGKILL to the master and every worker, mid-request
        stop.set()
        for t in threads:
            t.join(timeout=30)
        assert answers[201] >= LOAD_THREADS, answers  # it was under load
        assert not {s for s in answers if isinstance(s, int) and s >= 500}, answers

        restarted = start(env, tmp_path, "restarted")
        # the restarted server carries on with an application that was in flight
        status, page = http.call(
            "GET", restarted.url + "/api/v1/tasks?scope=available", token=agency
        )
        assert status == 200, page
        if page["items"]:
            task = page["items"][0]["id"]
            status, body = http.call(
                "POST",
                restarted.url + f"/api/v1/tasks/{task}/complete",
                {"data": {"decision": "approve"}},
                agency,
            )
            assert status == 200, body
        assert restarted.stop() == 0
        result = check_consistency(app)
        print("crash-recovery load:", dict(answers), result)  # figures, seen with -s
        assert result["instances"] >= LOAD_THREADS
        assert "Traceback" not in restarted.output()
    finally:
        server.reap()
        if restarted is not None:
            restarted.reap()
