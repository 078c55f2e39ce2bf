"""Use cases on process instances: start one, list them, read one with its approval record."""

from __future__ import annotations

import hashlib
import json

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, union_all
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import (
    Agency,
    AuditRecord,
    Bill,
    InstancePerson,
    Member,
    ProcessInstance,
    Unit,
    UserTask,
)
from service.db.search import LAST_FOUR, contains, last_four
from service.db.uow import Later, Reads, UnitOfWork
from service.domain import disclosure
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound, RuleFailed
from service.domain.validation import clean_code, clean_name
from service.engine import Definition, EngineError, Instance, flow_order
from service.services.workflow import (
    audit,
    bills,
    effects,
    files,
    incidents,
    moving,
    numbers,
    persons,
)
from service.services.workflow.context import Context, day_after, day_start
from service.services.workflow.definitions import Definitions
from service.services.workflow.facts import FACT_KEYS, facts_for
from service.services.workflow.forms import (
    normalized_mobiles,
    refuse_dates_before_birth,
    refuse_future_dates,
    validate_form,
)
from service.services.workflow.messages import queue_recipients
from service.services.workflow.paging import cursor_token, read_cursor, seek
from service.services.workflow.scope import (
    instances_in_scope,
    is_member,
    line_reader,
    may_start,
    unit_acts,
)

RECORD_ACTIONS = ("start", "complete", "return", "withdraw", "terminate", "migrate", "retry")
# what a record without a task says it was (the start; an operator's migration or retry)
# the record's steps that no task of the diagram took: their own names
ACTION_TITLES = {
    "withdraw": "撤回",
    "terminate": "终止",
    "migrate": "迁移流程版本",
    "retry": "重试出错步骤",
}

LIST_COUNTED = 10000  # an instance list's total counts this far


def _existing(uow: UnitOfWork, owner: str, key: str) -> ProcessInstance | None:
    return uow.session.scalars(
        select(ProcessInstance).where(
            ProcessInstance.idempotency_owner == owner, ProcessInstance.idempotency_key == key
        )
    ).first()


def _digest(data) -> str:
    """What an Idempotency-Key is tied to besides the business type: the form data sent."""
    text = json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class _KeyTaken(Exception):
    """A concurrent request with the same idempotency key saved its form first."""

    def __init__(self, found: ProcessInstance):
        super().__init__(found.id)
        self.found = found


def _replayed(
    ctx: Context, uow: UnitOfWork, found: ProcessInstance, key: str, data, tied: bool
) -> tuple[dict, bool]:
    """The form the key made, for the same request again; another request is refused (the
    data compared where the key is `tied` to it and the form kept its digest)."""
    changed = tied and found.idempotency_digest not in (None, _digest(data))
    if found.process_key != key or changed:
        message = "该 Idempotency-Key 已用于另一次提交（业务类型或填写内容不同），请使用新的 Key"
        raise FormInvalid({"Idempotency-Key": message}, message)
    return instance_view(uow, found, ctx.definitions), False


# what a start reads of the unit starting it
_UNIT = select(Unit.agency_id, Unit.name).where(Unit.id == bindparam("unit_id"))


