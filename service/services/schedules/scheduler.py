"""The scheduler: its jobs, the leader rule, and the runner behind `memberflow scheduler`.

Each job is a plain function `(ctx, uow) -> dict` that reads the time from `ctx.now()`,
so tests move the clock instead of sleeping; APScheduler only decides when to call it.

- `timers` every tick (60 s): fires the due BPMN timers from the indexed waiting rows,
  so a payment or learning deadline fires within a minute of its due time.
- `cpd_batch` weekly at MEMBERFLOW_CPD_CUTOFF (default TUE 15:00, Asia/Shanghai).
- `reminders` daily at MEMBERFLOW_REMINDER_TIME (default 08:00): expiry notices.
- `unused_uploads` hourly: deletes uploads no application used within a day (and each
  blob once no file row refers to its hash).

When several servers run a scheduler, exactly one acts (the leader rule is `leader.py`:
a PostgreSQL advisory lock held on a dedicated connection, or on SQLite a flock beside
the database file). A follower retries every few seconds and takes over when the
leader's connection goes away. As belt and braces each
run first claims its slot in `job_runs` — (job, scheduled_for) is unique — so a slot runs
at most once even if two processes ever both believed they led.

Missed runs: on becoming leader, and every hour, the leader runs `cpd_batch` and
`reminders` for their latest due slot if no run of it is recorded (the downtime's batch is
closed late, with everything unbatched up to its cut-off; a failed run frees its slot and
is retried here).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from service.config import Config
from service.db.models import JobRun
from service.db.uow import UnitOfWork
from service.services.schedules import business_messages, outbox
from service.services.schedules.cpd_batches import (
    SHANGHAI_TZ,
    WEEKDAYS,
    close_cpd_batch,
    latest_cut_off,
    parse_time_of_day,
    parse_weekly,
    to_local,
    to_utc,
)
from service.services.schedules.leader import holder_name, leader_lock
from service.services.schedules.notifications import create_expiry_reminders
from service.services.workflow.context import Context
from service.services.workflow.files import delete_unused_uploads
from service.services.workflow.timers import fire_due_timers

log = logging.getLogger("memberflow.scheduler")

EPOCH = datetime(1970, 1, 1)
TIMER_RUNS_KEPT = timedelta(days=7)
ABANDONED_AFTER = timedelta(hours=1)


# --- the jobs ----------------------------------------------------------------------------


def timers_job(ctx: Context, uow: UnitOfWork) -> dict:
    """Fire every BPMN timer due by now (payment and learning deadlines)."""
    return {"fired": fire_due_timers(ctx, uow)}


def cpd_batch_job(ctx: Context, uow: UnitOfWork) -> dict:
    """Close the CPD batch of the latest weekly cut-off (once; later calls find it closed)."""
    cut_off = latest_cut_off(ctx.now(), parse_weekly(ctx.config.cpd_cutoff))
    batch = close_cpd_batch(ctx, uow, cut_off)
    return {
        "batch_id": batch["id"],
        "cut_off_at": batch["cut_off_at"].isoformat(),
        "person_count": batch["person_count"],
        "created": batch["created"],
    }


def reminders_job(ctx: Context, uow: UnitOfWork) -> dict:
    """Certificate and membership expiry notices for the unit's admins and the member;
    learning deadlines near; each reviewer's digest of the pool (业务消息)."""
    result = create_expiry_reminders(ctx, uow)
    result["learning_deadline"] = business_messages.learning_deadline_messages(ctx, uow)
    result["task_digest"] = business_messages.task_digests(ctx, uow)
    uow.commit()
    return result


def outbox_job(ctx: Context, uow: UnitOfWork) -> dict:
    """Send the 业务消息 due by email and SMS (retries with backoff, see outbox)."""
    return outbox.deliver(ctx, uow)


def unused_uploads_job(ctx: Context, uow: UnitOfWork) -> dict:
    """Delete uploads older than a day that no application, member or bill uses."""
    return delete_unused_uploads(ctx, uow)


