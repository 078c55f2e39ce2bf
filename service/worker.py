"""Who runs background jobs: procrastinate's worker on PostgreSQL (`memberflow worker`), a
local worker thread inside the app on SQLite.

PostgreSQL: `QueueWorker` runs procrastinate's worker on our queue; each entry calls
`jobs.run` in an app context. procrastinate records a heartbeat per worker; next to the
worker a small loop gives back to the queue the entries of workers whose heartbeat stopped
(killed mid-job: SIGKILL, a lost machine), so another worker runs them again, and tidies
expired results. Start one or more `memberflow worker` beside the web servers.

SQLite (the embedded default, one machine): `LocalWorker`, a thread started in the web
process when a job is submitted (or by a request, at most once a minute, that finds jobs
left over from a previous run or a dead process). It takes queued rows from `jobs` with a
conditional update (one process wins), and rows still `running` whose heartbeat is older
than `stale` seconds (their process died). It ends after a while without work.
`memberflow worker` on SQLite runs the same loop in the foreground.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from datetime import timedelta

from flask import Flask

from service.db import db
from service.db.uow import UnitOfWork
from service.services.schedules import job_queue, jobs
from service.services.schedules.leader import holder_name

log = logging.getLogger("memberflow.worker")

EXTENSION = "memberflow.local_worker"
TIDY_SECONDS = 3600
LEFTOVER_CHECK_SECONDS = 60  # a request looks for jobs a dead process left, at most this often


def _run_one(app: Flask, job_id: int, token: str, worker: str, stale=None) -> str:
    with app.app_context():
        try:
            ctx = app.extensions["memberflow"]
            stale_before = ctx.now() - timedelta(seconds=stale) if stale is not None else None
            return jobs.run(ctx, UnitOfWork(db.session), job_id, token, worker, stale_before)
        finally:
            db.session.remove()


def _tidy(app: Flask) -> None:
    with app.app_context():
        try:
            outcome = jobs.delete_expired(app.extensions["memberflow"], UnitOfWork(db.session))
            if any(outcome.values()):
                log.info("已清理过期的后台任务结果 (expired job results removed): %s", outcome)
        except Exception:  # noqa: BLE001 - housekeeping never stops a worker
            log.exception("清理过期的后台任务结果失败 (tidying failed)")
        finally:
            db.session.remove()


# --- PostgreSQL: procrastinate ----------------------------------------------------------------


class QueueWorker:
    """procrastinate's worker on the `memberflow` queue, and the stalled-entry recovery."""

    def __init__(
        self,
        app: Flask,
        concurrency: int = 1,
        heartbeat: float = 10.0,
        stalled_after: float = 30.0,
    ):
        import procrastinate

        self.app = app
        self.concurrency = concurrency
        self.heartbeat = heartbeat
        self.stalled_after = stalled_after
        self.name = holder_name()
        url = app.extensions["memberflow"].config.database_url
        connector = procrastinate.PsycopgConnector(conninfo=job_queue.conninfo(url))
        self.queue = procrastinate.App(connector=connector)

        @self.queue.task(name=job_queue.TASK, queue=job_queue.QUEUE)
        def run_job(job_id: int, token: str) -> str:
            return _run_one(app, job_id, token, self.name)

    async def _recover(self) -> None:
        """Give back the entries of workers whose heartbeat stopped; tidy now and then."""
        manager = self.queue.job_manager
        tidied = 0.0
        while True:
            try:
                stalled = await manager.get_stalled_jobs(
                    queue=job_queue.QUEUE, seconds_since_heartbeat=self.stalled_after
                )
                for entry in stalled:
                    try:
                        await manager.retry_job(entry)
                        log.warning(
                            "后台任务 %s 的处理进程已中断，重新排队 (stalled job retried)",
                            entry.task_kwargs.get("job_id"),
                        )
                    except Exception:  # noqa: BLE001 - another worker gave it back first
                        pass
            except Exception:  # noqa: BLE001 - the database may be away for a moment
                log.exception("检查中断的后台任务失败 (stalled check failed)")
            if time.monotonic() - tidied > TIDY_SECONDS:
                await asyncio.to_thread(_tidy, self.app)
                tidied = time.monotonic()
            await asyncio.sleep(max(self.stalled_after / 2, 0.5))

    async def _main(self, stop: threading.Event) -> None:
        async with self.queue.open_async():
            worker = asyncio.create_task(
                self.queue.run_worker_async(
                    queues=[job_queue.QUEUE],
                    name=self.name,
                    concurrency=self.concurrency,
                    install_signal_handlers=False,
                    update_heartbeat_interval=self.heartbeat,
                    stalled_worker_timeout=self.stalled_after,
                    delete_jobs="successful",
                )
            )
            recover = asyncio.create_task(self._recover())
            stopper = asyncio.create_task(asyncio.to_thread(stop.wait))
            await asyncio.wait({worker, stopper}, return_when=asyncio.FIRST_COMPLETED)
            recover.cancel()
            if not worker.done():
                worker.cancel()  # procrastinate stops fetching and lets the running job end
            try:
                await worker
            except asyncio.CancelledError:
                pass
            if not stopper.done():
                stop.set()
                await stopper

    def run(self, stop: threading.Event) -> None:
        """Work until `stop` is set (SIGTERM, Ctrl-C); the running job finishes first."""
        log.info("后台任务处理程序已启动 (worker started) %s", self.name)
        asyncio.run(self._main(stop))
        log.info("后台任务处理程序已停止 (worker stopped) %s", self.name)