def start_process(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    key: str,
    data: dict,
    idempotency_key: str | None = None,
    join_code_id: int | None = None,
    tied: bool = True,
) -> tuple[dict, bool]:
    """Start an instance; returns its view and whether it was created (False: replayed).

    The same `idempotency_key` again replays the form it started, for the same business type
    and, where the key is `tied` to them (the API's Idempotency-Key), the same data; another
    request with it is refused. A page's own token is not tied: a form sent twice stores its
    uploads twice, under new ids."""
    version_id, defn = ctx.definitions.latest(key)
    if join_code_id is None and not may_start(actor, defn.start_roles):
        raise Forbidden(f"当前账号无权发起“{defn.name}”")
    owner = f"join:{join_code_id}" if join_code_id is not None else f"account:{actor.id}"
    if idempotency_key:
        found = _existing(uow, owner, idempotency_key)
        if found is not None:
            return _replayed(ctx, uow, found, key, data, tied)
    try:
        return _start(
            ctx, uow, actor, key, data, idempotency_key, join_code_id, owner, version_id, defn
        )
    except EngineError as exc:  # the diagram failed at its first steps: nothing kept
        raise incidents.record(ctx, uow, actor, exc, key, version_id, data=data) from exc
    except _KeyTaken as taken:
        return _replayed(ctx, uow, taken.found, key, data, tied)
    except RuleFailed:
        # a concurrent request with the same key may have won between our look-up and now
        uow.rollback()
        if idempotency_key and (found := _existing(uow, owner, idempotency_key)):
            return _replayed(ctx, uow, found, key, data, tied)
        raise


def cleaned(defn: Definition, data: dict) -> dict:
    """A start form's values as they are checked and kept: mobiles as their 11 digits, ID
    numbers and names without full-width digits or padding spaces (persons.normalize)."""
    if not isinstance(data, dict):
        return data
    return persons.normalize(normalized_mobiles(data, defn.start_mobile_fields))


# a member's unit the secretariat has disabled (停用: none of its administrators can sign
# in) would never pre-review the member's form
MEMBER_UNIT_DISABLED = (
    "您所在单位的账号已停用，单位无法预审您的申请，暂不能办理；请与单位或协会联系"
)


def _refuse_for_a_member(uow: UnitOfWork, actor: Actor, defn: Definition, data: dict) -> None:
    """A member applies for themself, through a unit that can act on it: another person's ID
    number is refused (it was replaced by the member's own, silently)."""
    if "persons" not in defn.start_fields:
        given = data.get("id_number")
        own = uow.session.scalar(select(Member.id_number).where(Member.id == actor.member_id))
        if isinstance(given, str) and given.strip() and clean_code(given) != own:
            raise FormInvalid({"id_number": "个人会员只能为本人办理，证件号码应为本人的"})
    if actor.unit_id is not None and not unit_acts(uow.session, actor.unit_id):
        raise Conflict(MEMBER_UNIT_DISABLED)


def start_form_problems(
    defn: Definition, data: dict, today, births=None, session: Session | None = None
) -> dict[str, str]:
    """What is wrong with a start form's values, by field: the schema's refusals, dates after
    today or before the person's birth, the ID number — all of them, so that one send shows
    every mistake (the ID number's was said only once the schema passed). A page whose
    uploads failed says these as well. The values are checked as they will be kept
    (`cleaned`): an ID number or mobile typed with full-width digits or spaces is not
    refused for it. `births` (persons.member_births) reads a birth date the form does not
    give from the member's record. With a `session`, the persons' lines are checked as the
    start checks them too (persons.line_errors: a specialty not in the dictionary, a person
    twice), said at their fields as the start says them."""
    data = cleaned(defn, data)
    start = defn.validators["start"], data, defn.registry, defn.start_fields
    born = persons.birth_reader(today, births)
    checks = (
        lambda: validate_form(*start, defn.quick.get("start")),
        lambda: refuse_future_dates(data, defn.start_past_fields, defn.start_fields, today),
        lambda: refuse_dates_before_birth(data, defn.start_birth_fields, defn.start_fields, born),
        lambda: persons.check_identity(data, today),
    )
    found: dict[str, str] = {}
    for check in checks:  # each on its own: one's refusal does not hide the others'
        try:
            check()
        except FormInvalid as exc:
            for field, message in (exc.errors or {}).items():
                found.setdefault(field, message)
    lines = data.get("persons")
    if session is not None and isinstance(lines, list) and all(isinstance(p, dict) for p in lines):
        for field, message in persons.line_errors(session, data).items():
            found.setdefault(field, message)
    return found


