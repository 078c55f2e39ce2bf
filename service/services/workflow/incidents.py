"""Incidents: a step the engine could not take, because a script, condition or rule of a
diagram failed (a designer's mistake, not the person's).

Nothing of the step is kept: the request rolls back, then the incident is recorded in its
own transaction with a number (INC-20261201-0001) the person quotes, the form as
submitted and what failed where. The same failure again on the same form counts on the
open incident. The person gets a 409 with the number instead of a 500 (in Chinese alone: what
failed where is for the designers, on the incident), and the form stays
where it was, so once the designer's fix is deployed the step can simply be taken again.

A form stuck on a failing step can be settled: the secretariat terminates it (终止), the
unit withdraws its own (撤回); either ends it, cancels its open tasks, voids an unpaid bill
and closes its incidents, so the person may apply again. Once fixed and migrated, the step
taken again closes its incident: the person's own submission (`close_succeeded`, with the
step's other writes) or an operator's retry (incident_retry.py). A start's incident, which
no form carries, closes at the same unit's next successful start of the business
(`close_started`), and any open incident may be closed by hand (`close`, 关闭).
"""

from __future__ import annotations

from sqlalchemy import bindparam, delete, select, update
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import (
    Account,
    Bill,
    Incident,
    LearningTask,
    ProcessInstance,
    UserTask,
    WaitingEvent,
)
from service.db.uow import Later, UnitOfWork, write
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound, StepFailed
from service.services.workflow import audit
from service.services.workflow.context import SHANGHAI, Context
from service.services.workflow.numbers import next_number
from service.services.workflow.paging import page_of
from service.services.workflow.scope import (
    administers_unit,
    may_manage_accounts,
    may_migrate,
    sees_incidents,
)

TERMINATED, WITHDRAWN = "已终止", "已撤回"
STATUS_LABELS = {"open": "待处理", "closed": "已处理"}
# the step of an incident a timer's firing raised (no user task was being done)
TIMER_STEP, TIMER_TITLE = "timer", "定时事件"
# the step of an incident a learning pass's delivery raised (an import of learning results);
# not retried from the incident: once fixed and migrated, the results are imported again
LEARNING_STEP, LEARNING_TITLE = "learning", "登记学习结果"
# a failed start's advice on a page that keeps drafts (留存); elsewhere it is left out
KEEP_DRAFT = "；填写的内容可先留存"
# the names of those steps, which no diagram holds as a user task
SERVICE_STEPS = {TIMER_STEP: TIMER_TITLE, LEARNING_STEP: LEARNING_TITLE}


def record(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    error: Exception,
    process_key: str | None,
    version_id: int | None = None,
    instance_id: int | None = None,
    task_name: str | None = None,
    data: dict | None = None,
) -> StepFailed:
    """Roll the step back, record (or count) its incident, commit; the error to raise. The
    process and its version are the form's where the caller does not name them."""
    uow.rollback()
    now = ctx.now()
    message = str(error)[:2000]
    if instance_id is not None and (version_id is None or process_key is None):
        found_key, found_version = uow.session.execute(
            select(ProcessInstance.process_key, ProcessInstance.definition_version_id).where(
                ProcessInstance.id == instance_id
            )
        ).one()
        process_key = process_key or found_key
        version_id = found_version if version_id is None else version_id
    found = None
    if instance_id is not None:
        found = uow.session.scalars(
            select(Incident).where(
                Incident.instance_id == instance_id,
                Incident.task_name == task_name,
                Incident.status == "open",
            )
        ).first()
    if found is not None:
        found.occurrences += 1
        found.last_seen_at, found.message, found.data = now, message, data
        found.actor_id, found.actor_name = actor.id, actor.name
    else:
        day = (now + SHANGHAI).date()
        n = next_number(uow.session, "INC", day.strftime("%Y%m%d"))
        found = Incident(
            number=f"INC-{day:%Y%m%d}-{n:04d}",
            process_key=process_key,
            definition_version_id=version_id,
            instance_id=instance_id,
            task_name=task_name,
            message=message,
            data=data,
            actor_id=actor.id,
            actor_name=actor.name,
            status="open",
            occurrences=1,
            created_at=now,
            last_seen_at=now,
        )
        uow.session.add(found)
    number = found.number
    uow.commit()
    # the person reads what happened and what to do; what failed where (the engine's words,
    # in English) is the designers', on the incident (流程出错, GET /incidents)
    if instance_id is None:  # a start: no form exists, there is nothing to withdraw
        return StepFailed(
            f"流程执行出错，本次提交未保存，表单未创建（出错编号 {number}）。此问题已记录，"
            f"流程设计人员将修复，修复后请重新提交{KEEP_DRAFT}。",
            number,
        )
    return StepFailed(
        f"流程执行出错，本次提交未保存（出错编号 {number}）。此问题已记录，流程设计人员将修复，"
        "修复后请重新提交；如需放弃该表单，可由单位撤回或由协会秘书处终止。",
        number,
    )


