"""个人会员费缴纳 (membership_renewal) walked with the engine alone, saving the state between
steps: straight to 待缴费 with a fee per person and level, finance's confirmation ends it,
finance's return goes back to the unit and the resubmission is checked and priced again."""

from __future__ import annotations

import copy

from test_business_processes import (
    ALL_CLEAR,
    FILE_ID,
    ID_A,
    ID_B,
    PAY,
    RECEIPT,
    SUBMITTED_ON,
    definitions,
    ready,
    restored,
    step,
)

from service.engine import Instance

KEY = "membership_renewal"


def lines(*levels: str) -> list[dict]:
    people = [(ID_A, "张三"), (ID_B, "李四")]
    return [
        {"id_number": n, "name": name, "member_level": level}
        for (n, name), level in zip(people, levels, strict=False)
    ]


def facts(**changes) -> dict:
    """Both people all clear (both memberships valid); `changes` apply to 李四."""
    a, b = copy.deepcopy(ALL_CLEAR), copy.deepcopy(ALL_CLEAR)
    b.update(changes)
    return {ID_A: a, ID_B: b}


def start(persons: list[dict], person_facts: dict) -> Instance:
    data = {
        "process_key": KEY,
        "initiator_role": "unit_admin",
        "submitted_on": SUBMITTED_ON,
        "unit_name": "广州市某某监理有限公司",
        "persons": persons,
        "person_facts": person_facts,
    }
    return restored(Instance.start(definitions()[KEY], data))


def fee_lines(inst: Instance) -> list[tuple]:
    return [
        (x["id_number"], x["member_level"], x["support_fee"], x["membership_fee"])
        for x in inst.data["fee_lines"]
    ]


def test_a_renewal_is_priced_per_level_and_ends_when_finance_confirms():
    everyone = facts()
    inst = start(lines("普通会员", "专业会员"), everyone)
    assert inst.status == "待缴费"
    ready(inst, "unit_pay")
    assert fee_lines(inst) == [
        (ID_A, "普通会员", "0.00", "200.00"),
        (ID_B, "专业会员", "0.00", "300.00"),
    ]
    assert inst.data["fee_total"] == "500.00"
    inst = step(inst, "unit_pay", PAY, everyone)
    assert inst.status == "财务复核中"
    inst = step(inst, "finance_review", RECEIPT, everyone)
    assert inst.finished and inst.end_event == "approved_end" and inst.status == "审批完成"


def test_an_expired_membership_may_be_renewed_a_cancelled_one_may_not():
    lapsed = facts(ordinary_membership="expired")
    assert start(lines("普通会员", "普通会员"), lapsed).status == "待缴费"

    cancelled = facts(ordinary_membership="cancelled")
    inst = start(lines("普通会员", "普通会员"), cancelled)
    assert inst.finished and inst.end_event == "ineligible_end"
    assert inst.data["person_reasons"] == [
        [],
        ["普通会员会籍已注销，不能续费；请重新办理个人会员入会申请"],
    ]


def test_a_finance_return_goes_to_the_unit_and_the_resubmission_is_priced_again():
    everyone = facts()
    inst = start(lines("普通会员", "专业会员"), everyone)
    inst = step(inst, "unit_pay", PAY, everyone)
    back = {"decision": "return", "remark": "缴费凭证金额不符"}
    inst = step(inst, "finance_review", back, everyone)
    assert inst.status == "退回"
    assert ready(inst, "unit_resubmit").name == "unit_resubmit"
    assert inst.data["fee_lines"] == [] and inst.data["fee_total"] is None

    # the unit keeps one person, now at the other level: checked, priced and billed again
    resubmitted = {"persons": [lines("专业会员")[0]], "remark": "只为张三续专业会员年费"}
    inst = step(inst, "unit_resubmit", resubmitted, everyone)
    assert inst.status == "待缴费"
    assert fee_lines(inst) == [(ID_A, "专业会员", "0.00", "300.00")]
    assert inst.data["fee_total"] == "300.00"
    inst = step(inst, "unit_pay", {"fee_voucher": FILE_ID}, everyone)
    inst = step(inst, "finance_review", RECEIPT, everyone)
    assert inst.finished and inst.end_event == "approved_end"


def test_a_resubmission_naming_a_level_the_person_never_held_ends_at_the_recheck():
    everyone = facts()
    inst = start(lines("普通会员"), everyone)
    inst = step(inst, "unit_pay", PAY, everyone)
    inst = step(inst, "finance_review", {"decision": "return", "remark": "级别有误"}, everyone)
    only_ordinary = {ID_A: {**copy.deepcopy(ALL_CLEAR), "professional_membership": "none"}}
    inst = step(inst, "unit_resubmit", {"persons": lines("专业会员")}, only_ordinary)
    assert inst.finished and inst.end_event == "recheck_ineligible_end"
    assert inst.data["person_reasons"] == [
        [
            "该人员不是专业会员，不能缴纳专业会员年费；成为专业会员请办理个人会员信息变更"
            "（会员级别改为专业会员）"
        ]
    ]
