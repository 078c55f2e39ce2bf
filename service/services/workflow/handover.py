"""Work that changes hands when the secretariat changes who may do it: a unit's open forms
follow the unit to its new agency (初审机构), and the tasks a reviewer holds go back to the
queue when the reviewer is disabled or given another role or agency.

Both run inside the secretariat's own change, in its transaction, and write one audit record
per form or task they touch.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from service.db.models import ProcessInstance, UserTask
from service.domain.actor import Actor
from service.services.workflow import audit
from service.services.workflow.scope import agency_lane


def move_unit_forms(
    session: Session, actor: Actor, unit_id: int, old: int, new: int, now: datetime
) -> dict:
    """Re-point the unit's unfinished forms from agency `old` to `new`, with their open
    tasks; an agency task claimed by one of the old agency's reviewers goes back to the new
    agency's queue. Finished forms keep the agency that reviewed them. The forms' versions
    are bumped, so a review of one of them that raced this change fails with 409 instead of
    writing tasks for the old agency. Answers how many forms, tasks and claims moved."""
    forms = session.scalars(
        select(ProcessInstance.id)
        .where(
            ProcessInstance.unit_id == unit_id,
            ProcessInstance.agency_id == old,
            ProcessInstance.finished.is_(False),
        )
        .with_for_update()
    ).all()
    if not forms:
        return {"forms": 0, "tasks": 0, "released": 0}
    session.execute(
        update(ProcessInstance)
        .where(ProcessInstance.id.in_(forms))
        .values(agency_id=new, version=ProcessInstance.version + 1, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    open_tasks = UserTask.instance_id.in_(forms), UserTask.state == "open"
    held = session.execute(
        select(*_HELD).where(*open_tasks, agency_lane(), UserTask.claimed_by.is_not(None))
    ).all()
    agency_tasks = session.scalar(select(func.count()).where(*open_tasks, agency_lane()))
    session.execute(
        update(UserTask)
        .where(*open_tasks)
        .values(agency_id=new)
        .execution_options(synchronize_session=False)
    )
    _release(session, [t.id for t in held])
    records = [
        audit.values(audit.Step(actor, "agency_move", detail={"from": old, "to": new}), now, None)
        | {"instance_id": form_id}
        for form_id in forms
    ]
    records += _release_records(actor, held, now, {"reason": "agency_move"})
    audit.insert(session, records)
    return {"forms": len(forms), "tasks": agency_tasks, "released": len(held)}


def release_held(session: Session, actor: Actor, account_id: int, now: datetime) -> int:
    """Put every open task `account_id` holds back in its queue (the account was disabled or
    may no longer act on them); answers how many."""
    held = session.execute(
        select(*_HELD)
        .where(UserTask.claimed_by == account_id, UserTask.state == "open")
        .with_for_update()
    ).all()
    _release(session, [t.id for t in held])
    audit.insert(session, _release_records(actor, held, now, {"reason": "holder_changed"}))
    return len(held)


_HELD = (
    UserTask.id,
    UserTask.claimed_by,
    UserTask.instance_id,
    UserTask.task_name,
    UserTask.title,
)


def _release(session: Session, task_ids: list[int]) -> None:
    if task_ids:
        session.execute(
            update(UserTask)
            .where(UserTask.id.in_(task_ids), UserTask.state == "open")
            .values(claimed_by=None, claimed_at=None)
            .execution_options(synchronize_session=False)
        )


def _release_records(actor: Actor, held, now: datetime, detail: dict) -> list[dict]:
    return [
        audit.values(audit.Step(actor, "release", detail={**detail, "from": t.claimed_by}), now)
        | {
            "user_task_id": t.id,
            "instance_id": t.instance_id,
            "task_name": t.task_name,
            "task_title": t.title,
        }
        for t in held
    ]
