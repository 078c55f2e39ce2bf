"""System notices (系统通知): expiry reminders for a unit's admins and the member.

The reminders job runs daily. Each reminder has a dedupe key naming the record and its
expiry date, unique per account, and is inserted "if absent": running the job again, or
on two servers at once, never duplicates one. A renewed record (a new expiry date) gets
a new reminder when its new date comes near.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, func, select, update

from service.db.models import (
    Account,
    Certificate,
    InstancePerson,
    Member,
    Membership,
    Notification,
    ProcessInstance,
)
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.dates import zh_date
from service.domain.errors import NotFound
from service.domain.person_facts import add_months
from service.services.workflow.context import Context
from service.services.workflow.messages import insert_absent
from service.services.workflow.paging import page_of

CERTIFICATE_EXPIRY, MEMBERSHIP_EXPIRY = "certificate_expiry", "membership_expiry"
RENEWS = "renew_certificate"  # the learning_effect of a business that renews certificates


def policy_int(ctx: Context, name: str, default: int) -> int:
    """A policy parameter from rules/policy.json (shared by every definition)."""
    return int(ctx.policy(name, default))


# who is told about a member: every active admin of the member's unit, and the member
# (two equality joins rather than one OR, so each can use a hash join on a large roster)
RECIPIENTS = (
    and_(Account.active.is_(True), Account.role == "unit_admin", Account.unit_id == Member.unit_id),
    and_(Account.active.is_(True), Account.member_id == Member.id),
)


def _renewing(ctx: Context):
    """Whether the member is on an unfinished form of a business whose passed learning renews
    a certificate (its declared `learning_effect`): already renewing, not to be reminded."""
    keys = [
        key
        for key, defn in ctx.definitions.current.items()
        if defn.declarations.learning_effect == RENEWS
    ]
    return exists(
        select(InstancePerson.id)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .where(
            InstancePerson.id_number == Member.id_number,
            ProcessInstance.finished.is_(False),
            ProcessInstance.process_key.in_(keys),
        )
    )


def _certificate_notices(ctx: Context, uow: UnitOfWork, today: date) -> list[dict]:
    months = policy_int(ctx, "certificate_expiry_reminder_months", 6)
    renewing = _renewing(ctx)
    rows = [
        row
        for recipients in RECIPIENTS
        for row in uow.session.execute(
            select(Certificate, Member, Account.id)
            .join(Member, Member.id == Certificate.member_id)
            .join(Account, recipients)
            .where(
                Certificate.status == "valid",
                Certificate.valid_until >= today,
                Certificate.valid_until <= add_months(today, months),
                ~renewing,
            )
        )
    ]
    return [
        {
            "account_id": account_id,
            "kind": CERTIFICATE_EXPIRY,
            "title": "培训证书即将到期",
            "body": (
                f"{member.name}（身份证号 {member.id_number}）的{cert.type}证书"
                f"（证书编号 {cert.number}）将于{zh_date(cert.valid_until)}到期，"
                "请在到期前办理普通会员继续教育（延续）。"
            ),
            "dedupe_key": f"{CERTIFICATE_EXPIRY}:{cert.id}:{cert.valid_until.isoformat()}",
            "member_id": member.id,
            "unit_id": member.unit_id,
        }
        for cert, member, account_id in rows
    ]


def _membership_notices(ctx: Context, uow: UnitOfWork, today: date) -> list[dict]:
    days = policy_int(ctx, "membership_expiry_reminder_days", 30)
    rows = [
        row
        for recipients in RECIPIENTS
        for row in uow.session.execute(
            select(Membership, Member, Account.id)
            .join(Member, Member.id == Membership.member_id)
            .join(Account, recipients)
            .where(
                Membership.cancelled_on.is_(None),
                Membership.valid_until >= today,
                Membership.valid_until <= today + timedelta(days=days),
            )
        )
    ]
    return [
        {
            "account_id": account_id,
            "kind": MEMBERSHIP_EXPIRY,
            "title": "会籍即将到期",
            "body": (
                f"{member.name}（身份证号 {member.id_number}）的{ms.level}会籍"
                f"将于{zh_date(ms.valid_until)}到期，请及时缴纳会费续期。"
            ),
            "dedupe_key": f"{MEMBERSHIP_EXPIRY}:{ms.id}:{ms.valid_until.isoformat()}",
            "member_id": member.id,
            "unit_id": member.unit_id,
        }
        for ms, member, account_id in rows
    ]


def _insert_absent(uow: UnitOfWork, notices: list[dict], now: datetime) -> int:
    """Insert the notices not there yet, in one statement; how many were new."""
    return insert_absent(uow.session, Notification, ["account_id", "dedupe_key"], notices, now)


def send(uow: UnitOfWork, notices: list[dict], now: datetime) -> int:
    """Write business notices (each: account_id, kind, title, body, dedupe_key, member_id,
    unit_id) in the caller's transaction, once per account and dedupe key; how many new."""
    return _insert_absent(uow, notices, now)


def create_expiry_reminders(ctx: Context, uow: UnitOfWork) -> dict:
    """Notify admins and members of certificates and memberships about to expire."""
    today, now = ctx.today(), ctx.now()
    certificates = _insert_absent(uow, _certificate_notices(ctx, uow, today), now)
    memberships = _insert_absent(uow, _membership_notices(ctx, uow, today), now)
    uow.commit()
    return {CERTIFICATE_EXPIRY: certificates, MEMBERSHIP_EXPIRY: memberships}


def notification_view(n: Notification) -> dict:
    return {
        "id": n.id,
        "kind": n.kind,
        "title": n.title,
        "body": n.body,
        "member_id": n.member_id,
        "unit_id": n.unit_id,
        "created_at": n.created_at,
        "read": n.read_at is not None,
        "read_at": n.read_at,
    }


def _own(actor: Actor):
    if actor.id is None:
        raise NotFound("没有系统通知")
    return Notification.account_id == actor.id


def list_notifications(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    read: bool | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """The caller's own notices, newest first, with the number still unread."""
    mine = _own(actor)
    stmt = select(Notification).where(mine)
    if read is not None:
        stmt = stmt.where(
            Notification.read_at.is_not(None) if read else Notification.read_at.is_(None)
        )
    total, rows = page_of(uow.session, stmt, Notification.id.desc(), page, page_size)
    items = [notification_view(n) for n in rows.scalars()]
    unread = uow.session.scalar(
        select(func.count()).select_from(Notification).where(mine, Notification.read_at.is_(None))
    )
    return {"items": items, "total": total, "page": page, "page_size": page_size, "unread": unread}


def mark_read(ctx: Context, uow: UnitOfWork, actor: Actor, notification_id: int) -> dict:
    """Mark one of the caller's notices read (reading it again keeps the first time)."""
    row = uow.session.scalars(
        select(Notification).where(_own(actor), Notification.id == notification_id)
    ).first()
    if row is None:
        raise NotFound("系统通知不存在")
    if row.read_at is None:
        row.read_at = ctx.now()
    view = notification_view(row)
    uow.commit()
    return view


def mark_all_read(ctx: Context, uow: UnitOfWork, actor: Actor) -> dict:
    """Mark every unread notice of the caller read; how many changed."""
    result = uow.session.execute(
        update(Notification)
        .where(_own(actor), Notification.read_at.is_(None))
        .values(read_at=ctx.now())
        .execution_options(synchronize_session=False)
    )
    uow.commit()
    return {"updated": result.rowcount}
