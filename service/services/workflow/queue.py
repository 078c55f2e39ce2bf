"""The work queue's query: which tasks a list holds, searched, filtered, sorted and named.

`tasks.list_tasks` and `tasks.queue_counts` share it, so the 待办 counts always count
what the list shows. Who may see which task stays in `scope`.

Filters and sorts read only user_tasks (each task carries its instance's unit, agency and
submission time), so on PostgreSQL a queue is an index-only scan of one partial index;
the search looks numbers up by index and names within each listed form.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from datetime import date, datetime

from sqlalchemy import (
    Select,
    and_,
    case,
    exists,
    func,
    literal,
    or_,
    select,
    union_all,
)
from sqlalchemy.orm import Session, aliased

from service.db.models import (
    Account,
    Agency,
    Incident,
    InstancePerson,
    ProcessInstance,
    Unit,
    UserTask,
)
from service.db.search import LAST_FOUR, among_few, contains, last_four
from service.db.uow import plan_once
from service.domain.actor import Actor
from service.domain.errors import FormInvalid
from service.domain.validation import clean_code, clean_name
from service.services.workflow.context import Context, day_after, day_start
from service.services.workflow.instances import BRIEF_COLUMNS, task_brief
from service.services.workflow.paging import cursor_token, read_cursor, seek
from service.services.workflow.scope import manages_queue, sees_all_agencies, task_scope

SCOPES = ("available", "mine", "done", "claimed")
SORTS = ("waiting", "submitted", "submitted_asc", "completed")
MAX_PAGE_SIZE = 200  # as the API's PageArgs
# written into the SQL, not bound: the planners then match the partial indexes' WHERE
OPEN = literal("open", literal_execute=True)
COMPLETED = literal("completed", literal_execute=True)
_DIGIT = re.compile(r"[0-9]")
DONE_COUNTED = 10000  # a done list grows for years: its total counts this far
# a done list's name search counts its total form by form (an index probe each, about 2 µs
# at 100,000 forms) when the name matches at most this many listed persons (so at most as
# many forms); more, and it walks the caller's done tasks (about 0.2 µs each), as a search
# of any other list does, to the 10,001st match
DRIVEN_FORMS = 5000
# a done list's name-search page is read form by form (the caller's done tasks of each, an
# index look-up each, then sorted) when the name matches at most this many listed persons
# and no unit's name: walking the caller's done tasks in order stops at the page's 20th
# match, which for a rare name is never (80,000 tasks, 17 ms, at 100,000 forms; 10 persons
# looked up: 0.2 ms). More persons, and the walk stops soon (283 persons: 2 ms by forms)
DRIVEN_PAGE = 100


@dataclass(frozen=True)
class Filters:
    """What the caller asked the queue for (`check` says whether it may)."""

    scope: str = "available"
    key: str | None = None
    task_name: str | None = None
    q: str | None = None
    agency_id: int | None = None
    submitted_from: date | None = None
    submitted_to: date | None = None


def check(ctx: Context, session: Session, actor: Actor, f: Filters) -> None:
    """FormInvalid naming every filter that is wrong for this caller."""
    errors: dict[str, str] = {}
    if f.scope not in SCOPES:
        errors["scope"] = "须为 available、mine、done 或 claimed"
    elif f.scope == "claimed" and not manages_queue(actor):
        errors["scope"] = "只有秘书处管理员可以查看全部已认领的任务"
    processes = ctx.definitions.current
    if f.key and f.key not in processes:
        errors["key"] = f"没有名为 {f.key} 的业务类型"
    elif f.task_name:
        among = [processes[f.key]] if f.key else processes.values()
        if not any(f.task_name in defn.user_tasks for defn in among):
            errors["task_name"] = f"没有名为 {f.task_name} 的办理环节"
    if f.agency_id is not None:
        if not sees_all_agencies(actor):
            errors["agency_id"] = "当前账号只能查看本机构的任务，不能按机构筛选"
        elif session.get(Agency, f.agency_id) is None:
            errors["agency_id"] = "会员服务机构不存在"
    if f.submitted_from and f.submitted_to and f.submitted_from > f.submitted_to:
        errors["submitted_to"] = "提交日期止不能早于提交日期起"
    if errors:
        raise _invalid(errors)


def _invalid(errors: dict[str, str]) -> FormInvalid:
    return FormInvalid(errors, "筛选条件有误：" + "；".join(errors.values()))


def check_sort(scope: str, sort: str | None) -> str:
    """The order a list uses; done lists default to the newest completed first."""
    if sort is None:
        return "completed" if scope == "done" else "waiting"
    if sort not in SORTS:
        raise _invalid({"sort": "须为 waiting、submitted、submitted_asc 或 completed"})
    if sort == "completed" and scope != "done":
        raise _invalid({"sort": "只有已办列表可以按办结时间排序"})
    return sort


def _in_scope(actor: Actor, scope: str) -> list:
    """The conditions on user_tasks of one list: the caller's scope and the list's state."""
    if scope == "claimed":  # the secretariat's view of every held task, for release/reassign
        return [UserTask.state == OPEN, UserTask.claimed_by.is_not(None)]
    conditions = task_scope(actor)
    if scope == "done":
        return [*conditions, UserTask.completed_by == actor.id, UserTask.state == COMPLETED]
    conditions.append(UserTask.state == OPEN)
    if scope == "mine":
        return [*conditions, UserTask.claimed_by == actor.id]
    return [*conditions, or_(UserTask.claimed_by.is_(None), UserTask.claimed_by == actor.id)]


def named(q: str):
    """A name search's persons, as a CTE that one statement may read in two places (the
    page and its total): PostgreSQL then reads the persons once. None for a number search,
    which looks its few rows up by index."""
    if _DIGIT.search(clean_code(q)):
        return None
    found = select(InstancePerson.instance_id).where(contains(InstancePerson.name, clean_name(q)))
    return found.cte("named")


def _matches(q: str, persons=None):
    """One search box. With a digit it is a number: an ID number (whole, or its last four),
    a form number (whole), or part of a unit's name; without, a name: part of a listed
    person's or of the unit's.

    Numbers are looked up by index and the queue joined to what they found. A name's
    persons are read once by index into a set (PostgreSQL hashes the IN's subquery), and
    the caller's queue is walked in its order against it: the done list's covering index
    holds each task's instance, so its count never reads a task's row (a correlated EXISTS
    was planned on the narrower index and read 80,000 rows for a long done list's total).
    A form's subject is always one of its listed persons (persons.sync), so the persons
    hold every name and ID number. `persons`: the name's persons as `named` made them.
    """
    text, exact = q.strip(), clean_code(q)  # "４４０１ ０６…" is looked up as "440106…"
    units = _units(text)
    if _DIGIT.search(exact):
        numbers = [InstancePerson.id_number == exact]
        if LAST_FOUR.fullmatch(exact):
            numbers.append(last_four(InstancePerson.id_number) == exact)
        found = union_all(
            select(ProcessInstance.id).where(ProcessInstance.business_key == exact),
            select(InstancePerson.instance_id).where(or_(*numbers)),
            select(ProcessInstance.id).where(ProcessInstance.unit_id.in_(units)),
        )
        return UserTask.instance_id.in_(found)
    if persons is None:
        persons = select(InstancePerson.instance_id).where(
            contains(InstancePerson.name, clean_name(text))
        )
    else:
        persons = select(persons.c.instance_id)
    return or_(UserTask.unit_id.in_(units), UserTask.instance_id.in_(persons))


def _units(text: str) -> Select:
    """The units whose name holds the searched text."""
    return select(Unit.id).where(Unit.name.contains(text, autoescape=True))


def _counted_by_forms(actor: Actor, f: Filters, persons, walked):
    """A done list's name-search total: `walked` (the caller's done tasks walked against the
    persons' forms), or, when no unit's name holds the text and the name matches few persons,
    the caller's done tasks of each of those forms, counted by an index probe per form.

    A reviewer's done list grows for years (80,000 tasks for the association's at 100,000
    forms: 19 ms to walk); the forms a name lists grow with the name's answer (2,500 there:
    5 ms of probes). The databases evaluate only the CASE's branch taken."""
    forms = select(persons.c.instance_id).distinct().subquery("forms")
    each = (
        query(actor, replace(f, q=None), select(func.count()).select_from(UserTask))
        .where(UserTask.instance_id == forms.c.instance_id)
        .correlate(forms)
        .scalar_subquery()
    )
    by_forms = select(func.coalesce(func.sum(each), 0)).select_from(forms).scalar_subquery()
    return case((_few_named(f, persons, DRIVEN_FORMS), by_forms), else_=walked)


