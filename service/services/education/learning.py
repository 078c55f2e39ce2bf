"""Learning results from the external learning platform, and learning deadlines.

Results arrive as a JSON batch or as the platform's Excel export. A batch is checked as a
whole: one bad row rejects the batch with a per-row report and nothing is imported. A
pass delivers the BPMN message the person's learning branch waits for and applies the
certificate effect. A failure at the last attempt the policy allows (rules/policy.json
max_exam_attempts, FAQ 3.18) delivers the failure message: the learning ends 未通过, the
certificate unchanged, and the person may enrol again. A deadline that passes expires the
learning task (the BPMN timer fires in workflow/timers.py).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import Select, func, select
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import LearningTask, Member, ProcessInstance, Unit
from service.db.search import id_number_matches
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound
from service.domain.validation import (
    ID_NUMBER_CELL_IS_NUMBER,
    clean_code,
    clean_name,
    mobile_term,
    name_key,
)
from service.engine import EngineError
from service.services.documents.excel_import import HEADER_IN_ROW_1, Limits, read_table
from service.services.education.certificates import apply_learning_passed
from service.services.workflow import audit, incidents, moving
from service.services.workflow.context import Context, day_after, day_start
from service.services.workflow.effects import Change
from service.services.workflow.learning_waits import (
    EXPIRED,
    FAILED,
    LEARNING_FAILED,
    LEARNING_MESSAGE,
    OPEN,
    PASSED,
)
from service.services.workflow.messages import recipients_of
from service.services.workflow.paging import page_of
from service.services.workflow.scope import is_unit_admin, records_in_scope

EXAM_STATUSES = {
    "未考试": "未考试",
    "未通过": "未通过",
    "不通过": "未通过",
    "已通过": "已通过",
    "通过": "已通过",
    "考试通过": "已通过",
}
# the learning platform's export: these columns must be present (单号 is optional)
COLUMNS = {
    "身份证号": "id_number",
    "姓名": "name",
    "已完成学时": "completed_hours",
    "考试状态": "exam_status",
    "考试次数": "exam_attempts",
}
OPTIONAL_COLUMNS = {"单号": "business_key"}
# a column's former name, still read in files made from the earlier template
FORMER_NAMES = {"表单编号": "单号"}
MAX_ROWS = 20000
IMPORT_LIMITS = Limits(max_rows=MAX_ROWS)


def read_workbook(content: bytes, limits: Limits = IMPORT_LIMITS) -> list[tuple[str, dict]]:
    """(row label, record) per data row of the export; FormInvalid if it is not one.

    The file is checked before it is parsed and read within bounds (see excel_import):
    a zip bomb, too many rows (empty ones count) or a slow file is refused, never read.
    """
    table = read_table(content, limits)
    missing = [c for c in COLUMNS if c not in table.header]
    if missing:
        raise FormInvalid(
            {"file": "缺少列：" + "、".join(missing)},
            "Excel 文件缺少必需的列："
            + "、".join(missing)
            + f"，未导入任何记录；{HEADER_IN_ROW_1}",
        )
    header = list(table.header)
    for former, name in FORMER_NAMES.items():
        if former in header and name not in header:
            header[header.index(former)] = name
    index = {
        field: header.index(col)
        for col, field in {**COLUMNS, **OPTIONAL_COLUMNS}.items()
        if col in header
    }
    return [
        (f"第{number}行", {field: values[i] for field, i in index.items()})
        for number, values in table.rows
    ]


def _hours(value) -> Decimal | None:
    """A number of hours not below 0 (how large it may be is the task's to say), else None."""
    if isinstance(value, bool):
        return None
    try:
        hours = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError):
        return None
    return hours if hours.is_finite() and hours >= 0 else None


def _shown(number: Decimal) -> str:
    """Hours as a message writes them: 8, 7.5 (no trailing zeros; an exponent only for a
    number of more than 15 digits, which no learning task has)."""
    number = number.normalize()
    return f"{number:f}" if number.adjusted() < 15 else str(number)


def _attempts(value) -> Decimal | None:
    """A whole number of attempts not below 0, else None (how many is the policy's to say)."""
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, AttributeError):
        return None
    if not number.is_finite() or number != number.to_integral_value() or number < 0:
        return None
    return number


