"""What the background-job tests share: members seeded in bulk, a real procrastinate worker
in a thread (PostgreSQL), waiting for a job to end."""

from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from conftest import in_db

from service.db.models import Member, Unit
from service.domain.validation import make_resident_id

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("建国", "美玲", "志强", "秀英", "伟", "芳", "俊杰", "婷", "浩然", "晓明")


def seed_members(app, unit_id: int, n: int, first: int = 0) -> None:
    """`n` members of the unit, inserted in one statement (thousands in a second)."""

    def insert(session):
        agency_id = session.get(Unit, unit_id).agency_id
        rows = []
        for i in range(first, first + n):
            born = date(1966, 1, 1) + timedelta(days=(i * 3) % 12000)
            rows.append(
                {
                    "name": SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES) % len(GIVEN)],
                    "id_type": "resident_id",
                    "id_number": make_resident_id(f"440106{born:%Y%m%d}{i // 4000:03d}"),
                    "gender": "男" if i % 2 else "女",
                    "birth_date": born,
                    "mobile": f"138{i:08d}",
                    "title": ("初级", "中级", "高级", None)[i % 4],
                    "unit_id": unit_id,
                    "agency_id": agency_id,
                    "status": "自由态",
                    "created_at": datetime(2025, 1, 1),
                }
            )
        session.execute(sa.insert(Member), rows)
        session.commit()

    in_db(app, insert)


def wait_for_job(client, headers, job_id: int, until=("succeeded", "failed"), seconds=60) -> dict:
    """Poll GET /jobs/{id} until its status is one of `until`; the job."""
    deadline = time.monotonic() + seconds
    while True:
        reply = client.get(f"/api/v1/jobs/{job_id}", headers=headers)
        assert reply.status_code == 200, reply.get_json()
        job = reply.get_json()
        if job["status"] in until:
            return job
        assert time.monotonic() < deadline, job
        time.sleep(0.1)


@contextmanager
def queue_worker(app, heartbeat: float = 0.5, stalled_after: float = 2.0):
    """procrastinate's worker (`memberflow worker`'s) in a thread of this process."""
    from service.worker import QueueWorker

    runner = QueueWorker(app, heartbeat=heartbeat, stalled_after=stalled_after)
    stop = threading.Event()
    thread = threading.Thread(target=runner.run, args=(stop,), daemon=True)
    thread.start()
    try:
        yield runner
    finally:
        stop.set()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the worker did not stop"


@contextmanager
def job_runner(app):
    """Whoever runs the app's jobs: on SQLite its own local thread, on PostgreSQL a worker."""
    if app.extensions["memberflow"].config.database_url.startswith("sqlite"):
        yield None
    else:
        with queue_worker(app) as runner:
            yield runner