def _start(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    key: str,
    data: dict,
    idempotency_key: str | None,
    join_code_id: int | None,
    owner: str,
    version_id: int,
    defn: Definition,
) -> tuple[dict, bool]:
    if not isinstance(data, dict):
        raise FormInvalid({"data": "data 应为 JSON 对象"})
    digest = _digest(data) if idempotency_key else None
    data = dict(data)
    if is_member(actor):
        _refuse_for_a_member(uow, actor, defn, data)
    if is_member(actor) and "persons" not in defn.start_fields:
        member = uow.session.get(Member, actor.member_id)
        data.update(id_number=member.id_number, name=member.name)  # the member's own form
    today, now = ctx.today(), ctx.now()
    problems = start_form_problems(defn, data, today, persons.member_births(uow.session, actor))
    if problems:
        raise FormInvalid(problems)
    payload = cleaned(defn, data)
    persons.check_lines(uow.session, payload)
    for name in defn.declarations.blank_fields:  # scripts read them even when left out
        payload.setdefault(name, None)
    payload.update(submitted_on=today.isoformat(), process_key=key, initiator_role=actor.role)
    # the files' check, the unit, the persons' lock and the facts go to the server together
    reads = Reads(uow.session)
    checked = files.references(
        uow,
        actor,
        payload,
        defn.start_file_fields,
        reads,
        join_code_id=join_code_id,
        videos=defn.start_video_fields,
        images=defn.start_image_fields,
        videos_only=defn.start_video_only_fields,
    )
    unit = reads.add(_UNIT, {"unit_id": actor.unit_id}) if actor.unit_id else None
    locked = persons.lock(reads, payload)
    facts = facts_for(
        reads, defn, payload, today, unit_id=actor.unit_id, names=ctx.definitions.names()
    )
    used = checked()
    unit_agency, unit_name = unit.rows[0] if unit and unit.rows else (None, None)
    agency_id = actor.agency_id or unit_agency
    if is_member(actor):
        agency_id = uow.session.get(Member, actor.member_id).agency_id or agency_id
    payload.update(unit_name=unit_name, **facts)
    inst = Instance.start(defn, payload, now)
    persons.refuse_ineligible(inst.data, inst.facts)
    lock_field = defn.start_props.get("exclusive_subject")
    # On PostgreSQL, when nothing in the request reads the form's rows again (its first
    # move neither finishes, whose effects read its persons, nor waits, a wait for learning
    # reads them), the form's row, its persons and the rest are written with the COMMIT,
    # the row's id drawn from its sequence beforehand
    dialect = uow.session.get_bind().dialect
    kept = dialect.name == "postgresql" and not inst.finished and not inst.waiting_events()
    # the form's number, its id and the recipients of its first messages are read together
    members = locked()
    subject = persons.subject_member(persons.lines_of(payload), members) or actor.member_id
    reads = Reads(uow.session)
    business_key = numbers.queue_form_number(reads, defn.business_key_prefix, today)
    recipients = queue_recipients(reads, actor.unit_id, subject)
    drawn = reads.add(_NEXT_ID, {}) if kept else None
    reads.run()
    row = ProcessInstance(
        process_key=key,
        definition_version_id=version_id,
        business_key=business_key(),
        unit_id=actor.unit_id,
        agency_id=agency_id,
        member_id=actor.member_id,
        subject_name=payload.get("name"),
        subject_id_number=payload.get("id_number"),
        subject_lock=str(payload.get(lock_field)) if lock_field else None,
        member_levels=effects.listed_levels(inst.data),
        status=inst.status,
        state=inst.dumps(),
        finished=inst.finished,
        end_event=inst.end_event,
        started_by=actor.id,
        idempotency_owner=owner if idempotency_key else None,
        idempotency_key=idempotency_key or None,
        idempotency_digest=digest,
        submitted_at=now,
        updated_at=now,
    )
    if drawn is not None:  # inserted with the COMMIT (moving.Move.commit), not added here
        row.id = drawn.rows[0][0]
    else:
        uow.session.add(row)
        try:
            uow.session.flush()
        except IntegrityError as exc:
            raise _refused(uow, owner, idempotency_key) from exc
    later = Later(dialect) if kept else None
    persons.sync(uow.session, row, payload, new=True, locked=members, later=later)
    messages = moving.messages_of(ctx)
    first = moving.begin(uow.session, row, inst, defn, now, today, messages, recipients)
    first.defer = True  # the save goes with the COMMIT (moving.Move.commit)
    first.later = later  # and the writes kept: the persons, the messages, the files linked
    first.insert_row = kept  # and the row itself, first
    first.record(audit.Step(actor, "start", detail={"business_key": row.business_key}))
    open_rows = first.save(dumped=row.state)  # the engine has not moved since the row was made
    files.link_to_instance(uow, used, row.id, row.unit_id, first.later)
    uow.session.flush()
    incidents.close_started(uow.session, key, actor, row.business_key, now, first.later)
    view = _summary(row, defn.name)
    view["open_tasks"] = [task_brief(t) for t in open_rows]
    try:
        first.commit(uow)
    except IntegrityError as exc:
        if not (kept and moving.row_conflict(exc)):
            raise
        raise _refused(uow, owner, idempotency_key) from exc
    fill_task_ids(view["open_tasks"], open_rows)
    return view, True


