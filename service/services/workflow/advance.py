"""After the engine moved an instance: save it and mirror every consequence.

One place for what follows any move (a completed task, a delivered message, a fired
timer): the instance row, the work queue, waiting rows, bills, learning tasks, the audit
trail's automatic steps and, at the end, the records change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import InstancePerson, LearningTask, ProcessInstance, UserTask
from service.engine import Definition, Instance
from service.services.workflow import bills, progress
from service.services.workflow.context import SHANGHAI
from service.services.workflow.effects import apply_effects

LEARNING_MESSAGE = "learning_passed"


def save(
    session: Session,
    row: ProcessInstance,
    inst: Instance,
    defn: Definition,
    now: datetime,
    today: date,
    before: set[str],
    had_waiting: bool,
    completed: str | None = None,
) -> list[UserTask]:
    """Persist the moved instance and its consequences; the instance's open task rows."""
    row.state, row.status = inst.dumps(), inst.status
    row.finished, row.end_event, row.updated_at = inst.finished, inst.end_event, now
    if inst.finished:
        row.finished_at = now
        apply_effects(session, row, inst.end_event, inst.data, defn, today, now)
        if defn.end_bills.get(inst.end_event or "") == "void":
            bills.void_bill(session, row, now)
    progress.audit_system_steps(session, row, inst, now)
    open_rows = progress.sync_tasks(session, row, inst, defn, now, before, completed=completed)
    for task in open_rows:
        info = defn.user_tasks.get(task.task_name)
        if info is not None and info.bill == "pay" and task.engine_task_id not in before:
            bills.open_bill(session, row, defn, inst.data, now)
    events = progress.sync_waiting(session, row, inst, had_waiting)
    open_learning(session, row, events, now)
    return open_rows


def _deadline(due: str | None) -> date | None:
    if not due:
        return None
    moment = datetime.fromisoformat(due)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(UTC).replace(tzinfo=None) + SHANGHAI).date()


def open_learning(session: Session, row: ProcessInstance, events: list[dict], now) -> None:
    """A wait for a person's learning result opens that person's learning task, once."""
    waits = {
        ev["correlation"]: ev
        for ev in events
        if ev["kind"] == "message" and ev["name"] == LEARNING_MESSAGE and ev.get("correlation")
    }
    if not waits:
        return
    existing = set(
        session.scalars(select(LearningTask.id_number).where(LearningTask.instance_id == row.id))
    )
    new = [n for n in waits if n not in existing]
    if not new:
        return
    # the deadline is the timer waiting beside the message, for the same person
    deadlines = {
        ev["correlation"]: ev["due"] for ev in events if ev["kind"] == "timer" and ev["due"]
    }
    persons = {
        p.id_number: p
        for p in session.scalars(
            select(InstancePerson).where(
                InstancePerson.instance_id == row.id, InstancePerson.id_number.in_(new)
            )
        )
    }
    for n in new:
        person = persons.get(n)
        data = waits[n].get("data") or {}
        session.add(
            LearningTask(
                instance_id=row.id,
                member_id=person.member_id if person else None,
                unit_id=row.unit_id,
                id_number=n,
                name=person.name if person else "",
                process_key=row.process_key,
                certificate_type=person.certificate_type if person else None,
                required_hours=data.get("required_hours") or 0,
                deadline=_deadline(deadlines.get(n)),
                opened_at=now,
                updated_at=now,
            )
        )
