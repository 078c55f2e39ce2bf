"""Who sees what: the scope rules of ARCHITECTURE.md as query filters.

Out of scope is indistinguishable from absent: callers answer 404.
"""

from __future__ import annotations

from sqlalchemy import Select, exists, false, or_, select
from sqlalchemy.orm import Session

from service.db.models import Account, InstancePerson, Member, ProcessInstance, UserTask
from service.domain.actor import Actor

_ALL_INSTANCES = {"association_reviewer", "finance_reviewer", "secretariat_admin"}


def sees_all_agencies(actor: Actor) -> bool:
    """Whether the actor's scope spans every agency (so it may filter by one)."""
    return actor.role in _ALL_INSTANCES


def manages_queue(actor: Actor) -> bool:
    """Whether the actor may see every held task and release or reassign it."""
    return actor.role == "secretariat_admin"


def member_scope(actor: Actor, agency_id: int | None = None) -> tuple[str, list] | None:
    """Whose records the actor's figures count: ("unit" | "agency" | "association",
    conditions on members), narrowed to one agency for the association; None: nobody's."""
    if actor.role == "unit_admin":
        return "unit", [Member.unit_id == actor.unit_id]
    if actor.role == "agency_reviewer":
        return "agency", [Member.agency_id == actor.agency_id]
    if actor.role in _ALL_INSTANCES:
        if agency_id is not None:
            return "agency", [Member.agency_id == agency_id]
        return "association", []
    return None


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


def task_holders(task: UserTask) -> list:
    """The conditions on accounts that may hold `task`: `task_scope` seen from the task."""
    conditions = [Account.active.is_(True), Account.role == task.role]
    if task.role == "unit_admin":
        conditions.append(Account.unit_id == task.unit_id)
    elif task.role == "agency_reviewer":
        conditions.append(Account.agency_id == task.agency_id)
    elif task.role == "member":
        conditions.append(Account.member_id == task.member_id)
    elif task.role not in ("association_reviewer", "finance_reviewer"):
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
