"""The 首页 statistics: members, valid certificates by type, the last three years' issues,
single and double certificate holders, members by age band — for a unit, an agency or the
association, each figure one SQL aggregate (no rows are loaded into Python).

The figures of one scope are kept for `statistics_ttl_seconds` (300) in the app's memo, and
say when they were counted: a province's dashboard need not recount 100,000 members on every
page load (scripts/bench_statistics.py measures both the counting and the kept answer).
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from types import SimpleNamespace

from sqlalchemy import Select, and_, case, func, select, text
from sqlalchemy.orm import Session

from service.db.models import Agency, Certificate, Member, Membership
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.person_facts import years_later
from service.services.workflow.context import Context
from service.services.workflow.scope import may_narrow_to_agency, member_scope

CERTIFICATE_TYPES = ("安全监理员", "监理员", "专业监理工程师")
# (label, youngest age, oldest age) — the bands of the manual's 首页
AGE_BANDS = (
    ("18-30岁", 18, 30),
    ("31-40岁", 31, 40),
    ("41-50岁", 41, 50),
    ("51-60岁", 51, 60),
    ("60岁以上", 61, 200),
)


def _members(where: list) -> Select:
    return select(Member.id).where(*where)


def _people(uow: UnitOfWork, where: list, today: date) -> tuple[int, int, dict[str, int]]:
    """(persons, persons with a current membership, age bands): one pass over the members,
    one over the current memberships."""
    bands = []
    for _label, youngest, oldest in AGE_BANDS:
        born_after = years_later(today, -(oldest + 1))  # younger than oldest + 1
        born_by = years_later(today, -youngest)
        inside = and_(Member.birth_date > born_after, Member.birth_date <= born_by)
        bands.append(func.count(case((inside, 1))))
    row = uow.session.execute(select(func.count(), *bands).select_from(Member).where(*where)).one()
    current = select(func.count(func.distinct(Membership.member_id))).where(
        Membership.valid_until >= today, Membership.cancelled_on.is_(None)
    )
    if where:
        current = current.where(Membership.member_id.in_(_members(where)))
    members = uow.session.scalar(current)
    ages = {label: int(n) for (label, _y, _o), n in zip(AGE_BANDS, row[1:], strict=True)}
    return int(row[0]), int(members or 0), ages


def _in_scope(stmt: Select, where: list) -> Select:
    return stmt.where(Certificate.member_id.in_(_members(where))) if where else stmt


def _certificates(uow: UnitOfWork, where: list, today: date) -> dict:
    """Valid certificates by type and the last three years' first issues by type (one
    grouped pass), and how many persons hold one or several valid ones (one more)."""
    years = [today.year - 2, today.year - 1, today.year]
    valid = and_(Certificate.status == "valid", Certificate.valid_until >= today)
    issued_in = [
        func.count(
            case(
                (
                    and_(
                        Certificate.first_issued_on >= date(y, 1, 1),
                        Certificate.first_issued_on <= min(date(y, 12, 31), today),
                    ),
                    1,
                )
            )
        )
        for y in years
    ]
    rows = uow.session.execute(
        _in_scope(
            select(Certificate.type, func.count(case((valid, 1))), *issued_in).group_by(
                Certificate.type
            ),
            where,
        )
    ).all()
    by_type = dict.fromkeys(CERTIFICATE_TYPES, 0)
    issued = {(y, kind): 0 for y in years for kind in CERTIFICATE_TYPES}
    for kind, n_valid, *per_year in rows:
        if kind not in by_type:
            continue
        by_type[kind] = int(n_valid)
        for y, n in zip(years, per_year, strict=True):
            issued[(y, kind)] = int(n)
    per_holder = (
        _in_scope(select(func.count().label("n")).where(valid), where)
        .group_by(Certificate.member_id)
        .subquery()
    )
    holders = select(
        func.count(case((per_holder.c.n == 1, 1))),
        func.count(case((per_holder.c.n >= 2, 1))),
    )
    postgres = uow.session.get_bind().dialect.name == "postgresql"
    if postgres:
        # grouped in member order off the index (member_id, valid_until, status): a hash of
        # 100,000 holders would spill past work_mem and take three to four times as long
        uow.session.execute(text("SET LOCAL enable_hashagg = off"))
    single, double = uow.session.execute(holders).one()
    if postgres:
        uow.session.execute(text("SET LOCAL enable_hashagg = on"))
    return {
        "by_type": by_type,
        "issued": [
            {"year": y, "counts": {kind: issued[(y, kind)] for kind in CERTIFICATE_TYPES}}
            for y in years
        ],
        "holders": {"single": int(single), "double": int(double)},
    }


def summary(ctx: Context, uow: UnitOfWork, actor: Actor, agency_id: int | None = None) -> dict:
    """The statistics of the caller's scope (an association role may narrow to one agency),
    as counted at most `statistics_ttl_seconds` ago (`counted_at` says when)."""
    found = member_scope(actor, agency_id)
    if found is None:
        raise NotFound("请求的资源不存在")  # a member has no statistics: as any other 404
    if agency_id is not None and not may_narrow_to_agency(actor):
        refused = "只有协会审核、协会财务和秘书处可以按机构统计"
        raise FormInvalid({"agency_id": refused}, refused)
    if agency_id is not None and uow.session.get(Agency, agency_id) is None:
        raise FormInvalid({"agency_id": f"服务机构 {agency_id} 不存在"})  # not all zeros
    scope, where = found
    today = ctx.today()
    key = (
        "statistics",
        scope,
        actor.unit_id if scope == "unit" else None,
        agency_id if agency_id is not None else actor.agency_id if scope == "agency" else None,
        today,
    )
    ttl = ctx.config.statistics_ttl_seconds
    kept = ctx.memo.get(key)
    if kept is not None and time.monotonic() - kept[0] < ttl:
        return kept[1]
    figures = _count(uow, scope, where, today, ctx.now())
    if ttl > 0:
        ctx.memo[key] = (time.monotonic(), figures)
    return figures


def _on_own_session(bind, count, where: list, today: date):
    """`count` in a read-only session of its own (another pooled connection)."""
    with Session(bind) as session:
        try:
            return count(SimpleNamespace(session=session), where, today)
        finally:
            session.rollback()


def _count(uow: UnitOfWork, scope: str, where: list, today: date, now) -> dict:
    bind = uow.session.get_bind()
    if bind.dialect.name == "postgresql":
        # the certificate figures on a second connection meanwhile: the two halves are
        # about equal, and PostgreSQL runs each on its own core
        with ThreadPoolExecutor(max_workers=1) as pool:
            pending = pool.submit(_on_own_session, bind, _certificates, where, today)
            persons, members, ages = _people(uow, where, today)
            certificates = pending.result()
    else:
        persons, members, ages = _people(uow, where, today)
        certificates = _certificates(uow, where, today)
    return {
        "scope": scope,
        "as_of": today,
        "counted_at": now,
        "persons": persons,
        "members": members,
        "valid_certificates": sum(certificates["by_type"].values()),
        "certificates_by_type": certificates["by_type"],
        "issued_by_year": certificates["issued"],
        "holders": certificates["holders"],
        "age_bands": ages,
    }
