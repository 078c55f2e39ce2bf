"""What a finished process changes in the records: members, memberships, certificates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.db.models import (
    Account,
    Certificate,
    CpdCompletion,
    InstancePerson,
    Member,
    Membership,
    ProcessInstance,
    Unit,
)
from service.domain.passwords import UNUSABLE
from service.domain.person_facts import membership_until
from service.engine import Definition


@dataclass
class Change:
    """Where an effect applies: the session, the instance row, its data and definition."""

    session: Session
    row: ProcessInstance
    data: dict
    defn: Definition
    today: date
    now: datetime

    @property
    def policy(self) -> dict:
        return self.defn.policy

    def years(self, name: str, default: int) -> int:
        return int(self.policy.get(name, default))

    def persons(self) -> list[tuple[InstancePerson, Member | None]]:
        rows = self.session.execute(
            select(InstancePerson, Member)
            .outerjoin(Member, Member.id == InstancePerson.member_id)
            .where(InstancePerson.instance_id == self.row.id)
            .order_by(InstancePerson.position)
        )
        return [(p, m) for p, m in rows]

    def unit_name(self) -> str:
        unit = self.session.get(Unit, self.row.unit_id) if self.row.unit_id else None
        return unit.name if unit else ""


def _member_join_approved(c: Change) -> None:
    session, inst, data, today = c.session, c.row, c.data, c.today
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
    valid_until = membership_until(c.policy.get("membership_validity_years", 1), level, today)
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
        membership.cancelled_on = None
    membership.instance_id = inst.id
    account = session.scalars(select(Account).where(Account.username == id_number)).first()
    if account is None:
        # no password yet: the unit issues a random one-time password (reset, or a QR code
        # that shows it to the person), changed at the first sign-in
        session.add(
            Account(
                username=id_number,
                name=member.name,
                role="member",
                member_id=member.id,
                unit_id=inst.unit_id,
                password_hash=UNUSABLE,
                must_change_password=True,
            )
        )
    inst.member_id = member.id


INFO_FIELDS = ("mobile", "address", "education", "title", "registration_number")


def _info_change_approved(c: Change) -> None:
    member = c.session.scalars(
        select(Member).where(Member.id_number == str(c.data["id_number"]).upper())
    ).first()
    if member is None:
        return
    changes = c.data.get("changes") or {}
    for name in INFO_FIELDS:
        if name in changes:
            setattr(member, name, changes[name])
    if "photo" in changes:
        member.photo_file_id = changes["photo"]
    if changes.get("registration_number"):
        quals = list(member.qualifications or [])
        if "注册监理工程师注册证" not in quals:
            member.qualifications = [*quals, "注册监理工程师注册证"]


def move_member(session: Session, member: Member, unit: Unit | None) -> None:
    """Move a member to `unit` (None: leaves its unit); the member's login follows.

    Joining a unit takes the unit's agency; leaving keeps the member's agency.
    """
    member.unit_id = unit.id if unit is not None else None
    if unit is not None:
        member.agency_id = unit.agency_id
    session.execute(
        update(Account)
        .where(Account.member_id == member.id, Account.role == "member")
        .values(unit_id=member.unit_id)
    )


def _unit_change_approved(c: Change) -> None:
    unit = c.session.get(Unit, c.row.unit_id)
    moving = c.data.get("reason") == "new_employment"
    for _person, member in c.persons():
        if member is None:
            continue
        if moving:
            move_member(c.session, member, unit)
        for cert in c.session.scalars(
            select(Certificate).where(
                Certificate.member_id == member.id, Certificate.status != "cancelled"
            )
        ):
            cert.unit_name, cert.updated_at, cert.instance_id = unit.name, c.now, c.row.id


def _cancellation_approved(c: Change) -> None:
    for person, member in c.persons():
        if member is None:
            continue
        cancelling = set((person.line or {}).get("certificate_types") or [])
        certs = list(
            c.session.scalars(select(Certificate).where(Certificate.member_id == member.id))
        )
        for cert in certs:
            if cert.type in cancelling and cert.status != "cancelled":
                cert.status, cert.cancelled_on = "cancelled", c.today
                cert.updated_at, cert.instance_id = c.now, c.row.id
        remaining = [cert.type for cert in certs if cert.status != "cancelled"]
        outcome = c.defn.decisions.evaluate(
            "certificate_cancellation_membership", {"remaining_types": remaining}, c.now
        )
        if outcome.get("cancels_membership"):
            c.session.execute(
                update(Membership)
                .where(
                    Membership.member_id == member.id,
                    Membership.level == "普通会员",
                    Membership.cancelled_on.is_(None),
                )
                .values(cancelled_on=c.today)
            )


def _cpd_approved(c: Change) -> None:
    for person, member in c.persons():
        c.session.add(
            CpdCompletion(
                instance_id=c.row.id,
                member_id=member.id if member else None,
                unit_id=c.row.unit_id,
                id_number=person.id_number,
                name=person.name,
                completed_at=c.now,
            )
        )


Effect = Callable[[Change], None]

# the effects an end event may declare (`effect` property, engine/declarations.py EFFECTS)
EFFECTS: dict[str, Effect] = {
    "admit_member": _member_join_approved,
    "change_member_info": _info_change_approved,
    "change_certificate_unit": _unit_change_approved,
    "cancel_certificates": _cancellation_approved,
    "record_cpd": _cpd_approved,
}


def apply_effects(
    session: Session,
    inst: ProcessInstance,
    end_event: str | None,
    data: dict,
    defn: Definition,
    today: date,
    now: datetime,
) -> None:
    """Apply the records change the end event reached declares, if it declares one."""
    name = defn.declarations.effects.get(end_event or "")
    if name is not None:
        EFFECTS[name](Change(session, inst, data, defn, today, now))
