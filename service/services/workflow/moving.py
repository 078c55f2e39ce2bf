"""One way to move an instance: load it, let a use case act on the engine, save the rest.

    with moving.move(ctx, uow, instance_id, now, today) as m:
        m.complete(task.engine_task_id, data)  # or m.inst.deliver_messages(…), fire_timers(…)
        m.record(audit.Step(actor, "complete", task=task))
    m.open_rows  # the instance's open task rows
    m.commit(uow)  # or uow.commit(): the same, but for a save kept for the COMMIT (`defer`)

The move loads the row (the optimistic lock is its version counter), its definition
version and engine state, and notes what was open and waiting. When the block ends without
an exception it saves: the row's state, status and end; a finished instance's records
change and bill; the audit records; the work queue; the waiting timers and messages; bills
to pay; learning tasks. The audit records and new tasks are Core statements; on PostgreSQL
one statement inserts them and updates the row where its version is still the one loaded
(kept for the COMMIT with `defer`, see `Move.commit`, together with the writes after it
that nothing reads again: `Move.later`). Elsewhere the row's UPDATE at the next flush
checks the version. Either way StaleDataError means someone else moved it
meanwhile, and the request must roll back. The save does not commit.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, inspect, literal_column, select, update
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.exc import StaleDataError

from service.db.models import ProcessInstance, UserTask, WaitingEvent
from service.db.uow import Later, UnitOfWork, transient, write
from service.engine import Definition, Instance
from service.services.workflow import audit, bills, learning_waits
from service.services.workflow.context import Context
from service.services.workflow.effects import apply_effects, listed_levels
from service.services.workflow.messages import (
    Messages,
    Recipients,
    after_move,
    load_templates,
    tell,
)


def messages_of(ctx: Context) -> Messages:
    """The app's 业务消息 (templates read once from rules/messages.json)."""
    found = ctx.memo.get("messages")
    if found is None:
        config = ctx.config
        found = Messages(
            load_templates(config.rules_dir),
            email=bool(config.smtp_url),
            sms=bool(config.sms_url),
        )
        ctx.memo["messages"] = found
    return found