JOBS: dict[str, Callable[[Context, UnitOfWork], dict]] = {
    "timers": timers_job,
    "cpd_batch": cpd_batch_job,
    "reminders": reminders_job,
    "unused_uploads": unused_uploads_job,
    "outbox": outbox_job,
}
HOURLY = 3600


# --- slots: which run a moment belongs to ------------------------------------------------


def latest_daily(now: datetime, at: time) -> datetime:
    """The latest `at` (Asia/Shanghai wall time) at or before `now` (naive UTC both)."""
    local = to_local(now)
    candidate = datetime.combine(local.date(), at)
    if candidate > local:
        candidate -= timedelta(days=1)
    return to_utc(candidate)


def tick_slot(now: datetime, tick: int) -> datetime:
    """The start of the tick `now` falls in (ticks are aligned to the epoch)."""
    seconds = int((now - EPOCH).total_seconds()) // tick * tick
    return EPOCH + timedelta(seconds=seconds)


def slot_for(job: str, now: datetime, config: Config, tick: int = 60) -> datetime:
    """The scheduled time of `job`'s run that `now` belongs to (naive UTC)."""
    if job in ("timers", "outbox"):
        return tick_slot(now, tick)
    if job == "cpd_batch":
        return latest_cut_off(now, parse_weekly(config.cpd_cutoff))
    if job == "reminders":
        return latest_daily(now, parse_time_of_day(config.reminder_time))
    if job == "unused_uploads":
        return tick_slot(now, HOURLY)
    raise KeyError(job)


def run_job(ctx: Context, uow: UnitOfWork, job: str, holder: str, tick: int = 60) -> dict | None:
    """Claim the job's current slot in job_runs and run it; None if the slot already ran.

    A run that fails gives its slot back (deletes its claim) so a later pass retries it.
    """
    now = ctx.now()
    claim = JobRun(
        job=job, scheduled_for=slot_for(job, now, ctx.config, tick), holder=holder, started_at=now
    )
    uow.session.add(claim)
    try:
        uow.commit()
    except IntegrityError:
        uow.rollback()
        return None
    claim_id = claim.id
    try:
        result = JOBS[job](ctx, uow)
    except Exception:
        uow.rollback()
        uow.session.execute(sa.delete(JobRun).where(JobRun.id == claim_id))
        uow.commit()
        raise
    uow.session.execute(
        sa.update(JobRun)
        .where(JobRun.id == claim_id)
        .values(finished_at=ctx.now(), result=result)
        .execution_options(synchronize_session=False)
    )
    uow.commit()
    return result


def tidy_job_runs(ctx: Context, uow: UnitOfWork) -> int:
    """Forget timer and hourly runs older than a week (they would grow without end), and free
    the slots of runs abandoned unfinished for an hour (their process died mid-run)."""
    now = ctx.now()
    old_ticks = sa.and_(
        JobRun.job.in_(("timers", "unused_uploads")),
        JobRun.scheduled_for < now - TIMER_RUNS_KEPT,
    )
    abandoned = sa.and_(JobRun.finished_at.is_(None), JobRun.started_at < now - ABANDONED_AFTER)
    result = uow.session.execute(sa.delete(JobRun).where(sa.or_(old_ticks, abandoned)))
    uow.commit()
    return result.rowcount


# --- the runner --------------------------------------------------------------------------


