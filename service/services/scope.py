"""Who sees what: the scope rules of ARCHITECTURE.md as query filters.

Out of scope is indistinguishable from absent: callers answer 404.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, false, or_, select
from sqlalchemy.orm import Session

from service.db.models import InstancePerson, ProcessInstance, UserTask
from service.domain.actor import Actor

_ALL_INSTANCES = {"association_reviewer", "finance_reviewer", "secretariat_admin"}


def instances_in_scope(stmt: Select, actor: Actor) -> Select:
    """Restrict a query on process_instances to what the actor may see."""
    if actor.role in _ALL_INSTANCES:
        return stmt
    if actor.role in ("unit_admin", "applicant"):
        return stmt.where(ProcessInstance.unit_id == actor.unit_id)
    if actor.role == "agency_reviewer":
        return stmt.where(ProcessInstance.agency_id == actor.agency_id)
    if actor.role == "member":
        listed = exists().where(
            InstancePerson.instance_id == ProcessInstance.id,
            InstancePerson.member_id == actor.member_id,
        )
        return stmt.where(or_(ProcessInstance.member_id == actor.member_id, listed))
    return stmt.where(false())


def task_scope(actor: Actor) -> list:
    """The conditions on user_tasks that keep an actor to the tasks it may act on."""
    conditions = [UserTask.role == actor.role]
    if actor.role == "unit_admin":
        conditions.append(UserTask.unit_id == actor.unit_id)
    elif actor.role == "agency_reviewer":
        conditions.append(UserTask.agency_id == actor.agency_id)
    elif actor.role == "member":
        conditions.append(UserTask.member_id == actor.member_id)
    elif actor.role not in ("association_reviewer", "finance_reviewer"):
        conditions.append(false())
    return conditions


def tasks_in_scope(stmt: Select, actor: Actor) -> Select:
    """Restrict a query on user_tasks to those the actor may act on."""
    return stmt.where(*task_scope(actor))


def can_see_instance(session: Session, actor: Actor, instance_id: int) -> bool:
    """Whether the actor may read this instance."""
    stmt = instances_in_scope(
        select(ProcessInstance.id).where(ProcessInstance.id == instance_id), actor
    )
    return session.scalar(stmt) is not None
