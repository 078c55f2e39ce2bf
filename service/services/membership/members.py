"""The unit's member archive (单位人员档案): one filtered query for the list and the export.

`archive_query` builds the whole archive row in one SELECT: the member, the unit and
agency names, each membership level and each certificate type through outer joins (a
member has at most one membership per level and one certificate per type, so the joins
never multiply rows). The list pages it; the export streams it.

The join date (入会日期) is the day the member record was created (Asia/Shanghai):
a membership's `valid_from` is rewritten at every renewal, so it is not a join date.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    String,
    and_,
    cast,
    exists,
    func,
    or_,
    select,
)
from sqlalchemy.orm import aliased

from service.db.models import (
    Account,
    Agency,
    Certificate,
    InstancePerson,
    LearningTask,
    Member,
    Membership,
    ProcessInstance,
    Unit,
)
from service.db.search import id_number_matches
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.person_facts import (
    CERTIFICATE_TYPES,
    ORDINARY,
    PROFESSIONAL,
    CertificateRecord,
    MembershipRecord,
    certificate_status,
    membership_status,
    years_later,
)
from service.domain.validation import age_on, clean_code, clean_name
from service.services.membership.records import STATUS_LABELS
from service.services.workflow.context import SHANGHAI, Context, day_after, day_start
from service.services.workflow.learning_waits import OPEN as LEARNING_OPEN
from service.services.workflow.messages import DONE
from service.services.workflow.paging import page_of
from service.services.workflow.scope import may_see_unit

LEVELS = (ORDINARY, PROFESSIONAL)
NO_TITLE = "无"
CERT_FIELDS = ("number", "specialty_1", "specialty_2", "valid_until", "status")
_LEVEL_KEYS = {ORDINARY: "ordinary", PROFESSIONAL: "professional"}
# each certificate type's join alias and column labels in the archive row
_CERT_LABELS = [
    (cert_type, f"c{i}", {name: f"c{i}_{name}" for name in CERT_FIELDS})
    for i, cert_type in enumerate(CERTIFICATE_TYPES)
]


@dataclass(frozen=True)
class ArchiveFilters:
    """The archive's filters (the list's and the export's): None means "any"."""

    level: str | None = None
    membership_expired: bool | None = None
    has_certificates: bool | None = None
    certificate_type: str | None = None
    age_min: int | None = None
    age_max: int | None = None
    joined_from: date | None = None
    joined_to: date | None = None
    q: str | None = None
    title: str | None = None
    education: str | None = None
    status: str | None = None
    agency_id: int | None = None

    def check(self) -> None:
        """FormInvalid naming the field when a filter cannot be applied."""
        errors = {}
        if self.level is not None and self.level not in LEVELS:
            errors["level"] = "会员类型应为 " + "、".join(LEVELS)
        if self.certificate_type is not None and self.certificate_type not in CERTIFICATE_TYPES:
            errors["certificate_type"] = "证书类型应为 " + "、".join(CERTIFICATE_TYPES)
        for name in ("age_min", "age_max"):
            value = getattr(self, name)
            if value is not None and not 0 <= value <= 150:
                errors[name] = "年龄应为0至150之间的整数"
        if None not in (self.age_min, self.age_max) and self.age_min > self.age_max:
            errors["age_min"] = "年龄区间的下限不能大于上限"
        if None not in (self.joined_from, self.joined_to) and self.joined_from > self.joined_to:
            errors["joined_from"] = "入会日期（起）不能晚于入会日期（止）"
        if errors:
            raise FormInvalid(errors)


def unit_in_scope(uow: UnitOfWork, actor: Actor, unit_id: int) -> Unit:
    """The unit, if the caller may read its archive; NotFound otherwise (scope never leaks)."""
    unit = uow.session.get(Unit, unit_id)
    if unit is None or not may_see_unit(actor, unit_id, unit.agency_id):
        raise NotFound("单位不存在")
    return unit


