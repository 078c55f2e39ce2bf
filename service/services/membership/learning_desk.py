"""学习进度 for those who record learning results (the association's reviewers, the
secretariat): every unit's learning tasks with the unit and the form each belongs to, and
one person's result recorded by hand.

The list is education's own query (`learning.learning_query`, the one GET /learning-tasks
pages), narrowed further by unit and form number. A result recorded here goes through
`learning.record_results`, as POST /learning-records does, as a batch of one row; its
refusal is given back at the field it is about.
"""

from __future__ import annotations

from sqlalchemy import Select, func, select

from service.db.models import LearningTask, ProcessInstance, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.validation import clean_code
from service.services.education import learning
from service.services.workflow.context import Context
from service.services.workflow.learning_waits import OPEN, PASSED
from service.services.workflow.paging import rows_of_page
from service.services.workflow.scope import may_record_learning

RESULT_FIELDS = ("completed_hours", "exam_status", "exam_attempts")
EXAM_STATUSES = ("未考试", "未通过", "已通过")
ROW = "record"  # the label of the one row handed to record_results
LABELS = {"completed_hours": "已完成学时", "exam_status": "考试状态", "exam_attempts": "考试次数"}
BLANK = {
    "completed_hours": "请填写已完成学时",
    "exam_status": "请选择考试状态",
    "exam_attempts": "请填写考试次数",
}


def _recorder(actor: Actor) -> None:
    if not may_record_learning(actor):
        raise NotFound("页面不存在或您无权查看")


def _found(actor: Actor, unit: str | None = None, business_key: str | None = None, **filters):
    """The tasks the filters find: learning_tasks alone, a unit or form filter a subquery
    (every task has its form; one without a unit is found by no unit filter)."""
    stmt: Select = learning.learning_query(actor, **filters)
    if unit and unit.strip():
        text = unit.strip()
        named = Unit.name.contains(text, autoescape=True) | (Unit.credit_code == clean_code(text))
        stmt = stmt.where(LearningTask.unit_id.in_(select(Unit.id).where(named)))
    if business_key and clean_code(business_key):
        number = clean_code(business_key)
        forms = select(ProcessInstance.id).where(
            ProcessInstance.business_key.contains(number, autoescape=True)
        )
        stmt = stmt.where(LearningTask.instance_id.in_(forms))
    return stmt


def _query(actor: Actor, **filters) -> Select:
    """The tasks the filters find, each with its unit's name and its form's number."""
    return (
        _found(actor, **filters)
        .add_columns(Unit.name, ProcessInstance.business_key)
        .outerjoin(Unit, Unit.id == LearningTask.unit_id)
        .join(ProcessInstance, ProcessInstance.id == LearningTask.instance_id)
    )


def _counts(uow: UnitOfWork, actor: Actor, filters: dict) -> dict[str, int]:
    """How many tasks `filters` find by status, their status filter left out."""
    found = _found(actor, **{k: v for k, v in filters.items() if k != "status"}).subquery()
    rows = uow.session.execute(
        select(found.c.status, func.count()).select_from(found).group_by(found.c.status)
    )
    return dict(rows.all())


def exam_status(task: LearningTask) -> str:
    """考试状态 as the learning platform's export writes it: 已通过 once passed, 未通过 after
    an attempt that did not pass, else 未考试."""
    if task.status == PASSED:
        return "已通过"
    return "未通过" if (task.exam_attempts or 0) > 0 else "未考试"


def _view(task: LearningTask, unit_name: str | None, business_key: str) -> dict:
    return {
        **learning.learning_view(task),
        "unit_id": task.unit_id,
        "unit_name": unit_name,
        "business_key": business_key,
        "exam_status": exam_status(task),
        "open": task.status in OPEN,
    }


def list_tasks(
    ctx: Context, uow: UnitOfWork, actor: Actor, page: int = 1, page_size: int = 20, **filters
) -> dict:
    """Every unit's learning tasks the filters find, newest first, a page of them; with how
    many the filters find by status, the status filter left out (`counts`: the panel), of
    which the total is the status filtered for, or the sum."""
    _recorder(actor)
    counts = _counts(uow, actor, filters)
    status = filters.get("status")
    total = counts.get(status, 0) if status else sum(counts.values())
    rows = rows_of_page(
        uow.session, _query(actor, **filters), LearningTask.id.desc(), page, page_size
    )
    items = [_view(task, unit_name, key) for task, unit_name, key in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size, "counts": counts}


def count_tasks(ctx: Context, uow: UnitOfWork, actor: Actor, **filters) -> dict[str, int]:
    """How many tasks the filters find by status, the status filter left out (the panel)."""
    _recorder(actor)
    return _counts(uow, actor, filters)


def get_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """One learning task with its unit and form; 404 when there is none."""
    _recorder(actor)
    found = uow.session.execute(_query(actor).where(LearningTask.id == task_id)).first()
    if found is None:
        raise NotFound("学习任务不存在")
    return _view(*found)


def field_of(message: str) -> str:
    """The result field a refusal of `record_results` is about ("" for the record as a
    whole: an expired task, a person not on the list)."""
    if message.startswith("考试次数") or "时考试次数" in message:
        return "exam_attempts"
    if message.startswith("已完成学时"):
        return "completed_hours"
    if "考试状态" in message or "不能改为" in message:
        return "exam_status"
    return ""


def record_result(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int, values: dict) -> dict:
    """Record one person's 已完成学时, 考试状态 and 考试次数 on one task, checked and applied
    as an imported row is (a pass issues the certificate); FormInvalid at the field."""
    task = get_task(ctx, uow, actor, task_id)
    typed = {k: str(values.get(k) or "").strip() for k in RESULT_FIELDS}
    blank = {k: BLANK[k] for k, v in typed.items() if not v}
    if blank:
        raise FormInvalid(blank, "请填写完整：" + "、".join(LABELS[k] for k in blank))
    record = {
        "id_number": task["id_number"],
        "name": task["name"],
        "business_key": task["business_key"],
        **typed,
    }
    try:
        outcome = learning.record_results(ctx, uow, actor, [(ROW, record)])
    except FormInvalid as exc:
        uow.rollback()
        message = (exc.errors or {}).get(ROW) or exc.message
        raise FormInvalid({field_of(message) or "_form": message}, message) from exc
    return {**outcome, "task": get_task(ctx, uow, actor, task_id)}