@dataclass
class Move:
    """An instance being moved: its row, definition and engine state, and what came before."""

    session: Session
    row: ProcessInstance
    defn: Definition
    inst: Instance
    now: datetime
    today: date
    before: set[str] = field(default_factory=set)  # engine ids of the tasks open before
    had_waiting: bool = False  # whether waiting rows may exist (to replace them)
    status_before: str | None = None
    completed: str | None = None  # the engine id of the task this move completed
    open_rows: list[UserTask] = field(default_factory=list)
    messages: Messages | None = None  # 业务消息 to write (None: none, e.g. a bare engine test)
    remark: str | None = None  # the remark of the last recorded step (a return's reason)
    records: list[dict] = field(default_factory=list)  # audit records the save will insert
    saved: bool = False
    defer: bool = False  # PostgreSQL: keep the save's statement for the COMMIT (`commit`)
    pending: Pending | None = None  # the statement kept
    later: Later | None = None  # with `defer` on PostgreSQL: the writes kept for the COMMIT
    recipients: Recipients | None = None  # of the messages, read ahead with other reads
    # PostgreSQL, a new row with `defer`: not inserted yet, its INSERT goes first with the
    # COMMIT (its id drawn from its sequence beforehand)
    insert_row: bool = False
    # the members whose 普通会籍 the move's confirmed bill renewed: their open learning
    # elsewhere follows it (timers.follow_renewed_memberships)
    renewed_members: list[int] = field(default_factory=list)

    def complete(self, engine_task_id: str, data: dict[str, Any]) -> None:
        """Complete a ready task and run the engine on (TaskNotReady if it is not ready)."""
        self.inst.complete(engine_task_id, data)
        self.completed = engine_task_id

    def record(self, step: audit.Step) -> None:
        """Append a step to the audit trail, with the status before the move and now: with
        the save's own statements, or at once when the move is saved already."""
        record = audit.values(step, self.now, self.row, (self.status_before, self.inst.status))
        if self.saved:
            audit.insert(self.session, [record])
        else:
            self.records.append(record)
        if step.remark:
            self.remark = step.remark

    def save(self, dumped: str | None = None) -> list[UserTask]:
        """Persist the moved instance and mirror every consequence; its open task rows.

        `dumped`: the engine state's text, when the caller has just made it (`inst.dumps()`)
        and nothing has touched the engine since: it is saved instead of made again."""
        session, row, inst, defn, now = self.session, self.row, self.inst, self.defn, self.now
        row.state = dumped if dumped is not None else inst.dumps()
        row.status = inst.status
        row.finished, row.end_event, row.updated_at = inst.finished, inst.end_event, now
        row.member_levels = listed_levels(inst.data)  # the join list's 申请普通/专业会员
        # the steps recorded, then the engine's own, then a finish's effects' records: with
        # the save when it is kept for the COMMIT (one statement on PostgreSQL), else a
        # finish's at once, before its effects write theirs
        records = self.records + audit.system_steps(row, inst, now)
        self.records, self.saved = [], True
        dialect = session.get_bind().dialect
        kept = self.defer and dialect.name == "postgresql"
        if kept and self.later is None:
            self.later = Later(dialect)
        notes = []  # the messages a finish's effects ask for, after the move's own
        if inst.finished:
            if not kept:
                audit.insert(session, records)
                records = []
            row.finished_at = now
            change = apply_effects(
                session,
                row,
                inst.end_event,
                inst.data,
                defn,
                self.today,
                now,
                self.later,
                records if kept else None,
            )
            if change is not None and change.recipients is not None:
                self.recipients = change.recipients  # read by the effect, for the form as it is
            notes = change.notes if change is not None else []
            if defn.end_bills.get(inst.end_event or "") == "void":
                bills.void_bill(session, row, now)
        self.open_rows, self.pending = _sync_tasks(
            session, row, inst, defn, now, self.before, self.completed, records, self.defer
        )
        for task in self.open_rows:
            info = defn.user_tasks.get(task.task_name)
            if info is not None and info.bill == "pay" and task.engine_task_id not in self.before:
                bills.open_bill(session, row, defn, inst.data, now, self.later)
        events = _sync_waiting(session, row, inst, self.had_waiting, now, self.later)
        # the move's own messages first (缴费已确认, 审批完成), then what its effects did to each
        # person (会籍终止), then what it opened (学习已开通): a list of messages, newest first,
        # reads them in the order they happened
        after_move(
            self.messages,
            session,
            row,
            defn.name,
            inst.data,
            self.status_before,
            inst.status,
            self.remark,
            now,
            self.later,
            self.recipients,
        )
        tell(self.messages, session, notes, now, self.later)
        learning_waits.open_learning(
            session, row, events, now, self.messages, defn.name, self.later
        )
        return self.open_rows

    def commit(self, uow: UnitOfWork) -> None:
        """Commit the request. A save kept for the commit (`defer`) is sent with the COMMIT,
        and so are the writes kept (`later`: the waiting rows, the messages, the files
        linked, the bill opened, the memberships granted): in one round trip when nothing
        else waits to be flushed. The new tasks get
        their ids. StaleDataError, nothing kept, when the version changed meanwhile."""
        pending, self.pending = self.pending, None
        later, self.later = self.later, None
        statements = [_row_insert(uow.session, self.row)] if self.insert_row else []
        first = len(statements)  # the save's statement, whose rows give the tasks' ids
        statements += [(pending.sql, pending.params)] if pending is not None else []
        statements += later.statements if later is not None else []
        if not statements:
            uow.commit()
            return
        try:
            found = uow.commit_with(statements, returning=first if pending is not None else 0)
        except DBAPIError as exc:
            raise _stale(exc) from exc
        if pending is not None:
            pending.assign_ids(found)


_ROW = ProcessInstance.__table__
# a new instance row, every column bound by its name (`Move.insert_row`)
_INSERT_ROW = _ROW.insert().values({c.key: bindparam(c.key, type_=c.type) for c in _ROW.c})


def _row_insert(session: Session, row: ProcessInstance) -> tuple[str, Any]:
    """The INSERT of a row not added to the session, with its values as they are now (a
    column's own default where the row has none), compiled as `Later` compiles."""
    values = {}
    for column in _ROW.c:
        value = getattr(row, column.key)
        if value is None and column.default is not None and column.default.is_scalar:
            value = column.default.arg
        values[column.key] = value
    kept = Later(session.get_bind().dialect)
    kept.add(_INSERT_ROW, values)
    return kept.statements[0]


def row_conflict(exc: DBAPIError) -> bool:
    """Whether the error is a unique key of the instance rows refusing a new row (the same
    subject's open form, the same idempotency key), as a row inserted by `Move.commit`
    raises it."""
    if not isinstance(exc, IntegrityError) or getattr(exc.orig, "sqlstate", None) != "23505":
        return False  # not a unique violation
    return getattr(getattr(exc.orig, "diag", None), "table_name", None) == _ROW.name


