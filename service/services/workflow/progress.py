"""After the engine moved: persist its state and mirror it into the queue, audit and timers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import (
    AuditRecord,
    FormCounter,
    ProcessInstance,
    UserTask,
    WaitingEvent,
)
from service.domain.actor import Actor
from service.engine import Definition, Instance


def next_number(session: Session, prefix: str, period: str) -> int:
    """The next number of a counter (prefix, period), safe under concurrency."""
    bump = (
        update(FormCounter)
        .where(FormCounter.prefix == prefix, FormCounter.day == period)
        .values(last=FormCounter.last + 1)
        .returning(FormCounter.last)
    )
    number = session.scalar(bump)
    if number is None:
        try:
            with session.begin_nested():
                session.add(FormCounter(prefix=prefix, day=period, last=1))
            number = 1
        except IntegrityError:  # another request started the counter first
            number = session.scalar(bump)
    return number


def next_form_number(session: Session, prefix: str, day: date) -> str:
    """The next form number of the day, e.g. RH-20260402000001 (safe under concurrency)."""
    key = day.strftime("%Y%m%d")
    return f"{prefix}-{key}{next_number(session, prefix, key):06d}"


def sync_tasks(
    session: Session,
    row: ProcessInstance,
    inst: Instance,
    defn: Definition,
    now: datetime,
    before: set[str],
    completed: str | None = None,
) -> list[UserTask]:
    """Mirror the engine's ready user tasks into the queue; the instance's open rows.

    `before` holds the engine ids that were ready before the engine moved (and so have
    open rows); only the difference touches the database.
    """
    ready = {t.id: t for t in inst.ready_tasks()}
    gone = before - set(ready) - {completed}
    if gone:
        session.execute(
            update(UserTask)
            .where(
                UserTask.instance_id == row.id,
                UserTask.engine_task_id.in_(gone),
                UserTask.state == "open",
            )
            .values(state="cancelled")
        )
    still_open = (before - {completed}) & set(ready)
    result = (
        list(
            session.scalars(
                select(UserTask)
                .where(UserTask.instance_id == row.id, UserTask.engine_task_id.in_(still_open))
                .order_by(UserTask.id)
            )
        )
        if still_open
        else []
    )
    for task_id, task in ready.items():
        if task_id in before:
            continue
        info = defn.user_tasks[task.name]
        task_row = UserTask(
            instance_id=row.id,
            engine_task_id=task_id,
            process_key=row.process_key,
            task_name=task.name,
            title=info.title,
            lane=info.lane,
            role=info.role,
            unit_id=row.unit_id,
            agency_id=row.agency_id,
            member_id=row.member_id if info.role == "member" else None,
            submitted_at=row.submitted_at,
            status_label=info.status,
            state="open",
            created_at=now,
        )
        session.add(task_row)
        result.append(task_row)
    return result


def sync_waiting(
    session: Session, row: ProcessInstance, inst: Instance, had_any: bool
) -> list[dict]:
    """Mirror the engine's pending timers and messages into indexed rows; the events."""
    events = inst.waiting_events()
    if not events and not had_any:
        return events
    session.execute(delete(WaitingEvent).where(WaitingEvent.instance_id == row.id))
    for ev in events:
        try:
            due = datetime.fromisoformat(ev["due"]).astimezone(UTC)
            due = due.replace(tzinfo=None)
        except (TypeError, ValueError):
            due = None
        session.add(
            WaitingEvent(
                instance_id=row.id,
                kind=ev["kind"],
                name=ev["name"],
                due_at=due,
                correlation_key=ev.get("correlation") or row.subject_id_number,
            )
        )
    return events


def audit(
    session: Session,
    row: ProcessInstance | None,
    actor: Actor,
    action: str,
    now,
    task: UserTask | None = None,
    decision: str | None = None,
    remark: str | None = None,
    before: str | None = None,
    after: str | None = None,
    detail: dict | None = None,
) -> None:
    """Append one record to the audit trail."""
    session.add(
        AuditRecord(
            instance_id=row.id if row is not None else None,
            user_task_id=task.id if task is not None else None,
            actor_id=actor.id,
            actor_name=actor.name,
            action=action,
            task_name=task.task_name if task is not None else None,
            task_title=task.title if task is not None else None,
            decision=decision,
            remark=remark,
            status_before=before,
            status_after=after,
            detail=detail,
            at=now,
        )
    )


def _steps_title(steps: list[dict]) -> str:
    """The automatic steps as a short title: each name once, with a count when repeated."""
    counts: dict[str, int] = {}
    for step in steps:
        counts[step["name"]] = counts.get(step["name"], 0) + 1
    title = "、".join(n if c == 1 else f"{n}×{c}" for n, c in counts.items())
    return title if len(title) <= 100 else title[:99] + "…"


def audit_system_steps(session: Session, row: ProcessInstance, inst: Instance, now) -> None:
    """One record of the automatic steps (rules, scripts) the engine just ran, if any."""
    if inst.system_steps:
        session.add(
            AuditRecord(
                instance_id=row.id,
                actor_id=None,
                actor_name="系统",
                action="system",
                task_title=_steps_title(inst.system_steps),
                status_after=row.status,
                detail={"steps": inst.system_steps},
                at=now,
            )
        )