_INCIDENTS = Incident.__table__.c
# (every value bound by its name, as `Later` sends the statement: literals included)
_CLOSING = {"close_open": "open", "close_closed": "closed"}
# a step's open incident closed by the step's success (the same form and task, or timer)
_CLOSE_STEP = (
    update(Incident.__table__)
    .where(
        _INCIDENTS.instance_id == bindparam("close_instance_id"),
        _INCIDENTS.task_name == bindparam("close_task_name"),
        _INCIDENTS.status == bindparam("close_open"),
    )
    .values(
        status=bindparam("close_closed"),
        closed_at=bindparam("close_at", type_=_INCIDENTS.closed_at.type),
        resolution=bindparam("close_resolution"),
    )
)


def close_succeeded(
    session,
    instance_id: int,
    task_name: str,
    actor: Actor,
    now,
    later: Later | None = None,
) -> None:
    """The failed step has now been taken (the person submitted again, a timer fired): its
    open incident, if any, is closed, saying by whom (with the step's other writes; kept
    for the COMMIT where the request keeps them)."""
    how = "定时事件再次触发成功" if task_name == TIMER_STEP else f"已由{actor.name}重新提交解决"
    params = {
        **_CLOSING,
        "close_instance_id": instance_id,
        "close_task_name": task_name,
        "close_at": now,
        "close_resolution": how[:200],
    }
    write(session, _CLOSE_STEP, params, later)


# a start's open incidents closed by a later start of the same business by the same unit
# (any of its accounts) or, for an actor of no unit, by the same account
_START_OPEN = (
    _INCIDENTS.status == bindparam("close_open"),
    _INCIDENTS.instance_id.is_(None),
    _INCIDENTS.process_key == bindparam("close_key"),
)
_START_VALUES = {
    "status": bindparam("close_closed"),
    "closed_at": bindparam("close_at", type_=_INCIDENTS.closed_at.type),
    "resolution": bindparam("close_resolution"),
}
_CLOSE_UNIT_START = (
    update(Incident.__table__)
    .where(
        *_START_OPEN,
        _INCIDENTS.actor_id.in_(
            select(Account.id).where(Account.unit_id == bindparam("close_unit_id"))
        ),
    )
    .values(_START_VALUES)
)
_CLOSE_OWN_START = (
    update(Incident.__table__)
    .where(*_START_OPEN, _INCIDENTS.actor_id == bindparam("close_actor_id"))
    .values(_START_VALUES)
)


def close_started(
    session, key: str, actor: Actor, business_key: str, now, later: Later | None = None
) -> None:
    """A start of `key` went through: the open incidents of the same unit's (or account's)
    earlier starts of it that failed are closed, naming the form that started."""
    params = {
        **_CLOSING,
        "close_key": key,
        "close_at": now,
        "close_resolution": f"已由{actor.name}重新发起解决（表单 {business_key}）"[:200],
    }
    if actor.unit_id is not None:
        write(session, _CLOSE_UNIT_START, {**params, "close_unit_id": actor.unit_id}, later)
    elif actor.id is not None:
        write(session, _CLOSE_OWN_START, {**params, "close_actor_id": actor.id}, later)


