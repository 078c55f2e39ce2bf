"""Use cases on the work queue: list and count, read, claim, unclaim, complete user tasks;
the secretariat's release and reassign.

Claim, release and reassign are each one conditional UPDATE: the database decides a race.
Completion re-checks, inside its transaction, that the task is open and the caller's,
and that the instance is still the version loaded; the engine never runs a task twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, select, update
from sqlalchemy.orm import object_session
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import Account, AuditRecord, Incident, ProcessInstance, UserTask
from service.db.uow import Reads, UnitOfWork, loaded
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound, ServiceError
from service.engine import RETURN_DEPTH, EngineError, Instance, TaskNotReady
from service.services.workflow import (
    audit,
    bills,
    files,
    incidents,
    moving,
    persons,
    queue,
    timers,
)
from service.services.workflow.context import Context
from service.services.workflow.facts import facts_for
from service.services.workflow.forms import (
    normalized_mobiles,
    refuse_dates_before_birth,
    refuse_future_dates,
    validate_form,
)
from service.services.workflow.instances import fill_task_ids, public_data, task_brief
from service.services.workflow.messages import queue_recipients
from service.services.workflow.scope import (
    holds_lane,
    manages_queue,
    task_holders,
    task_scope,
    tasks_in_scope,
)

NOT_CLAIMED = "该任务当前未被认领"


def _task(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    row = uow.session.scalars(
        tasks_in_scope(select(UserTask).where(UserTask.id == task_id), actor)
    ).first()
    if row is None:
        raise NotFound("任务不存在")
    return row


def _why_not(row: UserTask, actor: Actor) -> Conflict:
    if row.state != "open":
        return _closed(row)
    if row.claimed_by is not None and row.claimed_by != actor.id:
        return Conflict("该任务已被其他人认领")
    return Conflict("任务状态已变化，请刷新后重试")


def list_tasks(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    scope: str = "available",
    key: str | None = None,
    task_name: str | None = None,
    q: str | None = None,
    agency_id: int | None = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    sort: str | None = None,
    page: int = 1,
    page_size: int = 20,
    count_limit: int | None = None,
    after: str | None = None,
) -> dict:
    """One page of a work queue (available, mine, done, or the secretariat's claimed),
    searched and filtered; each row with its instance's summary and the names it shows.

    With `count_limit` the total counts no further than that (`total_capped` says so): a
    person does not page through tens of thousands of done tasks, and counting them all
    would cost every page view; the done list counts to queue.DONE_COUNTED unless told
    otherwise. `after` is a page's `next_after`: the page after it.
    """
    if scope == "done" and count_limit is None:
        count_limit = queue.DONE_COUNTED
    f = queue.Filters(scope, key, task_name, q, agency_id, submitted_from, submitted_to)
    queue.check(ctx, uow.session, actor, f)
    order = queue.check_sort(scope, sort)
    return queue.listing(ctx, uow.session, actor, f, order, page, page_size, count_limit, after)


def queue_counts(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    scope: str = "available",
    key: str | None = None,
    task_name: str | None = None,
    q: str | None = None,
    agency_id: int | None = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
) -> dict:
    """How many tasks the same list holds, per business type and per task (the 待办 panel)."""
    f = queue.Filters(scope, key, task_name, q, agency_id, submitted_from, submitted_to)
    queue.check(ctx, uow.session, actor, f)
    return queue.counts(ctx, uow.session, actor, f)


def get_task(
    ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int, *, with_data: bool = True
) -> dict:
    """A task with its form schema and the instance data the form shows (`with_data`
    False: without the data, for a caller that reads the instance itself — the engine
    state is loaded once)."""
    row = _task(uow, actor, task_id)
    inst_row = uow.session.get(ProcessInstance, row.instance_id)
    defn = ctx.definitions.version(uow.session, inst_row.definition_version_id)
    info = defn.user_tasks[row.task_name]
    view = task_brief(row)
    view.update(
        state=row.state,
        form=info.form,
        instance={
            "id": inst_row.id,
            "business_key": inst_row.business_key,
            "status": inst_row.status,
        },
    )
    if with_data:
        view["instance"]["data"] = public_data(Instance.load(defn, inst_row.state).data)
    return view


def form_number(uow: UnitOfWork, task_id: int) -> str | None:
    """The 单号 of a task's form: a message about the task names the form it is for."""
    return uow.session.scalar(
        select(ProcessInstance.business_key)
        .join(UserTask, UserTask.instance_id == ProcessInstance.id)
        .where(UserTask.id == task_id)
    )


def claim_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """Claim an open task; Conflict when someone else has it or it is done."""
    row = _task(uow, actor, task_id)
    now = ctx.now()
    # the scope again in the WHERE: a task moved to another agency (its unit moved) while
    # this claim waited for its row is not claimed by the old agency's reviewer
    won = uow.session.execute(
        update(UserTask)
        .where(
            UserTask.id == task_id,
            UserTask.state == "open",
            UserTask.claimed_by.is_(None),
            *task_scope(actor),
        )
        .values(claimed_by=actor.id, claimed_at=now)
    ).rowcount
    if not won:
        uow.session.refresh(row)
        if row.state == "open" and row.claimed_by == actor.id:
            return task_brief(row)
        raise _why_not(row, actor)
    inst = uow.session.get(ProcessInstance, row.instance_id)
    audit.write(uow.session, audit.Step(actor, "claim", task=row), now, inst)
    uow.session.flush()
    uow.session.refresh(row)
    view = task_brief(row)
    uow.commit()
    return view


def unclaim_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """Give a claimed task back to the queue."""
    row = _task(uow, actor, task_id)
    released = uow.session.execute(
        update(UserTask)
        .where(UserTask.id == task_id, UserTask.state == "open", UserTask.claimed_by == actor.id)
        .values(claimed_by=None, claimed_at=None)
    ).rowcount
    if not released:
        uow.session.refresh(row)
        raise (
            _why_not(row, actor)
            if row.claimed_by is not None or row.state != "open"
            else Conflict(NOT_CLAIMED)
        )
    inst = uow.session.get(ProcessInstance, row.instance_id)
    audit.write(uow.session, audit.Step(actor, "unclaim", task=row), ctx.now(), inst)
    uow.session.flush()
    uow.session.refresh(row)
    view = task_brief(row)
    uow.commit()
    return view


def _managed_task(uow: UnitOfWork, actor: Actor, task_id: int) -> UserTask:
    """A task the secretariat manages; to anyone else it does not exist (404, never 403)."""
    row = uow.session.get(UserTask, task_id) if manages_queue(actor) else None
    if row is None:
        raise NotFound("任务不存在")
    return row


def _not_managed(uow: UnitOfWork, actor: Actor, task_id: int) -> ServiceError:
    """Why someone who does not manage the queue may not release a task: a task outside
    their scope does not exist (404); one they see is said as it is — done, or held by
    nobody (a reviewer whose claim the secretariat released meanwhile), else theirs to
    give back with 放回 (unclaim), or another's only the secretariat takes back (403)."""
    row = _task(uow, actor, task_id)  # NotFound outside the scope
    if row.state != "open" or row.claimed_by is None:
        return _not_held(row)
    if row.claimed_by == actor.id:
        return Forbidden("收回任务仅限秘书处管理员；放回本人认领的任务请使用“放回”（unclaim）")
    return Forbidden("收回任务仅限秘书处管理员")


def _held_view(uow: UnitOfWork, row: UserTask) -> dict:
    view = task_brief(row)
    holder = uow.session.get(Account, row.claimed_by) if row.claimed_by else None
    view["claimed_by_name"] = holder.name if holder else None
    return view


def release_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """The secretariat puts a task someone holds back in the queue."""
    if not manages_queue(actor):
        raise _not_managed(uow, actor, task_id)
    row = _managed_task(uow, actor, task_id)
    holder = row.claimed_by
    if row.state != "open" or holder is None:
        raise _not_held(row)
    now = ctx.now()
    released = uow.session.execute(
        update(UserTask)
        .where(UserTask.id == task_id, UserTask.state == "open", UserTask.claimed_by == holder)
        .values(claimed_by=None, claimed_at=None)
    ).rowcount
    if not released:  # completed, released or reassigned since we read it
        uow.session.refresh(row)
        raise _not_held(row)
    _audit_hold(uow, actor, row, "release", now, {"from": holder})
    return _commit_view(uow, row)


def reassign_task(
    ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int, account_id: int
) -> dict:
    """The secretariat hands an open task to another account that may act on it."""
    row = _managed_task(uow, actor, task_id)
    if row.state != "open":
        raise Conflict("该任务已办结，不能转办")
    fit = uow.session.scalar(select(Account.id).where(Account.id == account_id, *task_holders(row)))
    if fit is None:
        raise FormInvalid(
            {"account_id": "该账号不能办理此任务（须为有效的同角色、同单位或同机构账号）"}
        )
    holder = row.claimed_by
    if holder == account_id:
        return _held_view(uow, row)
    now = ctx.now()
    same_holder = UserTask.claimed_by.is_(None) if holder is None else UserTask.claimed_by == holder
    moved = uow.session.execute(
        update(UserTask)
        .where(UserTask.id == task_id, UserTask.state == "open", same_holder)
        .values(claimed_by=account_id, claimed_at=now)
    ).rowcount
    if not moved:  # completed, released or claimed since we read it
        uow.session.refresh(row)
        raise (
            Conflict("该任务已办结，不能转办")
            if row.state != "open"
            else Conflict("任务的认领人已变化，请刷新后重试")
        )
    _audit_hold(uow, actor, row, "reassign", now, {"from": holder, "to": account_id})
    return _commit_view(uow, row)


def claimed_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """A claimed open task as the secretariat's 改派 page shows it (its holder, its form):
    the one task by its id, however many others are claimed."""
    row = _managed_task(uow, actor, task_id)
    if row.state != "open" or row.claimed_by is None:
        raise NotFound("该任务不存在或已不在认领中")
    view = _held_view(uow, row)
    inst = uow.session.get(ProcessInstance, row.instance_id)
    defn = ctx.definitions.current.get(inst.process_key)
    view["instance"] = {
        "id": inst.id,
        "business_key": inst.business_key,
        "process_name": defn.name if defn else inst.process_key,
    }
    return view


def assignees(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> list[dict]:
    """The active accounts that may hold a task: whom the secretariat may reassign it to."""
    row = _managed_task(uow, actor, task_id)
    rows = uow.session.execute(
        select(Account.id, Account.name, Account.username)
        .where(*task_holders(row))
        .order_by(Account.name, Account.id)
    )
    return [{"id": r.id, "name": r.name, "username": r.username} for r in rows]


def _closed(row: UserTask) -> Conflict:
    """A task no longer open: done, or its form withdrawn or terminated (said so)."""
    if row.state == "cancelled":
        return Conflict(ended_note(object_session(row), row))
    return Conflict("该任务已办结，请刷新待办列表")


def ended_note(session, row: UserTask) -> str:
    """Why a task is no longer open, in words: done (by whom), or its form withdrawn by the
    unit or terminated by the secretariat (with the reason) — never "done" for those."""
    if row.state == "cancelled":
        status = session.scalar(
            select(ProcessInstance.status).where(ProcessInstance.id == row.instance_id)
        )
        if status == incidents.WITHDRAWN:
            return "该表单已由单位撤回，无需办理"
        if status != incidents.TERMINATED:  # the diagram moved on without it (a deadline)
            return "该任务已取消，无需办理"
        reason = session.scalar(
            select(AuditRecord.remark)
            .where(AuditRecord.instance_id == row.instance_id, AuditRecord.action == "terminate")
            .order_by(AuditRecord.id.desc())
            .limit(1)
        )
        return f"该表单已被秘书处终止（原因：{reason or '未填写'}），无需办理"
    who_did = session.scalar(select(Account.name).where(Account.id == row.completed_by))
    return f"该任务已由{who_did}办结" if who_did else "该任务已办结"


def _not_held(row: UserTask) -> Conflict:
    if row.state != "open":
        return _closed(row)
    return Conflict(NOT_CLAIMED)


def _audit_hold(uow: UnitOfWork, actor: Actor, row: UserTask, action: str, now, detail) -> None:
    inst = uow.session.get(ProcessInstance, row.instance_id)
    audit.write(uow.session, audit.Step(actor, action, task=row, detail=detail), now, inst)


def _commit_view(uow: UnitOfWork, row: UserTask) -> dict:
    uow.session.flush()
    uow.session.refresh(row)
    view = _held_view(uow, row)
    uow.commit()
    return view


def _form_input(info, defn, current: dict, data: dict) -> dict:
    """Validate the submitted form on its own; the fields to apply.

    Never merged with the instance's earlier values: a field the form requires must be in
    the submission, even when an earlier task left a value of that name (a previous
    reviewer's `decision`). Only read-only fields, which the caller may not send, are
    validated with the instance's values, as the form shows them.
    """
    props = info.fields
    read_only = [k for k in props if props[k].get("readOnly")]
    sent = [k for k in data if k in read_only]
    if sent:
        raise FormInvalid({k: f"「{props[k].get('title', k)}」不可修改" for k in sent})
    shown = {k: current[k] for k in read_only if current.get(k) is not None}
    name = info.id
    validate_form(
        defn.validators[name], {**shown, **data}, defn.registry, props, defn.quick.get(name)
    )
    return data


@dataclass(frozen=True)
class Taken:
    """The task a completion claimed, as its UPDATE returned it."""

    id: int
    instance_id: int
    engine_task_id: str
    process_key: str
    task_name: str
    title: str
    stuck: bool  # the form has an open incident at this step (the step then closes it)


def _take(
    uow: UnitOfWork, actor: Actor, task_id: int, now, with_bill: bool = False, lookup=()
) -> tuple[Taken, ProcessInstance | None, bills.Read | None, list[tuple]]:
    """Claim-or-own an open task and mark it completed by the actor, in one conditional
    UPDATE; its row stays locked. Only a commit keeps it: a form or a step that fails
    rolls the whole request back, the task open and its claim as they were.

    On PostgreSQL the same statement reads the task's instance row into the session
    (UPDATE … FROM process_instances … RETURNING both, read by the driver and made the
    session's entity by `uow.loaded`), so the move that follows loads it
    without a query; the caller holds on to it (the session's identity map keeps only weak
    references). With `with_bill`, it reads the form's bill too (`bills.Read`), for a step
    that may confirm it; `lookup` (statements and their values, run in turn) is read beside
    it, in the same round trip, the last one's rows returned last. SQLite returns the
    updated table's columns alone."""
    dialect = uow.session.get_bind().dialect.name
    with_bill = with_bill and dialect == "postgresql"
    taken = _take_statement(dialect, actor, with_bill)
    params = _take_params(actor, task_id, now)
    instance = read = None
    looked_up: list[tuple] = []
    if dialect == "postgresql":
        reads = Reads(uow.session)
        answer = reads.add(taken, params)
        extras = [reads.add(statement, values) for statement, values in lookup]
        reads.run()  # the driver's row: the instance's columns, the task's, the bill
        looked_up = extras[-1].rows if extras else []
        found = answer.rows[0] if answer.rows else None
        if found is not None:
            width = len(_INSTANCE_KEYS)
            instance = loaded(
                uow.session, ProcessInstance, dict(zip(_INSTANCE_KEYS, found[:width], strict=True))
            )
            columns = list(found[width:])
            if with_bill:
                read = bills.Read.of(columns.pop())
            found = columns
    else:  # SQLite's RETURNING names the updated table's columns alone
        found = uow.session.connection().execute(taken, params).first()
        for statement, values in lookup:
            looked_up = [tuple(r) for r in uow.session.execute(statement, values)]
    if found is None:
        raise _why_not(_task(uow, actor, task_id), actor)
    return Taken(*found), instance, read, looked_up


# `_take`'s UPDATE, built once per dialect and shape of the actor's scope (the statement
# is the same for every request of that shape, its values bound when it runs): building
# it anew was most of the Python the request's first statement cost. It is a Core
# statement on the table, returning the task's columns `Taken` holds; on PostgreSQL it
# returns the instance's row too, which the driver reads (`Reads.run`) and
# `uow.loaded` makes the session's entity (an ORM select from the RETURNING built its
# loading machinery anew at every request: about a tenth of a completion's CPU under
# bench_throughput.py, sampled). (The ORM's own
# UPDATE of UserTask cost more: it annotates the statement anew at every run, so its
# cache key is made anew, and it built a UserTask entity nothing used.)
_TAKE_STATEMENTS: dict[tuple, Any] = {}
_SCOPE_FIELDS = ("id", "unit_id", "agency_id", "member_id")
_TASK = UserTask.__table__.c
# the instance's attributes, in the order of its table's columns (which the UPDATE returns)
_INSTANCE_KEYS = tuple(
    ProcessInstance.__mapper__.get_property_by_column(c).key for c in ProcessInstance.__table__.c
)
_INCIDENT = Incident.__table__.c
_TAKEN = (
    *(
        _TASK[name].label(f"taken_{name}")
        for name in ("id", "instance_id", "engine_task_id", "process_key", "task_name", "title")
    ),
    # read in the same statement, so that a step closes its incident without a statement
    # of its own when, as nearly always, there is none
    exists()
    .where(
        _INCIDENT.instance_id == _TASK.instance_id,
        _INCIDENT.task_name == _TASK.task_name,
        _INCIDENT.status == "open",
    )
    .label("taken_stuck"),
)


def _take_statement(dialect: str, actor: Actor, with_bill: bool = False):
    """The UPDATE of `_take` for the actor's role (PostgreSQL: `with_bill`, returning the
    form's bill too); its values are `_take_params`.

    A scope value the actor lacks (None) stays in the statement as None, so that it is
    compared as `IS NULL`, as the statement built with the actor's own values compares it.
    """
    shape = (dialect, actor.role, with_bill, *(getattr(actor, f) is None for f in _SCOPE_FIELDS))
    found = _TAKE_STATEMENTS.get(shape)
    if found is not None:
        return found
    bound = {
        f: None if getattr(actor, f) is None else bindparam(f"take_actor_{f}")
        for f in _SCOPE_FIELDS
    }
    scoped = Actor(bound["id"], actor.name, actor.role, **{f: bound[f] for f in _SCOPE_FIELDS[1:]})
    now = bindparam("take_now", type_=_TASK.completed_at.type)
    taken = (
        update(UserTask.__table__)
        .where(
            _TASK.id == bindparam("take_task_id"),
            _TASK.state == "open",
            or_(_TASK.claimed_by.is_(None), _TASK.claimed_by == scoped.id),
            *task_scope(scoped, _TASK),
        )
        .values(
            claimed_by=scoped.id,
            claimed_at=func.coalesce(_TASK.claimed_at, now),
            state="completed",
            completed_by=scoped.id,
            completed_at=now,
        )
    )
    if dialect == "postgresql":
        instances = ProcessInstance.__table__
        extra = (bills.WITH_CLAIM,) if with_bill else ()
        taken = taken.where(_TASK.instance_id == instances.c.id).returning(
            *instances.c, *_TAKEN, *extra
        )
    else:
        taken = taken.returning(*_TAKEN)
    _TAKE_STATEMENTS[shape] = taken
    return taken


def _take_params(actor: Actor, task_id: int, now) -> dict:
    """The values `_take_statement`'s UPDATE runs with (the actor's own, not None)."""
    params = {"take_task_id": task_id, "take_now": now}
    for f in _SCOPE_FIELDS:
        if getattr(actor, f) is not None:
            params[f"take_actor_{f}"] = getattr(actor, f)
    return params


def complete_task(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int, data: dict) -> dict:
    """Complete a task with form data and run the engine to its next wait state."""
    if not isinstance(data, dict):
        raise FormInvalid({"data": "data 应为 JSON 对象"})
    now, today = ctx.now(), ctx.today()
    # held: the move reads it; the bill read with the claim when the actor's role is one
    # that confirms bills (its confirmation may then go with the COMMIT)
    confirms = holds_lane(actor, _confirming(ctx))
    # the receipt numbers finance typed, looked up on other forms' bills with the claim
    typed = bills.typed_numbers(data) if confirms else []
    dialect = uow.session.get_bind().dialect.name
    lookup = bills.used_receipts(typed, task_id, dialect) if typed else ()
    row, _instance, bill, held = _take(uow, actor, task_id, now, confirms, lookup)
    instance_id, task_name, key = row.instance_id, row.task_name, row.process_key
    try:  # the save checks the version the move loaded (see moving.Move.commit)
        with moving.move(ctx, uow, instance_id, now, today, defer=True) as m:
            used = _act(uow, actor, row, m, data, ctx.definitions.names(), bill, held)
        files.link_to_instance(uow, used, m.row.id, m.row.unit_id, m.later)
        if row.stuck:
            incidents.close_succeeded(uow.session, instance_id, task_name, actor, now, m.later)
        if m.renewed_members:  # in this transaction, before the COMMIT the save goes with
            timers.follow_renewed_memberships(ctx, uow, m.renewed_members, instance_id, now, today)
        uow.session.flush()
        view = {
            "id": m.row.id,
            "business_key": m.row.business_key,
            "status": m.row.status,
            "finished": m.row.finished,
            "open_tasks": [task_brief(t) for t in m.open_rows],
        }
        m.commit(uow)  # on PostgreSQL the save goes with the COMMIT: one round trip
    except StaleDataError as exc:
        raise Conflict("该业务表单已被其他人处理，请刷新后重试") from exc
    except EngineError as exc:  # the diagram failed: nothing kept, an incident recorded
        raise incidents.record(
            ctx, uow, actor, exc, key, None, instance_id, task_name, data
        ) from exc
    fill_task_ids(view["open_tasks"], m.open_rows)
    return view


def _confirming(ctx: Context) -> frozenset[str]:
    """The roles whose tasks confirm a form's bill in the current definitions (`bill`
    "confirm"), kept per generation of the definitions."""
    generation = ctx.definitions.generation
    found = ctx.memo.get("confirming_roles")
    if found is None or found[0] != generation:
        roles = frozenset(
            info.role
            for defn in ctx.definitions.current.values()
            for info in defn.user_tasks.values()
            if info.bill == "confirm"
        )
        found = ctx.memo["confirming_roles"] = (generation, roles)
    return found[1]


def _act(
    uow: UnitOfWork,
    actor: Actor,
    row: Taken,
    m: moving.Move,
    data: dict,
    names: dict,
    bill: bills.Read | None = None,
    used_receipts: list[tuple] = (),
) -> list[str]:
    """Check the form, apply its bill (`bill`: as read with the claim, if it was) and
    facts, complete the task; the files it uses."""
    inst_row, defn, inst, now, today = m.row, m.defn, m.inst, m.now, m.today
    info = defn.user_tasks[row.task_name]
    current = inst.data
    # checked as kept: mobiles as 11 digits, ID numbers and names cleaned (persons.normalize)
    data = normalized_mobiles(data, info.mobile_fields) if isinstance(data, dict) else data
    data = persons.normalize(data) if isinstance(data, dict) and "persons" in data else data
    payload = _form_input(info, defn, current, data)
    payload = bills.receipt_checked(payload, info.bill, info.fields, today, inst_row.submitted_at)
    bills.refuse_used(payload, info.bill, used_receipts)
    refuse_future_dates(payload, info.past_fields, info.fields, today)
    refuse_dates_before_birth(
        payload,
        info.birth_fields,
        info.fields,
        persons.birth_reader(today, persons.member_births(uow.session, actor)),
        root={**current, **payload},  # the application's person, when the form names none
    )
    persons.check_lines(uow.session, payload)
    persons.check_identity(payload, today)
    used = files.check_references(
        uow,
        actor,
        payload,
        info.file_fields,
        instance_id=inst_row.id,
        known=current,
        videos=info.video_fields,
        images=info.image_fields,
        videos_only=info.video_only_fields,
    )
    # a form sent whole again (the unit's pre-review) mostly lists the same persons
    persons_sent = "persons" in payload or "id_number" in payload
    lines_before = persons.lines_of(current) if persons_sent else None
    # a confirmed payment may renew memberships: before the facts the next rules read
    m.renewed_members = bills.on_complete(
        uow.session, inst_row, info.bill, payload, actor, now, today, defn.policy, m.later, bill
    )
    facts = {}
    if info.runs_rules:  # the persons' lock goes to the server with the facts' reads
        reads = Reads(uow.session)
        persons.lock(reads, {**current, **payload})
        # and the recipients of the move's messages, should it send any (a step that runs
        # rules mostly does: it returns the form, opens its bill, or approves it)
        m.recipients = queue_recipients(reads, inst_row.unit_id, inst_row.member_id)
        facts = facts_for(
            reads,
            defn,
            {**current, **payload},
            today,
            instance_id=inst_row.id,
            unit_id=inst_row.unit_id,
            names=names,
        )
    if payload.get("decision") == "return" and inst.depth() > RETURN_DEPTH:
        raise Conflict(  # before the engine could no longer find the form's next step
            "该表单已往复退回多次，流程记录接近上限，不能再退回；"
            "请审核通过，或由秘书处终止本表单后重新申请"
        )
    try:
        m.complete(row.engine_task_id, {**payload, **facts})
    except TaskNotReady as exc:
        raise Conflict("该任务已办结，请刷新待办列表") from exc
    persons.refuse_ineligible(inst.data, inst.facts)
    decision = payload.get("decision")
    m.record(
        audit.Step(
            actor,
            "return" if decision == "return" else "complete",
            task=row,
            decision=decision,
            remark=payload.get("remark"),
        )
    )
    if persons_sent and persons.lines_of(inst.data) != lines_before:
        persons.sync(uow.session, inst_row, inst.data)
    return used
