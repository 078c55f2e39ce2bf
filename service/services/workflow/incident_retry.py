"""Retrying an incident: take the failed step again, once the diagram is fixed.

An incident keeps the step that failed: the form as the person submitted it, who, and the
task (or `timer`). After the designer's fix is deployed and the form migrated to the fixed
version (`migration.migrate_instance`), an operator retries it: the same submission is
completed again, as the person who made it, on the version the form runs on now. In the
same transaction the incident is closed and an audit record says who retried it. If the
step fails again, nothing is kept and the incident counts one more occurrence (409).
"""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Account, Incident, ProcessInstance, UserTask
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, NotFound
from service.engine import EngineError
from service.services.workflow import audit, incidents, moving, tasks, timers
from service.services.workflow.context import Context
from service.services.workflow.instances import task_brief
from service.services.workflow.scope import may_migrate


def _person(uow: UnitOfWork, account_id: int | None) -> Actor:
    """The account that took the step, acting again (its scope is checked as before)."""
    account = uow.session.get(Account, account_id) if account_id is not None else None
    if account is None or not account.active:
        raise Conflict("原办理人账号不存在或已停用，无法代为重试；请由该岗位人员重新提交")
    return Actor(
        account.id,
        account.name,
        account.role,
        unit_id=account.unit_id,
        agency_id=account.agency_id,
        member_id=account.member_id,
    )


def _fire_timers(ctx: Context, uow: UnitOfWork, row: ProcessInstance) -> dict:
    """Fire the form's due timers again (an incident of a timer)."""
    now, today = ctx.now(), ctx.today()
    try:
        with moving.move(ctx, uow, row.id, now, today, has_waiting_rows=True) as m:
            fired = m.inst.fire_timers(now)
            timers._expire_ended_learning(m, fired)
        m.record(audit.Step(audit.SYSTEM, "timer", detail={"fired": fired}))
        uow.session.flush()
    except EngineError as exc:
        raise incidents.record(
            ctx, uow, audit.SYSTEM, exc, row.process_key, None, row.id, "timer"
        ) from exc
    view = {
        "id": row.id,
        "business_key": row.business_key,
        "status": row.status,
        "finished": row.finished,
        "open_tasks": [task_brief(t) for t in m.open_rows],
    }
    uow.commit()
    return view


def retry(ctx: Context, uow: UnitOfWork, actor: Actor, incident_id: int) -> dict:
    """Take an open incident's failed step again on the form's current version."""
    if not may_migrate(actor):
        raise NotFound("没有该功能")
    session = uow.session
    found = session.scalars(
        select(Incident).where(Incident.id == incident_id).with_for_update()
    ).first()
    if found is None:
        raise NotFound("事故记录不存在")
    if found.status != "open":
        raise Conflict(f"事故 {found.number} 已处理（{found.resolution or '已关闭'}），无需重试")
    if found.instance_id is None:
        raise Conflict(f"事故 {found.number} 发生在发起时，没有表单可重试；请申请人重新提交")
    if found.task_name == incidents.LEARNING_STEP:
        raise Conflict(
            f"事故 {found.number} 发生在登记学习结果时，无法在此重试；"
            "请在流程修复并迁移表单后重新导入学习记录"
        )
    row = session.get(ProcessInstance, found.instance_id)
    if row.finished:
        raise Conflict(f"该表单已结束（{row.status}），无法重试")
    number, now = found.number, ctx.now()
    version = ctx.definitions.version_number(session, row.definition_version_id)
    found.status, found.closed_at = "closed", now
    found.resolution = f"重试成功（版本 {version}）"
    audit.write(
        session,
        audit.Step(actor, "retry", remark=f"重试 {number}", detail={"incident": number}),
        now,
        row,
    )
    if found.task_name == incidents.TIMER_STEP:
        view = _fire_timers(ctx, uow, row)
    else:
        task_id = session.scalar(
            select(UserTask.id).where(
                UserTask.instance_id == row.id,
                UserTask.task_name == found.task_name,
                UserTask.state == "open",
            )
        )
        if task_id is None:
            raise Conflict(f"出错的任务（{found.task_name}）已不在待办中，无法重试")
        person = _person(uow, found.actor_id)
        view = tasks.complete_task(ctx, uow, person, task_id, found.data or {})
    settled = session.get(Incident, incident_id)
    return {"incident": incidents.described(ctx, session, settled, row.business_key), **view}