class SchedulerRunner:
    """`memberflow scheduler`: wait to lead, then run the jobs until stopped or deposed."""

    def __init__(self, app, tick: int = 60, retry: float | None = None):
        self.app = app
        self.ctx: Context = app.extensions["memberflow"]
        self.tick = tick
        self.retry = retry if retry is not None else self.ctx.config.scheduler_retry_seconds
        self.holder = holder_name()
        # a bad setting stops start-up here, not at the job's first run
        self.weekly = parse_weekly(self.ctx.config.cpd_cutoff)
        self.daily = parse_time_of_day(self.ctx.config.reminder_time)

    def run(self, stop: threading.Event) -> None:
        """Until `stop` is set: try to become leader; lead while the lock holds."""
        lock = leader_lock(self.ctx.config)
        waiting_said = False
        try:
            while not stop.is_set():
                if lock.try_acquire():
                    waiting_said = False
                    log.info(
                        "成为调度主节点，开始执行定时任务 (became leader) holder=%s", self.holder
                    )
                    self._lead(lock, stop)
                    lock.release()
                    if not stop.is_set():
                        log.warning("失去调度主节点身份，转为待命 (lost leadership)")
                    continue
                if not waiting_said:
                    log.info(
                        "另一进程是调度主节点，本进程待命，每 %s 秒重试 (follower, retrying)",
                        self.retry,
                    )
                    waiting_said = True
                stop.wait(self.retry)
        finally:
            lock.release()
            log.info("调度进程已停止 (scheduler stopped) holder=%s", self.holder)

    def _lead(self, lock, stop: threading.Event) -> None:
        scheduler = self._build()
        scheduler.start()
        try:
            while not stop.wait(self.retry):
                if not lock.held():
                    break
        finally:
            scheduler.shutdown(wait=True)

    def _build(self):
        from apscheduler.schedulers.background import BackgroundScheduler
        from apscheduler.triggers.cron import CronTrigger
        from apscheduler.triggers.interval import IntervalTrigger

        weekly, daily = self.weekly, self.daily
        scheduler = BackgroundScheduler(timezone=SHANGHAI_TZ)
        common = dict(max_instances=1, coalesce=True, misfire_grace_time=3600)
        scheduler.add_job(
            self.execute,
            IntervalTrigger(seconds=self.tick, start_date=EPOCH.replace(tzinfo=UTC)),
            args=["timers"],
            id="timers",
            **common,
        )
        scheduler.add_job(
            self.execute,
            CronTrigger(
                day_of_week=WEEKDAYS[weekly.weekday].lower(),
                hour=weekly.at.hour,
                minute=weekly.at.minute,
                timezone=SHANGHAI_TZ,
            ),
            args=["cpd_batch"],
            id="cpd_batch",
            **common,
        )
        scheduler.add_job(
            self.execute,
            CronTrigger(hour=daily.hour, minute=daily.minute, timezone=SHANGHAI_TZ),
            args=["reminders"],
            id="reminders",
            **common,
        )
        scheduler.add_job(
            self.execute,
            IntervalTrigger(seconds=self.tick, start_date=EPOCH.replace(tzinfo=UTC)),
            args=["outbox"],
            id="outbox",
            **common,
        )
        scheduler.add_job(
            self.execute,
            IntervalTrigger(seconds=HOURLY, start_date=EPOCH.replace(tzinfo=UTC)),
            args=["unused_uploads"],
            id="unused_uploads",
            **common,
        )
        scheduler.add_job(
            self.catch_up,
            IntervalTrigger(hours=1),
            id="catch_up",
            next_run_time=datetime.now(SHANGHAI_TZ),
            **common,
        )
        return scheduler

    def execute(self, job: str) -> dict | None:
        """Run one job in its own app context; errors are logged, never kill the scheduler."""
        from service.db import db

        with self.app.app_context():
            try:
                result = run_job(self.ctx, UnitOfWork(db.session), job, self.holder, self.tick)
            except Exception:
                log.exception("定时任务 %s 执行失败 (job failed)", job)
                return None
            finally:
                db.session.remove()
        if result is not None:  # a minute's timers run that fired nothing is not news
            quiet = (job == "timers" and not result.get("fired")) or (
                job == "outbox" and not any(result.values())
            )
            log.log(
                logging.DEBUG if quiet else logging.INFO,
                "定时任务 %s 已执行 (job ran): %s",
                job,
                result,
            )
        return result

    def catch_up(self) -> None:
        """Tidy job_runs, then run the weekly and daily jobs whose latest slot has no run."""
        from service.db import db

        with self.app.app_context():
            try:
                tidy_job_runs(self.ctx, UnitOfWork(db.session))
            except SQLAlchemyError:
                log.exception("清理定时任务记录失败 (tidying job runs failed)")
            finally:
                db.session.remove()
        for job in ("cpd_batch", "reminders"):
            self.execute(job)
