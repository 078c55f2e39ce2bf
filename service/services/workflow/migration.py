"""Migration plans: move running instances of a process from one version to another.

A plan names a process and two of its versions (numbers, as `GET /processes/{key}/versions`
lists them). A dry run says, for every running instance on the first version, whether it
can move and why not: each task it waits at (and each step it took) must exist in the
second version, of the same kind, and its data must satisfy the second version's form of
the task it waits at (`_form_reasons`). Executing the plan moves the movable instances in
batches, one transaction each: the rows are locked as a move locks them (the version
counter, and FOR UPDATE SKIP LOCKED on PostgreSQL so a migration never waits on a person
completing a task, and a person is never blocked for long by a migration); one that is
being moved just then is taken again after the other batches. Each moved instance gets
an audit record (迁移至版本 N, and who). The engine part is `engine.migrate_state`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import delete, insert, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import (
    AuditRecord,
    DefinitionVersion,
    ProcessInstance,
    UserTask,
    WaitingEvent,
)
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound
from service.engine import (
    Definition,
    Instance,
    Migration,
    Obstacle,
    UserTaskInfo,
    migrate_state,
)
from service.services.workflow.context import Context
from service.services.workflow.forms import validate_form
from service.services.workflow.prefill import FRESH
from service.services.workflow.scope import may_migrate

BATCH = 200
ROUNDS = 5  # passes over instances that were being moved by someone else meanwhile
BUSY = "该表单正在被办理，本次未迁移，请稍后再次执行迁移"


@dataclass(frozen=True)
class _Plan:
    key: str
    source_id: int
    target_id: int
    source_number: int
    target_number: int
    source: Definition
    target: Definition
    task_map: dict[str, str] = field(default_factory=dict)  # old user task -> new one


def _operator(actor: Actor) -> None:
    if not may_migrate(actor):
        raise NotFound("没有该功能")


def _version_id(uow: UnitOfWork, key: str, number: int, field: str) -> int:
    found = uow.session.scalar(
        select(DefinitionVersion.id).where(
            DefinitionVersion.process_key == key, DefinitionVersion.number == number
        )
    )
    if found is None:
        raise FormInvalid({field: f"业务流程 {key} 没有版本 {number}"})
    return found


def _plan(
    ctx: Context,
    uow: UnitOfWork,
    key: str,
    source: int,
    target: int,
    task_map: dict[str, str] | None = None,
) -> _Plan:
    if key not in ctx.definitions.current:
        raise NotFound(f"没有名为 {key} 的业务流程")
    if source == target:
        raise FormInvalid({"to_version": "目标版本与原版本相同，无需迁移"})
    source_id = _version_id(uow, key, source, "from_version")
    target_id = _version_id(uow, key, target, "to_version")
    version = ctx.definitions.version
    old, new = version(uow.session, source_id), version(uow.session, target_id)
    task_map = _checked_map(task_map or {}, old, new, source, target)
    return _Plan(key, source_id, target_id, source, target, old, new, task_map)


def _checked_map(
    task_map: dict, old: Definition, new: Definition, source: int, target: int
) -> dict[str, str]:
    """A plan's task mapping: each a user task of the source version that the target lacks,
    onto a user task of the target in the same lane (one task each). 422 naming it else."""
    if not isinstance(task_map, dict) or len(task_map) > 50:
        raise FormInvalid({"task_map": "任务映射应为“原任务: 新任务”的对象（至多50项）"})
    problems = []
    for a, b in task_map.items():
        if not isinstance(a, str) or not isinstance(b, str):
            problems.append("任务映射的原任务与新任务都应为任务标识（文字）")
        elif a not in old.user_tasks:
            problems.append(f"版本{source}没有用户任务 {a}")
        elif b not in new.user_tasks:
            problems.append(f"版本{target}没有用户任务 {b}")
        elif a in new.user_tasks:
            problems.append(f"任务 {a} 在版本{target}中仍存在，无需映射")
        elif old.user_tasks[a].lane != new.user_tasks[b].lane:
            problems.append(
                f"任务「{old.user_tasks[a].title}」（{a}）与「{new.user_tasks[b].title}」（{b}）"
                "不在同一泳道，不能映射"
            )
    if len(set(task_map.values())) != len(task_map):
        problems.append("任务映射中有两个原任务映射到同一个新任务")
    if problems:
        raise FormInvalid({"task_map": "；".join(problems)})
    return dict(task_map)


def _obstacle_reason(o: Obstacle, number: int) -> str:
    where = f"「{o.title}」（{o.task}）"
    if o.problem == "missing":
        step = "等待中的任务" if o.waiting else "已办理的步骤"
        return f"{step}{where}在版本{number}中不存在"
    if o.problem == "kind":
        return f"任务{where}在版本{number}中类型不同（{o.detail}）"
    if o.problem == "process":
        return f"所在的子流程{where}在版本{number}中不存在"
    return f"流程状态无法在版本{number}上重建：{o.detail}"


def _form_reasons(target: Definition, inst: Instance, number: int) -> list[str]:
    """What the instance's data lacks for version `number`'s form of each task it waits at:
    a value it has that the form refuses, or a read-only field the form requires and the
    data does not have (no one could fill it in). Fields the person fills in now — the
    review's decision and remark, a field still empty — are not the data's to satisfy."""
    reasons = []
    for task in inst.ready_tasks():
        info, validator = target.user_tasks.get(task.name), target.validators.get(task.name)
        if info is None or validator is None:
            continue
        props = info.fields
        shown = {k: task.data[k] for k in props if task.data.get(k) is not None and k not in FRESH}
        try:
            validate_form(validator, shown, target.registry, props)
        except FormInvalid as exc:
            for path, message in (exc.errors or {}).items():
                root = path.split(".")[0]
                where = f"任务「{info.title}」在版本{number}的表单中"
                if root in shown:
                    reasons.append(f"{where}：{message}")
                elif (props.get(root) or {}).get("readOnly"):
                    title = props[root].get("title", root)
                    reasons.append(f"{where}「{title}」为必填项，表单数据中没有该项")
    return reasons


def _step_title(defn: Definition, name: str) -> str:
    info = defn.user_tasks.get(name)
    return info.title if info is not None else name


def _assess(plan: _Plan, row: ProcessInstance, now) -> tuple[Migration | None, dict]:
    """The instance rebuilt on the target version (None: it cannot move), and its item."""
    moved = migrate_state(plan.source, plan.target, row.state, now, plan.task_map)
    reasons = [_obstacle_reason(o, plan.target_number) for o in moved.obstacles]
    if moved.instance is not None:
        reasons += _form_reasons(plan.target, moved.instance, plan.target_number)
    item = {
        "id": row.id,
        "business_key": row.business_key,
        "status": row.status,
        "waiting": moved.waiting,
        # the steps' names, as the version the form runs on names them
        "waiting_titles": [_step_title(plan.source, name) for name in moved.waiting],
        "movable": not reasons,
        "reasons": reasons,
        "migrated": False,
    }
    return (moved if not reasons else None), item


def _changed_tasks(plan: _Plan) -> dict[str, UserTaskInfo]:
    """The user tasks whose queue fields (title, lane, role, status) differ on the target."""
    fields = ("title", "lane", "role", "status")
    old, new = plan.source.user_tasks, plan.target.user_tasks
    return {
        name: new[name]
        for name, info in old.items()
        if name in new and any(getattr(info, f) != getattr(new[name], f) for f in fields)
    }


def _apply(uow: UnitOfWork, actor: Actor, plan: _Plan, moves: list, now) -> None:
    """Put the rebuilt instances on the target version, mirrored as every move mirrors
    them, in a few statements for the whole batch: the rows (each UPDATE checks and bumps
    the version counter), an audit record each, their waiting timers and messages, and
    the queue rows whose title, lane or status the target version changed. Nothing ran,
    so the same tasks wait with the same ids: no queue row opens or closes."""
    session = uow.session
    records, waits = [], []
    for row, moved in moves:
        before = row.status
        inst = moved.instance
        row.state, row.status, row.updated_at = moved.state, inst.status, now
        row.definition_version_id = plan.target_id
        records.append(
            {
                "instance_id": row.id,
                "actor_id": actor.id,
                "actor_name": actor.name,
                "action": "migrate",
                "remark": f"迁移至版本 {plan.target_number}",
                "status_before": before,
                "status_after": row.status,
                "detail": {
                    "from_version": plan.source_number,
                    "to_version": plan.target_number,
                    **({"task_map": plan.task_map} if plan.task_map else {}),
                },
                "at": now,
            }
        )
        waits += [(row, ev) for ev in inst.waiting_events()]
    session.flush()
    if records:
        session.execute(insert(AuditRecord), records)
    _mirror_waits(session, {row.id for row, _ in waits}, waits, now)
    ids = [row.id for row, _ in moves]
    for name, new_name in plan.task_map.items():  # a mapped task: its queue rows renamed
        info = plan.target.user_tasks[new_name]
        session.execute(
            update(UserTask)
            .where(
                UserTask.instance_id.in_(ids),
                UserTask.state == "open",
                UserTask.task_name == name,
            )
            .values(task_name=new_name, title=info.title, lane=info.lane, status_label=info.status)
        )
    for name, info in _changed_tasks(plan).items():
        values = {"title": info.title, "lane": info.lane, "status_label": info.status}
        if info.lane != plan.source.user_tasks[name].lane:  # another lane: that role's pool
            values.update(role=info.role, claimed_by=None, claimed_at=None)
        session.execute(
            update(UserTask)
            .where(
                UserTask.instance_id.in_(ids),
                UserTask.state == "open",
                UserTask.task_name == name,
            )
            .values(**values)
        )


def _mirror_waits(session, ids: set[int], waits: list, now) -> None:
    """The moved instances' waiting rows, replaced by what they wait for on the target."""
    if not ids:
        return
    session.execute(delete(WaitingEvent).where(WaitingEvent.instance_id.in_(ids)))
    rows = []
    for row, ev in waits:
        try:
            due = datetime.fromisoformat(ev["due"]).astimezone(UTC).replace(tzinfo=None)
        except (TypeError, ValueError):
            due = None
        rows.append(
            {
                "instance_id": row.id,
                "kind": ev["kind"],
                "name": ev["name"],
                "due_at": due,
                "correlation_key": ev.get("correlation") or row.subject_id_number,
                "created_at": now,
            }
        )
    session.execute(insert(WaitingEvent), rows)


