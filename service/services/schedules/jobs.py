"""Background jobs: long work (large exports, certificate zips, the learning import) with
progress, run outside the request.

A job is one `jobs` row: what to do (a kind from `job_kinds`, its parameters, an uploaded
file's blob), who asked, how far it is and how it ended. Starting one checks scope and
parameters at once (404 and 422 come from the request, not later), writes the row and
queues it in the same transaction (`job_queue`). A worker then `run`s it: it claims the
row, reports rows done of rows total through its own connection (so pages see progress
while the work's transaction reads), and finishes with the result file in the storage,
downloadable for a day (then 410), or with the reason it failed, in Chinese.

Restarts: a worker killed mid-job leaves the row `running`. procrastinate gives the
entry back to the queue when the dead worker's heartbeat stops (`service.worker`); the
SQLite local worker takes over a row whose heartbeat is stale. The work runs again from the
start: an export only reads, the import writes everything in one transaction, so nothing
is lost or done twice.

Only the owner (and the secretariat) sees a job; anyone else gets 404.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, datetime, timedelta

import sqlalchemy as sa
from sqlalchemy import select, update

from service.db.models import Account, Job, StoredFile
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Gone, NotFound, ServiceError
from service.services.membership.accounts import actor_of
from service.services.schedules import job_queue
from service.services.schedules.job_kinds import KINDS, FileResult, Summary
from service.services.workflow.context import Context
from service.services.workflow.files import _lock_blob
from service.services.workflow.paging import page_of
from service.services.workflow.scope import sees_every_upload
from service.storage import Blob

log = logging.getLogger("memberflow.jobs")

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
STATUS_LABELS = {QUEUED: "排队中", RUNNING: "处理中", SUCCEEDED: "已完成", FAILED: "失败"}
EXPIRED_LABEL = "已过期"
RESULT_KEPT = timedelta(days=1)  # a result is downloadable for a day
INPUT_KEPT = timedelta(days=1)  # an uploaded input is kept a day after the job ends (retry)
ROWS_KEPT = timedelta(days=30)  # then the job itself is forgotten
HEARTBEAT_SECONDS = 5.0
PROGRESS_SECONDS = 0.25  # progress is written at most this often
UNEXPECTED = (
    "后台任务执行时发生意外错误，未产生任何结果。"
    "请点击“重新执行”再试；如果仍然失败，请联系协会秘书处。"
)

RESULT_NOT_SAVED = (
    "后台任务已处理完毕，但保存结果文件时出错，未产生可下载的结果。"
    "请点击“重新执行”再试；如果仍然失败，请联系协会秘书处。"
)

# --- starting a job -------------------------------------------------------------------------


def _jsonable(value):
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def _keep_blob(ctx: Context, uow: UnitOfWork, content: bytes) -> str:
    digest = hashlib.sha256(content).hexdigest()
    _lock_blob(uow, digest)
    if not ctx.storage.exists(digest):
        ctx.storage.put(digest, content)
    return digest


def submit(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    kind: str,
    params: dict,
    upload: tuple[str, bytes] | None = None,
) -> dict:
    """Start a job of `kind` for the caller: checked now (404, 422), run in the background.

    `upload` is an input file (name, bytes), kept in the storage for the worker.
    """
    spec = KINDS[kind]
    if actor.id is None:
        raise NotFound("没有该功能")
    params = _jsonable(params)
    spec.check(ctx, uow, actor, params)
    now = ctx.now()
    job = Job(
        kind=kind,
        title=spec.title,
        owner_id=actor.id,
        params=params,
        token=uuid.uuid4().hex,
        status=QUEUED,
        rows_done=0,
        attempts=0,
        created_at=now,
    )
    if upload is not None:
        name, content = upload
        job.input_name = (name or "upload")[:200]
        job.input_key = _keep_blob(ctx, uow, content)
    uow.session.add(job)
    uow.session.flush()
    job_queue.defer(uow.session, job.id, job.token)
    uow.commit()
    return view(job, now)


def retry(ctx: Context, uow: UnitOfWork, actor: Actor, job_id: int) -> dict:
    """Run a failed job again with the same parameters and input (the owner only)."""
    job = _visible(uow, actor, job_id, lock=True)
    if job.owner_id != actor.id:
        raise NotFound("后台任务不存在")
    if job.status != FAILED:
        raise Conflict("只有失败的后台任务可以重新执行")
    if job.input_name and not job.input_key:
        raise Gone("上传的文件已超过保留期限，请重新上传后再导入")
    job.token, job.status = uuid.uuid4().hex, QUEUED
    job.rows_done, job.rows_total, job.error, job.errors = 0, None, None, None
    job.finished_at = job.started_at = None
    uow.session.flush()
    job_queue.defer(uow.session, job.id, job.token)
    uow.commit()
    return view(job, ctx.now())


class TooLong(Exception):
    """The work is larger than may be done in a request: start it as a job."""


class _Bounded:
    """A request's stand-in for Progress: refuses work over `limit` rows before it starts."""

    def __init__(self, limit: int):
        self.limit, self.done = limit, 0

    def start(self, total: int | None) -> None:
        if total is not None and total > self.limit:
            raise TooLong(total)

    def track(self, items: Iterable, total: int | None) -> Iterator:
        self.start(total)  # before any work: nothing half-made is left behind
        return self._counted(items)

    def _counted(self, items: Iterable) -> Iterator:
        for item in items:
            yield item
            self.done += 1