def close(
    ctx: Context, uow: UnitOfWork, actor: Actor, incident_id: int, reason: str | None
) -> dict:
    """关闭 (secretariat, designers): settle an open incident by hand, with who and why — a
    start's, which no form carries to end or retry, or one dealt with otherwise."""
    if not may_migrate(actor):
        raise NotFound("没有该功能")
    reason = (reason or "").strip()
    if len(reason) > 150:
        raise FormInvalid({"reason": "关闭说明不能超过150个字"})
    found = uow.session.scalars(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound("事故记录不存在")
    if found.status != "open":
        raise Conflict(f"事故 {found.number} 已处理（{found.resolution or '已关闭'}），无需关闭")
    found.status, found.closed_at = "closed", ctx.now()
    found.resolution = f"由{actor.name}关闭" + (f"：{reason}" if reason else "")
    business_key = (
        uow.session.scalar(
            select(ProcessInstance.business_key).where(ProcessInstance.id == found.instance_id)
        )
        if found.instance_id is not None
        else None
    )
    view = described(ctx, uow.session, found, business_key)
    uow.commit()
    return view


def _operator(actor: Actor) -> None:
    if not may_manage_accounts(actor):
        raise NotFound("没有该功能")


def incident_view(
    i: Incident, business_key: str | None = None, task_title: str | None = None
) -> dict:
    """An incident as the lists show it; with its form's number and its step's name (as the
    diagram it failed on names the step) where the caller knows them."""
    return {
        "id": i.id,
        "number": i.number,
        "process_key": i.process_key,
        "instance_id": i.instance_id,
        "business_key": business_key,
        "task_name": i.task_name,
        "task_title": task_title,
        # retried from the incident (`incident_retry.retry`): a form's step, not an import's
        "retryable": i.status == "open"
        and i.instance_id is not None
        and i.task_name != LEARNING_STEP,
        # closed by hand (`close`): any open one, a start's above all (nothing else ends it)
        "closable": i.status == "open",
        "message": i.message,
        "actor_name": i.actor_name,
        "status": i.status,
        "status_label": STATUS_LABELS.get(i.status, i.status),
        "occurrences": i.occurrences,
        "created_at": i.created_at,
        "last_seen_at": i.last_seen_at,
        "closed_at": i.closed_at,
        "resolution": i.resolution,
    }


def described(ctx: Context, session, i: Incident, business_key: str | None = None) -> dict:
    """`incident_view` with the step's name: from the version the form failed on, else the
    process's current diagram; None where neither has the step (or it failed at a start)."""
    return incident_view(i, business_key, step_title(ctx, session, i))


def step_title(ctx: Context, session, i: Incident) -> str | None:
    if not i.task_name:
        return None
    if i.task_name in SERVICE_STEPS:
        return SERVICE_STEPS[i.task_name]
    defn = None
    if i.definition_version_id is not None:
        try:
            defn = ctx.definitions.version(session, i.definition_version_id)
        except NotFound:
            pass  # the version's row is gone: the process's current diagram names it
    if defn is None:
        defn = ctx.definitions.current.get(i.process_key)
    info = defn.user_tasks.get(i.task_name) if defn is not None else None
    return info.title if info is not None else None


def list_incidents(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = "open",
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """Incidents for operators (secretariat) and designers, newest first; open ones by
    default."""
    if not sees_incidents(actor):
        raise NotFound("没有该功能")
    if status not in (None, "open", "closed"):
        raise FormInvalid({"status": "状态应为 open（待处理）或 closed（已处理）"})
    stmt = select(Incident, ProcessInstance.business_key).outerjoin(
        ProcessInstance, ProcessInstance.id == Incident.instance_id
    )
    if status:
        stmt = stmt.where(Incident.status == status)
    total, rows = page_of(uow.session, stmt, Incident.id.desc(), page, page_size)
    items = [described(ctx, uow.session, i, key) for i, key in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def open_incident_numbers(uow: UnitOfWork, instance_id: int) -> list[str]:
    return list(
        uow.session.scalars(
            select(Incident.number).where(
                Incident.instance_id == instance_id, Incident.status == "open"
            )
        )
    )


def _end(
    ctx: Context, uow: UnitOfWork, actor: Actor, row: ProcessInstance, status: str, reason: str
) -> dict:
    """End a form where it stands: its tasks, waits, unpaid bill and incidents with it."""
    if row.finished:
        raise Conflict(f"该表单已结束（{row.status}），无需再处理")
    try:  # SQLite locks no row: a step taken since the form was read fails the version check
        return _ended(ctx, uow, actor, row, status, reason)
    except StaleDataError as exc:
        raise Conflict("该业务表单已被其他人处理，请刷新后重试") from exc


def _ended(
    ctx: Context, uow: UnitOfWork, actor: Actor, row: ProcessInstance, status: str, reason: str
) -> dict:
    now = ctx.now()
    before = row.status
    row.status, row.finished, row.finished_at, row.updated_at = status, True, now, now
    session = uow.session
    session.execute(
        update(UserTask)
        .where(UserTask.instance_id == row.id, UserTask.state == "open")
        .values(state="cancelled")
        .execution_options(synchronize_session=False)
    )
    session.execute(delete(WaitingEvent).where(WaitingEvent.instance_id == row.id))
    session.execute(
        update(Bill)
        .where(Bill.instance_id == row.id, Bill.status == "unpaid")
        .values(status="void", updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(LearningTask)
        .where(
            LearningTask.instance_id == row.id, LearningTask.status.in_(("开课未学习", "学习中"))
        )
        .values(status=status, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    closed = open_incident_numbers(uow, row.id)
    session.execute(
        update(Incident)
        .where(Incident.instance_id == row.id, Incident.status == "open")
        .values(status="closed", closed_at=now, resolution=f"表单{status}：{reason}"[:200])
        .execution_options(synchronize_session=False)
    )
    action = "terminate" if status == TERMINATED else "withdraw"
    audit.write(
        session,
        audit.Step(actor, action, remark=reason, detail={"incidents": closed}),
        now,
        row,
        (before, status),
    )
    view = {
        "id": row.id,
        "business_key": row.business_key,
        "status": row.status,
        "finished": True,
        "incidents_closed": closed,
    }
    uow.commit()
    return view


def _instance(uow: UnitOfWork, instance_id: int) -> ProcessInstance:
    """The form, locked; its open tasks locked first, in the order a completion takes them
    (its task, then the form), so that ending and completing at once wait for each other
    instead of deadlocking."""
    uow.session.execute(
        select(UserTask.id)
        .where(UserTask.instance_id == instance_id, UserTask.state == "open")
        .with_for_update()
    )
    row = uow.session.scalars(
        select(ProcessInstance).where(ProcessInstance.id == instance_id).with_for_update()
    ).first()
    if row is None:
        raise NotFound("业务表单不存在")
    return row


def terminate(
    ctx: Context, uow: UnitOfWork, actor: Actor, instance_id: int, reason: str | None
) -> dict:
    """终止 (secretariat): end a form wherever it stands, with the reason."""
    _operator(actor)
    reason = (reason or "").strip()
    if not reason:
        raise FormInvalid({"reason": "请填写终止原因"})
    if len(reason) > 200:
        raise FormInvalid({"reason": "终止原因不能超过200个字"})
    row = _instance(uow, instance_id)
    paid = uow.session.scalar(
        select(Bill.id).where(Bill.instance_id == row.id, Bill.status == "confirmed")
    )
    if paid is not None and not row.finished:
        # an approved enrolment learning on, say: ending it would void what was paid for
        raise Conflict(
            f"该表单（{row.status}）的费用已经财务确认，不能终止；"
            "终止会作废已缴费的业务，如确需处理，请先与财务核实退费"
        )
    return _end(ctx, uow, actor, row, TERMINATED, reason)


def withdraw(
    ctx: Context, uow: UnitOfWork, actor: Actor, instance_id: int, reason: str | None
) -> dict:
    """撤回 (the unit): end its own form while it is in the unit's hands (returned, to pay)
    or stuck on an incident — never while a reviewer holds it."""
    row = _instance(uow, instance_id)
    if not administers_unit(actor, row.unit_id):
        raise NotFound("业务表单不存在")
    if row.finished:
        raise Conflict(f"该表单已结束（{row.status}），无需撤回")
    stuck = bool(open_incident_numbers(uow, row.id))
    lanes = set(
        uow.session.scalars(
            select(UserTask.role).where(UserTask.instance_id == row.id, UserTask.state == "open")
        )
    )
    if not stuck and (not lanes or lanes - {"unit_admin"}):
        raise Conflict("该表单正在审核中，不能撤回；退回单位后或流程出错时可以撤回")
    reason = (reason or "").strip()[:200] or "单位撤回"
    return _end(ctx, uow, actor, row, WITHDRAWN, reason)