# the next instance row's id, drawn ahead of its INSERT (PostgreSQL)
_NEXT_ID = select(func.nextval(func.pg_get_serial_sequence("process_instances", "id")))


def _refused(uow: UnitOfWork, owner: str, idempotency_key: str | None) -> Exception:
    """A new form's row refused by a unique key: the form an earlier request with the same
    idempotency key made, to replay; else another form about the same subject won the race,
    said as the rules would say it. Nothing of this request is kept. The error to raise."""
    uow.rollback()
    if idempotency_key and (found := _existing(uow, owner, idempotency_key)):
        return _KeyTaken(found)
    return RuleFailed([disclosure.APPLICANT_NOT_DISCLOSED])


# what a task's brief shows (`task_brief`), with its instance: read as columns by the lists,
# which only show their rows (no entity in the session's identity map to load and track)
BRIEF_COLUMNS = (
    UserTask.id,
    UserTask.instance_id,
    UserTask.task_name,
    UserTask.title,
    UserTask.role,
    UserTask.status_label,
    UserTask.claimed_by,
    UserTask.claimed_at,
    UserTask.created_at,
)


def _open_tasks(uow: UnitOfWork, instance_ids: list[int]) -> dict[int, list[dict]]:
    result: dict[int, list[dict]] = {i: [] for i in instance_ids}
    if not instance_ids:
        return result
    rows = uow.session.execute(
        select(*BRIEF_COLUMNS)
        .where(UserTask.instance_id.in_(instance_ids), UserTask.state == "open")
        .order_by(UserTask.id)
    )
    for t in rows:
        result[t.instance_id].append(task_brief(t))
    return result


def task_brief(t) -> dict:
    """A task as lists and replies show it: `t` a UserTask, or a row of BRIEF_COLUMNS."""
    return {
        "id": t.id,
        "task_name": t.task_name,
        "title": t.title,
        "role": t.role,
        "status": t.status_label,
        "claimed_by": t.claimed_by,
        "claimed_at": t.claimed_at,
        "created_at": t.created_at,
    }


def fill_task_ids(briefs: list[dict], tasks: list[UserTask]) -> None:
    """The ids of new tasks in briefs made before their save ran (kept for the COMMIT:
    moving.Move.commit), known once it has."""
    for brief, task in zip(briefs, tasks, strict=True):
        brief["id"] = brief["id"] or task.id