def _candidates(uow: UnitOfWork, records: list[tuple[str, dict]]) -> dict[str, list]:
    ids = {clean_code(r.get("id_number")) for _, r in records}
    found: dict[str, list] = defaultdict(list)
    if ids:
        rows = uow.session.execute(
            select(LearningTask, ProcessInstance.business_key)
            .join(ProcessInstance, ProcessInstance.id == LearningTask.instance_id)
            .where(LearningTask.id_number.in_(ids))
            .order_by(LearningTask.id)
            # a concurrent import of the same rows waits here, then reads them as committed
            .with_for_update(of=LearningTask)
        )
        for task, key in rows:
            found[task.id_number].append((task, key))
    return found


def _check(label: str, record: dict, candidates, seen: set, max_attempts: int):
    """The learning task a row updates, its clean values, or the row's problem."""
    raw = record.get("id_number")
    if isinstance(raw, int | float) and not isinstance(raw, bool):  # a number-format cell
        return None, ID_NUMBER_CELL_IS_NUMBER
    n = clean_code(raw)
    if not n:
        return None, "身份证号不能为空"
    key = clean_code(record.get("business_key"))
    options = [(t, k) for t, k in candidates.get(n, []) if not key or k == key]
    open_options = [(t, k) for t, k in options if t.status in OPEN]
    if not options:
        return None, f"身份证号 {n} 不在学习名单中" + (f"（单号 {key}）" if key else "")
    if len(open_options) > 1:
        return None, f"身份证号 {n} 有多个未完成的学习任务，请在“单号”列注明"
    task, _ = (open_options or options)[-1]
    if (task.id, n) in seen:
        return None, f"身份证号 {n} 在本批记录中重复"
    seen.add((task.id, n))
    name = clean_name(str(record.get("name") or ""))
    if name_key(name) != name_key(task.name):  # 李 typed as U+F9E1, ・ for ·: the same name
        return None, f"姓名“{name}”与身份证号 {n} 的学员“{task.name}”不符"
    hours = _hours(record.get("completed_hours"))
    if hours is None:
        return None, "已完成学时应为不小于0的数字"
    status = EXAM_STATUSES.get(str(record.get("exam_status") or "").strip())
    if status is None:
        return None, "考试状态应为 未考试、未通过 或 已通过"
    count = _attempts(record.get("exam_attempts") or 0)
    if count is None:
        return None, "考试次数应为不小于0的整数"
    if count > max_attempts:
        return None, f"考试次数不能超过{max_attempts}次（现为{_shown(count)}次）"
    attempts = int(count)
    problem = _contradiction(task, hours, status, attempts)
    if problem:
        return None, problem
    return (task, hours, status, attempts), None


def _contradiction(task: LearningTask, hours: Decimal, status: str, attempts: int) -> str | None:
    """What a row's values contradict, in themselves or against what the task records: the
    status agrees with the attempts, the hours are at most the task's required hours, and
    neither the hours nor the attempts go back on what is recorded."""
    need, done = _shown(task.required_hours), _shown(task.completed_hours or Decimal("0"))
    if status == "未考试" and attempts != 0:
        return f"考试状态为未考试时考试次数应为0（现为{attempts}次）"
    if status in ("未通过", "已通过") and attempts < 1:
        return f"考试状态为{status}时考试次数至少为1次"
    if hours > task.required_hours:
        return f"已完成学时不能超过学习任务要求的{need}学时（现为{_shown(hours)}）"
    if status == "已通过" and hours < task.required_hours:
        return f"已完成学时{_shown(hours)}不足要求的{need}学时，不能记为考试通过"
    if task.status == EXPIRED:
        return f"{task.name}的学习任务已过期"
    if task.status == PASSED and status != "已通过":
        return f"{task.name}已记录考试通过，不能改为{status}"
    if task.status == FAILED and status != "未通过":
        return (
            f"{task.name}已考试{task.exam_attempts}次未通过，学习任务已结束，"
            f"不能改为{status}；请重新报名"
        )
    if status == "未考试" and (task.exam_attempts or 0) > 0:
        return f"{task.name}已记录考试{task.exam_attempts}次，考试状态不能改为未考试"
    if hours < (task.completed_hours or 0):
        return f"已完成学时不能少于已记录的{done}学时（现为{_shown(hours)}）"
    if attempts < (task.exam_attempts or 0):
        return f"考试次数不能少于已记录的{task.exam_attempts}次（现为{attempts}次）"
    return None


