"""Use cases on the work queue: list, read, claim, unclaim and complete user tasks.

Claim is one conditional UPDATE, so exactly one of many simultaneous claimers wins.
Completion re-checks, inside its transaction, that the task is open and the caller's,
and that the instance is still the version loaded; the engine never runs a task twice.
"""

from __future__ import annotations

from sqlalchemy import func, or_, select, update

from service.db.models import ProcessInstance, UserTask
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound, RuleFailed
from service.engine import Instance, TaskNotReady
from service.services import files, progress
from service.services.context import Context
from service.services.effects import apply_effects
from service.services.facts import facts_for
from service.services.forms import properties_of, validate_form
from service.services.instances import file_fields, public_data, task_brief
from service.services.scope import tasks_in_scope


def _task(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    row = uow.session.scalars(tasks_in_scope(
        select(UserTask).where(UserTask.id == task_id), actor)).first()
    if row is None:
        raise NotFound("任务不存在")
    return row


def _why_not(row: UserTask, actor: Actor) -> Conflict:
    if row.state != "open":
        return Conflict("该任务已办结，请刷新待办列表")
    if row.claimed_by is not None and row.claimed_by != actor.id:
        return Conflict("该任务已被其他人认领")
    return Conflict("任务状态已变化，请刷新后重试")


def list_tasks(ctx: Context, uow: UnitOfWork, actor: Actor, scope: str = "available",
               key: str | None = None, task_name: str | None = None, page: int = 1,
               page_size: int = 20) -> dict:
    """Open tasks the caller may act on, oldest first; `mine` = claimed by the caller."""
    stmt = tasks_in_scope(select(UserTask, ProcessInstance).join(
        ProcessInstance, ProcessInstance.id == UserTask.instance_id), actor)
    stmt = stmt.where(UserTask.state == "open")
    if scope == "mine":
        stmt = stmt.where(UserTask.claimed_by == actor.id)
    else:
        stmt = stmt.where(or_(UserTask.claimed_by.is_(None), UserTask.claimed_by == actor.id))
    if key:
        stmt = stmt.where(UserTask.process_key == key)
    if task_name:
        stmt = stmt.where(UserTask.task_name == task_name)
    total = uow.session.scalar(select(func.count()).select_from(
        stmt.with_only_columns(UserTask.id).subquery()))
    rows = uow.session.execute(stmt.order_by(UserTask.id).limit(page_size)
                               .offset((page - 1) * page_size))
    items = []
    for task, inst in rows:
        item = task_brief(task)
        defn = ctx.definitions.current.get(inst.process_key)
        item["instance"] = {"id": inst.id, "business_key": inst.business_key,
                            "process_key": inst.process_key,
                            "process_name": defn.name if defn else inst.process_key,
                            "status": inst.status, "subject_name": inst.subject_name,
                            "subject_id_number": inst.subject_id_number,
                            "unit_id": inst.unit_id, "submitted_at": inst.submitted_at}
        items.append(item)
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def get_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """A task with its form schema and the instance data the form shows."""
    row = _task(uow, actor, task_id)
    inst_row = uow.session.get(ProcessInstance, row.instance_id)
    defn = ctx.definitions.version(uow.session, inst_row.definition_version_id)
    info = defn.user_tasks[row.task_name]
    view = task_brief(row)
    view.update(state=row.state, form=info.form,
                instance={"id": inst_row.id, "business_key": inst_row.business_key,
                          "status": inst_row.status,
                          "data": public_data(Instance.load(defn, inst_row.state).data)})
    return view


def claim_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """Claim an open task; Conflict when someone else has it or it is done."""
    row = _task(uow, actor, task_id)
    now = ctx.now()
    won = uow.session.execute(update(UserTask).where(
        UserTask.id == task_id, UserTask.state == "open", UserTask.claimed_by.is_(None)
    ).values(claimed_by=actor.id, claimed_at=now)).rowcount
    if not won:
        uow.session.refresh(row)
        if row.state == "open" and row.claimed_by == actor.id:
            return task_brief(row)
        raise _why_not(row, actor)
    inst = uow.session.get(ProcessInstance, row.instance_id)
    progress.audit(uow.session, inst, actor, "claim", now, task=row, before=inst.status,
                   after=inst.status)
    uow.session.flush()
    uow.session.refresh(row)
    view = task_brief(row)
    uow.commit()
    return view


def unclaim_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """Give a claimed task back to the queue."""
    row = _task(uow, actor, task_id)
    released = uow.session.execute(update(UserTask).where(
        UserTask.id == task_id, UserTask.state == "open", UserTask.claimed_by == actor.id
    ).values(claimed_by=None, claimed_at=None)).rowcount
    if not released:
        uow.session.refresh(row)
        raise _why_not(row, actor) if row.claimed_by is not None or row.state != "open" \
            else Conflict("该任务未被认领")
    inst = uow.session.get(ProcessInstance, row.instance_id)
    progress.audit(uow.session, inst, actor, "unclaim", ctx.now(), task=row,
                   before=inst.status, after=inst.status)
    uow.session.flush()
    uow.session.refresh(row)
    view = task_brief(row)
    uow.commit()
    return view


def _form_input(defn, task_name: str, current: dict, data: dict) -> dict:
    """Validate submitted fields merged over the instance's values; the fields to apply."""
    info = defn.user_tasks[task_name]
    validator = defn.validators[task_name]
    props = properties_of(info.form, defn.registry)
    read_only = [k for k in data if props.get(k, {}).get("readOnly")]
    if read_only:
        raise FormInvalid({k: f"「{props[k].get('title', k)}」不可修改" for k in read_only})
    merged = {k: v for k, v in current.items() if k in props and v is not None}
    merged.update(data)
    validate_form(validator, merged, defn.registry, props)
    return data


def complete_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int,
                  data: dict) -> dict:
    """Complete a task with form data and run the engine to its next wait state."""
    if not isinstance(data, dict):
        raise FormInvalid({"data": "data 应为 JSON 对象"})
    row = _task(uow, actor, task_id)
    now, today = ctx.now(), ctx.today()
    # Claim-or-own in one conditional update: the row stays locked until commit.
    owned = uow.session.execute(update(UserTask).where(
        UserTask.id == task_id, UserTask.state == "open",
        or_(UserTask.claimed_by.is_(None), UserTask.claimed_by == actor.id),
    ).values(claimed_by=actor.id, claimed_at=func.coalesce(UserTask.claimed_at, now))).rowcount
    if not owned:
        uow.rollback()
        raise _why_not(uow.session.get(UserTask, task_id), actor)
    inst_row = uow.session.get(ProcessInstance, row.instance_id)
    uow.session.refresh(inst_row)
    loaded_version = inst_row.version
    defn = ctx.definitions.version(uow.session, inst_row.definition_version_id)
    inst = Instance.load(defn, inst_row.state)
    had_waiting = bool(inst.waiting_events())
    current = inst.data
    payload = _form_input(defn, row.task_name, current, data)
    used = files.check_references(uow, actor, payload, file_fields(defn, row.task_name),
                                  instance_id=inst_row.id)
    facts = facts_for(uow.session, inst_row.process_key, {**current, **payload}, today,
                      instance_id=inst_row.id)
    before = inst_row.status
    try:
        inst.complete(row.engine_task_id, {**payload, **facts})
    except TaskNotReady as exc:
        raise Conflict("该任务已办结，请刷新待办列表") from exc
    reasons = inst.data.get("failure_reasons")
    if reasons:
        raise RuleFailed(reasons)
    moved = uow.session.execute(update(ProcessInstance).where(
        ProcessInstance.id == inst_row.id, ProcessInstance.version == loaded_version
    ).values(state=inst.dumps(), status=inst.status, version=loaded_version + 1,
             finished=inst.finished, end_event=inst.end_event, updated_at=now,
             finished_at=now if inst.finished else None)).rowcount
    if not moved:
        raise Conflict("该业务表单已被其他人处理，请刷新后重试")
    done = uow.session.execute(update(UserTask).where(
        UserTask.id == task_id, UserTask.state == "open"
    ).values(state="completed", completed_by=actor.id, completed_at=now)).rowcount
    if not done:
        raise Conflict("该任务已办结，请刷新待办列表")
    uow.session.refresh(inst_row)
    uow.session.refresh(row)
    decision = payload.get("decision")
    progress.audit(uow.session, inst_row, actor, "return" if decision == "return" else "complete",
                   now, task=row, decision=decision, remark=payload.get("remark"),
                   before=before, after=inst_row.status)
    files.link_to_instance(uow, used, inst_row.id, inst_row.unit_id)
    if inst.finished:
        apply_effects(uow.session, inst_row, inst.end_event, inst.data, defn.policy, today)
    progress.sync_tasks(uow.session, inst_row, inst, defn, now)
    progress.sync_waiting(uow.session, inst_row, inst, had_waiting)
    uow.session.flush()
    open_tasks = [task_brief(t) for t in uow.session.scalars(select(UserTask).where(
        UserTask.instance_id == inst_row.id, UserTask.state == "open").order_by(UserTask.id))]
    view = {"id": inst_row.id, "business_key": inst_row.business_key,
            "status": inst_row.status, "finished": inst_row.finished,
            "open_tasks": open_tasks}
    uow.commit()
    return view