# --- SQLite: a local thread -------------------------------------------------------------------


class LocalWorker:
    """Runs the jobs of the `jobs` table in a thread of this process (SQLite)."""

    def __init__(self, app: Flask, idle: float = 30.0, poll: float = 1.0, stale: float = 30.0):
        self.app, self.idle, self.poll, self.stale = app, idle, poll, stale
        self.event = threading.Event()
        self.lock = threading.Lock()
        self.thread: threading.Thread | None = None
        self.pid: int | None = None
        self.checked_at = float("-inf")  # when a request last looked for left-over jobs
        self.tidied = 0.0

    def wake(self) -> None:
        """There may be work: make sure the thread runs, and nudge it."""
        with self.lock:
            self.event.set()
            alive = self.thread is not None and self.thread.is_alive()
            if not alive or self.pid != os.getpid():
                self.pid = os.getpid()
                self.thread = threading.Thread(
                    target=self._loop, name="memberflow-jobs", daemon=True
                )
                self.thread.start()

    def run_pending(self) -> int:
        """Run every job that may be taken now; how many ran."""
        ran = 0
        worker = f"{holder_name()}:local"
        while True:
            with self.app.app_context():
                try:
                    ctx = self.app.extensions["memberflow"]
                    stale_before = ctx.now() - timedelta(seconds=self.stale)
                    found = jobs.claimable(UnitOfWork(db.session), stale_before)
                finally:
                    db.session.remove()
            outcomes = [
                _run_one(self.app, job_id, token, worker, self.stale) for job_id, token in found
            ]
            ran += sum(1 for o in outcomes if o != "skipped")
            if not found or all(o == "skipped" for o in outcomes):
                break
        if ran and time.monotonic() - self.tidied > TIDY_SECONDS:
            _tidy(self.app)
            self.tidied = time.monotonic()
        return ran

    def _loop(self) -> None:
        quiet_since = time.monotonic()
        while True:
            self.event.clear()
            try:
                if self.run_pending():
                    quiet_since = time.monotonic()
            except Exception:  # noqa: BLE001 - a database hiccup: try again at the next poll
                log.exception("本地后台任务处理出错 (local worker error)")
            if self.event.wait(self.poll):
                continue
            if time.monotonic() - quiet_since > self.idle:
                with self.lock:
                    if not self.event.is_set():
                        self.thread = None
                        return

    def run(self, stop: threading.Event) -> None:
        """`memberflow worker` on SQLite: the same loop in the foreground until `stop`."""
        log.info("后台任务处理程序已启动（SQLite 本地模式） (local worker started)")
        while not stop.is_set():
            try:
                self.run_pending()
            except Exception:  # noqa: BLE001
                log.exception("本地后台任务处理出错 (local worker error)")
            stop.wait(self.poll)
        log.info("后台任务处理程序已停止 (worker stopped)")


def install(app: Flask) -> None:
    """On SQLite: a local worker for this app, woken by submissions and by requests that find
    jobs left over (a previous run, a process that died; looked for once a minute)."""
    url = app.extensions["memberflow"].config.database_url
    if not url.startswith("sqlite"):
        return
    local = LocalWorker(app)
    app.extensions[EXTENSION] = local

    @app.before_request
    def _leftovers() -> None:
        alive = local.thread is not None and local.thread.is_alive() and local.pid == os.getpid()
        if alive or time.monotonic() - local.checked_at < LEFTOVER_CHECK_SECONDS:
            return
        local.checked_at = time.monotonic()
        if jobs.has_pending(UnitOfWork(db.session)):
            local.wake()


def wake(app: Flask) -> None:
    """A job was submitted: on SQLite, the local worker takes it."""
    local = app.extensions.get(EXTENSION)
    if local is not None:
        local.wake()