def _membership_conditions(f: ArchiveFilters, today: date) -> list[ColumnElement]:
    held = [Membership.member_id == Member.id, Membership.cancelled_on.is_(None)]
    if f.level:
        held.append(Membership.level == f.level)
    conditions = []
    if f.level:
        conditions.append(exists().where(*held))
    if f.membership_expired is not None:
        expired = exists().where(*held, Membership.valid_until < today)
        conditions.append(expired if f.membership_expired else ~expired)
    return conditions


def _certificate_conditions(f: ArchiveFilters) -> list[ColumnElement]:
    held = [
        Certificate.member_id == Member.id,
        Certificate.status != "cancelled",
        Certificate.current(),
    ]
    conditions = []
    if f.has_certificates is not None:
        any_held = exists().where(*held)
        conditions.append(any_held if f.has_certificates else ~any_held)
    if f.certificate_type:
        conditions.append(exists().where(*held, Certificate.type == f.certificate_type))
    return conditions


def _person_conditions(f: ArchiveFilters, today: date) -> list[ColumnElement]:
    conditions = []
    if f.age_min is not None:  # aged at least n: born on or before today n years ago
        conditions.append(Member.birth_date <= years_later(today, -f.age_min))
    if f.age_max is not None:  # aged at most n: not yet n + 1
        conditions.append(Member.birth_date > years_later(today, -(f.age_max + 1)))
    if f.joined_from:
        conditions.append(Member.created_at >= day_start(f.joined_from))
    if f.joined_to:
        conditions.append(Member.created_at < day_after(f.joined_to))
    if f.q and f.q.strip():
        q = f.q.strip()
        conditions.append(
            or_(
                Member.name.contains(clean_name(q), autoescape=True),
                id_number_matches(Member.id_number, clean_code(q)),
            )
        )
    if f.title == NO_TITLE:
        conditions.append(or_(Member.title.is_(None), Member.title == NO_TITLE))
    elif f.title:
        conditions.append(Member.title == f.title)
    if f.education:
        conditions.append(Member.education["level"].as_string() == f.education)
    if f.agency_id is not None:
        conditions.append(Member.agency_id == f.agency_id)
    return conditions


FREE = "自由态"
_BUSY_TAIL, _STUDYING_TAIL = "办理中", "学习中"  # the tail of a status: A办理中, A学习中
# the end of the names as typed (`rest`): the names shown, then a part of 「等N项」 (MORE)
_MORE_PART = re.compile(r"^(?P<names>.*?)(?P<deng>等?)(?P<n>\d*)(?P<xiang>项?)$")


def _names_condition(
    rest: str, names: dict[str, str], kind: list[ColumnElement], key
) -> ColumnElement | None:
    """`rest` (a part of the names shown, 、-separated) read as the businesses of `kind` the
    person is in, each part within one of their names; None when it names no business."""
    parts = [p for p in rest.split("、") if p]
    if rest and not parts:  # only 、: names no business
        return None
    keys = [[k for k, name in names.items() if part in name] for part in parts or [""]]
    if not all(keys):
        return None
    return and_(*(exists().where(*kind, key.in_(ks)) for ks in keys))


def _more_condition(rest: str, tail: bool, count) -> tuple[str, ColumnElement] | None:
    """`rest` ending in a part of 「等N项」, N being `count` (the businesses the person is
    in, more than NAMED): the names before it and the condition on N; None when it cannot.
    `tail`: the status's tail follows the typed text, so the part reaches 项."""
    found = _MORE_PART.match(rest)
    names, deng, n, xiang = found["names"], found["deng"], found["n"], found["xiang"]
    if not deng + n + xiang or (names and not deng) or (tail and not xiang):
        return None
    text = cast(count, String)
    if deng and xiang:  # 等3项: exactly
        number = count == int(n) if n else None
    elif deng:  # 等, 等1: the number starts with it
        number = text.like(f"{n}%")
    elif xiang:  # 项, 3项: ends with it
        number = text.like(f"%{n}")
    else:  # 1: within it
        number = text.like(f"%{n}%")
    if number is None:  # 等项 is shown nowhere
        return None
    return names, and_(count > NAMED, number)


