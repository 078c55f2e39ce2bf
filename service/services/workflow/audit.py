"""The audit trail: one append-only record per action, and one per run of automatic steps."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from service.db.models import AuditRecord, ProcessInstance, UserTask
from service.domain.actor import Actor
from service.engine import Instance

SYSTEM = Actor(None, "系统", "system")


@dataclass(frozen=True)
class Step:
    """What someone did: the action, on which task, with what decision, remark and detail."""

    actor: Actor
    action: str
    task: UserTask | None = None
    decision: str | None = None
    remark: str | None = None
    detail: dict | None = None


SYSTEM_STEP = Step(SYSTEM, "system")  # the engine's own steps: rules, scripts


def write(
    session: Session,
    step: Step,
    at: datetime,
    row: ProcessInstance | None = None,
    status: tuple[str | None, str | None] | None = None,
) -> None:
    """Append one record; `status` is (before, after), by default the row's, unchanged."""
    session.add(AuditRecord(**values(step, at, row, status)))


def values(
    step: Step,
    at: datetime,
    row: ProcessInstance | None = None,
    status: tuple[str | None, str | None] | None = None,
) -> dict:
    """The columns of a step's record (see `write`), to insert as they are (`insert`)."""
    before, after = status if status is not None else (_status(row), _status(row))
    task = step.task
    return {
        "instance_id": row.id if row is not None else None,
        "user_task_id": task.id if task is not None else None,
        "actor_id": step.actor.id,
        "actor_name": step.actor.name,
        "action": step.action,
        "task_name": task.task_name if task is not None else None,
        "task_title": task.title if task is not None else None,
        "decision": step.decision,
        "remark": step.remark,
        "status_before": before,
        "status_after": after,
        "detail": step.detail,
        "at": at,
    }


# the table's INSERT, for the records a move writes without the ORM's unit of work (a
# record is never read back in the request that writes it)
INSERT = AuditRecord.__table__.insert()
COLUMNS = tuple(c.name for c in AuditRecord.__table__.c if c.name != "id")  # `values`' keys


def insert(session: Session, records: list[dict]) -> None:
    """Insert records made by `values`, in their order, in one statement, at once (no
    autoflush: the rows they name are in the database already)."""
    if records:
        session.connection().execute(INSERT, records)


def _status(row: ProcessInstance | None) -> str | None:
    return row.status if row is not None else None


def _steps_title(steps: list[dict]) -> str:
    """The automatic steps as a short title: each name once, with a count when repeated."""
    counts: dict[str, int] = {}
    for step in steps:
        counts[step["name"]] = counts.get(step["name"], 0) + 1
    title = "、".join(n if c == 1 else f"{n}×{c}" for n, c in counts.items())
    return title if len(title) <= 100 else title[:99] + "…"


def system_steps(row: ProcessInstance, inst: Instance, at: datetime) -> list[dict]:
    """The record of the automatic steps (rules, scripts) the engine just ran, if any."""
    if not inst.system_steps:
        return []
    return [
        {
            **values(SYSTEM_STEP, at, row, (None, row.status)),
            "task_title": _steps_title(inst.system_steps),
            "detail": {"steps": inst.system_steps},
        }
    ]