def _summary(row: ProcessInstance, name: str) -> dict:
    return {
        "id": row.id,
        "process_key": row.process_key,
        "process_name": name,
        "business_key": row.business_key,
        "status": row.status,
        "unit_id": row.unit_id,
        "agency_id": row.agency_id,
        "member_id": row.member_id,
        "subject_name": row.subject_name,
        "subject_id_number": row.subject_id_number,
        "finished": row.finished,
        "submitted_at": row.submitted_at,
        "updated_at": row.updated_at,
        "finished_at": row.finished_at,
    }


def _process_name(definitions: Definitions, key: str) -> str:
    defn = definitions.current.get(key)
    return defn.name if defn else key


def instance_view(uow: UnitOfWork, row: ProcessInstance, definitions: Definitions) -> dict:
    """An instance's summary with its open tasks."""
    view = _summary(row, _process_name(definitions, row.process_key))
    view["open_tasks"] = _open_tasks(uow, [row.id])[row.id]
    return view


def _load(uow: UnitOfWork, actor: Actor, instance_id: int) -> ProcessInstance:
    stmt = instances_in_scope(
        select(ProcessInstance).where(ProcessInstance.id == instance_id), actor
    )
    row = uow.session.scalars(stmt).first()
    if row is None:
        raise NotFound("业务表单不存在")
    return row


def approval_record(uow: UnitOfWork, instance_id: int) -> list[dict]:
    """Each step of an instance: who, when, what was decided, with what remark."""
    rows = uow.session.scalars(
        select(AuditRecord)
        .where(AuditRecord.instance_id == instance_id, AuditRecord.action.in_(RECORD_ACTIONS))
        .order_by(AuditRecord.id)
    )
    return [
        {
            "action": r.action,
            "task_name": r.task_name,
            "task_title": r.task_title or ACTION_TITLES.get(r.action, "发起申请"),
            "actor_id": r.actor_id,
            "actor_name": r.actor_name,
            "at": r.at,
            "decision": r.decision,
            "remark": r.remark,
            "status_before": r.status_before,
            "status_after": r.status_after,
        }
        for r in rows
    ]


def public_data(data: dict) -> dict:
    """Instance data without the facts the service injected for the rules."""
    return {k: v for k, v in data.items() if k not in FACT_KEYS}


def get_instance(ctx: Context, uow: UnitOfWork, actor: Actor, instance_id: int) -> dict:
    """One instance with data, open tasks and approval record, if in the caller's scope."""
    return instance_detail(ctx, uow, actor, instance_id)[0]


def instance_detail(
    ctx: Context, uow: UnitOfWork, actor: Actor, instance_id: int
) -> tuple[dict, Instance]:
    """`get_instance`'s view and the engine instance it was read from (a page drawing the
    path taken reads that too, without loading the state again)."""
    row = _load(uow, actor, instance_id)
    defn = ctx.definitions.version(uow.session, row.definition_version_id)
    view = instance_view(uow, row, ctx.definitions)
    inst = Instance.load(defn, row.state)
    view["data"] = public_data(inst.data)
    view["approval_record"] = approval_record(uow, row.id)
    bill = bills.bill_of(uow.session, row.id)
    view["bill"] = (
        bills.bill_view(bill, bills.receipts_by_bill(uow.session, [bill.id]).get(bill.id))
        if bill is not None
        else None
    )
    view["person_count"] = row.person_count
    view["version"] = ctx.definitions.version_number(uow.session, row.definition_version_id)
    own = line_reader(uow.session, actor)
    if own is not None:  # a member: of the other persons on the form, names only
        view["data"] = disclosure.own_lines(view["data"], own)
        view["subject_id_number"] = disclosure.own_number(view["subject_id_number"], own)
        if view["bill"] is not None and isinstance(view["bill"]["lines"], list):
            view["bill"]["lines"] = disclosure.own_lines_of(view["bill"]["lines"], own)
    return view, inst


