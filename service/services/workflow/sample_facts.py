"""Facts for `memberflow check --walk`: what facts.py would give the rules, for a sample.

The sample person is a member of the unit in good standing: both memberships valid, the
three certificate types valid and expiring within six months, 本科 of a construction
major, a mid-level title, nothing in flight. The walk changes one fact at a time from
here to make each eligibility rule fire (engine/walk.py). The person facts are built by
the same domain function the service uses, so their shape cannot drift from it.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

from service.domain.person_facts import (
    CERTIFICATE_TYPES,
    ORDINARY,
    PROFESSIONAL,
    CertificateRecord,
    MembershipRecord,
    PersonRecord,
    add_months,
    person_facts,
)
from service.services.workflow.facts import persons_on

SAMPLE_UNIT_ID = 1
SAMPLE_UNIT_NAME = "走查样例监理有限公司"


def _person(id_number: str, name: str | None, today: date) -> dict:
    until = add_months(today, 24)
    record = PersonRecord(
        id_number=id_number,
        name=(name or "张三").strip(),
        unit_id=SAMPLE_UNIT_ID,
        birth_date=date(today.year - 40, 1, 1),
        education={
            "level": "本科",
            "major_category": "工程建设类",
            "graduated_on": date(today.year - 10, 7, 1).isoformat(),
        },
        title="中级",
        registration_number="REG-0001",
        memberships=[MembershipRecord(ORDINARY, until), MembershipRecord(PROFESSIONAL, until)],
        certificates=[
            CertificateRecord(
                kind,
                f"WALK-{i}",
                "valid",
                add_months(today, 4),
                "房屋建筑工程",
            )
            for i, kind in enumerate(CERTIFICATE_TYPES)
        ],
    )
    return person_facts(record, id_number, name, SAMPLE_UNIT_ID, today)


def _persons(data: dict, today: date) -> dict:
    return {"person_facts": {n: _person(n, name, today) for n, name in persons_on(data) if n}}


def _applicant(data: dict, today: date) -> dict:
    return {
        "is_member": False,
        "held_levels": [],
        "member_elsewhere": False,
        "join_in_flight": False,
        "records_here": True,
    }


def _unit(data: dict, today: date) -> dict:
    new_name = str(data.get("new_name") or "").strip() or None
    return {
        "unit_facts": {
            "found": True,
            "name": SAMPLE_UNIT_NAME,
            "membership": "valid",
            "membership_until": (today + timedelta(days=365)).isoformat(),
            "joined_on": (today - timedelta(days=730)).isoformat(),
            "in_flight": [],
            "new_name": new_name,
            "name_unchanged": new_name == SAMPLE_UNIT_NAME,
            "name_taken": False,
        }
    }


# one per kind of facts.py FACTS (a test keeps the two lists equal)
SAMPLES: dict[str, Callable[[dict, date], dict]] = {
    "applicant": _applicant,
    "persons": _persons,
    "unit": _unit,
}


def sample_facts(kind: str | None, today: date, names: Mapping[str, str]) -> Callable[[dict], dict]:
    """For a process declaring `facts` = `kind`: form data -> the sample facts."""
    provider = SAMPLES[kind or "persons"]

    def facts(data: dict) -> dict:
        return {**provider(data, today), "process_names": dict(names)}

    return facts