def _few_named(f: Filters, persons, most: int):
    """The searched name is in no unit's name and matches at most `most` listed persons:
    the name's matches are the tasks of the persons' forms (a condition on no row, which the
    databases evaluate once)."""
    few = select(func.count()).select_from(persons).scalar_subquery() <= most
    return and_(~exists(_units(f.q.strip())), few)


def _page_by_forms(actor: Actor, f: Filters, persons, walked: Select, sort: str, page):
    """A done list's name-search page (`walked`, its ids in the list's order): read form by
    form when the name matches few persons (`DRIVEN_PAGE`), walked otherwise; the databases
    run only the branch whose condition holds."""
    by_forms = (
        query(actor, replace(f, q=None), select(UserTask.id))
        .where(among_few(UserTask.instance_id, select(persons.c.instance_id)))
        .order_by(*ORDERS[sort])
        .limit(page[0])
        .offset(page[1])
        .subquery("by_forms")
    )
    walked = walked.subquery("walked")
    few = _few_named(f, persons, DRIVEN_PAGE)
    return union_all(select(by_forms.c.id).where(few), select(walked.c.id).where(~few)).cte("page")


def query(actor: Actor, f: Filters, stmt: Select, persons=None) -> Select:
    """`stmt` (a select on user_tasks) narrowed to the list `f` describes; `persons`: see
    `_matches`."""
    stmt = stmt.where(*_in_scope(actor, f.scope))
    if f.key:
        stmt = stmt.where(UserTask.process_key == f.key)
    if f.task_name:
        stmt = stmt.where(UserTask.task_name == f.task_name)
    if f.q and f.q.strip():
        stmt = stmt.where(_matches(f.q, persons))
    if f.agency_id is not None:
        stmt = stmt.where(UserTask.agency_id == f.agency_id)
    if f.submitted_from:
        start = day_start(f.submitted_from)
        stmt = stmt.where(UserTask.submitted_at >= start)
    if f.submitted_to:
        end = day_after(f.submitted_to)
        stmt = stmt.where(UserTask.submitted_at < end)
    return stmt