def begin(
    session: Session,
    row: ProcessInstance,
    inst: Instance,
    defn: Definition,
    now: datetime,
    today: date,
    messages: Messages | None = None,
    recipients: Recipients | None = None,
) -> Move:
    """The first move of a just-started instance (its row added): nothing was open before;
    `recipients`: of its messages, read ahead."""
    return Move(session, row, defn, inst, now, today, messages=messages, recipients=recipients)


def load(
    ctx: Context,
    uow: UnitOfWork,
    instance_id: int,
    now: datetime | None = None,
    today: date | None = None,
    has_waiting_rows: bool = False,
    defer: bool = False,
) -> Move:
    """An instance to move, with the snapshot of what is open and waiting now; `defer`: see
    `Move.commit`."""
    now = now if now is not None else ctx.now()
    today = today if today is not None else ctx.today()
    row = uow.session.get(ProcessInstance, instance_id)
    defn = ctx.definitions.version(uow.session, row.definition_version_id)
    inst = Instance.load(defn, row.state, now)
    dialect = uow.session.get_bind().dialect
    return Move(
        uow.session,
        row,
        defn,
        inst,
        now,
        today,
        before={t.id for t in inst.ready_tasks()},
        had_waiting=has_waiting_rows or bool(inst.waiting_events()),
        status_before=row.status,
        messages=messages_of(ctx),
        defer=defer,
        # kept for the COMMIT from the start: the use case's own writes may join them
        later=Later(dialect) if defer and dialect.name == "postgresql" else None,
    )


@contextmanager
def move(
    ctx: Context,
    uow: UnitOfWork,
    instance_id: int,
    now: datetime | None = None,
    today: date | None = None,
    has_waiting_rows: bool = False,
    defer: bool = False,
) -> Iterator[Move]:
    """Load an instance, let the block act on it, then save it (not when the block raised)."""
    moving = load(ctx, uow, instance_id, now, today, has_waiting_rows, defer)
    yield moving
    moving.save()


def _sync_tasks(
    session: Session,
    row: ProcessInstance,
    inst: Instance,
    defn: Definition,
    now: datetime,
    before: set[str],
    completed: str | None,
    records: list[dict],
    defer: bool = False,
) -> tuple[list[UserTask], Pending | None]:
    """Mirror the engine's ready user tasks into the queue; the instance's open rows.

    `before` holds the engine ids that were ready before the engine moved (and so have
    open rows); only the difference touches the database. `records`: audit records to
    insert with the new tasks; `defer`: see `_insert_tasks`, whose kept statement is
    returned with the rows."""
    ready = {t.id: t for t in inst.ready_tasks()}
    gone = before - set(ready) - {completed}
    if gone:
        session.execute(
            update(_TASKS)
            .where(
                _TASKS.c.instance_id == row.id,
                _TASKS.c.engine_task_id.in_(gone),
                _TASKS.c.state == "open",
            )
            .values(state="cancelled")
        )
    still_open = (before - {completed}) & set(ready)
    result = []
    if still_open:
        with session.no_autoflush:  # the row's changes are the save's (`_insert_tasks`)
            result = list(
                session.scalars(
                    select(UserTask)
                    .where(UserTask.instance_id == row.id, UserTask.engine_task_id.in_(still_open))
                    .order_by(UserTask.id)
                )
            )
    new = []
    for task_id, task in ready.items():
        if task_id in before:
            continue
        info = defn.user_tasks[task.name]
        new.append(
            {
                "instance_id": row.id,
                "engine_task_id": task_id,
                "process_key": row.process_key,
                "task_name": task.name,
                "title": info.title,
                "lane": info.lane,
                "role": info.role,
                "unit_id": row.unit_id,
                "agency_id": row.agency_id,
                "member_id": row.member_id if info.role == "member" else None,
                "submitted_at": row.submitted_at,
                "status_label": info.status,
                "state": "open",
                "claimed_by": None,
                "claimed_at": None,
                "created_at": now,
            }
        )
    added, pending = _insert_tasks(session, row, new, records, defer)
    return result + added, pending


_TASKS = UserTask.__table__
# `_insert_tasks`'s PostgreSQL statement per shape (task columns, tasks, records, changed),
# compiled once: SQLAlchemy does not cache a statement with a data-modifying CTE, and
# compiled it anew each time
_STATEMENTS: dict[tuple, str] = {}


