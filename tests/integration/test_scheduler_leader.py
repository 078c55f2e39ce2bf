"""The scheduler: the timers job with a moved clock, job slots, and the leader rule.

The leader rule is proven with two real `memberflow scheduler` processes on PostgreSQL.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import REPO, app_on_design, in_db, seed_world, token_headers

from service.config import load_config
from service.db import db
from service.db.models import JobRun, ProcessInstance, WaitingEvent
from service.db.uow import UnitOfWork
from service.services.schedules import scheduler
from service.services.schedules.leader import FileLeaderLock, PgLeaderLock, leader_lock
from service.services.schedules.scheduler import run_job, tidy_job_runs

pytestmark = pytest.mark.alone  # see scripts/test

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
PINNED = datetime(2026, 11, 28, 4, 0, 0)
# the installed console script, beside this interpreter (or on PATH)
MEMBERFLOW = Path(sys.executable).with_name("memberflow")
if not MEMBERFLOW.exists():
    MEMBERFLOW = Path(shutil.which("memberflow") or "memberflow")
LEADER_LINE = "成为调度主节点"


def timer_probe_app(db_url: str, tmp_path: Path):
    """An app whose definitions include tests/fixtures/timer_probe.bpmn (a 30-day timer)."""
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    shutil.copy(FIXTURES / "timer_probe.bpmn", design / "processes" / "timer_probe.bpmn")
    (design / "forms" / "timer_probe").mkdir()
    for form in ("start", "unit_pay"):
        shutil.copy(
            FIXTURES / "timer_probe.start.schema.json",
            design / "forms" / "timer_probe" / f"{form}.schema.json",
        )
    return app_on_design(db_url, tmp_path, design)


def run_at(app, job: str, at: datetime, holder: str = "test"):
    ctx = app.extensions["memberflow"]
    ctx.clock = lambda: at
    with app.app_context():
        try:
            return run_job(ctx, UnitOfWork(db.session), job, holder)
        finally:
            db.session.remove()


def test_the_timers_job_fires_a_due_timer_within_a_minute_and_not_before(db_url, tmp_path):
    app = timer_probe_app(db_url, tmp_path)
    app.extensions["memberflow"].clock = lambda: PINNED
    world = seed_world(app)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    started = client.post(
        "/api/v1/processes/timer_probe/instances", headers=unit, json={"data": {"note": "x"}}
    )
    assert started.status_code == 201, started.get_json()
    instance_id = started.get_json()["id"]
    due = in_db(app, lambda s: s.scalars(sa.select(WaitingEvent.due_at)).one())
    assert due == PINNED + timedelta(days=30)

    def state(s):
        return s.get(ProcessInstance, instance_id).status, s.scalar(
            sa.select(sa.func.count()).select_from(WaitingEvent)
        )

    assert run_at(app, "timers", due - timedelta(seconds=1)) == {"fired": 0}
    assert in_db(app, state) == ("待缴费", 1)
    assert run_at(app, "timers", due + timedelta(seconds=30)) == {"fired": 1}
    assert in_db(app, state) == ("已过期", 0)

    def runs(s):
        return [(r.job, r.scheduled_for, r.result) for r in s.scalars(sa.select(JobRun))]

    minute = due.replace(second=0)
    assert in_db(app, runs) == [
        ("timers", minute - timedelta(minutes=1), {"fired": 0}),
        ("timers", minute, {"fired": 1}),
    ]


def test_a_slot_runs_once_and_a_failed_run_gives_its_slot_back(app, monkeypatch):
    def broken(ctx, uow):
        raise RuntimeError("数据库暂时不可用")

    monkeypatch.setitem(scheduler.JOBS, "reminders", broken)
    with pytest.raises(RuntimeError):
        run_at(app, "reminders", PINNED)
    assert in_db(app, lambda s: s.scalars(sa.select(JobRun)).all()) == []
    monkeypatch.undo()
    assert run_at(app, "reminders", PINNED, "a") == {
        "certificate_expiry": 0,
        "membership_expiry": 0,
        "learning_deadline": 0,
        "task_digest": 0,
    }
    assert run_at(app, "reminders", PINNED + timedelta(hours=3), "b") is None  # same day

    def holders(s):
        return [(r.holder, r.finished_at) for r in s.scalars(sa.select(JobRun))]

    assert in_db(app, holders) == [("a", PINNED)]


def test_old_timer_runs_and_abandoned_claims_are_tidied_away(app):
    old, now = PINNED - timedelta(days=8), PINNED

    def add(s):
        s.add_all(
            [
                JobRun(job="timers", scheduled_for=old, holder="h", started_at=old),
                JobRun(job="timers", scheduled_for=now, holder="h", started_at=now),
                JobRun(
                    job="cpd_batch",
                    scheduled_for=old,
                    holder="h",
                    started_at=old,
                    finished_at=old,
                ),
                # a run whose process died before it finished: its slot is freed
                JobRun(
                    job="reminders",
                    scheduled_for=now - timedelta(hours=2),
                    holder="h",
                    started_at=now - timedelta(hours=2),
                ),
            ]
        )
        s.commit()

    in_db(app, add)
    ctx = app.extensions["memberflow"]
    ctx.clock = lambda: now
    with app.app_context():
        assert tidy_job_runs(ctx, UnitOfWork(db.session)) == 2
        db.session.remove()
    kept = in_db(app, lambda s: [(r.job, r.scheduled_for) for r in s.scalars(sa.select(JobRun))])
    assert kept == [("timers", now), ("cpd_batch", old)]


def test_on_sqlite_a_file_lock_beside_the_database_elects_one_leader(tmp_path):
    config = load_config(
        database_url=f"sqlite:///{tmp_path / 'memberflow.sqlite3'}",
        secret_key="x",
        instance_dir=tmp_path,
    )
    first, second = leader_lock(config), leader_lock(config)
    assert isinstance(first, FileLeaderLock)
    assert first.path == tmp_path / "memberflow.sqlite3.scheduler.lock"
    try:
        assert first.try_acquire() and first.held()
        assert not second.try_acquire() and not second.held()
        first.release()
        assert second.try_acquire()
    finally:
        first.release()
        second.release()


def test_on_postgresql_an_advisory_lock_elects_one_leader(pg_url):
    first, second = PgLeaderLock(pg_url), PgLeaderLock(pg_url)
    try:
        assert first.try_acquire() and first.held()
        assert not second.try_acquire()
        first.conn.invalidate()  # the leader's connection dies: its lock goes with it
        assert not first.held()
        # as soon as PostgreSQL has ended the dead connection's backend, which it does on
        # its own time (a busy machine took longer than the next statement did)
        deadline = time.monotonic() + 10
        while not second.try_acquire() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert second.held()
    finally:
        first.release()
        second.release()


# --- two real scheduler processes ---------------------------------------------------------


def start_scheduler(pg_url: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "MEMBERFLOW_DATABASE_URL": pg_url,
        "MEMBERFLOW_SECRET_KEY": "test-secret",
        "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / name),
        "PYTHONUNBUFFERED": "1",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(MEMBERFLOW), "scheduler", "--tick", "1", "--retry", "0.5"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    return proc, log


def wait_for(condition, timeout: float, what: str) -> float:
    """Poll `condition` until true; the seconds it took (fails after `timeout`)."""
    began = time.monotonic()
    while not condition():
        if time.monotonic() - began > timeout:
            pytest.fail(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.2)
    return time.monotonic() - began


def test_two_scheduler_processes_elect_one_leader_and_the_other_takes_over(pg_url, tmp_path):
    engine = sa.create_engine(pg_url)

    def holders() -> dict[str, int]:
        with engine.connect() as conn:
            rows = conn.execute(sa.select(JobRun.holder, sa.func.count()).group_by(JobRun.holder))
            return dict(rows.all())

    def holder(proc) -> str:
        return f"{socket.gethostname()}:{proc.pid}"

    processes = []
    try:
        a, a_log = start_scheduler(pg_url, tmp_path, "a")
        processes.append(a)
        wait_for(lambda: LEADER_LINE in a_log.read_text(), 60, "the first process to lead")
        b, b_log = start_scheduler(pg_url, tmp_path, "b")
        processes.append(b)
        wait_for(lambda: "待命" in b_log.read_text(), 60, "the second process to follow")
        wait_for(lambda: holders().get(holder(a), 0) >= 4, 30, "the leader's timer runs")
        time.sleep(2)  # both running side by side for a while
        assert set(holders()) == {holder(a)}  # only the leader acted
        assert LEADER_LINE not in b_log.read_text()
        with engine.connect() as conn:
            weekly = conn.scalar(
                sa.select(sa.func.count()).select_from(JobRun).where(JobRun.job == "cpd_batch")
            )
        assert weekly == 1  # the catch-up closed the latest batch once

        a.send_signal(signal.SIGKILL)  # the leader crashes: no clean release
        a.wait(timeout=10)
        took = wait_for(lambda: LEADER_LINE in b_log.read_text(), 15, "the follower to lead")
        assert took < 5, took
        wait_for(lambda: holders().get(holder(b), 0) >= 2, 15, "the new leader's runs")
        assert set(holders()) == {holder(a), holder(b)}

        b.send_signal(signal.SIGTERM)  # a clean stop releases the lock
        assert b.wait(timeout=20) == 0
        assert "调度进程已停止" in b_log.read_text()
        assert "Traceback" not in a_log.read_text() + b_log.read_text()
    finally:
        for proc in processes:
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=10)
        engine.dispose()
