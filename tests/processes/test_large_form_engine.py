"""A form of many persons in the engine: what it stores grows with the persons, not their square.

Each person is checked, charged and then waits for a learning result in a branch of their own.
A branch that carried a copy of the whole form (as a sub-process per person does) would make
a form of N persons store N copies of N lines; these tests hold the education processes to
state that is linear in N, and check that a branch restored from that state still sees the
form, its own person and the hours its rule set.
"""

from __future__ import annotations

import copy
from datetime import date, timedelta

import pytest
from test_business_processes import (
    ALL_CLEAR,
    FORM_FIELDS,
    PAID_PATH,
    PROCESS_FACTS,
    SUBMITTED_ON,
    definitions,
    restored,
    walk,
)

from service.domain.validation import make_resident_id
from service.engine import Instance

EDUCATION = ["initial_education", "continuing_education", "upgrade_education"]
LINE = {
    "initial_education": {"certificate_type": "监理员", "specialty_1": "房屋建筑工程"},
    "continuing_education": {"certificate_type": "监理员"},
    "upgrade_education": {},
}


def numbers(count: int) -> list[str]:
    born = date(1980, 1, 1)
    return [
        make_resident_id(f"440106{born + timedelta(days=7 * i):%Y%m%d}{i:03d}")
        for i in range(count)
    ]


def person_facts(key: str, ids: list[str]) -> dict:
    facts = {}
    for n in ids:
        person = copy.deepcopy(ALL_CLEAR)
        person.update(copy.deepcopy(PROCESS_FACTS.get(key, {})), membership_until="2095-12-31")
        facts[n] = person
    return facts


def at_learning(key: str, count: int) -> tuple[Instance, list[str]]:
    """A form of `count` persons of `key`, through finance: every person's learning waits."""
    ids = numbers(count)
    facts = person_facts(key, ids)
    lines = [{"id_number": n, "name": f"学员{i:03d}", **LINE[key]} for i, n in enumerate(ids)]
    data = {
        "process_key": key,
        "initiator_role": "unit_admin",
        "submitted_on": SUBMITTED_ON,
        "unit_name": "广州市某某监理有限公司",
        "persons": lines,
        **FORM_FIELDS[key],
        "person_facts": facts,
    }
    inst = walk(restored(Instance.start(definitions()[key], data)), PAID_PATH, facts)
    assert inst.status == "审批完成" and not inst.finished
    return inst, ids


@pytest.mark.parametrize("key", EDUCATION)
def test_the_saved_state_of_a_form_grows_with_its_persons_not_their_square(key):
    small, large = (at_learning(key, n)[0].dumps() for n in (10, 80))
    per_person = len(large) / 80, len(small) / 10
    # a copy of the form per person: about 8 times as much per person at 80 as at 10
    assert per_person[0] <= 1.3 * per_person[1], per_person


@pytest.mark.parametrize("key", EDUCATION)
def test_a_restored_learning_branch_sees_the_form_its_person_and_its_hours(key):
    inst, ids = at_learning(key, 30)
    events = restored(restored(inst)).waiting_events()
    messages = {e["correlation"]: e["data"] for e in events if e["kind"] == "message"}
    assert sorted(messages) == sorted(ids)
    for n, data in messages.items():
        assert data["learner"]["id_number"] == n
        assert data["required_hours"] > 0
        assert [p["id_number"] for p in data["persons"]] == ids
    state = inst.dumps()
    assert "person_facts" not in state and '"facts"' not in state  # facts are not stored


@pytest.mark.parametrize("key", EDUCATION)
def test_each_persons_reasons_and_fee_line_stay_in_the_forms_order(key):
    ids = numbers(40)
    facts = person_facts(key, ids)
    facts[ids[27]]["in_unit"] = False  # 该人员不属于本单位
    lines = [{"id_number": n, "name": f"学员{i:03d}", **LINE[key]} for i, n in enumerate(ids)]
    data = {
        "process_key": key,
        "initiator_role": "unit_admin",
        "submitted_on": SUBMITTED_ON,
        "unit_name": "广州市某某监理有限公司",
        "persons": lines,
        **FORM_FIELDS[key],
    }
    refused = restored(Instance.start(definitions()[key], {**data, "person_facts": facts}))
    reasons = refused.data["person_reasons"]
    assert [i for i, r in enumerate(reasons) if r] == [27] and refused.finished

    facts = person_facts(key, ids)
    inst = restored(Instance.start(definitions()[key], {**data, "person_facts": facts}))
    inst = walk(inst, PAID_PATH[:2], facts)
    assert [line["id_number"] for line in inst.data["fee_lines"]] == ids