_CLAIMER, _COMPLETER = aliased(Account, name="claimer"), aliased(Account, name="completer")
# what a row shows of its task: read as columns, not as an entity (the rows are only shown)
TASK_COLUMNS = (
    *BRIEF_COLUMNS,
    UserTask.completed_by,
    UserTask.completed_at,
    UserTask.submitted_at,  # a sort key (SEEKS)
)
# what a row shows besides its task: the instance's columns (never its engine state), names
ROW_COLUMNS = [
    ProcessInstance.business_key,
    ProcessInstance.process_key.label("instance_process_key"),
    ProcessInstance.status.label("instance_status"),
    ProcessInstance.subject_name,
    ProcessInstance.subject_id_number,
    ProcessInstance.unit_id.label("instance_unit_id"),
    ProcessInstance.agency_id.label("instance_agency_id"),
    ProcessInstance.person_count,
    ProcessInstance.submitted_at.label("instance_submitted_at"),
    Unit.name.label("unit_name"),
    Agency.name.label("agency_name"),
    _CLAIMER.name.label("claimed_by_name"),
    _CLAIMER.active.label("claimed_by_active"),
    _COMPLETER.name.label("completed_by_name"),
    # the form is stuck on an open incident: one probe of ix_incidents_open per row shown
    exists()
    .where(Incident.status == OPEN, Incident.instance_id == UserTask.instance_id)
    .label("stuck"),
]
ORDERS = {
    "waiting": (UserTask.created_at, UserTask.id),
    "submitted": (UserTask.submitted_at.desc(), UserTask.id.desc()),
    "submitted_asc": (UserTask.submitted_at, UserTask.id),
    "completed": (UserTask.completed_at.desc(), UserTask.id.desc()),
}