def run_now(ctx: Context, uow: UnitOfWork, actor: Actor, kind: str, params: dict, limit: int):
    """Do small work in the request (a FileResult); TooLong when it has over `limit` rows
    (a kind's `weight` counts one of its rows as several: a certificate PDF as 50)."""
    spec = KINDS[kind]
    params = _jsonable(params)
    spec.check(ctx, uow, actor, params)
    return spec.run(ctx, uow, actor, params, None, _Bounded(limit // spec.weight), None)


# --- reading jobs ---------------------------------------------------------------------------


def _visible(uow: UnitOfWork, actor: Actor, job_id: int, lock: bool = False) -> Job:
    stmt = select(Job).where(Job.id == job_id)
    if lock:
        stmt = stmt.with_for_update()
    job = uow.session.scalars(stmt).first()
    if job is None or not (sees_every_upload(actor) or (actor.id and job.owner_id == actor.id)):
        raise NotFound("后台任务不存在")
    return job


def percent(job: Job) -> int:
    """Percent done: 100 only once the result is ready."""
    if job.status == SUCCEEDED:
        return 100
    if not job.rows_total:
        return 0
    return min(99, job.rows_done * 100 // job.rows_total)


def view(job: Job, now: datetime) -> dict:
    """What the API and the pages show of a job."""
    expired = job.status == SUCCEEDED and job.expires_at is not None and job.expires_at <= now
    result = None
    if job.status == SUCCEEDED and job.result_name:
        result = {
            "name": job.result_name,
            "size": job.result_size,
            "content_type": job.result_type,
            "expired": expired,
        }
    return {
        "id": job.id,
        "kind": job.kind,
        "title": job.title,
        "owner_id": job.owner_id,
        "status": job.status,
        "status_label": EXPIRED_LABEL if expired else STATUS_LABELS[job.status],
        "rows_done": job.rows_done,
        "rows_total": job.rows_total,
        "percent": percent(job),
        "attempts": job.attempts,
        "error": job.error,
        "errors": job.errors,
        "summary": job.summary,
        "input_name": job.input_name,
        "result": result,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "finished_at": job.finished_at,
        "expires_at": job.expires_at,
    }


def get_job(ctx: Context, uow: UnitOfWork, actor: Actor, job_id: int) -> dict:
    """One job with its progress (its owner and the secretariat only)."""
    return view(_visible(uow, actor, job_id), ctx.now())


def list_jobs(
    ctx: Context, uow: UnitOfWork, actor: Actor, page: int = 1, page_size: int = 20
) -> dict:
    """The caller's jobs, newest first (the secretariat: everyone's)."""
    stmt = select(Job)
    if not sees_every_upload(actor):
        stmt = stmt.where(Job.owner_id == (actor.id or 0))
    total, rows = page_of(uow.session, stmt, Job.id.desc(), page, page_size)
    now = ctx.now()
    items = [view(job, now) for job in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def result(ctx: Context, uow: UnitOfWork, actor: Actor, job_id: int) -> tuple[dict, Blob]:
    """The finished job's file: 409 before it is ready, 410 once a day has passed."""
    job = _visible(uow, actor, job_id)
    if job.status == FAILED:
        raise Conflict("后台任务失败，没有可下载的结果：" + (job.error or ""))
    if job.status != SUCCEEDED:
        raise Conflict("后台任务尚未完成，请稍后再下载")
    if not job.result_name:
        raise NotFound("该后台任务没有结果文件")
    if job.expires_at <= ctx.now() or not job.result_key:
        raise Gone("结果文件只保留一天，已过期，请重新导出")
    meta = {"name": job.result_name, "content_type": job.result_type, "size": job.result_size}
    return meta, Blob(ctx.storage, job.result_key)


def has_pending(uow: UnitOfWork) -> bool:
    """Whether any job waits or runs (a fresh local worker looks for leftovers)."""
    found = uow.session.scalar(select(Job.id).where(Job.status.in_((QUEUED, RUNNING))).limit(1))
    uow.rollback()
    return found is not None


def claimable(uow: UnitOfWork, stale_before: datetime, limit: int = 10) -> list[tuple[int, str]]:
    """(id, token) of jobs a local worker may take: queued, or running with a dead heartbeat."""
    rows = uow.session.execute(
        select(Job.id, Job.token).where(_claimable(stale_before)).order_by(Job.id).limit(limit)
    ).all()
    uow.rollback()
    return [(r.id, r.token) for r in rows]


def _claimable(stale_before: datetime | None):
    if stale_before is None:  # procrastinate hands out each entry once: take it
        return Job.status.in_((QUEUED, RUNNING))
    dead = sa.or_(Job.heartbeat_at.is_(None), Job.heartbeat_at < stale_before)
    return sa.or_(Job.status == QUEUED, sa.and_(Job.status == RUNNING, dead))


# --- running a job --------------------------------------------------------------------------


@contextmanager
def _unless_locked(conn: sa.Connection) -> Iterator[None]:
    """The block's write, done now or not at all on SQLite.

    SQLite lets one connection write at a time, and the work's own transaction (an import's
    rows) may be that one: waiting for it would wait for this very thread (SQLite's busy
    timeout, then "database is locked" failed the job). So on SQLite the block waits for
    nobody, and a write the lock refuses is skipped. Elsewhere the block runs as it is."""
    if conn.dialect.name != "sqlite":
        yield
        return
    raw = conn.connection.driver_connection
    waited = raw.execute("PRAGMA busy_timeout").fetchone()[0]
    raw.execute("PRAGMA busy_timeout = 0")
    try:
        yield
    except sa.exc.OperationalError as exc:
        if "locked" not in str(exc.orig):
            raise
    finally:
        raw.execute(f"PRAGMA busy_timeout = {int(waited)}")


class Progress:
    """Rows done of rows total, written through a connection of its own (the work's
    transaction may be reading for a long time) at most every PROGRESS_SECONDS."""

    def __init__(self, ctx: Context, engine: sa.Engine, job_id: int, token: str):
        self.ctx, self.engine, self.job_id, self.token = ctx, engine, job_id, token
        self.done, self.total = 0, None
        self._written = 0.0
        self._lock = threading.Lock()

    def _write(self, **values) -> None:
        """The job's row, now; on SQLite skipped while the work's transaction holds the
        lock (`_unless_locked`): the next step writes it, or the job's end, which the
        work's transaction writes itself."""
        statement = (
            update(Job)
            .where(Job.id == self.job_id, Job.token == self.token, Job.status == RUNNING)
            .values(heartbeat_at=self.ctx.now(), **values)
        )
        with self._lock, self.engine.connect() as conn, _unless_locked(conn):
            with conn.begin():
                conn.execute(statement)

    def start(self, total: int | None) -> None:
        """The work has `total` rows."""
        self.total, self.done = total, 0
        self._write(rows_total=total, rows_done=0)
        self._written = time.monotonic()

    def step(self, n: int = 1) -> None:
        self.done += n
        if time.monotonic() - self._written >= PROGRESS_SECONDS:
            self.flush()

    def flush(self) -> None:
        self._write(rows_done=self.done, rows_total=max(self.total or 0, self.done))
        self._written = time.monotonic()

    def track(self, items: Iterable, total: int | None) -> Iterator:
        """`items`, counted as they are taken (the total is written at once)."""
        self.start(total)
        return self._counted(items)

    def _counted(self, items: Iterable) -> Iterator:
        for item in items:
            yield item
            self.step()
        self.flush()

    def beat(self) -> None:
        """Still alive (no rows moved)."""
        try:
            self._write()
        except sa.exc.SQLAlchemyError as exc:  # busy or gone: the next beat tries again
            log.warning("后台任务心跳写入失败 (heartbeat failed): %s", exc)


class _Heartbeat:
    """Beats every HEARTBEAT_SECONDS while the work runs (a stalled row is taken over)."""

    def __init__(self, progress: Progress, seconds: float):
        self.progress, self.seconds = progress, seconds
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, name="job-heartbeat", daemon=True)

    def _run(self) -> None:
        while not self.stop.wait(self.seconds):
            self.progress.beat()

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join()


def _owner(uow: UnitOfWork, job: Job) -> Actor:
    account = uow.session.get(Account, job.owner_id)
    if account is None or not account.active:
        raise NotFound("提交任务的账号已停用，后台任务未执行")
    return actor_of(account)


def run(
    ctx: Context,
    uow: UnitOfWork,
    job_id: int,
    token: str,
    worker: str,
    stale_before: datetime | None = None,
    heartbeat: float = HEARTBEAT_SECONDS,
) -> str:
    """Claim the job and do its work: "succeeded", "failed", or "skipped" (not ours to run:
    done already, retried under another token, or running with a live heartbeat)."""
    now = ctx.now()
    claimed = uow.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.token == token, _claimable(stale_before))
        .values(
            status=RUNNING,
            attempts=Job.attempts + 1,
            started_at=now,
            heartbeat_at=now,
            rows_done=0,
            rows_total=None,
            worker=worker[:100],
        )
        .execution_options(synchronize_session=False)
    )
    uow.commit()
    if claimed.rowcount != 1:
        return "skipped"
    job = uow.session.get(Job, job_id)
    progress = Progress(ctx, uow.session.get_bind(), job_id, token)
    with _Heartbeat(progress, heartbeat):
        try:
            owner = _owner(uow, job)
            content = ctx.storage.read(job.input_key) if job.input_key else None
            done = lambda rows, summary: _finish_within(  # noqa: E731
                ctx, uow, job_id, token, rows, summary
            )
            outcome = KINDS[job.kind].run(ctx, uow, owner, job.params, content, progress, done)
        except ServiceError as exc:
            uow.rollback()
            _fail(ctx, uow, job_id, token, exc.message, exc.errors)
            return "failed"
        except Exception:
            log.exception("后台任务 %s 执行失败 (job failed)", job_id)
            uow.rollback()
            _fail(ctx, uow, job_id, token, UNEXPECTED, None)
            return "failed"
    uow.rollback()
    try:
        _succeed(ctx, uow, job_id, token, outcome, progress)
    except Exception:  # a result the database or the storage refuses: the job failed
        log.exception("后台任务 %s 的结果保存失败 (job result not saved)", job_id)
        uow.rollback()
        _fail(ctx, uow, job_id, token, RESULT_NOT_SAVED, None)
        if isinstance(outcome, FileResult):
            _forget_result(ctx, uow, outcome.content)
        return "failed"
    log.info("后台任务 %s（%s）已完成 (job done)", job_id, job.kind)
    return "succeeded"


def _finish_within(
    ctx: Context, uow: UnitOfWork, job_id: int, token: str, rows: int, summary: dict
) -> None:
    """Mark the job done, with its summary, inside the work's own transaction (work that
    writes: the import), so its writes and the job's end commit together: no one reads a
    job succeeded without what it did (its page said nothing of it, between two commits)."""
    uow.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.token == token, Job.status == RUNNING)
        .values(
            status=SUCCEEDED,
            summary=summary,
            rows_done=rows,
            rows_total=rows,
            finished_at=ctx.now(),
        )
        .execution_options(synchronize_session=False)
    )


