"""A worker killed mid-job (SIGKILL, as a lost machine) leaves the job to be run again: a
new `memberflow worker` process finishes it, and the workbook has every row exactly once.

PostgreSQL: procrastinate's worker; the new worker gives back the entry of the dead one when
its heartbeat stops. SQLite: the local worker loop; the new one takes over the row whose
heartbeat went stale.
"""

from __future__ import annotations

import io
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from conftest import in_db, make_app, seed_world, token_headers
from jobs_support import seed_members, wait_for_job
from openpyxl import load_workbook

from service.db.models import Job
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.services.schedules import jobs

pytestmark = pytest.mark.alone  # see scripts/test

MEMBERFLOW = Path(sys.executable).with_name("memberflow")
if not MEMBERFLOW.exists():
    MEMBERFLOW = Path(shutil.which("memberflow") or "memberflow")
MEMBERS = 12000


def start_worker(url: str, tmp_path: Path, name: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / f"{name}.log"
    env = {
        **os.environ,
        "MEMBERFLOW_DATABASE_URL": url,
        "MEMBERFLOW_SECRET_KEY": "test-secret",
        "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / name),
        "MEMBERFLOW_FILES_DIR": str(tmp_path / "files"),  # the test app's storage
        "PYTHONUNBUFFERED": "1",
    }
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(MEMBERFLOW), "worker", "--heartbeat", "0.5", "--stalled-after", "2"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    return proc, log


def job_row(app, job_id: int) -> Job:
    def read(session):
        job = session.get(Job, job_id)
        session.expunge(job)
        return job

    return in_db(app, read)


def kill_mid_job(app, proc: subprocess.Popen, log: Path, job_id: int) -> Job:
    """SIGKILL the worker once it has written some rows of the job, not all."""
    deadline = time.monotonic() + 90
    while True:
        job = job_row(app, job_id)
        if job.status == "running" and job.rows_total and 0 < job.rows_done < job.rows_total:
            break
        assert job.status in ("queued", "running"), (job.status, job.error)
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    killed = job_row(app, job_id)
    assert killed.status == "running" and killed.attempts == 1
    assert killed.rows_done < killed.rows_total == MEMBERS
    return killed


def check_workbook(content: bytes) -> None:
    wb = load_workbook(io.BytesIO(content), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(min_row=2, values_only=True))
    wb.close()
    assert [r[0] for r in rows] == list(range(1, MEMBERS + 1))
    assert len({r[4] for r in rows}) == MEMBERS  # every ID number once: nothing lost or twice


def stop(proc: subprocess.Popen, log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0, log.read_text()


@pytest.mark.postgres
def test_a_killed_postgresql_worker_leaves_the_job_to_the_next_one(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path)
    world = seed_world(app)
    seed_members(app, world.unit_id, MEMBERS)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    first, first_log = start_worker(pg_url, tmp_path, "first")
    try:
        started = client.post(
            f"/api/v1/units/{world.unit_id}/members/export-jobs", headers=unit, json={}
        )
        assert started.status_code == 202, started.get_json()
        job_id = started.get_json()["id"]
        kill_mid_job(app, first, first_log, job_id)
    finally:
        if first.poll() is None:
            first.kill()
    second, second_log = start_worker(pg_url, tmp_path, "second")
    try:
        done = wait_for_job(client, unit, job_id, seconds=120)
        assert done["status"] == "succeeded", (done, second_log.read_text())
        assert done["attempts"] == 2 and done["rows_done"] == MEMBERS
        reply = client.get(f"/api/v1/jobs/{job_id}/result", headers=unit)
        assert reply.status_code == 200
        check_workbook(reply.data)
        waiting = in_db(
            app,
            lambda s: s.scalar(
                sa.text(
                    "SELECT count(*) FROM procrastinate_jobs WHERE status IN ('todo', 'doing')"
                    " AND (args->>'job_id')::int = :id"
                ),
                {"id": job_id},
            ),
        )
        assert waiting == 0  # the queue holds nothing more of it
    finally:
        stop(second, second_log)
    assert "重新排队" in second_log.read_text()


def test_a_killed_sqlite_worker_leaves_the_job_to_the_next_one(tmp_path, sqlite_template):
    path = tmp_path / "memberflow.sqlite3"
    shutil.copy(sqlite_template, path)
    url = f"sqlite:///{path}"
    app = make_app(url, tmp_path)
    world = seed_world(app)
    seed_members(app, world.unit_id, MEMBERS)

    # submitted through the use case: this process's own local worker stays asleep
    def submit(session):
        from service.db.models import Account

        account = session.scalar(sa.select(Account).where(Account.unit_id == world.unit_id))
        who = Actor(account.id, account.name, "unit_admin", unit_id=world.unit_id)
        ctx = app.extensions["memberflow"]
        return jobs.submit(
            ctx, UnitOfWork(session), who, "member_archive_export", {"unit_id": world.unit_id}
        )["id"]

    job_id = in_db(app, submit)
    first, first_log = start_worker(url, tmp_path, "first")
    try:
        kill_mid_job(app, first, first_log, job_id)
    finally:
        if first.poll() is None:
            first.kill()
    second, second_log = start_worker(url, tmp_path, "second")
    try:
        deadline = time.monotonic() + 120
        while (job := job_row(app, job_id)).status == "running":
            assert time.monotonic() < deadline, second_log.read_text()
            time.sleep(0.1)
        assert job.status == "succeeded", (job.error, second_log.read_text())
        assert job.attempts == 2 and job.rows_done == MEMBERS
        check_workbook(app.extensions["memberflow"].storage.read(job.result_key))
    finally:
        stop(second, second_log)