# what a list row shows of an instance: never its engine state
LIST_COLUMNS = (
    ProcessInstance.id,
    ProcessInstance.process_key,
    ProcessInstance.business_key,
    ProcessInstance.status,
    ProcessInstance.unit_id,
    ProcessInstance.agency_id,
    ProcessInstance.member_id,
    ProcessInstance.subject_name,
    ProcessInstance.subject_id_number,
    ProcessInstance.finished,
    ProcessInstance.submitted_at,
    ProcessInstance.updated_at,
    ProcessInstance.finished_at,
    ProcessInstance.person_count,
    ProcessInstance.member_levels,
)


def instances_query(
    actor: Actor, key=None, status=None, q=None, submitted_from=None, submitted_to=None
):
    """The forms the caller may see, filtered (shared by GET /instances, the summary, exports);
    it selects the list's columns, never the engine state."""
    stmt = instances_in_scope(select(*LIST_COLUMNS), actor)
    if key:
        stmt = stmt.where(ProcessInstance.process_key == key)
    if status:
        stmt = stmt.where(ProcessInstance.status == status)
    if q and q.strip():
        found = _searched(q).cte("searched")  # one look-up, should the page and total both ask
        stmt = stmt.where(ProcessInstance.id.in_(select(found.c.id)))
    if submitted_from:
        start = day_start(submitted_from)
        stmt = stmt.where(ProcessInstance.submitted_at >= start)
    if submitted_to:
        end = day_after(submitted_to)
        stmt = stmt.where(ProcessInstance.submitted_at < end)
    return stmt


def open_forms(ctx: Context, uow: UnitOfWork, actor: Actor, limit: int = 5) -> list[dict]:
    """The caller's forms still in progress, newest first (at most `limit`): what a member's
    own start page names before anything is filled in, as the rules may refuse a second
    form while one is open."""
    stmt = (
        instances_query(actor)
        .where(ProcessInstance.finished.is_(False))
        .order_by(ProcessInstance.id.desc())
        .limit(limit)
    )
    names = ctx.definitions.names()
    return [
        {
            "id": r.id,
            "business_key": r.business_key,
            "status": r.status,
            "process_name": names.get(r.process_key, r.process_key),
        }
        for r in uow.session.execute(stmt)
    ]


def _searched(q: str):
    """The ids of the forms `q` finds (see `_found`)."""
    return _found(select(ProcessInstance.id), q)


def known_statuses(definitions: Definitions, key: str | None = None) -> list[str]:
    """Every status label the deployed diagrams (the one of business `key`, when given) can
    show, once each, in the chain's usual order (`STATUS_ORDER`). A status it does not name
    goes where its diagram puts it: a person's step just before the next step of the chain
    its diagram has after it (before the outcomes, 审批完成 and after, when none), an end
    event's after the outcomes."""
    found: dict[str, float] = {}
    outcomes = STATUS_ORDER.index("审批完成")
    for k, defn in definitions.current.items():
        if key is not None and k != key:
            continue
        tasks = defn.user_tasks
        steps = [tasks[n].status for n in flow_order(defn)] + list(defn.wait_status.values())
        steps = [label for label in dict.fromkeys(steps) if label]
        for i, label in enumerate(steps):
            if label in STATUS_ORDER or label in found:
                continue
            later = [STATUS_ORDER.index(s) for s in steps[i + 1 :] if s in STATUS_ORDER]
            found[label] = (min(later) if later else outcomes) - 0.5
        for label in defn.end_status.values():
            if label and label not in found:
                found[label] = (
                    STATUS_ORDER.index(label) if label in STATUS_ORDER else len(STATUS_ORDER)
                )
        for label in steps:
            if label in STATUS_ORDER:
                found.setdefault(label, STATUS_ORDER.index(label))
    ordered = sorted(found, key=found.__getitem__)  # stable: the diagrams' own order
    # a form of any business may be withdrawn by its unit or terminated by the secretariat,
    # which no diagram draws: those endings come last
    return ordered + [s for s in ENDED_BY_PEOPLE if s not in found]


