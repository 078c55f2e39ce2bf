"""What a finished process changes in the records: members, memberships, accounts."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Account, Member, Membership, ProcessInstance
from service.services.accounts import initial_password


def _years_later(start: date, years: int) -> date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # 29 February
        return start.replace(year=start.year + years, day=28)


def _member_join_approved(
    session: Session, inst: ProcessInstance, data: dict, policy: dict, today: date
) -> None:
    applicant = data.get("applicant") or {}
    id_number = str(data["id_number"]).upper()
    member = session.scalars(select(Member).where(Member.id_number == id_number)).first()
    if member is None:
        member = Member(id_number=id_number)
        session.add(member)
    birth = applicant.get("birth_date") or data.get("birth_date")
    member.name = data["name"]
    member.id_type = data["id_type"]
    member.gender = applicant.get("gender") or data.get("gender")
    member.birth_date = date.fromisoformat(birth) if birth else None
    member.mobile = data.get("mobile")
    member.address = data.get("address")
    member.photo_file_id = data.get("photo")
    member.id_front_file_id = data.get("id_front")
    member.id_back_file_id = data.get("id_back")
    member.education = data.get("education")
    member.title = data.get("title")
    member.unit_id = inst.unit_id
    member.agency_id = inst.agency_id  # the unit's agency when the application started
    member.status = "自由态"
    session.flush()
    level = data["member_level"]
    valid_until = _years_later(today, int(policy.get("membership_validity_years", 1)))
    valid_until -= timedelta(days=1)
    membership = session.scalars(
        select(Membership).where(Membership.member_id == member.id, Membership.level == level)
    ).first()
    if membership is None:
        membership = Membership(
            member_id=member.id, level=level, valid_from=today, valid_until=valid_until
        )
        session.add(membership)
    else:
        membership.valid_from, membership.valid_until = today, valid_until
    membership.instance_id = inst.id
    account = session.scalars(select(Account).where(Account.username == id_number)).first()
    if account is None:
        # Interpretation: the initial password is the last six characters of the ID
        # number (as the national CPD platform does); the unit can reset it.
        session.add(
            Account(
                username=id_number,
                name=member.name,
                role="member",
                member_id=member.id,
                unit_id=inst.unit_id,
                password_hash=initial_password(id_number[-6:]),
            )
        )
    inst.member_id = member.id


Effect = Callable[[Session, ProcessInstance, dict, dict, date], None]

# (process key, end event id) -> what reaching that end changes
EFFECTS: dict[tuple[str, str], Effect] = {
    ("member_join", "approved_end"): _member_join_approved,
}


def apply_effects(
    session: Session,
    inst: ProcessInstance,
    end_event: str | None,
    data: dict,
    policy: dict,
    today: date,
) -> None:
    """Apply the records change of a finished instance, if its end has one."""
    effect = EFFECTS.get((inst.process_key, end_event or ""))
    if effect is not None:
        effect(session, inst, data, policy, today)