def _shown_of_kind(
    typed: str, names: dict[str, str], tail: str, kind: list[ColumnElement], key, count
) -> list[ColumnElement]:
    """People shown 「names[等N项]tail」 (`kind`: the correlated conditions of one of their
    businesses, `key` its process key, `count` how many businesses) containing `typed`."""
    if typed in tail:  # 办理中, 理中 ...: everyone shown with this tail
        return [exists().where(*kind)]
    found = []
    for cut in range(len(tail), -1, -1):  # `typed` ends with the first `cut` chars of the tail
        if cut and not typed.endswith(tail[:cut]):
            continue
        rest = typed[: len(typed) - cut]
        only_names = _names_condition(rest, names, kind, key)
        if only_names is not None:
            found.append(only_names)
        more = _more_condition(rest, cut > 0, count) if rest else None
        if more is not None:
            before, number = more
            named = _names_condition(before, names, kind, key)
            if named is not None:
                found.append(and_(named, number))
    return found


def _status_condition(typed: str, names: dict[str, str]) -> ColumnElement:
    """People whose 状态 as the archive shows it (`person_status`) contains `typed`: 自由态
    (the member's own, nothing in progress), 「A、B办理中」 (each named business has a form
    of the person in progress), 「A、B等3项办理中」 (three businesses), 「A学习中」 (no form
    in progress, A's learning open), or a part of one of these (办理中, 等3项, a business's
    name or part of it). A part naming a business finds the people in it, named or not."""
    typed = typed.strip()
    busy, studying = exists().where(*_in_flight()), exists().where(*_learning())
    shown = [and_(Member.status.contains(typed, autoescape=True), ~busy, ~studying)]
    shown += _shown_of_kind(
        typed, names, _BUSY_TAIL, _in_flight(), ProcessInstance.process_key, _business_count()
    )
    shown += [
        and_(~busy, found)
        for found in _shown_of_kind(
            typed, names, _STUDYING_TAIL, _learning(), LearningTask.process_key, _learning_count()
        )
    ]
    return or_(*shown)


IN_BUSINESS = "{name}办理中"  # the archive's 状态 while a form of the person is in progress
LEARNING = "{name}学习中"  # ... or, none being, while the person's learning is open
MORE = "{names}等{count}项"  # more businesses than NAMED at once
NAMED = 2
_KEYS = ","  # separates the process keys aggregated in one column


def _in_flight() -> list[ColumnElement]:
    """A person's form in progress (the person listed on it; under review, awaiting payment
    or returned to the unit), for a correlated query. An approved education form stays
    unfinished while its learning runs: that is learning (`_learning`), not a business."""
    return [
        InstancePerson.id_number == Member.id_number,
        ProcessInstance.id == InstancePerson.instance_id,
        ProcessInstance.finished.is_(False),
        ProcessInstance.status != DONE,
    ]


def _learning() -> list[ColumnElement]:
    """A person's open learning (开课未学习, 学习中), for a correlated query."""
    return [LearningTask.id_number == Member.id_number, LearningTask.status.in_(LEARNING_OPEN)]


def in_business():
    """The businesses (process keys, comma-separated) of the person's forms in progress, or
    NULL: a scalar subquery correlated to the Member of the enclosing query."""
    return (
        select(func.aggregate_strings(ProcessInstance.process_key, _KEYS))
        .select_from(InstancePerson)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .where(*_in_flight())
        .scalar_subquery()
    )


def in_learning():
    """The businesses (process keys, comma-separated) whose learning the person has open,
    or NULL: a scalar subquery correlated to the Member of the enclosing query."""
    return (
        select(func.aggregate_strings(LearningTask.process_key, _KEYS))
        .where(*_learning())
        .scalar_subquery()
    )


