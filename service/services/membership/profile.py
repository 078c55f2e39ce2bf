"""我的信息: a member's own record — the person, the memberships and their validity, the
certificates and the learning tasks with their deadlines. Only the member themself reads it."""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Agency, Member, Membership, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import NotFound
from service.domain.person_facts import ORDINARY, PROFESSIONAL
from service.domain.validation import age_on
from service.services.education import learning
from service.services.membership import members, records
from service.services.workflow.context import Context
from service.services.workflow.scope import is_member

MEMBERSHIP_LABELS = {"valid": "有效", "expired": "已过期", "cancelled": "已注销"}
MAX_LISTED = 100  # a person holds at most three certificates; learning tasks are few


def _membership(ms: Membership, today) -> dict:
    if ms.cancelled_on is not None:
        state = "cancelled"
    else:
        state = "valid" if ms.valid_until >= today else "expired"
    return {
        "level": ms.level,
        "valid_from": ms.valid_from,
        "valid_until": ms.valid_until,
        "cancelled_on": ms.cancelled_on,
        "status": state,
        "status_label": MEMBERSHIP_LABELS[state],
    }


def my_record(ctx: Context, uow: UnitOfWork, actor: Actor) -> dict:
    """The signed-in member's record, memberships (普通/专业), certificates and learning."""
    if not is_member(actor) or actor.member_id is None:
        raise NotFound("没有个人会员信息")
    found = uow.session.execute(
        select(Member, Unit.name, Agency.name, members.in_business(), members.in_learning())
        .outerjoin(Unit, Unit.id == Member.unit_id)
        .outerjoin(Agency, Agency.id == Member.agency_id)
        .where(Member.id == actor.member_id)
    ).first()
    if found is None:
        raise NotFound("没有个人会员信息")
    member, unit_name, agency_name, business, learning_open = found
    today = ctx.today()
    order = {ORDINARY: 0, PROFESSIONAL: 1}
    memberships = sorted(
        (
            _membership(ms, today)
            for ms in uow.session.scalars(
                select(Membership).where(Membership.member_id == member.id)
            )
        ),
        key=lambda m: order.get(m["level"], 9),
    )
    education = member.education or {}
    return {
        "person": {
            "id": member.id,
            "name": member.name,
            "id_number": member.id_number,
            "gender": member.gender,
            "birth_date": member.birth_date,
            "age": age_on(member.birth_date, today) if member.birth_date else None,
            "mobile": member.mobile,
            "address": member.address,
            "education_level": education.get("level"),
            "school": education.get("school"),
            "major": education.get("major"),
            "graduated_on": education.get("graduated_on"),
            "title": member.title,
            "registration_number": member.registration_number,
            # as the unit's archive shows it: the business in flight (证书注销办理中) first
            "status": members.person_status(
                member.status, business, ctx.definitions.names(), learning_open
            ),
            "unit_name": unit_name,
            "agency_name": agency_name,
        },
        "memberships": memberships,
        "certificates": records.list_certificates(ctx, uow, actor, page_size=MAX_LISTED)["items"],
        "learning": learning.list_learning(ctx, uow, actor, page_size=MAX_LISTED)["items"],
    }
