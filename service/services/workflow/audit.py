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


def write(
    session: Session,
    step: Step,
    at: datetime,
    row: ProcessInstance | None = None,
    status: tuple[str | None, str | None] | None = None,
) -> None:
    """Append one record; `status` is (before, after), by default the row's, unchanged."""
    before, after = status if status is not None else (_status(row), _status(row))
    task = step.task
    session.add(
        AuditRecord(
            instance_id=row.id if row is not None else None,
            user_task_id=task.id if task is not None else None,
            actor_id=step.actor.id,
            actor_name=step.actor.name,
            action=step.action,
            task_name=task.task_name if task is not None else None,
            task_title=task.title if task is not None else None,
            decision=step.decision,
            remark=step.remark,
            status_before=before,
            status_after=after,
            detail=step.detail,
            at=at,
        )
    )


def _status(row: ProcessInstance | None) -> str | None:
    return row.status if row is not None else None


def _steps_title(steps: list[dict]) -> str:
    """The automatic steps as a short title: each name once, with a count when repeated."""
    counts: dict[str, int] = {}
    for step in steps:
        counts[step["name"]] = counts.get(step["name"], 0) + 1
    title = "、".join(n if c == 1 else f"{n}×{c}" for n, c in counts.items())
    return title if len(title) <= 100 else title[:99] + "…"


def write_system_steps(session: Session, row: ProcessInstance, inst: Instance, at: datetime):
    """One record of the automatic steps (rules, scripts) the engine just ran, if any."""
    if inst.system_steps:
        session.add(
            AuditRecord(
                instance_id=row.id,
                actor_id=None,
                actor_name=SYSTEM.name,
                action="system",
                task_title=_steps_title(inst.system_steps),
                status_after=row.status,
                detail={"steps": inst.system_steps},
                at=at,
            )
        )
