"""Fees of the paid business processes and the learning wait of the four education ones.

The walk (start, step, facts …) is the one of test_business_processes.py.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from test_business_processes import (
    DEADLINES,
    EDUCATION,
    FLOW,
    ID_A,
    ID_B,
    PAID_PATH,
    PAY,
    RECEIPT,
    assert_done,
    facts,
    give_back,
    restored,
    resubmit,
    start,
    step,
    walk,
)

from service.engine import Instance

# DEADLINES in UTC: the end of the day in +08:00 is 15:59:59 UTC
A_DEADLINE_UTC = datetime(2095, 12, 31, 15, 59, 59, tzinfo=UTC)
B_DEADLINE_UTC = datetime(2096, 6, 30, 15, 59, 59, tzinfo=UTC)
ONE_SECOND_EARLY = datetime(2096, 6, 30, 15, 59, 58, tzinfo=UTC)
EXPIRED = {"ordinary_membership": "expired", "membership_until": "2025-12-31"}


def fee_line(number: str, name: str, support: str, membership: str = "0.00") -> dict:
    return {
        "id_number": number,
        "name": name,
        "support_fee": support,
        "membership_fee": membership,
    }


def at_payment(key: str, person_facts: dict) -> Instance:
    """A form of `key` approved by both reviews, waiting for the unit to pay."""
    inst = walk(start(FLOW[key], person_facts), PAID_PATH[:2], person_facts)
    assert inst.status == "待缴费"
    return inst


def learning(key: str) -> Instance:
    """A form of `key` through finance approval: waiting for the learning results."""
    return walk(start(FLOW[key]), PAID_PATH, facts(key))


def waits(inst: Instance) -> list[tuple]:
    """(ID number, event name, due) of every event waited for."""
    events = restored(inst).waiting_events()
    for event in events:
        assert event["kind"] == ("timer" if event["name"] == "会籍到期" else "message")
    return sorted((e["correlation"], e["name"], e["due"]) for e in events)


def waits_of(*numbers: str) -> list[tuple]:
    """Per person: the pass, the final failure and the deadline (end of the membership day,
    +08:00)."""
    return sorted(
        event
        for n in numbers
        for event in [
            (n, "learning_passed", None),
            (n, "learning_failed", None),
            (n, "会籍到期", DEADLINES[n] + "T23:59:59+08:00"),
        ]
    )


def test_two_people_on_an_initial_education_form_owe_60_and_100():
    inst = at_payment("initial_education", facts("initial_education"))
    assert inst.data["fee_lines"] == [
        fee_line(ID_A, "张三", "60.00"),
        fee_line(ID_B, "李四", "100.00"),
    ]
    assert inst.data["fee_total"] == "160.00"


def test_an_expired_membership_adds_the_membership_fee_to_continuing_education():
    inst = at_payment("continuing_education", facts("continuing_education", EXPIRED))
    assert inst.data["fee_lines"] == [
        fee_line(ID_A, "张三", "60.00", "200.00"),
        fee_line(ID_B, "李四", "60.00"),
    ]
    assert inst.data["fee_total"] == "320.00"


def test_the_membership_renewed_by_the_payment_sets_the_learning_deadline():
    expired = facts("continuing_education", EXPIRED)
    inst = at_payment("continuing_education", expired)
    inst = step(inst, "unit_pay", PAY, expired)
    # the service renews the membership on the confirmed payment, then refreshes the facts
    renewed = facts("continuing_education")
    inst = step(inst, "finance_review", RECEIPT, renewed)
    assert waits(inst) == waits_of(ID_A, ID_B)


def test_a_certificate_unit_change_costs_20_per_person_and_then_ends():
    person_facts = facts("certificate_unit_change")
    inst = at_payment("certificate_unit_change", person_facts)
    assert inst.data["fee_lines"] == [
        fee_line(ID_A, "张三", "20.00"),
        fee_line(ID_B, "李四", "20.00"),
    ]
    assert inst.data["fee_total"] == "40.00"
    inst = walk(inst, PAID_PATH[2:], person_facts)
    assert_done(FLOW["certificate_unit_change"], inst)
    assert inst.waiting_events() == []


# (key, total for both people, total for the first person alone)
TOTALS = [
    ("initial_education", "160.00", "60.00"),
    ("continuing_education", "120.00", "60.00"),
    ("upgrade_education", "200.00", "100.00"),
    ("specialty_change", "120.00", "60.00"),
    ("certificate_unit_change", "40.00", "20.00"),
]


@pytest.mark.parametrize(("key", "both", "alone"), TOTALS)
def test_a_return_from_finance_recomputes_the_fees_on_the_second_pass(key, both, alone):
    flow, person_facts = FLOW[key], facts(key)
    inst = walk(start(flow, person_facts), PAID_PATH[:3], person_facts)
    assert inst.data["fee_total"] == both
    inst = step(inst, "finance_review", give_back("finance_review"), person_facts)
    assert inst.status == "退回"
    assert inst.data["fee_lines"] == []
    # the unit takes the second person off the form
    inst = resubmit(flow, inst, person_facts, count=1)
    inst = walk(inst, PAID_PATH[:2], person_facts)
    assert [line["id_number"] for line in inst.data["fee_lines"]] == [ID_A]
    assert inst.data["fee_total"] == alone
    inst = walk(inst, PAID_PATH[2:], person_facts)
    assert_done(flow, inst)


@pytest.mark.parametrize("key", EDUCATION)
def test_after_finance_approval_each_person_waits_for_a_result_and_a_deadline(key):
    inst = learning(key)
    assert not inst.finished
    assert inst.status == "审批完成"
    assert inst.ready_tasks() == []
    assert waits(inst) == waits_of(ID_A, ID_B)


@pytest.mark.parametrize("key", EDUCATION)
def test_one_person_passing_leaves_the_other_waiting_until_the_deadline_ends_the_form(key):
    inst = restored(learning(key))
    assert inst.deliver_message("learning_passed", ID_A, {"passed": True, "hours": 24})
    inst = restored(inst)
    assert not inst.finished
    assert inst.status == "审批完成"
    assert waits(inst) == waits_of(ID_B)

    assert inst.fire_timers(ONE_SECOND_EARLY) == []
    inst = restored(inst)
    fired = inst.fire_timers(B_DEADLINE_UTC)
    assert fired == [{"name": "会籍到期", "correlation": ID_B}]
    inst = restored(inst)
    assert inst.finished
    assert inst.end_event == "approved_end"
    assert inst.status == "审批完成"
    assert inst.waiting_events() == []


@pytest.mark.parametrize("key", EDUCATION)
def test_a_result_for_an_id_number_not_waiting_is_refused(key):
    inst = restored(learning(key))
    assert not inst.deliver_message("learning_passed", "440308199001011519", {})
    assert not inst.deliver_message("exam_failed", ID_A, {})
    assert inst.deliver_message("learning_passed", ID_A, {})
    inst = restored(inst)
    assert not inst.deliver_message("learning_passed", ID_A, {})
    assert waits(inst) == waits_of(ID_B)


@pytest.mark.parametrize("key", EDUCATION)
def test_everyone_passing_finishes_the_form(key):
    inst = restored(learning(key))
    for number in (ID_B, ID_A):
        assert inst.deliver_message("learning_passed", number, {"passed": True})
        inst = restored(inst)
    assert inst.finished
    assert inst.end_event == "approved_end"


@pytest.mark.parametrize("key", EDUCATION)
def test_each_deadline_fires_on_its_own_day(key):
    inst = restored(learning(key))
    assert inst.fire_timers(datetime(2095, 12, 31, 15, 59, 58, tzinfo=UTC)) == []
    assert [f["correlation"] for f in inst.fire_timers(A_DEADLINE_UTC)] == [ID_A]
    inst = restored(inst)
    assert not inst.finished
    assert waits(inst) == waits_of(ID_B)
    inst = restored(inst)
    assert [f["correlation"] for f in inst.fire_timers(B_DEADLINE_UTC)] == [ID_B]
    assert restored(inst).end_event == "approved_end"


@pytest.mark.parametrize("key", EDUCATION)
def test_a_final_failure_ends_the_persons_learning_and_with_a_pass_the_form(key):
    inst = restored(learning(key))
    assert inst.deliver_messages("learning_failed", {ID_A: {"exam_attempts": 10}}) == [ID_A]
    inst = restored(inst)
    assert not inst.finished
    assert waits(inst) == waits_of(ID_B)
    assert inst.deliver_message("learning_passed", ID_B, {})
    inst = restored(inst)
    assert inst.finished
    assert inst.end_event == "approved_end"


@pytest.mark.parametrize("key", EDUCATION)
def test_a_deadline_fired_early_for_one_person_ends_only_that_persons_learning(key):
    inst = restored(learning(key))
    assert inst.fire_timers_of({ID_B}) == [ID_B]
    inst = restored(inst)
    assert waits(inst) == waits_of(ID_A)
    assert inst.fire_timers_of({ID_B}) == []
    assert inst.deliver_messages("learning_failed", {ID_A: {}}) == [ID_A]
    assert restored(inst).end_event == "approved_end"
