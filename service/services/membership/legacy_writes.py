"""The legacy import's writes: what a chunk changes (`Plan`) and writing it (`Writer`).

New rows go in through `db.bulk.insert_rows` (COPY on PostgreSQL), changes as updates by
primary key; the comparison functions decide what is created, updated or left unchanged.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from service.db.bulk import insert_rows
from service.db.models import Account, Certificate, Member, Membership, Unit
from service.domain.passwords import UNUSABLE
from service.domain.person_facts import membership_from, years_later
from service.services.membership.legacy_checks import LegacyUnit
from service.services.membership.legacy_rows import LegacyRow
from service.services.workflow.context import day_start


class Plan:
    """What one chunk writes: rows to insert, and updates by primary key."""

    def __init__(self):
        self.new_members: list = []
        self.member_updates: list[dict] = []
        self.new_memberships: list = []
        self.memberships_updates: list[dict] = []
        self.new_certificates: list = []
        self.certificates_updates: list[dict] = []


class Writer:
    """Writes plans in the import's transaction, stamped with its time and business day."""

    def __init__(self, session: Session, now: datetime, today: date, term=1):
        self.session, self.now, self.today = session, now, today
        self.term = term  # the policy's membership_validity_years

    def write(self, plan: Plan) -> None:
        s = self.session
        if plan.new_members:
            ids = insert_rows(
                s,
                Member.__table__,
                [self._member_values(row, unit) for row, unit in plan.new_members],
            )
            insert_rows(
                s,
                Account.__table__,
                [
                    {
                        "username": row.id_number,
                        "name": row.name,
                        "role": "member",
                        "member_id": member_id,
                        "unit_id": unit.id,
                        "password_hash": UNUSABLE,
                        "must_change_password": True,
                        "created_at": self.now,
                    }
                    for member_id, (row, unit) in zip(ids, plan.new_members, strict=True)
                ],
            )
            for member_id, (row, unit) in zip(ids, plan.new_members, strict=True):
                plan.new_memberships += [
                    (member_id, k, v, unit) for k, v in row.memberships.items()
                ]
                plan.new_certificates += [
                    (member_id, k, v, unit) for k, v in row.certificates.items()
                ]
        if plan.member_updates:
            s.execute(update(Member), plan.member_updates)
        if plan.new_memberships:
            values = [self._membership_values(*m) for m in plan.new_memberships]
            insert_rows(s, Membership.__table__, values)
        if plan.memberships_updates:
            s.execute(update(Membership), plan.memberships_updates)
        if plan.new_certificates:
            values = [self._certificate_values(*c) for c in plan.new_certificates]
            insert_rows(s, Certificate.__table__, values)
        if plan.certificates_updates:
            s.execute(
                update(Certificate),
                [{**u, "updated_at": self.now} for u in plan.certificates_updates],
            )

    def create_units(self, units: list[tuple[str, LegacyUnit]]) -> None:
        """New units, each with its main account (login = the full name, no password yet)."""
        ids = insert_rows(
            self.session,
            Unit.__table__,
            [
                {
                    "name": unit.name,
                    "credit_code": code,
                    "agency_id": unit.agency_id,
                    "member_unit": unit.member_unit,
                    "created_at": self.now,
                }
                for code, unit in units
            ],
        )
        for unit_id, (_code, unit) in zip(ids, units, strict=True):
            unit.id = unit_id
        insert_rows(
            self.session,
            Account.__table__,
            [
                {
                    "username": unit.name,
                    "name": unit.name,
                    "role": "unit_admin",
                    "unit_id": unit.id,
                    "agency_id": unit.agency_id,
                    "is_main": True,
                    "password_hash": UNUSABLE,
                    "must_change_password": True,
                    "created_at": self.now,
                }
                for _code, unit in units
            ],
        )

    def _member_values(self, row: LegacyRow, unit: LegacyUnit) -> dict:
        joined = row.joined_on
        return {
            "name": row.name,
            "id_type": "resident_id",
            "id_number": row.id_number,
            "gender": row.gender,
            "birth_date": row.birth_date,
            "mobile": row.mobile,
            "education": row.education or None,
            "title": row.title,
            "unit_id": unit.id,
            "agency_id": unit.agency_id,
            "status": "自由态",
            # 入会日期 is shown from created_at (Shanghai day): keep the old platform's
            "created_at": day_start(joined) if joined else self.now,
        }

    def _membership_values(self, member_id, level, values, _unit) -> dict:
        until, cancelled = values
        return {
            "member_id": member_id,
            "level": level,
            # the export carries the end only: the start is a term before it
            "valid_from": membership_from(self.term, level, until),
            "valid_until": until,
            "cancelled_on": min(self.today, until) if cancelled else None,
        }

    def _certificate_values(self, member_id, cert_type, values, unit) -> dict:
        number, sp1, sp2, until, cancelled = values
        return {
            "member_id": member_id,
            "type": cert_type,
            "number": number,
            "specialty_1": sp1,
            "specialty_2": sp2,
            # the export carries no issue date: three years before expiry, as certificates run
            "first_issued_on": years_later(until, -3),
            "valid_until": until,
            "unit_name": unit.name,
            "status": "cancelled" if cancelled else "valid",
            "cancelled_on": self.today if cancelled else None,
            "updated_at": self.now,
        }


def member_changes(member: Member, row: LegacyRow, unit: LegacyUnit) -> dict:
    """The fields the row changes (an empty cell changes nothing)."""
    wanted = {"name": row.name, "gender": row.gender, "birth_date": row.birth_date}
    if row.mobile:
        wanted["mobile"] = row.mobile
    if row.title:
        wanted["title"] = row.title
    if row.education:
        wanted["education"] = {**(member.education or {}), **row.education}
    if member.unit_id is None:
        wanted["unit_id"], wanted["agency_id"] = unit.id, unit.agency_id
    return {k: v for k, v in wanted.items() if getattr(member, k) != v}


def membership_change(
    stored: Membership | None, values, today: date, term=1
) -> tuple[str, dict | None]:
    """What importing a membership's (end, cancelled) does to the stored one; `term`: the
    policy's membership_validity_years."""
    until, cancelled = values
    if stored is None:
        return "created", None
    if stored.valid_until == until and bool(stored.cancelled_on) == cancelled:
        return "unchanged", None
    if stored.cancelled_on is not None or stored.valid_until > until:
        return "kept", None  # cancelled or renewed on the new platform since: said, not taken
    return "updated", {
        "id": stored.id,
        "valid_until": until,
        "valid_from": min(stored.valid_from, membership_from(term, stored.level, until)),
        "cancelled_on": min(today, until) if cancelled else None,
    }


def certificate_change(stored: Certificate | None, values, today: date) -> tuple[str, dict | None]:
    number, sp1, sp2, until, cancelled = values
    if stored is None:
        return "created", None
    now = (stored.number, stored.specialty_1, stored.specialty_2, stored.valid_until)
    if now == (number, sp1, sp2, until) and (stored.status == "cancelled") == cancelled:
        return "unchanged", None
    if stored.status == "cancelled" or stored.valid_until > until:
        return "kept", None  # cancelled or renewed on the new platform since: said, not taken
    change = {
        "id": stored.id,
        "number": number,
        "specialty_1": sp1,
        "specialty_2": sp2,
        "valid_until": until,
    }
    if cancelled:
        change.update(status="cancelled", cancelled_on=today)
    return "updated", change