def _succeed(ctx: Context, uow: UnitOfWork, job_id: int, token: str, outcome, progress) -> None:
    now = ctx.now()
    values = {"status": SUCCEEDED, "finished_at": now, "error": None, "errors": None}
    if isinstance(outcome, FileResult):
        values.update(
            result_key=_keep_blob(ctx, uow, outcome.content),
            result_name=outcome.name,
            result_size=len(outcome.content),
            result_type=outcome.content_type,
            expires_at=now + RESULT_KEPT,
            rows_done=outcome.rows,
            rows_total=outcome.rows,
            summary=outcome.summary,
        )
    elif isinstance(outcome, Summary):
        values.update(summary=outcome.values, rows_done=outcome.rows, rows_total=outcome.rows)
    uow.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.token == token, Job.status.in_((RUNNING, SUCCEEDED)))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    uow.commit()


def _forget_result(ctx: Context, uow: UnitOfWork, content: bytes) -> None:
    """Delete a result's blob stored before its row was refused (when nothing refers to it)."""
    try:
        _drop_blob_if_unused(ctx, uow, hashlib.sha256(content).hexdigest())
        uow.commit()
    except Exception as exc:  # the job has failed already; a blob left is only space
        uow.rollback()
        log.warning("后台任务结果文件未能删除 (result blob not deleted): %s", exc)