# each order's sort key, for the cursor of the next page: its columns and their direction
SEEKS = {
    "waiting": ((UserTask.created_at, UserTask.id), False),
    "submitted": ((UserTask.submitted_at, UserTask.id), True),
    "submitted_asc": ((UserTask.submitted_at, UserTask.id), False),
    "completed": ((UserTask.completed_at, UserTask.id), True),
}


def listing(
    ctx: Context,
    session: Session,
    actor: Actor,
    f: Filters,
    sort: str,
    page: int,
    size: int,
    count_limit: int | None = None,
    after: str | None = None,
) -> dict:
    """One page of the list with its total, in one statement: the page's tasks read by
    index in the list's order, the total counted once beside them (only a page past the end
    counts on its own). With `count_limit` the total counts no further than that. `after`
    (a page's `next_after`) seeks past that page's last row instead of skipping rows."""
    if page < 1 or not 1 <= size <= MAX_PAGE_SIZE:
        raise _invalid(
            {"page": "页码须不小于1"} if page < 1 else {"page_size": "每页条数须为1–200"}
        )
    columns, descending = SEEKS[sort]
    searched = bool(f.q and f.q.strip()) and not after
    persons = named(f.q) if searched else None
    ids = query(actor, f, select(UserTask.id), persons).order_by(*ORDERS[sort]).limit(size)
    if after:
        cursor = read_cursor(after, f"{f.scope}:{sort}", (datetime, int))
        ids = ids.where(seek(columns, descending, cursor.key))
        offset, page = cursor.offset, cursor.offset // size + 1
    else:
        offset = (page - 1) * size
        ids = ids.offset(offset)
    if count_limit is None:
        # count(*), not count(id): the count indexes (models._count_index) hold no id
        counted = query(
            actor, f, select(func.count()).select_from(UserTask), persons
        ).scalar_subquery()
    else:
        some = query(actor, f, select(UserTask.id), persons).limit(count_limit + 1).subquery()
        counted = select(func.count()).select_from(some).scalar_subquery()
    if persons is not None and f.scope == "done":
        counted = _counted_by_forms(actor, f, persons, counted)
    # its plan follows the list's shape, not its values: planned once per connection, not
    # anew at every page (about 2 ms of a page at 100,000 forms)
    plan_once(session)
    if searched:
        # a search's total is counted only when its page is full: a page that is not ends
        # the list, so its rows are the last ones (a search finding a few rows of a long
        # done list would walk all of it twice: 45 ms at 80,000 tasks). One statement: the
        # count is a CASE's branch, which the databases evaluate only when taken, and the
        # page and the count read the same persons (`named`)
        if persons is not None and f.scope == "done":
            page_ids = _page_by_forms(actor, f, persons, ids, sort, (size, offset))
        else:
            page_ids = ids.cte("page")
        full = select(func.count()).select_from(page_ids).scalar_subquery() == size
        total_column = case((full, counted), else_=None).label("total")
        rows = session.execute(_rows(select(total_column), page_ids, sort)).all()
        if rows and rows[0].total is not None:
            total = rows[0].total
        elif rows or offset == 0:
            total = offset + len(rows)
        else:  # a page past the end
            total = session.scalar(select(counted))
    else:
        rows = session.execute(_rows(select(counted.label("total")), ids.subquery(), sort)).all()
        if rows:
            total = rows[0].total
        else:
            total = 0 if offset == 0 else session.scalar(select(counted))
    capped = count_limit is not None and total > count_limit
    more = len(rows) == size and (capped or offset + size < total)
    found = {
        "items": [_item(ctx, row) for row in rows],
        "total": min(total, count_limit) if capped else total,
        "page": page,
        "page_size": size,
        "next_after": None,
    }
    if more:
        key = tuple(getattr(rows[-1], c.key) for c in columns)
        found["next_after"] = cursor_token(f"{f.scope}:{sort}", offset + size, key)
    if count_limit is not None:
        found["total_capped"] = capped
    return found