def _business_count():
    """How many businesses (distinct process keys) the person has forms in progress of."""
    return (
        select(func.count(ProcessInstance.process_key.distinct()))
        .select_from(InstancePerson)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .where(*_in_flight())
        .scalar_subquery()
    )


def _learning_count():
    """How many businesses (distinct process keys) the person has learning open for."""
    return (
        select(func.count(LearningTask.process_key.distinct()))
        .where(*_learning())
        .scalar_subquery()
    )


def has_account():
    """Whether the person has a member account (to sign in with, to reset the password of):
    correlated to the Member of the enclosing query."""
    return exists().where(Account.member_id == Member.id, Account.role == "member")


def _business_names(keys: str, names: dict[str, str]) -> str:
    """The businesses of `keys` (comma-separated), once each in the order of their keys (as
    eligibility's 有办理中的表单 names them): all up to NAMED, else the first NAMED and how many."""
    ordered = sorted(set(keys.split(_KEYS)))
    named = "、".join(names.get(k, k) for k in ordered[:NAMED])
    return named if len(ordered) <= NAMED else MORE.format(names=named, count=len(ordered))


def person_status(
    status: str,
    business: str | None,
    names: dict[str, str] | None,
    learning: str | None = None,
) -> str:
    """A person's 状态 as the archive and 我的信息 show it (DOMAIN.md): the businesses it is
    in while a form of it is in progress (`business`, process keys from `in_business`, named
    by `names`: process key -> business name), else the learning it has open (`learning`,
    from `in_learning`), else the member's own (自由态)."""
    names = names or {}
    if business:
        return IN_BUSINESS.format(name=_business_names(business, names))
    if learning:
        return LEARNING.format(name=_business_names(learning, names))
    return status


def _columns() -> tuple[list, list[tuple]]:
    """The archive row's columns, and the joins that bring the levels and certificates."""
    columns = [
        Member.id,
        Member.name,
        Member.id_number,
        Member.gender,
        Member.birth_date,
        Member.mobile,
        Member.education,
        Member.title,
        Member.status,
        in_business().label("in_business"),
        in_learning().label("in_learning"),
        has_account().label("has_account"),
        Member.created_at,
        Unit.name.label("unit_name"),
        Agency.name.label("agency_name"),
    ]
    joins = []
    for level, key in _LEVEL_KEYS.items():
        m = aliased(Membership, name=f"m_{key}")
        joins.append((m, and_(m.member_id == Member.id, m.level == level)))
        columns += [m.valid_until.label(f"{key}_until"), m.cancelled_on.label(f"{key}_cancelled")]
    for cert_type, alias, labels in _CERT_LABELS:
        c = aliased(Certificate, name=alias)
        joins.append((c, and_(c.member_id == Member.id, c.type == cert_type, c.current())))
        columns += [getattr(c, name).label(label) for name, label in labels.items()]
    return columns, joins


def archive_query(
    unit_id: int, today: date, filters: ArchiveFilters, names: dict[str, str] | None = None
) -> Select:
    """The unit's archive rows that pass `filters` (checked first), unordered. `names`: the
    businesses' names by process key, which the 状态 filter reads a typed status by."""
    filters.check()
    columns, joins = _columns()
    stmt = (
        select(*columns)
        .select_from(Member)
        .join(Unit, Unit.id == Member.unit_id)
        .outerjoin(Agency, Agency.id == Member.agency_id)
    )
    for target, onclause in joins:
        stmt = stmt.outerjoin(target, onclause)
    return stmt.where(
        Member.unit_id == unit_id,
        *_membership_conditions(filters, today),
        *_certificate_conditions(filters),
        *_person_conditions(filters, today),
        *([_status_condition(filters.status, names or {})] if filters.status else []),
    )


def _membership(row: Row, level: str, today: date) -> tuple[str | None, date | None]:
    key = _LEVEL_KEYS[level]
    until = getattr(row, f"{key}_until")
    if until is None:
        return None, None
    record = MembershipRecord(level, until, getattr(row, f"{key}_cancelled"))
    return STATUS_LABELS[membership_status([record], level, today)], until


