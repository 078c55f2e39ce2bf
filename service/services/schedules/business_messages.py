"""The 业务消息 the daily reminders job writes: learning deadlines near, and each reviewer's
digest of the pool (the other messages are written by the moves themselves)."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from service.db.models import Account, LearningTask, UserTask
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.dates import zh_date
from service.services.membership.accounts import actor_of
from service.services.schedules.notifications import policy_int
from service.services.workflow import queue
from service.services.workflow.context import Context
from service.services.workflow.learning_waits import OPEN
from service.services.workflow.messages import recipients_of
from service.services.workflow.moving import messages_of
from service.services.workflow.scope import STAFF_ROLES, may_manage_accounts


def _hours(value) -> str:
    return f"{value.normalize():f}"


def learning_deadline_messages(ctx: Context, uow: UnitOfWork) -> int:
    """learning_deadline for each open learning task due within the policy's days
    (`learning_deadline_reminder_days`, 14), once per task and deadline."""
    messages, today, now = messages_of(ctx), ctx.today(), ctx.now()
    days = policy_int(ctx, "learning_deadline_reminder_days", 14)
    tasks = uow.session.scalars(
        select(LearningTask).where(
            LearningTask.status.in_(OPEN),
            LearningTask.deadline.is_not(None),
            LearningTask.deadline >= today,
            LearningTask.deadline <= today + timedelta(days=days),
        )
    )
    sent = 0
    for task in tasks:
        defn = ctx.definitions.current.get(task.process_key)
        sent += messages.send(
            uow.session,
            "learning_deadline",
            recipients_of(uow.session, task.unit_id, [task.member_id] if task.member_id else []),
            {
                "person": task.name,
                "process_name": defn.name if defn else task.process_key,
                "deadline": zh_date(task.deadline),
                "completed_hours": _hours(task.completed_hours),
                "required_hours": _hours(task.required_hours),
            },
            f"learning_deadline:{task.id}:{task.deadline.isoformat()}",
            now,
            member_id=task.member_id,
            unit_id=task.unit_id,
        )
    return sent


def _reviewers(uow: UnitOfWork) -> list[Account]:
    staff = [r for r in STAFF_ROLES if not may_manage_accounts(Actor(None, "", r))]
    return list(
        uow.session.scalars(
            select(Account)
            .where(Account.active.is_(True), Account.role.in_(staff))
            .order_by(Account.id)
        )
    )


def task_digests(ctx: Context, uow: UnitOfWork) -> int:
    """task_digest for each reviewer whose pool holds tasks: how many, how many arrived in
    the last day, and the three largest kinds; once a day."""
    messages, now, today = messages_of(ctx), ctx.now(), ctx.today()
    sent = 0
    for account in _reviewers(uow):
        actor = actor_of(account)
        f = queue.Filters("available", None, None, None, None, None, None)
        counts = queue.counts(ctx, uow.session, actor, f)
        if not counts["total"]:
            continue
        new = uow.session.scalar(
            queue.query(actor, f, select(func.count(UserTask.id))).where(
                UserTask.created_at >= now - timedelta(days=1)
            )
        )
        tasks = [
            (t["count"], f"{p['process_name']}·{t['title']}{t['count']}条")
            for p in counts["by_process"]
            for t in p["tasks"]
        ]
        summary = "；".join(text for _, text in sorted(tasks, key=lambda x: -x[0])[:3])
        sent += messages.send(
            uow.session,
            "task_digest",
            [(account.id, account.email, account.mobile)],
            {"count": counts["total"], "new": new or 0, "summary": summary},
            f"task_digest:{today.isoformat()}",
            now,
        )
    return sent