def _insert_tasks(
    session: Session, row: ProcessInstance, new: list[dict], records: list[dict], defer: bool
) -> tuple[list[UserTask], Pending | None]:
    """Insert the new tasks' rows and the move's audit records as Core statements (the
    ORM's unit of work cost more Python than the statements); the new rows, as (transient)
    UserTask objects in the order given, and the statement left for the commit, if any.

    On PostgreSQL one statement also saves the row's changes, its version checked as the
    ORM checks it (StaleDataError when someone else moved it meanwhile); with `defer` it
    is kept for the commit to send with the COMMIT (`Move.commit`), the tasks' ids set
    then. Elsewhere the version is checked at the ORM's flush.

    A kept move that opens no task (it finished, or waits for a timer or a message) keeps
    its save too: the row's changes and the records, without the tasks' INSERT."""
    connection = session.connection()
    postgres = connection.dialect.name == "postgresql"
    if not new and not (postgres and defer):
        audit.insert(session, records)
        return [], None
    if not postgres:
        audit.insert(session, records)
        found = connection.execute(_INSERT_TASKS, new).all()
        return _task_objects(new, dict(found)), None
    changes = _changes(row)
    if not (new or changes or records):
        return [], None
    params = {f"t{i}_{k}": v for i, task in enumerate(new) for k, v in task.items()}
    for i, record in enumerate(records):
        params.update({f"a{i}_{k}": v for k, v in record.items()})
        params[f"a{i}_detail"] = json.dumps(record["detail"])  # the JSON column's text
    if changes:
        params.update({f"row_{k}": v for k, v in changes.items()})
        params.update(row_id=row.id, row_version=row.version, row_new_version=row.version + 1)
        for key, value in changes.items():  # the statement saves them: nothing left to flush
            set_committed_value(row, key, value)
        set_committed_value(row, "version", row.version + 1)
        _settle(row)
    columns = tuple(new[0]) if new else ()
    pending = Pending(
        _statement(connection.dialect, columns, len(new), len(records), tuple(changes)),
        params,
        _task_objects(new, {}),
    )
    if defer:
        return pending.tasks, pending
    try:
        pending.assign_ids(connection.exec_driver_sql(pending.sql, params).all())
    except DBAPIError as exc:
        raise _stale(exc) from exc
    return pending.tasks, None


@dataclass
class Pending:
    """A move's PostgreSQL save, compiled, with its values: the tasks it inserts get their
    ids from the rows it returns."""

    sql: str
    params: dict[str, Any]
    tasks: list[UserTask]

    def assign_ids(self, found: list) -> None:
        if not self.tasks:  # a save that opened no task returns its version check alone
            return
        ids = {engine_id: task_id for engine_id, task_id, *_ in found}
        for task in self.tasks:
            task.id = ids[task.engine_task_id]


STALE = "stale process_instances.version"  # the save's error when the version changed


def _stale(exc: DBAPIError) -> Exception:
    """StaleDataError for the save's version check (as the ORM raises it), else `exc`."""
    if STALE in str(exc.orig):
        return StaleDataError("process_instances: the row's version changed meanwhile")
    return exc


def _task_objects(new: list[dict], ids: dict[str, int]) -> list[UserTask]:
    return [
        transient(UserTask, {"id": ids.get(values["engine_task_id"]), **values}) for values in new
    ]


_ROW_COLUMNS = frozenset(c.name for c in _ROW.c) - {"id", "version"}


def _changes(row: ProcessInstance) -> dict[str, Any]:
    """The row's columns changed since it was loaded (what the ORM's flush would write)."""
    state = inspect(row)
    if state.key is None:
        return {}  # not saved yet
    return {
        key: state.dict[key]
        for key, before in state.committed_state.items()
        if key in _ROW_COLUMNS and state.dict.get(key) != before
    }


def _settle(row: ProcessInstance) -> None:
    """Take the row off the session's dirty list when its statement saved all it changed.

    `set_committed_value` records a saved value, but leaves the row marked as modified,
    with the attributes that were set to the value they already had (a status that did not
    change) still in its committed state. The next flush (the use case's, else the
    COMMIT's) would then run the ORM's whole unit of work on it to find nothing to write
    (3.7 % of a lifecycle's CPU in process, measured). SQLAlchemy has no public call for
    marking an object clean; `InstanceState._commit_all` is the one its own flush makes
    after writing a row. Should any attribute still differ from its saved value, the row
    stays dirty and the flush writes it as before (tests/integration/test_moving.py checks
    both)."""
    state = inspect(row)
    if state.session is None or any(
        state.dict.get(key, before) != before for key, before in state.committed_state.items()
    ):
        return
    state._commit_all(state.dict, state.session.identity_map)