def _certificates(row: Row, today: date) -> list[dict]:
    found = []
    mapping = row._mapping
    for cert_type, _alias, labels in _CERT_LABELS:
        if mapping[labels["number"]] is None:
            continue
        values = {name: mapping[label] for name, label in labels.items()}
        record = CertificateRecord(
            cert_type, values["number"], values["status"], values["valid_until"]
        )
        status = certificate_status(record, today)
        found.append(
            {**values, "type": cert_type, "status": status, "status_label": STATUS_LABELS[status]}
        )
    return found


def _graduated_on(education: dict) -> date | None:
    try:
        return date.fromisoformat(str(education.get("graduated_on")))
    except ValueError:
        return None


def archive_record(row: Row, today: date, names: dict[str, str] | None = None) -> dict:
    """One archive row as plain values (the list's item; the export's row comes from it).

    Its 状态 is the member's (自由态), the businesses it is in while a form of it is in
    progress, or the learning it has open (`person_status`), named by `names` (process key
    -> business name)."""
    education = row.education if isinstance(row.education, dict) else {}
    ordinary, ordinary_until = _membership(row, ORDINARY, today)
    professional, professional_until = _membership(row, PROFESSIONAL, today)
    birth = row.birth_date
    return {
        "id": row.id,
        "name": row.name,
        "id_number": row.id_number,
        "gender": row.gender,
        "age": age_on(birth, today) if birth and birth <= today else None,
        "mobile": row.mobile,
        "education_level": education.get("level"),
        "school": education.get("school"),
        "major": education.get("major"),
        "major_category": education.get("major_category"),
        "graduated_on": _graduated_on(education),
        "title": row.title or NO_TITLE,
        "joined_on": (row.created_at + SHANGHAI).date() if row.created_at else None,
        "unit_name": row.unit_name,
        "agency_name": row.agency_name,
        "status": person_status(row.status, row.in_business, names, row.in_learning),
        "has_account": bool(row.has_account),
        "ordinary_membership": ordinary,
        "ordinary_valid_until": ordinary_until,
        "professional_membership": professional,
        "professional_valid_until": professional_until,
        "certificates": _certificates(row, today),
    }


# the archive's orders (the page's 排序): within one unit (ix_members_unit_id finds its
# rows, a few hundred, sorted there), each ending on the member's id so pages never overlap;
# a 有效期 order puts the members without that membership last
ARCHIVE_SORTS = {
    "archive": "档案顺序",
    "joined": "入会日期（最近的在前）",
    "ordinary_until": "普通会籍有效期（最早到期的在前）",
    "professional_until": "专业会籍有效期（最早到期的在前）",
}


def check_archive_sort(sort: str) -> None:
    """FormInvalid on `sort` unless it is one of ARCHIVE_SORTS."""
    if sort not in ARCHIVE_SORTS:
        raise FormInvalid({"sort": "排序应为 " + "、".join(ARCHIVE_SORTS.values())})


def archive_order(stmt: Select, sort: str) -> tuple:
    """The ORDER BY of the archive in one of ARCHIVE_SORTS (its list and its export)."""
    check_archive_sort(sort)
    if sort == "joined":
        return (Member.created_at.desc(), Member.id.desc())
    if sort in ("ordinary_until", "professional_until"):
        until = stmt.selected_columns[sort]
        return (until.is_(None), until, Member.id)
    return (Member.id,)


def list_archive(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    filters: ArchiveFilters,
    page: int = 1,
    page_size: int = 20,
    sort: str = "archive",
) -> dict:
    """单位人员档案: the unit's members with levels, validity and certificates, paginated,
    in one of ARCHIVE_SORTS."""
    unit_in_scope(uow, actor, unit_id)
    today = ctx.today()
    names = ctx.definitions.names()
    stmt = archive_query(unit_id, today, filters, names)
    total, rows = page_of(uow.session, stmt, archive_order(stmt, sort), page, page_size)
    items = [archive_record(row, today, names) for row in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}
