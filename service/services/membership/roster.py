"""Members carried over from the old platform: a member with memberships and certificates.

Members normally come from an approved join application; the association's existing
members, their memberships and certificates are loaded with this (the demo, the tests and
the benchmarks use it too).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Account, Certificate, Member, Membership, Unit
from service.domain.passwords import UNUSABLE
from service.domain.person_facts import membership_from, years_later
from service.domain.validation import parse_id
from service.services.workflow.context import SHANGHAI


@dataclass
class CertificateSeed:
    type: str
    number: str
    valid_until: date
    specialty_1: str | None = "房屋建筑工程"
    specialty_2: str | None = None
    status: str = "valid"
    first_issued_on: date | None = None
    unit_name: str | None = None  # printed on it; the member's unit's name when None


@dataclass
class MemberSeed:
    name: str
    id_number: str
    unit_id: int
    mobile: str | None = None
    education: dict | None = None
    title: str | None = "中级"
    registration_number: str | None = None
    memberships: dict[str, date] = field(default_factory=dict)  # level -> valid until
    certificates: list[CertificateSeed] = field(default_factory=list)
    violation_note: str | None = None


def add_member(session: Session, seed: MemberSeed, term=1) -> Member:
    """Create (or refresh) a member with memberships, certificates and a member login.
    `term`: the policy's membership_validity_years; a membership starts a term before its
    end, and a new member joined (入会日期) when the first of them started."""
    unit = session.get(Unit, seed.unit_id)
    info = parse_id("resident_id", seed.id_number)  # kept as parsed: "４４０１…" as "4401…"
    member = session.scalars(select(Member).where(Member.id_number == info.number)).first()
    starts = {
        level: membership_from(term, level, until) for level, until in seed.memberships.items()
    }
    if member is None:
        member = Member(id_number=info.number, id_type="resident_id")
        if starts:  # 入会日期, shown from created_at: when the first membership started
            member.created_at = datetime.combine(min(starts.values()), time()) - SHANGHAI
        session.add(member)
    member.name, member.mobile = seed.name, seed.mobile
    member.gender, member.birth_date = info.gender, info.birth_date
    member.education = seed.education or {
        "level": "本科",
        "school": "华南理工大学",
        "major": "土木工程",
        "major_category": "工程建设类",
        "graduated_on": "2010-07-01",
    }
    member.title, member.registration_number = seed.title, seed.registration_number
    member.violation_note = seed.violation_note
    member.unit_id, member.agency_id = unit.id, unit.agency_id
    session.flush()
    for level, until in seed.memberships.items():
        session.add(
            Membership(
                member_id=member.id, level=level, valid_from=starts[level], valid_until=until
            )
        )
    for c in seed.certificates:
        session.add(
            Certificate(
                member_id=member.id,
                type=c.type,
                number=c.number,
                specialty_1=c.specialty_1,
                specialty_2=c.specialty_2,
                first_issued_on=c.first_issued_on or years_later(c.valid_until, -3),
                valid_until=c.valid_until,
                unit_name=c.unit_name or unit.name,
                status=c.status,
            )
        )
    if session.scalars(select(Account).where(Account.username == member.id_number)).first() is None:
        session.add(
            Account(
                username=member.id_number,
                name=seed.name,
                role="member",
                member_id=member.id,
                unit_id=unit.id,
                # no password yet: the unit issues a one-time one (services.passwords)
                password_hash=UNUSABLE,
                must_change_password=True,
            )
        )
    session.flush()
    return member
