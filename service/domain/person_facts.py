"""The facts about one person that the eligibility tables (rules/*.dmn) read.

Pure: records come in as plain values, facts go out as JSON-friendly dicts. What the facts
mean for a business type is decided by its DMN table, not here.
"""

from __future__ import annotations

from calendar import isleap
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import MAXYEAR, MINYEAR, date, timedelta

from service.domain.validation import age_on, name_key

CERTIFICATE_TYPES = ("安全监理员", "监理员", "专业监理工程师")
ORDINARY, PROFESSIONAL = "普通会员", "专业会员"


@dataclass(frozen=True)
class CertificateRecord:
    type: str
    number: str
    # stored status: valid / cancelled / upgraded (监理员 turned 专业监理工程师); expiry is
    # derived from the date
    status: str
    valid_until: date
    specialty_1: str | None = None
    specialty_2: str | None = None
    unit_name: str | None = None  # the unit name printed on it


@dataclass(frozen=True)
class MembershipRecord:
    level: str
    valid_until: date
    cancelled_on: date | None = None


# the states of a registered-engineer CPD enrolment still in effect (manual 2.11.2.2): approved
# and waiting for the weekly batch, or reported in a batch whose learning has not been opened
# on the national platform yet; after the opening the person learns there
CPD_AWAITING_REPORT, CPD_AWAITING_OPENING, CPD_NONE = "awaiting_report", "awaiting_opening", "none"


@dataclass(frozen=True)
class CpdEnrolmentRecord:
    """An approved CPD enrolment of the person whose learning has not been opened yet."""

    state: str  # CPD_AWAITING_REPORT or CPD_AWAITING_OPENING
    completed_on: date  # the day (Asia/Shanghai) the association approved it


@dataclass
class PersonRecord:
    """What the database knows about a person, gathered by the service."""

    id_number: str
    name: str | None = None
    unit_id: int | None = None
    birth_date: date | None = None
    education: dict | None = None
    title: str | None = None
    registration_number: str | None = None
    qualifications: list | None = None
    violation_note: str | None = None
    unit_name: str | None = None  # the current name of the person's unit
    memberships: list[MembershipRecord] = field(default_factory=list)
    certificates: list[CertificateRecord] = field(default_factory=list)
    in_flight: list[str] = field(default_factory=list)
    unpaid_bills: list[str] = field(default_factory=list)
    open_learning: list[str] = field(default_factory=list)
    cpd_enrolments: list[CpdEnrolmentRecord] = field(default_factory=list)


def _out_of_range(year: int) -> date | None:
    """date.max or date.min for a year past either end of the calendar, else None: an old
    platform's placeholder (9999-12-31 "never expires", 0001-01-01 "empty") must not turn
    arithmetic on it into a server error."""
    if year > MAXYEAR:
        return date.max
    if year < MINYEAR:
        return date.min
    return None


def add_months(day: date, months: int) -> date:
    """The same day `months` later (the month's last day when it has fewer days; date.max or
    date.min past the calendar's end)."""
    month0 = day.month - 1 + months
    year, month = day.year + month0 // 12, month0 % 12 + 1
    clamped = _out_of_range(year)
    if clamped is not None:
        return clamped
    for candidate in (day.day, 30, 29, 28):
        try:
            return date(year, month, min(day.day, candidate))
        except ValueError:
            continue
    raise ValueError(day)  # pragma: no cover - 28 always exists


def years_later(start: date, years: int) -> date:
    """The same day `years` later (28 February for 29 February, as ages count it; date.max
    or date.min past the calendar's end)."""
    clamped = _out_of_range(start.year + years)
    if clamped is not None:
        return clamped
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        return start.replace(year=start.year + years, day=28)


def term_end(start: date, years: int) -> date:
    """The last day of a term of `years` from `start` (a certificate's validity): the day
    before the same date `years` later. From 29 February that date is 1 March in a common
    year, so the term ends 28 February, as from 1 March, a day after one from 28 February."""
    year = start.year + years
    clamped = _out_of_range(year)
    if clamped is not None:
        return clamped
    if (start.month, start.day) == (2, 29) and not isleap(year):
        return date(year, 2, 28)
    return start.replace(year=year) - timedelta(days=1)


def next_day(day: date) -> date:
    """The next day; date.max (9999-12-31, an old platform's "never expires") stays itself."""
    return day if day == date.max else day + timedelta(days=1)


def membership_years(term, level: str) -> int:
    """The years a membership of `level` runs, `term` being the policy's
    `membership_validity_years`: one number for every level, or one per level (manual:
    普通会员 3 years, 专业会员 1, its annual fee)."""
    years = term.get(level, term.get("普通会员", 1)) if isinstance(term, dict) else term
    return int(years)


def membership_until(term, level: str, start: date) -> date:
    """The last day of a membership of `level` starting `start`: the same day its term's
    years later (`membership_years`)."""
    return years_later(start, membership_years(term, level))


def membership_from(term, level: str, until: date) -> date:
    """The first day of a membership of `level` whose last day is `until` (the inverse of
    `membership_until`: an imported membership carries its end only)."""
    return years_later(until, -membership_years(term, level))


def months_until(today: date, until: date) -> int:
    """The smallest m ≥ 0 with `until` ≤ today + m months (6 ⇔ "within six months")."""
    if until <= today:
        return 0
    m = (until.year - today.year) * 12 + until.month - today.month - 1
    m = max(m, 0)
    while add_months(today, m) < until:
        m += 1
    return m