def record_results(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    records: list[tuple[str, dict]],
    before_commit: Callable[[dict], None] | None = None,
) -> dict:
    """Apply a batch of learning results, all or nothing; a per-row report on refusal.
    `before_commit(outcome)` runs inside the transaction, just before it commits (a
    background job's end goes with the import: its status and its summary at once)."""
    if not records:
        raise FormInvalid({"records": "没有可导入的学习记录"})
    max_attempts = _max_attempts(ctx)
    candidates = _candidates(uow, records)
    errors: dict[str, str] = {}
    accepted = []
    seen: set = set()
    for label, record in records:
        result, problem = _check(label, record, candidates, seen, max_attempts)
        if problem:
            errors[label] = problem
        else:
            accepted.append(result)
    if errors:
        raise FormInvalid(
            errors, f"学习记录有{len(errors)}行有误，未导入任何记录：" + next(iter(errors.values()))
        )
    now, today = ctx.now(), ctx.today()
    # per form: the persons who passed, those who failed their last allowed attempt
    ended: dict[int, tuple[list, list]] = defaultdict(lambda: ([], []))
    updated = 0
    for task, hours, status, attempts in accepted:
        if task.status in (PASSED, FAILED):
            continue  # re-importing a pass or a final failure changes nothing
        task.completed_hours, task.exam_attempts, task.updated_at = hours, attempts, now
        if status == "已通过":
            task.status, task.passed_at = PASSED, now
            ended[task.instance_id][0].append(task)
        elif status == "未通过" and attempts >= max_attempts:
            task.status = FAILED
            ended[task.instance_id][1].append(task)
        elif hours > 0 or attempts > 0:
            task.status = "学习中"
        updated += 1
    try:
        for instance_id, (passed, failed) in ended.items():
            _deliver_results(ctx, uow, actor, instance_id, passed, failed, now, today)
        uow.session.flush()
    except StaleDataError as exc:
        raise Conflict("相关业务表单正在被处理，请稍后重新导入") from exc
    result = {
        "received": len(records),
        "updated": updated,
        "passed": sum(len(p) for p, _ in ended.values()),
        "failed": sum(len(f) for _, f in ended.values()),
    }
    if before_commit is not None:
        before_commit(result)
    uow.commit()
    return result


def _max_attempts(ctx: Context) -> int:
    for defn in ctx.definitions.current.values():
        if "max_exam_attempts" in defn.policy:
            return int(defn.policy["max_exam_attempts"])
    return 10


def _payloads(tasks: list[LearningTask], day_key: str, today: date) -> dict[str, dict]:
    return {
        task.id_number: {
            "id_number": task.id_number,
            "completed_hours": str(task.completed_hours),
            "exam_attempts": task.exam_attempts,
            day_key: today.isoformat(),
        }
        for task in tasks
    }


def _deliver_results(ctx, uow, actor, instance_id, passed, failed, now, today) -> None:
    """One move of the form: each pass and each final failure ends that person's learning."""
    passes = _payloads(passed, "passed_on", today)
    failures = _payloads(failed, "failed_on", today)
    try:
        with moving.move(ctx, uow, instance_id, now, today) as m:
            delivered = m.inst.deliver_messages(LEARNING_MESSAGE, passes) if passes else []
            ended = m.inst.deliver_messages(LEARNING_FAILED, failures) if failures else []
            rest = set(failures) - set(ended)
            if rest:  # a form started on a diagram without the failure's path: its deadline's
                ended += m.inst.fire_timers_of(rest)
            if set(delivered) != set(passes) or set(ended) != set(failures):
                # recorded meanwhile, or the deadline passed
                raise Conflict("学习记录已被他人登记或学习任务已结束，请刷新后重试")
            if passed:
                change = Change(uow.session, m.row, m.inst.data, m.defn, today, now)
                apply_learning_passed(change, passed, m.messages)
            for task in passed:
                m.record(_learning_step(actor, task, "passed", "学习考试通过"))
            for task in failed:
                ending = f"考试{task.exam_attempts}次未通过，学习结束"
                m.record(_learning_step(actor, task, "failed", ending))
                _tell_failed(uow, m, task, now)
    except EngineError as exc:  # the diagram failed on a result: nothing of the import kept
        payloads = {**passes, **failures}
        raise incidents.record(
            ctx, uow, actor, exc, None, None, instance_id, incidents.LEARNING_STEP, payloads
        ) from exc


def _tell_failed(uow: UnitOfWork, m: moving.Move, task: LearningTask, now) -> None:
    """The person and the unit are told a learning ended 未通过 at the last attempt allowed
    (业务消息 learning_failed): the person may enrol again, the unit decides whether to."""
    m.messages.send(
        uow.session,
        "learning_failed",
        recipients_of(uow.session, task.unit_id, [task.member_id] if task.member_id else []),
        {
            "business_key": m.row.business_key,
            "process_name": m.defn.name,
            "person": task.name,
            "attempts": task.exam_attempts,
        },
        f"learning_failed:{task.id}",
        now,
        member_id=task.member_id,
        unit_id=task.unit_id,
    )