ENDED_BY_PEOPLE = (incidents.WITHDRAWN, incidents.TERMINATED)


STATUS_ORDER = (
    "暂存",
    "单位预审中",
    "机构初审中",
    "协会初审中",
    "协会复核中",
    "待缴费",
    "财务复核中",
    "学习中",
    "审批完成",
    "退回",
)


def check_filters(
    definitions: Definitions,
    key: str | None,
    status: str | None,
    submitted_from=None,
    submitted_to=None,
) -> None:
    """An unknown business type or status, or dates the wrong way round, is a mistake to
    report, not an empty list."""
    errors = {}
    if submitted_from and submitted_to and submitted_from > submitted_to:
        errors["submitted_to"] = "提交日期止不能早于提交日期起"  # as the queue says it
    if key and key not in definitions.current:
        errors["key"] = f"没有名为 {key} 的业务类型"
    if status and status not in known_statuses(definitions):
        errors["status"] = f"没有“{status}”这个状态，可选：" + "、".join(
            known_statuses(definitions)
        )
    if errors:
        raise FormInvalid(errors)


def list_instances(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    page: int = 1,
    page_size: int = 20,
    after: str | None = None,
    **filters,
) -> dict:
    """The caller's instances, newest first, paginated with a total; `after` (a page's
    `next_after`) seeks to the page after that one instead of counting rows off. The total
    counts to LIST_COUNTED (`total_capped` beyond): the association's list holds every form
    of every year, and counting them all would cost every page view."""
    check_filters(
        ctx.definitions,
        filters.get("key"),
        filters.get("status"),
        filters.get("submitted_from"),
        filters.get("submitted_to"),
    )
    q = (filters.pop("q", None) or "").strip()  # blank: no search, as in the queue
    listed = instances_query(actor, **filters)
    newest = ProcessInstance.id.desc()
    if q:
        # the search: each way of finding a form looked up by its own index with the
        # caller's scope and filters beside it (a found row is checked where it is read),
        # once; the page's ids and the total both read what it found
        found = _found(listed.with_only_columns(ProcessInstance.id), q).cte("found")
        ids = select(found.c.id).order_by(found.c.id.desc()).limit(page_size)
        id_column = found.c.id
        counted = select(found.c.id)
    else:
        # the page's ids first, from an index alone (each filter's index ends in id); then
        # their rows, their units' names and bills' amounts, and the list's total counted
        ids = listed.with_only_columns(ProcessInstance.id).order_by(newest).limit(page_size)
        id_column = ProcessInstance.id
        # ids alone: the planner may count the list's smallest index
        counted = listed.with_only_columns(ProcessInstance.id)
    if after:
        cursor = read_cursor(after, "instances", (int,))
        ids = ids.where(seek([id_column], True, cursor.key))
        offset, page = cursor.offset, cursor.offset // page_size + 1
    else:
        offset = (page - 1) * page_size
        ids = ids.offset(offset)
    ids = ids.subquery()
    counted = select(func.count()).select_from(counted.limit(LIST_COUNTED + 1).subquery())
    counted = counted.scalar_subquery()
    rows = uow.session.execute(
        select(
            *LIST_COLUMNS,
            Unit.name.label("unit_name"),
            Agency.name.label("agency_name"),
            returned_reason().label("returned_reason"),
            Bill.amount,
            counted.label("total"),
        )
        .join(ids, ids.c.id == ProcessInstance.id)
        .outerjoin(Unit, Unit.id == ProcessInstance.unit_id)
        .outerjoin(Agency, Agency.id == ProcessInstance.agency_id)
        .outerjoin(Bill, Bill.instance_id == ProcessInstance.id)
        .order_by(newest)
    ).all()
    if rows:
        total = rows[0].total
    else:
        total = 0 if offset == 0 else uow.session.scalar(select(counted))
    tasks = _open_tasks(uow, [r.id for r in rows])
    own = line_reader(uow.session, actor) if rows else None
    items = []
    for r in rows:
        item = _summary(r, _process_name(ctx.definitions, r.process_key))
        if own is not None:  # a member: another person's ID number masked
            item["subject_id_number"] = disclosure.own_number(r.subject_id_number, own)
        item.update(
            open_tasks=tasks[r.id],
            unit_name=r.unit_name,
            agency_name=r.agency_name,
            member_levels=r.member_levels.split("、") if r.member_levels else [],
            returned_reason=r.returned_reason,
            person_count=r.person_count,
            amount=f"{r.amount:.2f}" if r.amount is not None else None,
        )
        items.append(item)
    capped = total > LIST_COUNTED
    more = len(rows) == page_size and (capped or offset + page_size < total)
    return {
        "items": items,
        "total": min(total, LIST_COUNTED),
        "total_capped": capped,
        "page": page,
        "page_size": page_size,
        "next_after": cursor_token("instances", offset + page_size, (rows[-1].id,))
        if more
        else None,
    }


