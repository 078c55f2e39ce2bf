"""The BPMN timers: fire those due by now (payment and learning deadlines, any other).

The scheduler calls `fire_due_timers` every tick; it reads the indexed waiting rows, never
the engine state of instances that are not due.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import WaitingEvent
from service.db.uow import UnitOfWork
from service.engine import EngineError
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
