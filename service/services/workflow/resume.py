"""Forms left with nothing to wait for: run them on.

Before the diagrams' multi-instance merges were connected at parse time
(`engine.catalogue._connect_loop_merges`), a learning result recorded by another server
process than the one that opened the learning ended the person's branch without the form
hearing of it: the form stayed unfinished (审批完成, finished false) with no open task and
nothing waited for, and its people stayed "…办理中". `memberflow resume-forms` finds such
forms and merges what ended, so that they finish as they should have.
"""

from __future__ import annotations

from sqlalchemy import exists, select
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import ProcessInstance, UserTask, WaitingEvent
from service.db.uow import UnitOfWork
from service.engine import EngineError
from service.services.workflow import audit, incidents, moving
from service.services.workflow.context import Context


class _Unchanged(Exception):
    """Nothing ended unheard of in this form: leave it as it is (not saved)."""


def stuck_forms(uow: UnitOfWork) -> list[int]:
    """Unfinished forms with no open task and no timer or message waited for."""
    return list(
        uow.session.scalars(
            select(ProcessInstance.id)
            .where(
                ProcessInstance.finished.is_(False),
                ~exists().where(
                    UserTask.instance_id == ProcessInstance.id, UserTask.state == "open"
                ),
                ~exists().where(WaitingEvent.instance_id == ProcessInstance.id),
            )
            .order_by(ProcessInstance.id)
        )
    )


def resume_stuck_forms(ctx: Context, uow: UnitOfWork) -> list[int]:
    """Run on every stuck form whose ended branches were never merged, one per
    transaction; the ids of the forms that moved."""
    ids = stuck_forms(uow)
    uow.rollback()
    now, today = ctx.now(), ctx.today()
    moved = []
    for instance_id in ids:
        try:
            with moving.move(ctx, uow, instance_id, now, today) as m:
                merged = m.inst.merge_ended_instances()
                if not merged:
                    raise _Unchanged
                m.record(
                    audit.Step(
                        audit.SYSTEM,
                        "system",
                        remark=f"系统补办：{merged}人的学习已结束，表单继续办理",
                        detail={"merged": merged},
                    )
                )
            uow.commit()
            moved.append(instance_id)
        except _Unchanged:
            uow.rollback()
        except StaleDataError:
            uow.rollback()  # moved by someone meanwhile: it is not stuck
        except EngineError as exc:
            incidents.record(
                ctx, uow, audit.SYSTEM, exc, None, None, instance_id, incidents.TIMER_STEP
            )
    return moved