def returned_reason():
    """退回原因, as a column of a list row: the remark of the form's last decision on a task
    when that decision was a return (a form resubmitted or approved since has none). Read
    backwards along the audit trail's (instance_id, id) index, within the page's query."""
    return (
        select(case((AuditRecord.action == "return", func.coalesce(AuditRecord.remark, ""))))
        .where(
            AuditRecord.instance_id == ProcessInstance.id,
            AuditRecord.action.in_(("complete", "return")),
        )
        .order_by(AuditRecord.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def _found(listed, q: str):
    """The ids of the forms in `listed` (a select of ids: the caller's scope and filters)
    that `q` finds, each once: part of a listed person's name, a person's whole ID number
    or its last four characters, or the whole form number; % and _ are searched for as
    themselves, not as wildcards.

    A form's subject is always one of its listed persons (persons.sync), so names and ID
    numbers are looked up among the persons, by their narrow table's indexes (names by
    trigram on PostgreSQL, so a search never walks every form). The form's own columns
    hold the form number and the one name no person can: that of a form with no ID number.
    The two branches cannot repeat each other's forms, so only a form's several matching
    persons are folded into one, never all the matches gathered again; with no condition on
    the forms (the association's unfiltered list), the persons' forms are the answer
    without reading the forms at all."""
    text, exact = clean_name(q), clean_code(q)  # "４４０１ ０６…" is looked up as "440106…"
    numbers = [InstancePerson.id_number == exact]
    if LAST_FOUR.fullmatch(exact):  # as the queue's search: by its expression index
        numbers.append(last_four(InstancePerson.id_number) == exact)
    named = or_(contains(InstancePerson.name, text), *numbers)
    own = or_(
        ProcessInstance.business_key == exact,
        and_(
            ProcessInstance.subject_id_number.is_(None),
            ProcessInstance.subject_name.contains(text, autoescape=True),
        ),
    )
    if listed.whereclause is None:
        by_person = select(InstancePerson.instance_id.label("id")).where(named).distinct()
    else:
        by_person = listed.where(
            ProcessInstance.id.in_(select(InstancePerson.instance_id).where(named))
        )
    person_found = exists().where(InstancePerson.instance_id == ProcessInstance.id, named)
    return union_all(by_person, listed.where(own, ~person_found))


def summarize(ctx: Context, uow: UnitOfWork, actor: Actor, **filters) -> dict:
    """A count of the caller's instances per status label."""
    check_filters(ctx.definitions, filters.get("key"), None)
    filters.pop("status", None)
    stmt = instances_query(actor, **filters)
    rows = uow.session.execute(
        stmt.with_only_columns(ProcessInstance.status, func.count()).group_by(
            ProcessInstance.status
        )
    )
    counts = {status: n for status, n in rows}
    return {"counts": counts, "total": sum(counts.values())}