def _fail(ctx, uow, job_id: int, token: str, message: str, errors: dict | None) -> None:
    uow.session.execute(
        update(Job)
        .where(Job.id == job_id, Job.token == token, Job.status == RUNNING)
        .values(status=FAILED, error=message, errors=errors, finished_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    uow.commit()


# --- housekeeping ---------------------------------------------------------------------------


def _drop_blob_if_unused(ctx: Context, uow: UnitOfWork, key: str) -> bool:
    _lock_blob(uow, key)
    used = uow.session.scalar(
        select(
            sa.exists().where(sa.or_(Job.result_key == key, Job.input_key == key))
            | sa.exists().where(StoredFile.sha256 == key)
        )
    )
    if not used:
        ctx.storage.delete(key)
    return not used


def delete_expired(ctx: Context, uow: UnitOfWork, batch: int = 200) -> dict:
    """Forget results older than a day and inputs of jobs ended a day ago (their blobs go
    when nothing else refers to them), and jobs older than thirty days."""
    now = ctx.now()
    results = uow.session.execute(
        select(Job.id, Job.result_key)
        .where(Job.result_key.is_not(None), Job.expires_at <= now)
        .limit(batch)
    ).all()
    inputs = uow.session.execute(
        select(Job.id, Job.input_key)
        .where(
            Job.input_key.is_not(None),
            Job.status.in_((SUCCEEDED, FAILED)),
            Job.finished_at <= now - INPUT_KEPT,
        )
        .limit(batch)
    ).all()
    uow.rollback()
    blobs = 0
    for column, rows in ((Job.result_key, results), (Job.input_key, inputs)):
        for job_id, key in rows:
            uow.session.execute(
                update(Job)
                .where(Job.id == job_id, column == key)
                .values({column.key: None})
                .execution_options(synchronize_session=False)
            )
            blobs += _drop_blob_if_unused(ctx, uow, key)
            uow.commit()
    old = uow.session.execute(
        sa.delete(Job).where(
            Job.created_at < now - ROWS_KEPT,
            Job.status.in_((SUCCEEDED, FAILED)),
            Job.result_key.is_(None),
            Job.input_key.is_(None),
        )
    )
    uow.commit()
    return {"results": len(results), "inputs": len(inputs), "blobs": blobs, "jobs": old.rowcount}
