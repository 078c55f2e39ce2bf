"""What an eligibility answer may say about a person, and to whom.

The unit that employs a person sees every reason the rules give (dates, bills, businesses in
progress). Anyone else who types an ID number into a form — another unit, an applicant with a
join code — learns only whether the person can be put on the form, with a generic reason:
never whether they are a member elsewhere, their certificates' or membership's dates, their
business in progress or their unpaid bills.
"""

from __future__ import annotations

# said of a person on a form who is not employed by the unit filling it in
NOT_DISCLOSED = "该人员不是本单位人员，不能列入本表单；具体情况请本人向其所在单位或协会了解"
# said of a join applicant whom the association's records refuse (a member, a join in progress)
APPLICANT_NOT_DISCLOSED = "该证件号码目前不能申请入会；具体情况请申请人本人向协会了解"
# the facts a join's rules read from the association's records (not from the form)
APPLICANT_RECORD_FACTS = ("is_member", "join_in_flight")


def employs(facts: dict | None) -> bool:
    """Whether the unit filling in the form employs the person (`in_unit` of their facts)."""
    return bool(facts and facts.get("in_unit"))


def person_reasons(reasons: list[str], facts: dict | None) -> list[str]:
    """The reasons the form's unit may read for one person on it."""
    if not reasons or employs(facts):
        return list(reasons)
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