def _batch(ctx, uow, actor, plan: _Plan, ids: list[int], items: dict, lock_tasks: bool):
    """Move what is movable of `ids` in one transaction; the ids someone else held."""
    session, now = uow.session, ctx.now()
    rows = list(
        session.scalars(
            select(ProcessInstance)
            .where(
                ProcessInstance.id.in_(ids),
                ProcessInstance.definition_version_id == plan.source_id,
                ProcessInstance.finished.is_(False),
            )
            .order_by(ProcessInstance.id)
            .with_for_update(skip_locked=True)
            .execution_options(populate_existing=True)
        )
    )
    busy = set(ids) - {r.id for r in rows}
    if busy:  # held by a move just now, or no longer on the source version: which?
        still = session.scalars(
            select(ProcessInstance.id).where(
                ProcessInstance.id.in_(busy),
                ProcessInstance.definition_version_id == plan.source_id,
                ProcessInstance.finished.is_(False),
            )
        )
        busy = set(still)
        for gone in set(ids) - busy - {r.id for r in rows}:
            items.pop(gone, None)  # finished or moved meanwhile: not this plan's any more
    if lock_tasks and rows:  # the queue rows change too: a task being completed is busy
        open_tasks = {
            t.id: t.instance_id
            for t in session.execute(
                select(UserTask.id, UserTask.instance_id).where(
                    UserTask.instance_id.in_([r.id for r in rows]), UserTask.state == "open"
                )
            )
        }
        locked = set(
            session.scalars(
                select(UserTask.id)
                .where(UserTask.id.in_(list(open_tasks)))
                .with_for_update(skip_locked=True)
            )
        )
        held = {open_tasks[t] for t in set(open_tasks) - locked}
        busy |= held
        rows = [r for r in rows if r.id not in held]
    moves = []
    for row in rows:
        moved, item = _assess(plan, row, now)
        items[row.id] = item
        if moved is not None:
            moves.append((row, moved))
            item["migrated"] = True
    _apply(uow, actor, plan, moves, now)
    for row, _ in moves:
        items[row.id]["status"] = row.status  # as it reads on the target version
    uow.session.flush()
    return busy