_RETURNED = (_TASKS.c.engine_task_id, _TASKS.c.id)
_INSERT_TASKS = _TASKS.insert().returning(*_RETURNED)


def _statement(
    dialect: Dialect, columns: tuple[str, ...], tasks: int, records: int, changed: tuple[str, ...]
) -> str:
    """PostgreSQL's INSERT of `tasks` rows of user_tasks (their `columns`) RETURNING
    (engine id, id, the version check), with CTEs inserting `records` audit records and
    updating the `changed` columns of the instance row where its version is still the one
    loaded (the check fails the statement when no row was updated); values named
    t<i>_<column>, a<i>_<column>, row_<column>, row_id, row_version, row_new_version.
    Without tasks, a SELECT of the version check alone, the CTEs doing the writing."""
    shape = (columns, tasks, records, changed)
    found = _STATEMENTS.get(shape)
    if found is None:
        table = audit.INSERT.table
        task_rows = [
            {c: bindparam(f"t{i}_{c}", type_=_TASKS.c[c].type) for c in columns}
            for i in range(tasks)
        ]
        statement = _TASKS.insert().values(task_rows) if tasks else select()
        moved = None
        if changed:
            moved = (
                update(_ROW)
                .where(
                    _ROW.c.id == bindparam("row_id", type_=_ROW.c.id.type),
                    _ROW.c.version == bindparam("row_version", type_=_ROW.c.version.type),
                )
                .values(
                    {
                        **{c: bindparam(f"row_{c}", type_=_ROW.c[c].type) for c in changed},
                        "version": bindparam("row_new_version", type_=_ROW.c.version.type),
                    }
                )
                .returning(_ROW.c.id)
                .cte("move_row")
            )
            statement = statement.add_cte(moved)
        if records:
            record_rows = [
                {c: bindparam(f"a{i}_{c}", type_=table.c[c].type) for c in audit.COLUMNS}
                for i in range(records)
            ]
            statement = statement.add_cte(audit.INSERT.values(record_rows).cte("move_audit"))
        # the version check: a changed version fails the statement (a cast error naming
        # it), so that no COMMIT sent with it can keep what it inserted
        updated = literal_column(
            "CAST(CASE (SELECT count(*) FROM move_row) WHEN 1 THEN '1' "
            f"ELSE '{STALE}' END AS INTEGER)"
            if moved is not None
            else "1"
        )
        statement = (
            statement.returning(*_RETURNED, updated) if tasks else statement.add_columns(updated)
        )
        found = str(statement.compile(dialect=dialect))
        _STATEMENTS[shape] = found
    return found


_WAITING = WaitingEvent.__table__
_DELETE_WAITING = _WAITING.delete().where(
    _WAITING.c.instance_id == bindparam("instance_id", type_=_WAITING.c.instance_id.type)
)
_WAITING_COLUMNS = ("instance_id", "kind", "name", "correlation_key", "due_at", "created_at")
_INSERT_WAITING = _WAITING.insert().values(
    {c: bindparam(c, type_=_WAITING.c[c].type) for c in _WAITING_COLUMNS}
)


def _sync_waiting(
    session: Session,
    row: ProcessInstance,
    inst: Instance,
    had_any: bool,
    now: datetime,
    later: Later | None = None,
) -> list[dict]:
    """Mirror the engine's pending timers and messages into indexed rows (written now, or
    kept in `later` for the COMMIT); the events."""
    events = inst.waiting_events()
    if not events and not had_any:
        return events
    write(session, _DELETE_WAITING, {"instance_id": row.id}, later)
    rows = []
    for ev in events:
        try:
            due = datetime.fromisoformat(ev["due"]).astimezone(UTC)
            due = due.replace(tzinfo=None)
        except (TypeError, ValueError):
            due = None
        rows.append(
            {
                "instance_id": row.id,
                "kind": ev["kind"],
                "name": ev["name"],
                "correlation_key": ev.get("correlation") or row.subject_id_number,
                "due_at": due,
                "created_at": now,
            }
        )
    if rows:
        write(session, _INSERT_WAITING, rows, later)
    return events