def certificate_status(cert: CertificateRecord, today: date) -> str:
    """valid / expired / cancelled / upgraded as of today."""
    if cert.status in ("cancelled", "upgraded"):
        return cert.status
    return "expired" if cert.valid_until < today else "valid"


def membership_status(records: Iterable[MembershipRecord], level: str, today: date) -> str:
    """valid / expired / cancelled / none for one membership level."""
    for m in records:
        if m.level != level:
            continue
        if m.cancelled_on is not None:
            return "cancelled"
        return "valid" if m.valid_until >= today else "expired"
    return "none"


def _membership_until(records: Iterable[MembershipRecord], level: str) -> str | None:
    for m in records:
        if m.level == level and m.cancelled_on is None:
            return m.valid_until.isoformat()
    return None


def cpd_enrolment(records: Iterable[CpdEnrolmentRecord]) -> tuple[str, str | None]:
    """The state of the person's latest CPD enrolment still in effect, and the day it was
    approved (ISO); (CPD_NONE, None) without one."""
    latest = max(records, key=lambda r: r.completed_on, default=None)
    if latest is None:
        return CPD_NONE, None
    return latest.state, latest.completed_on.isoformat()


# 专业类别 as the forms give it (forms/common.schema.json): what the education rules read
MAJOR_CATEGORIES = ("工程建设类", "工程经济类", "其他")


def major_category(education: dict | None) -> str | None:
    if not education:
        return None
    return education.get("major_category") or None


def _has_registration(record: PersonRecord) -> bool:
    if record.registration_number:
        return True
    return any("注册" in str(q) for q in record.qualifications or [])


def specialties_agree(certs: Iterable[CertificateRecord], today: date) -> bool:
    """Whether every valid certificate carries the same specialties in the same order."""
    pairs = {
        (c.specialty_1 or None, c.specialty_2 or None)
        for c in certs
        if certificate_status(c, today) == "valid"
    }
    return len(pairs) <= 1


def carry_unit_name(record: PersonRecord, today: date) -> bool:
    """Whether the person holds a valid certificate and every valid one already carries the
    current name of the person's unit (a unit-name change would change nothing)."""
    valid = [c for c in record.certificates if certificate_status(c, today) == "valid"]
    return bool(valid and record.unit_name) and all(c.unit_name == record.unit_name for c in valid)


def person_facts(
    record: PersonRecord | None, id_number: str, name: str | None, unit_id: int | None, today: date
) -> dict:
    """The facts the eligibility rules read for one person on a form."""
    if record is None:
        return unknown_person(id_number)
    education = record.education or {}
    graduated = education.get("graduated_on")
    years = None
    if graduated:
        try:
            years = age_on(date.fromisoformat(graduated), today)
        except ValueError:
            years = None
    cpd_state, cpd_on = cpd_enrolment(record.cpd_enrolments)
    certificates = {}
    for c in record.certificates:
        status = certificate_status(c, today)
        certificates[c.type] = {
            "status": status,
            "number": c.number,
            "valid_until": c.valid_until.isoformat(),
            "months_to_expiry": months_until(today, c.valid_until),
            "specialty_1": c.specialty_1,
            "specialty_2": c.specialty_2,
        }
    return {
        "known": True,
        "name_matches": name is None or name_key(record.name or "") == name_key(name),
        "in_unit": unit_id is not None and record.unit_id == unit_id,
        "age": age_on(record.birth_date, today) if record.birth_date else None,
        "ordinary_membership": membership_status(record.memberships, ORDINARY, today),
        "membership_until": _membership_until(record.memberships, ORDINARY),
        "professional_membership": membership_status(record.memberships, PROFESSIONAL, today),
        "has_violation": bool(record.violation_note),
        "in_flight": sorted(set(record.in_flight)),
        "unpaid_bills": sorted(set(record.unpaid_bills)),
        "open_learning": sorted(set(record.open_learning)),
        "cpd_enrolment": cpd_state,
        "cpd_enrolled_on": cpd_on,
        "certificates": certificates,
        "valid_types": [t for t, c in certificates.items() if c["status"] == "valid"],
        "expired_types": [t for t, c in certificates.items() if c["status"] == "expired"],
        "education_level": education.get("level"),
        "years_since_graduation": years,
        "major_category": major_category(education),
        "title": record.title or "无",
        "has_registration": _has_registration(record),
        "specialties_agree": specialties_agree(record.certificates, today),
        "certificates_carry_unit_name": carry_unit_name(record, today),
    }


def unknown_person(id_number: str) -> dict:
    """Facts for an ID number no member record has: the rules refuse it by `known`."""
    return {
        "known": False,
        "name_matches": False,
        "in_unit": False,
        "age": None,
        "ordinary_membership": "none",
        "membership_until": None,
        "professional_membership": "none",
        "has_violation": False,
        "in_flight": [],
        "unpaid_bills": [],
        "open_learning": [],
        "cpd_enrolment": CPD_NONE,
        "cpd_enrolled_on": None,
        "certificates": {},
        "valid_types": [],
        "expired_types": [],
        "education_level": None,
        "years_since_graduation": None,
        "major_category": None,
        "title": "无",
        "has_registration": False,
        "specialties_agree": True,
        "certificates_carry_unit_name": False,
    }