def _execute(ctx, uow, actor, plan: _Plan, ids: list[int], items: dict, batch_size: int):
    lock_tasks = bool(_changed_tasks(plan) or plan.task_map)
    pending, rounds = ids, 0
    while pending and rounds < ROUNDS:
        deferred: list[int] = []
        for start in range(0, len(pending), batch_size):
            chunk = pending[start : start + batch_size]
            for attempt in range(3):
                try:
                    deferred += sorted(_batch(ctx, uow, actor, plan, chunk, items, lock_tasks))
                    uow.commit()
                    break
                except (StaleDataError, OperationalError):  # SQLite: moved since it was read
                    uow.rollback()
                    for i in chunk:
                        if i in items:
                            items[i]["migrated"] = False
                    if attempt == 2:
                        deferred += chunk
        pending, rounds = deferred, rounds + 1
        if pending:
            time.sleep(0.05 * rounds)
    for i in pending:
        if i in items:
            items[i].update(migrated=False, reasons=[*items[i]["reasons"], BUSY])
    unseen = [i for i in pending if i not in items]  # held at every pass: never read
    for i, business_key, status in uow.session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key, ProcessInstance.status).where(
            ProcessInstance.id.in_(unseen)
        )
    ):
        items[i] = {
            "id": i,
            "business_key": business_key,
            "status": status,
            "waiting": [],
            "waiting_titles": [],
            "movable": False,
            "reasons": [BUSY],
            "migrated": False,
        }
    uow.rollback()