def _rows(stmt: Select, ids, sort: str) -> Select:
    """The page's tasks (the ids subquery) with what their rows show."""
    return (
        stmt.add_columns(*TASK_COLUMNS, *ROW_COLUMNS)
        .select_from(UserTask)
        .join(ids, ids.c.id == UserTask.id)
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .outerjoin(Unit, Unit.id == ProcessInstance.unit_id)
        .outerjoin(Agency, Agency.id == ProcessInstance.agency_id)
        .outerjoin(_CLAIMER, _CLAIMER.id == UserTask.claimed_by)
        .outerjoin(_COMPLETER, _COMPLETER.id == UserTask.completed_by)
        .order_by(*ORDERS[sort])
    )


def _item(ctx: Context, row) -> dict:
    item = task_brief(row)
    item.update(
        claimed_by_name=row.claimed_by_name,
        claimed_by_disabled=row.claimed_by_active is False,
        completed_by=row.completed_by,
        completed_at=row.completed_at,
        completed_by_name=row.completed_by_name,
        waiting_since=row.created_at,
        stuck=bool(row.stuck),
        instance={
            "id": row.instance_id,
            "business_key": row.business_key,
            "process_key": row.instance_process_key,
            "process_name": _process_name(ctx, row.instance_process_key),
            "status": row.instance_status,
            "subject_name": row.subject_name,
            "subject_id_number": row.subject_id_number,
            "unit_id": row.instance_unit_id,
            "unit_name": row.unit_name,
            "agency_id": row.instance_agency_id,
            "agency_name": row.agency_name,
            "person_count": row.person_count,
            "submitted_at": row.instance_submitted_at,
        },
    )
    return item


def counts(ctx: Context, session: Session, actor: Actor, f: Filters) -> dict:
    """The list's size per business type and per task, in one GROUP BY; processes in the
    deployed order (then any retired one), each one's tasks in its diagram's order."""
    stmt = query(
        actor, f, select(UserTask.process_key, UserTask.task_name, func.count(UserTask.id))
    ).group_by(UserTask.process_key, UserTask.task_name)
    found: dict[str, dict[str, int]] = {}
    for process_key, name, n in session.execute(stmt):
        found.setdefault(process_key, {})[name] = n
    current = ctx.definitions.current
    order = [k for k in current if k in found] + sorted(k for k in found if k not in current)
    by_process = []
    for process_key in order:
        defn = current.get(process_key)
        titles = {n: info.title for n, info in defn.user_tasks.items()} if defn else {}
        names = [n for n in titles if n in found[process_key]]
        names += sorted(n for n in found[process_key] if n not in titles)
        tasks = [
            {"task_name": n, "title": titles.get(n, n), "count": found[process_key][n]}
            for n in names
        ]
        by_process.append(
            {
                "process_key": process_key,
                "process_name": _process_name(ctx, process_key),
                "count": sum(t["count"] for t in tasks),
                "tasks": tasks,
            }
        )
    return {"total": sum(p["count"] for p in by_process), "by_process": by_process}


def _process_name(ctx: Context, key: str) -> str:
    defn = ctx.definitions.current.get(key)
    return defn.name if defn else key