def _learning_step(actor: Actor, task: LearningTask, decision: str, what: str) -> audit.Step:
    return audit.Step(
        actor,
        "learning",
        decision=decision,
        remark=f"{task.name}（{task.id_number}）{what}",
        detail={"id_number": task.id_number, "learning_task_id": task.id},
    )


NOT_A_MEMBER_UNIT = (
    "教育学习进度查询仅对单位会员开放（FAQ 3.17），成为单位会员后可查看本单位人员的学习进度"
)


def check_progress_lookup(uow: UnitOfWork, actor: Actor) -> None:
    """FAQ 3.17: the association opened the learning-progress lookup to member units
    (单位会员); a unit that is not one is told so (403)."""
    if is_unit_admin(actor):
        member_unit = uow.session.scalar(select(Unit.member_unit).where(Unit.id == actor.unit_id))
        if not member_unit:
            raise Forbidden(NOT_A_MEMBER_UNIT)


def learning_query(
    actor: Actor,
    status: str | None = None,
    q: str | None = None,
    mobile: str | None = None,
    process: str | None = None,
    year: int | None = None,
    opened_from: date | None = None,
    opened_to: date | None = None,
    instance_id: int | None = None,
) -> Select:
    """The learning tasks the caller may see, filtered (shared by the list and the export).

    The manual's filters (FAQ 3.3, 3.17): year and date range of the start of learning,
    name or ID number, the learner's mobile, status; and the kind of training.
    """
    if opened_from and opened_to and opened_from > opened_to:
        raise FormInvalid({"opened_from": "开始学习日期（起）不能晚于开始学习日期（止）"})
    where = records_in_scope(actor, LearningTask.unit_id, LearningTask.member_id)
    if where is None:
        raise NotFound("没有可查看的学习任务")
    stmt = select(LearningTask).where(*where)
    if instance_id is not None:  # the learning one enrolment form opened
        stmt = stmt.where(LearningTask.instance_id == instance_id)
    if status:
        stmt = stmt.where(LearningTask.status == status)
    if q:
        stmt = stmt.where(
            LearningTask.name.contains(clean_name(q), autoescape=True)
            | id_number_matches(LearningTask.id_number, clean_code(q))
        )
    if mobile:
        stmt = stmt.where(
            LearningTask.member_id.in_(
                select(Member.id).where(Member.mobile == mobile_term(mobile))
            )
        )
    if process:
        stmt = stmt.where(LearningTask.process_key == process)
    if year:
        stmt = stmt.where(
            LearningTask.opened_at >= day_start(date(year, 1, 1)),
            LearningTask.opened_at < day_after(date(year, 12, 31)),
        )
    if opened_from:
        stmt = stmt.where(LearningTask.opened_at >= day_start(opened_from))
    if opened_to:
        stmt = stmt.where(LearningTask.opened_at < day_after(opened_to))
    return stmt


def list_learning(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    page: int = 1,
    page_size: int = 20,
    **filters,
) -> dict:
    """Learning tasks the caller may see (a member unit: its members'), newest first."""
    check_progress_lookup(uow, actor)
    stmt = learning_query(actor, **filters)
    total, rows = page_of(uow.session, stmt, LearningTask.id.desc(), page, page_size)
    items = [learning_view(t) for t in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def count_learning(ctx: Context, uow: UnitOfWork, actor: Actor, **filters) -> dict[str, int]:
    """How many of the caller's learning tasks the filters find, by status (the status
    filter itself left out): the list's status panel."""
    check_progress_lookup(uow, actor)
    filters.pop("status", None)
    found = learning_query(actor, **filters).subquery()
    rows = uow.session.execute(
        select(found.c.status, func.count()).select_from(found).group_by(found.c.status)
    )
    return dict(rows.all())


def learning_view(t: LearningTask) -> dict:
    return {
        "id": t.id,
        "instance_id": t.instance_id,
        "process_key": t.process_key,
        "id_number": t.id_number,
        "name": t.name,
        "certificate_type": t.certificate_type,
        "required_hours": str(t.required_hours),
        "completed_hours": str(t.completed_hours),
        "exam_attempts": t.exam_attempts,
        "status": t.status,
        "deadline": t.deadline,
        "opened_at": t.opened_at,
        "passed_at": t.passed_at,
    }
