"""The facts of a person who is eligible for everything, and the context a rule table sees."""

import copy
import json
from pathlib import Path

from lxml import etree

RULES = Path(__file__).resolve().parents[2] / "rules"
PROCESSES = RULES.parent / "processes"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"


def _process_names() -> dict[str, str]:
    """Each business type's name as its BPMN writes it (the service passes the same map)."""
    names = {}
    for path in sorted(PROCESSES.glob("*.bpmn")):
        process = etree.parse(str(path)).getroot().find(f"{BPMN}process")
        names[process.get("id")] = process.get("name")
    for path in sorted(PROCESSES.glob("*.shared.json")):  # types sharing a template
        names[path.name.removesuffix(".shared.json")] = json.loads(
            path.read_text(encoding="utf-8")
        )["values"]["name"]
    return names


PROCESS_NAMES = _process_names()

# Eligible for every business: known, in the unit, both memberships valid, one valid
# 监理员 certificate that expires in 3 months, 本科 of a construction major 5 years ago,
# a 中级 title (so both upgrade routes hold), nothing in flight, unpaid or unlearned.
ALL_CLEAR_FACTS = {
    "known": True,
    "name_matches": True,
    "in_unit": True,
    "age": 40,
    "ordinary_membership": "valid",
    "membership_until": "2026-12-31",
    "professional_membership": "valid",
    "has_violation": False,
    "in_flight": [],
    "unpaid_bills": [],
    "open_learning": [],
    "cpd_enrolment": "none",
    "cpd_enrolled_on": None,
    "certificates": {
        "监理员": {
            "status": "valid",
            "number": "JL-0001",
            "valid_until": "2026-04-01",
            "months_to_expiry": 3,
            "specialty_1": "房屋建筑工程",
            "specialty_2": "市政公用工程",
        }
    },
    "valid_types": ["监理员"],
    "expired_types": [],
    "education_level": "本科",
    "years_since_graduation": 5,
    "major_category": "工程建设类",
    "title": "中级",
    "has_registration": False,
    "specialties_agree": True,
    "certificates_carry_unit_name": False,
}

ALL_CLEAR_PERSON = {
    "id_number": "440308199901101512",
    "name": "张三",
    "certificate_type": "监理员",
    "certificate_types": ["监理员"],
}


def cert(status: str = "valid", months: int = 3, valid_until: str = "2026-04-01") -> dict:
    """One certificate entry of the facts."""
    return {
        "status": status,
        "number": "ZS-0001",
        "valid_until": valid_until,
        "months_to_expiry": months,
        "specialty_1": "房屋建筑工程",
        "specialty_2": None,
    }


def build_facts(**overrides) -> dict:
    """The all-clear facts with `overrides`; valid/expired types follow the certificates."""
    facts = copy.deepcopy(ALL_CLEAR_FACTS)
    facts.update(overrides)
    for status in ("valid", "expired"):
        if "certificates" in overrides and f"{status}_types" not in overrides:
            certificates = facts["certificates"].items()
            facts[f"{status}_types"] = [t for t, c in certificates if c["status"] == status]
    return facts


def build_context(process_key: str, facts=None, person=None, **form) -> dict:
    """The variables an eligibility table sees; a person key overridden with None is dropped."""
    line = {**ALL_CLEAR_PERSON, **(person or {})}
    line = {k: v for k, v in line.items() if v is not None}
    return {
        "process_key": process_key,
        "process_names": PROCESS_NAMES,
        "person": line,
        "facts": build_facts(**(facts or {})),
        **form,
    }
