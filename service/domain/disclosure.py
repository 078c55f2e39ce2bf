"""What an eligibility answer may say about a person, and to whom.

The unit that employs a person sees every reason the rules give (dates, bills, businesses in
progress). Anyone else who types an ID number into a form — another unit, an applicant with a
join code — learns only whether the person can be put on the form, with a generic reason:
never whether they are a member elsewhere, their certificates' or membership's dates, their
business in progress or their unpaid bills.

A form listing several persons (a unit's enrolment of its staff) is read by each of them, a
member, as one of its persons: their own line in full, every other person's by name with the
ID number masked, nothing of that person's materials, certificates, reasons or fees
(`own_lines`; `scope.line_reader` says who reads so).
"""

from __future__ import annotations

from service.domain.masking import mask_id_number

# said of a person on a form who is not employed by the unit filling it in
NOT_DISCLOSED = "该人员不是本单位人员，不能列入本表单；具体情况请本人向其所在单位或协会了解"
# said of a join applicant whom the association's records refuse (a member, a join in progress)
APPLICANT_NOT_DISCLOSED = "该证件号码目前不能申请入会；具体情况请申请人本人向协会了解"
# the facts a join's rules read from the association's records (not from the form)
APPLICANT_RECORD_FACTS = ("is_member", "join_in_flight")


def reason_list(value) -> list[str]:
    """A decision table's reasons as a list: a COLLECT table gives a list, a UNIQUE table
    one string (a reason, never to be split into its characters), none matched nothing."""
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple):
        return [str(v) for v in value if v not in (None, "")]
    return [str(value)]


def employs(facts: dict | None) -> bool:
    """Whether the unit filling in the form employs the person (`in_unit` of their facts)."""
    return bool(facts and facts.get("in_unit"))


def person_reasons(reasons: list[str], facts: dict | None) -> list[str]:
    """The reasons the form's unit may read for one person on it."""
    if not reasons or employs(facts):
        return reason_list(reasons)
    return [NOT_DISCLOSED]


def applicant_reasons(reasons: list[str], facts: dict) -> list[str]:
    """The reasons a join's form may read: what the records say only when they are the unit's
    own (its member, its join in progress) and a unit account asks; else one generic line.

    Reasons that come from the form alone (an invalid ID number, the age it gives) stay.
    """
    found = any(facts.get(k) for k in APPLICANT_RECORD_FACTS)
    own = facts.get("records_here") and facts.get("initiator_role") == "unit_admin"
    if reasons and found and not own:
        return [APPLICANT_NOT_DISCLOSED]
    return list(reasons)


def _same(number, own: str) -> bool:
    return isinstance(number, str) and number.strip().upper() == own.strip().upper()


def other_person(line: dict) -> dict:
    """What a person on a form reads of another person's line: the name, the ID number masked."""
    return {"name": line.get("name"), "id_number": mask_id_number(line.get("id_number"))}


def own_lines_of(lines: list, own: str) -> list:
    """A list of person lines (the form's persons, its fee lines, a bill's lines) as the
    person with the ID number `own` reads it: their line whole, the others' `other_person`."""
    return [
        other_person(x)
        if isinstance(x, dict) and "id_number" in x and not _same(x["id_number"], own)
        else x
        for x in lines
    ]


def own_lines(data: dict, own: str) -> dict:
    """A form's data as the person with the ID number `own` reads it (a member on a form
    listing several persons): every list of person lines by `own_lines_of`, and the rules'
    reasons about another person's line (`person_reasons`, one list per line) left empty."""
    out = dict(data)
    persons = data.get("persons")
    reasons = data.get("person_reasons")
    if isinstance(persons, list) and isinstance(reasons, list):
        out["person_reasons"] = [
            r
            if i < len(persons)
            and isinstance(persons[i], dict)
            and _same(persons[i].get("id_number"), own)
            else []
            for i, r in enumerate(reasons)
        ]
    for key, value in data.items():
        if isinstance(value, list) and any(isinstance(x, dict) and "id_number" in x for x in value):
            out[key] = own_lines_of(value, own)
    return out


def own_number(number: str | None, own: str) -> str | None:
    """A form's listed ID number (its subject's) as that person reads it: theirs in full,
    another person's masked."""
    return number if number is None or _same(number, own) else mask_id_number(number)
