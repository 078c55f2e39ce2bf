"""普通会员 → 专业会员 in member_info_change, walked with the engine alone (state saved and
restored between steps): the fee, the payment, finance, and a return by finance."""

from __future__ import annotations

from test_business_processes import (
    APPROVE,
    FILE_ID,
    ID_A,
    PAY,
    RECEIPT,
    SUBMITTED_ON,
    definitions,
    facts,
    ready,
    restored,
    step,
    walk,
)

from service.engine import Instance

LEVEL_CHANGE = {
    "id_number": ID_A,
    "name": "张三",
    "changes": {"member_level": "专业会员", "mobile": "13900139000"},
    "diploma_scan": FILE_ID,
    "qualification_cert": FILE_ID,
}
REVIEWS = (
    ("agency_review", "机构初审中", APPROVE),
    ("association_review", "协会复核中", APPROVE),
)
PAYMENT = (("unit_pay", "待缴费", PAY), ("finance_review", "财务复核中", RECEIPT))
ALREADY = "该人员已是专业会员（专业会籍在有效期内），不能再申请变更为专业会员"


def ordinary_member() -> dict:
    """The all-clear person's facts, holding 普通会员 only."""
    return facts("member_info_change", {"professional_membership": "none"})


def start(form: dict, person_facts: dict) -> Instance:
    data = {
        "process_key": "member_info_change",
        "initiator_role": "unit_admin",
        "submitted_on": SUBMITTED_ON,
        "unit_name": "广州市某某监理有限公司",
        **form,
        "person_facts": person_facts,
    }
    return restored(Instance.start(definitions()["member_info_change"], data))


def test_a_change_to_professional_is_billed_the_professional_fee_then_confirmed():
    person_facts = ordinary_member()
    inst = walk(start(LEVEL_CHANGE, person_facts), REVIEWS, person_facts)
    assert inst.status == "待缴费"
    assert inst.data["fee_amount"] == "300.00"  # rules/membership_fee.dmn, 专业会员
    inst = walk(inst, PAYMENT, person_facts)
    assert (inst.finished, inst.end_event, inst.status) == (True, "approved_end", "审批完成")


def test_a_change_without_a_level_goes_from_the_association_to_the_end():
    person_facts = ordinary_member()
    form = {**LEVEL_CHANGE, "changes": {"mobile": "13900139000"}}
    inst = walk(start(form, person_facts), REVIEWS, person_facts)
    assert (inst.finished, inst.end_event, inst.status) == (True, "approved_end", "审批完成")
    assert "fee_amount" not in inst.data


def test_finance_may_return_a_level_change_to_the_unit():
    person_facts = ordinary_member()
    inst = walk(start(LEVEL_CHANGE, person_facts), (*REVIEWS, PAYMENT[0]), person_facts)
    inst = step(inst, "finance_review", {"decision": "return", "remark": "凭证不符"}, person_facts)
    assert inst.status == "退回"
    ready(inst, "unit_resubmit")
    inst = step(inst, "unit_resubmit", LEVEL_CHANGE, person_facts)
    inst = walk(inst, (*REVIEWS, *PAYMENT), person_facts)
    assert (inst.end_event, inst.status) == ("approved_end", "审批完成")


def test_a_valid_professional_member_is_refused_at_start_and_at_resubmission():
    valid = facts("member_info_change", {"professional_membership": "valid"})
    inst = start(LEVEL_CHANGE, valid)
    assert (inst.end_event, inst.data["failure_reasons"]) == ("ineligible_end", [ALREADY])

    ordinary = ordinary_member()
    inst = step(
        start(LEVEL_CHANGE, ordinary),
        "agency_review",
        {"decision": "return", "remark": "请补充"},
        ordinary,
    )
    inst = step(inst, "unit_resubmit", LEVEL_CHANGE, valid)  # became professional meanwhile
    assert (inst.end_event, inst.data["failure_reasons"]) == ("recheck_ineligible_end", [ALREADY])
