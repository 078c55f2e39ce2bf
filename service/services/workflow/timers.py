"""The BPMN timers: fire those due by now (payment and learning deadlines, any other).

The scheduler calls `fire_due_timers` every tick; it reads the indexed waiting rows, never
the engine state of instances that are not due.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime

from sqlalchemy import and_, func, select, update
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import LearningTask, Membership, WaitingEvent
from service.db.uow import UnitOfWork
from service.domain.person_facts import ORDINARY
from service.engine import EngineError
from service.engine.helpers import end_of_day
from service.services.workflow import audit, incidents, learning_waits, moving
from service.services.workflow.context import Context


def fire_due_timers(ctx: Context, uow: UnitOfWork, limit: int = 200) -> int:
    """Fire the timers due by now, one instance per transaction; how many fired."""
    now, today = ctx.now(), ctx.today()
    ids = list(
        uow.session.scalars(
            select(WaitingEvent.instance_id)
            .where(WaitingEvent.kind == "timer", WaitingEvent.due_at <= now)
            .group_by(WaitingEvent.instance_id)
            .order_by(func.min(WaitingEvent.due_at))
            .limit(limit)
        )
    )
    uow.rollback()
    fired_total = 0
    for instance_id in ids:
        try:
            with moving.move(ctx, uow, instance_id, now, today, has_waiting_rows=True) as m:
                fired = m.inst.fire_timers(now)
                _expire_ended_learning(m, fired)
            m.record(audit.Step(audit.SYSTEM, "timer", detail={"fired": fired}))
            if fired:
                incidents.close_succeeded(
                    uow.session, instance_id, incidents.TIMER_STEP, audit.SYSTEM, now
                )
            uow.commit()
            fired_total += len(fired)
        except StaleDataError:
            uow.rollback()  # someone moved it meanwhile; the next run sees it again
        except EngineError as exc:  # the diagram failed on its timer: an incident, once
            incidents.record(
                ctx, uow, audit.SYSTEM, exc, None, None, instance_id, incidents.TIMER_STEP
            )
    return fired_total


def _expire_ended_learning(m: moving.Move, fired: list[dict]) -> None:
    """A person whose learning wait ended by its timer (not by a pass): expired."""
    still_waiting = {
        ev["correlation"]
        for ev in m.inst.waiting_events()
        if ev["kind"] == "message" and ev["name"] == learning_waits.LEARNING_MESSAGE
    }
    for ev in fired:
        if ev.get("correlation") and ev["correlation"] not in still_waiting:
            learning_waits.expire(m.session, m.row, ev["correlation"], m.now)


def follow_renewed_memberships(
    ctx: Context,
    uow: UnitOfWork,
    member_ids: list[int],
    renewing_instance_id: int,
    now: datetime,
    today: date,
) -> int:
    """Learning still open whose deadline a renewed 普通会籍 now outlasts: its deadline, the
    timer of the form that opened it and the learning task, follow the membership to its new
    end (FAQ 3.18: learning may be finished while the membership is valid). In the renewing
    request's transaction; the renewing form itself opens its learning with the new end.
    How many persons' deadlines moved."""
    rows = uow.session.execute(
        select(
            LearningTask.id,
            LearningTask.instance_id,
            LearningTask.id_number,
            Membership.valid_until,
        )
        .join(
            Membership,
            and_(
                Membership.member_id == LearningTask.member_id,
                Membership.level == ORDINARY,
                Membership.cancelled_on.is_(None),
            ),
        )
        .where(
            LearningTask.member_id.in_(member_ids),
            LearningTask.status.in_(learning_waits.OPEN),
            LearningTask.deadline < Membership.valid_until,
            LearningTask.instance_id != renewing_instance_id,
        )
        .order_by(LearningTask.instance_id, LearningTask.id)
    ).all()
    by_instance: dict[int, list] = defaultdict(list)
    for row in rows:
        by_instance[row.instance_id].append(row)
    moved_total = 0
    for instance_id, items in by_instance.items():
        until = {r.id_number: r.valid_until for r in items}
        with moving.move(ctx, uow, instance_id, now, today, has_waiting_rows=True) as m:
            moved = m.inst.move_timers_of(
                {number: end_of_day(day.isoformat()) for number, day in until.items()}
            )
            if moved:
                m.record(
                    audit.Step(
                        audit.SYSTEM,
                        "deadline",
                        detail={"moved": {n: until[n].isoformat() for n in moved}},
                    )
                )
        for r in items:
            if r.id_number in moved:
                uow.session.execute(
                    update(LearningTask)
                    .where(LearningTask.id == r.id)
                    .values(deadline=r.valid_until, updated_at=now)
                )
        moved_total += len(moved)
    return moved_total
