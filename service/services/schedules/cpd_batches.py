"""The weekly registered-engineer CPD batch (注师继教周批次, manual 2.11.2.2).

Every Tuesday afternoon the persons whose `engineer_cpd` enrolment completed since the
previous Wednesday are reported to the national platform (its login: the ID number,
initial password 123456); later completions go into next week's batch.

A batch takes every completion not yet in a batch whose time is at or before its cut-off,
in one UPDATE: a completion exactly at the cut-off is in this batch, and the next batch
only sees rows still without a batch, so nobody is reported twice. Completions older than
the nominal period (the scheduler was down) are still taken: nothing is lost.

A person is listed once in a batch, with their first completion in it: the eligibility
table refuses an enrolment while an earlier one waits for its batch or for the opening of
learning (`cpd_enrolment`), but forms approved before that rule, or a person on two forms
that were both in flight, could leave two completions waiting (`_first_per_person`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import defer

from service.db.models import Account, CpdBatch, CpdCompletion, Member, ProcessInstance, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.dates import zh_date
from service.domain.errors import Conflict, NotFound
from service.services.documents.excel import Column, workbook_bytes
from service.services.schedules import notifications
from service.services.workflow.context import Context
from service.services.workflow.paging import page_of
from service.services.workflow.scope import sees_every_person

SHANGHAI_TZ = ZoneInfo("Asia/Shanghai")
WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")
INITIAL_PASSWORD = "123456"  # the national learning platform's initial password
REPORT_TITLE = "注师继教报名名单"
REPORT_COLUMNS = (
    Column("姓名", "text", 10),
    Column("身份证号", "text", 21),
    Column("单位名称", "text", 34),
    Column("手机号码", "text", 14),
    Column("注册号", "text", 16),
    Column("单号", "text", 22),
    Column("完成时间", "datetime", 20),
    Column("学习平台账号", "text", 21),
    Column("初始密码", "text", 10),
)


@dataclass(frozen=True)
class WeeklyTime:
    """A weekday (0 = Monday) and a time of day, in Asia/Shanghai."""

    weekday: int
    at: time


def parse_weekly(spec: str) -> WeeklyTime:
    """'TUE 15:00' → WeeklyTime; ValueError (Chinese message) for anything else."""
    parts = spec.strip().upper().split()
    problem = f"每周时间“{spec}”格式应为 星期 时:分，例如 TUE 15:00"
    if len(parts) != 2 or parts[0] not in WEEKDAYS:
        raise ValueError(problem)
    return WeeklyTime(WEEKDAYS.index(parts[0]), parse_time_of_day(parts[1]))


def parse_time_of_day(spec: str) -> time:
    """'08:00' → time(8, 0); ValueError (Chinese message) for anything else."""
    try:
        hours, minutes = (int(p) for p in spec.strip().split(":"))
        return time(hours, minutes)
    except ValueError as exc:
        raise ValueError(f"时间“{spec}”格式应为 时:分（24小时制），例如 08:00") from exc


def to_local(utc: datetime) -> datetime:
    """Naive UTC → naive Asia/Shanghai wall time."""
    return utc.replace(tzinfo=UTC).astimezone(SHANGHAI_TZ).replace(tzinfo=None)


def to_utc(local: datetime) -> datetime:
    """Naive Asia/Shanghai wall time → naive UTC (how times are stored)."""
    return local.replace(tzinfo=SHANGHAI_TZ).astimezone(UTC).replace(tzinfo=None)


def latest_cut_off(now: datetime, weekly: WeeklyTime) -> datetime:
    """The latest weekly cut-off at or before `now` (both naive UTC)."""
    local = to_local(now)
    day = local.date() - timedelta(days=(local.weekday() - weekly.weekday) % 7)
    candidate = datetime.combine(day, weekly.at)
    if candidate > local:
        candidate -= timedelta(days=7)
    return to_utc(candidate)


def next_cut_off(now: datetime, weekly: WeeklyTime) -> datetime:
    """The first weekly cut-off strictly after `now` (both naive UTC)."""
    return latest_cut_off(now, weekly) + timedelta(days=7)


def period_start(cut_off: datetime) -> datetime:
    """The batch's nominal start: 00:00 six days before the cut-off's day, Shanghai.

    For a Tuesday cut-off that is the previous Wednesday 00:00, as the manual says.
    """
    day = to_local(cut_off).date() - timedelta(days=6)
    return to_utc(datetime.combine(day, time(0, 0)))


def close_cpd_batch(ctx: Context, uow: UnitOfWork, cut_off: datetime) -> dict:
    """Close the batch of `cut_off` (naive UTC), once; closing it again returns it."""
    if cut_off > ctx.now():
        raise Conflict("该批次的截止时间尚未到，不能提前截止")
    existing = _batch_at(uow, cut_off)
    if existing is not None:
        return {**batch_view(existing), "created": False}
    batch = CpdBatch(
        cut_off_at=cut_off,
        period_start=period_start(cut_off),
        closed_at=ctx.now(),
        person_count=0,
        report=b"",
    )
    uow.session.add(batch)
    try:
        uow.session.flush()
    except IntegrityError:  # another process closed it at the same moment
        uow.rollback()
        return {**batch_view(_batch_at(uow, cut_off)), "created": False}
    uow.session.execute(
        update(CpdCompletion)
        .where(CpdCompletion.batch_id.is_(None), CpdCompletion.completed_at <= cut_off)
        .values(batch_id=batch.id)
        .execution_options(synchronize_session=False)
    )
    rows = _report_rows(uow, batch.id)
    batch.person_count = len(rows)
    batch.report = workbook_bytes(REPORT_TITLE, REPORT_COLUMNS, rows)
    uow.commit()
    return {**batch_view(batch), "created": True}


def _batch_at(uow: UnitOfWork, cut_off: datetime) -> CpdBatch | None:
    return uow.session.scalars(select(CpdBatch).where(CpdBatch.cut_off_at == cut_off)).first()


def _first_per_person(*where) -> ColumnElement[bool]:
    """Of the completions `where` finds, the first of each person (by ID number): a person
    is listed once in a batch, whatever forms completed for them."""
    first = select(func.min(CpdCompletion.id)).where(*where).group_by(CpdCompletion.id_number)
    return CpdCompletion.id.in_(first)


def _report_rows(uow: UnitOfWork, batch_id: int) -> list[tuple]:
    """One report line per person of the batch, in completion order."""
    result = uow.session.execute(
        select(CpdCompletion, Member, Unit.name, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == CpdCompletion.instance_id)
        .outerjoin(Member, Member.id == CpdCompletion.member_id)
        .outerjoin(Unit, Unit.id == CpdCompletion.unit_id)
        .where(_first_per_person(CpdCompletion.batch_id == batch_id))
        .order_by(CpdCompletion.completed_at, CpdCompletion.id)
    )
    return [
        (
            c.name,
            c.id_number,
            unit_name,
            member.mobile if member else None,
            member.registration_number if member else None,
            business_key,
            to_local(c.completed_at).replace(microsecond=0),
            c.id_number,
            INITIAL_PASSWORD,
        )
        for c, member, unit_name, business_key in result
    ]


PUBLISH_WEEKDAY, OPEN_WEEKDAY = 2, 4  # Wednesday and Friday (manual 2.11.2.2)
PUBLISHED, OPENED = "cpd_published", "cpd_opened"  # the notices' kinds
PLATFORM = "中国建设监理协会注师继续教育平台"


def _next_weekday(day: date, weekday: int) -> date:
    """The first `weekday` (0 = Monday) after `day`."""
    return day + timedelta(days=(weekday - day.weekday() - 1) % 7 + 1)


def batch_view(batch: CpdBatch) -> dict:
    """A batch as the API shows it (without the report's bytes)."""
    cut_off_on = to_local(batch.cut_off_at).date()
    return {
        "id": batch.id,
        "period_start": batch.period_start,
        "cut_off_at": batch.cut_off_at,
        "cut_off_on": cut_off_on,
        "closed_at": batch.closed_at,
        "person_count": batch.person_count,
        "report_url": f"/api/v1/cpd-batches/{batch.id}/report.xlsx",
        "publish_on": _next_weekday(cut_off_on, PUBLISH_WEEKDAY),
        "open_on": _next_weekday(cut_off_on, OPEN_WEEKDAY),
        "published_at": batch.published_at,
        "opened_at": batch.opened_at,
    }


def _batch_for_update(uow: UnitOfWork, batch_id: int) -> CpdBatch:
    batch = uow.session.scalars(
        select(CpdBatch)
        .options(defer(CpdBatch.report))
        .where(CpdBatch.id == batch_id)
        .with_for_update()
    ).first()
    if batch is None:
        raise NotFound("注师继教批次不存在")
    return batch


def _notices(uow: UnitOfWork, batch: CpdBatch, kind: str, title: str, body) -> list[dict]:
    """One notice per person of the batch for the member and their unit's admins."""
    rows = [
        row
        for recipients in notifications.RECIPIENTS
        for row in uow.session.execute(
            select(CpdCompletion, Member, Account.id)
            .join(Member, Member.id == CpdCompletion.member_id)
            .join(Account, recipients)
            .where(_first_per_person(CpdCompletion.batch_id == batch.id))
        )
    ]
    return [
        {
            "account_id": account_id,
            "kind": kind,
            "title": title,
            "body": body(c),
            "dedupe_key": f"{kind}:{batch.id}:{c.id_number}",
            "member_id": member.id,
            "unit_id": member.unit_id,
        }
        for c, member, account_id in rows
    ]


def record_publication(ctx: Context, uow: UnitOfWork, actor: Actor, batch_id: int) -> dict:
    """周三公布: the association published the batch's list (in the CPD QQ group); each
    person and their unit are told when learning opens. Once per batch."""
    _require_reader(actor)
    batch = _batch_for_update(uow, batch_id)
    if batch.published_at is not None:
        raise Conflict(f"该批次已于{zh_date(to_local(batch.published_at).date())}记录公布名单")
    now = ctx.now()
    batch.published_at, batch.published_by = now, actor.id
    open_on = batch_view(batch)["open_on"]
    sent = notifications.send(
        uow,
        _notices(
            uow,
            batch,
            PUBLISHED,
            "注师继教开通名单已公布",
            lambda c: (
                f"{c.name}已列入本周注师继教拟开通学习名单，将于{zh_date(open_on)}在{PLATFORM}"
                f"开通学习（学习平台账号为身份证号，初始密码{INITIAL_PASSWORD}）。"
            ),
        ),
        now,
    )
    view = {**batch_view(batch), "notified": sent}
    uow.commit()
    return view


def record_opening(ctx: Context, uow: UnitOfWork, actor: Actor, batch_id: int) -> dict:
    """周五开通: learning was opened on the national platform for the batch's persons; each
    person and their unit are told to start. After the publication, once per batch."""
    _require_reader(actor)
    batch = _batch_for_update(uow, batch_id)
    if batch.published_at is None:
        raise Conflict("请先记录该批次的名单公布（周三），再记录开通学习")
    if batch.opened_at is not None:
        raise Conflict(f"该批次已于{zh_date(to_local(batch.opened_at).date())}记录开通学习")
    now = ctx.now()
    batch.opened_at, batch.opened_by = now, actor.id
    today = ctx.today()
    sent = notifications.send(
        uow,
        _notices(
            uow,
            batch,
            OPENED,
            "注师继续教育学习已开通",
            lambda c: (
                f"{c.name}的注师继续教育学习已于{zh_date(today)}在{PLATFORM}开通，"
                f"请以身份证号登录（初始密码{INITIAL_PASSWORD}）并按时完成学习。"
            ),
        ),
        now,
    )
    view = {**batch_view(batch), "notified": sent}
    uow.commit()
    return view


def _require_reader(actor: Actor) -> None:
    if not sees_every_person(actor):
        raise NotFound("没有可查看的注师继教批次")


def list_batches(
    ctx: Context, uow: UnitOfWork, actor: Actor, page: int = 1, page_size: int = 20
) -> dict:
    """The closed weekly batches, newest cut-off first (association staff only)."""
    _require_reader(actor)
    stmt = select(CpdBatch).options(defer(CpdBatch.report))
    total, rows = page_of(uow.session, stmt, CpdBatch.cut_off_at.desc(), page, page_size)
    items = [batch_view(b) for b in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


WAITING_SHOWN = 200  # the coming batch's persons listed on its page (the count is whole)


def coming_batch(ctx: Context, uow: UnitOfWork, actor: Actor) -> dict:
    """The batch still open: its cut-off (the latest one when that batch has not been closed
    yet, else the next) and the persons whose enrolment completed since the last batch, in
    completion order (association staff only): who will be on the coming report."""
    _require_reader(actor)
    weekly = parse_weekly(ctx.config.cpd_cutoff)
    cut_off = latest_cut_off(ctx.now(), weekly)
    if _batch_at(uow, cut_off) is not None:
        cut_off = next_cut_off(ctx.now(), weekly)
    waiting = _first_per_person(CpdCompletion.batch_id.is_(None))
    count = uow.session.scalar(select(func.count()).select_from(CpdCompletion).where(waiting))
    rows = uow.session.execute(
        select(CpdCompletion, Unit.name, ProcessInstance.business_key)
        .join(ProcessInstance, ProcessInstance.id == CpdCompletion.instance_id)
        .outerjoin(Unit, Unit.id == CpdCompletion.unit_id)
        .where(waiting)
        .order_by(CpdCompletion.completed_at, CpdCompletion.id)
        .limit(WAITING_SHOWN)
    )
    return {
        "cut_off_at": cut_off,
        "cut_off_on": to_local(cut_off).date(),
        "person_count": count,
        "persons": [
            {
                "name": c.name,
                "id_number": c.id_number,
                "unit_name": unit_name,
                "instance_id": c.instance_id,
                "business_key": business_key,
                "completed_at": c.completed_at,
            }
            for c, unit_name, business_key in rows
        ],
    }


def batch_report(ctx: Context, uow: UnitOfWork, actor: Actor, batch_id: int) -> tuple[str, bytes]:
    """The batch's Excel report: its file name and bytes."""
    _require_reader(actor)
    batch = uow.session.get(CpdBatch, batch_id)
    if batch is None:
        raise NotFound("注师继教批次不存在")
    return f"{REPORT_TITLE}_{to_local(batch.cut_off_at).date().isoformat()}.xlsx", batch.report