def _running_ids(uow: UnitOfWork, version_id: int) -> list[int]:
    return list(
        uow.session.scalars(
            select(ProcessInstance.id)
            .where(
                ProcessInstance.definition_version_id == version_id,
                ProcessInstance.finished.is_(False),
            )
            .order_by(ProcessInstance.id)
        )
    )


def _dry_run(ctx: Context, uow: UnitOfWork, plan: _Plan, ids: list[int], items: dict) -> None:
    now = ctx.now()
    for start in range(0, len(ids), BATCH):
        rows = uow.session.scalars(
            select(ProcessInstance)
            .where(ProcessInstance.id.in_(ids[start : start + BATCH]))
            .order_by(ProcessInstance.id)
        )
        for row in rows:
            items[row.id] = _assess(plan, row, now)[1]
            uow.session.expunge(row)  # a thousand states need not stay in memory


def run_plan(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    key: str,
    from_version: int,
    to_version: int,
    dry_run: bool = True,
    batch_size: int = BATCH,
    task_map: dict[str, str] | None = None,
) -> dict:
    """A migration plan from version `from_version` to `to_version` of `key`: per running
    instance whether it can move and why not; unless `dry_run`, the movable ones moved in
    batches of `batch_size`, each batch one transaction."""
    _operator(actor)
    plan = _plan(ctx, uow, key, from_version, to_version, task_map)
    ids = _running_ids(uow, plan.source_id)
    items: dict[int, dict] = {}
    started = time.perf_counter()
    if dry_run:
        _dry_run(ctx, uow, plan, ids, items)
        uow.rollback()
    else:
        _execute(ctx, uow, actor, plan, ids, items, batch_size)
    listed = [items[i] for i in sorted(items)]
    return {
        "process_key": key,
        "from_version": from_version,
        "to_version": to_version,
        "dry_run": dry_run,
        "total": len(listed),
        "movable": sum(1 for i in listed if i["movable"]),
        "not_movable": sum(1 for i in listed if not i["movable"]),
        "migrated": sum(1 for i in listed if i["migrated"]),
        "seconds": round(time.perf_counter() - started, 3),
        "items": listed,
    }


def migrate_instance(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    instance_id: int,
    to_version: int,
    dry_run: bool = False,
    task_map: dict[str, str] | None = None,
) -> dict:
    """Move one running instance to version `to_version` of its process (one transaction);
    409 with the reasons when it cannot move."""
    _operator(actor)
    row = uow.session.get(ProcessInstance, instance_id)
    if row is None:
        raise NotFound("业务表单不存在")
    if row.finished:
        raise Conflict(f"该表单已结束（{row.status}），无需迁移")
    source = ctx.definitions.version_number(uow.session, row.definition_version_id)
    plan = _plan(ctx, uow, row.process_key, source, to_version, task_map)
    versions = {"from_version": source, "to_version": to_version, "dry_run": dry_run}
    if dry_run:
        item = _assess(plan, row, ctx.now())[1]
        uow.rollback()
        return {**item, **versions}
    items: dict[int, dict] = {}
    try:  # locked as a plan's batch locks it: never waiting on a person's move
        changed = bool(_changed_tasks(plan) or plan.task_map)
        busy = _batch(ctx, uow, actor, plan, [row.id], items, changed)
    except StaleDataError as exc:
        raise Conflict("该业务表单已被其他人处理，请刷新后重试") from exc
    item = items.get(instance_id)
    if busy or item is None:
        raise Conflict(BUSY if busy else "该表单刚刚已结束或已迁移，请刷新后重试")
    if not item["migrated"]:
        raise Conflict(
            f"该表单不能迁移至版本 {to_version}：" + "；".join(item["reasons"]),
            {"reasons": item["reasons"]},
        )
    uow.commit()
    return {**item, **versions}
