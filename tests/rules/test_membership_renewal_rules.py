"""The 个人会员费缴纳 (membership_renewal) eligibility table and its rows of the fee table."""

import pytest
from rule_facts import build_facts

KEY = "membership_renewal"
ORDINARY, PROFESSIONAL = {"member_level": "普通会员"}, {"member_level": "专业会员"}
NOTHING = "该人员没有可续费的会籍（从未入会或会籍已注销），请办理个人会员入会申请"

CASES = {
    "ordinary, valid (paying early)": ({}, ORDINARY, []),
    "ordinary, expired": ({"ordinary_membership": "expired"}, ORDINARY, []),
    "professional, expired": ({"professional_membership": "expired"}, PROFESSIONAL, []),
    "an open learning task does not stop a renewal": (
        {"open_learning": ["continuing_education"]},
        ORDINARY,
        [],
    ),
    "ordinary, never held": (
        {"ordinary_membership": "none"},
        ORDINARY,
        ["该人员从未取得普通会员会籍，不能缴纳普通会员会费；请办理个人会员入会申请"],
    ),
    "ordinary, cancelled": (
        {"ordinary_membership": "cancelled"},
        ORDINARY,
        ["普通会员会籍已注销，不能续费；请重新办理个人会员入会申请"],
    ),
    "professional, never held": (
        {"professional_membership": "none"},
        PROFESSIONAL,
        [
            "该人员不是专业会员，不能缴纳专业会员年费；"
            "成为专业会员请办理个人会员信息变更（会员级别改为专业会员）"
        ],
    ),
    "professional, cancelled": (
        {"professional_membership": "cancelled"},
        PROFESSIONAL,
        ["专业会员会籍已注销，不能续费；请重新办理个人会员入会申请"],
    ),
    "no level chosen yet (the picker), one level renewable": (
        {"ordinary_membership": "cancelled", "professional_membership": "expired"},
        {"member_level": None},
        [],
    ),
    "no level chosen yet, nothing renewable": (
        {"ordinary_membership": "cancelled", "professional_membership": "none"},
        {"member_level": None},
        [NOTHING],
    ),
    "unknown level": ({}, {"member_level": "高级会员"}, ["续费会员级别应为普通会员或专业会员"]),
    "another unit's person": (
        {"in_unit": False},
        ORDINARY,
        ["该人员不属于本单位；调入本单位的人员须先用手机扫描本单位的个人变更单二维码确认调入"],
    ),
    "unknown person": (
        {"known": False, "ordinary_membership": "none", "professional_membership": "none"},
        ORDINARY,
        ["未找到该人员的会员记录"],
    ),
    "another form in flight, its bill unpaid": (
        {"in_flight": ["certificate_unit_change"], "unpaid_bills": ["certificate_unit_change"]},
        ORDINARY,
        [
            "有办理中的业务表单（证书变更（单位名称）），请办结后再缴纳个人会员费",
            "有未缴费的账单（证书变更（单位名称）），请先完成缴费",
        ],
    ),
}


@pytest.mark.parametrize(
    ("facts", "person", "expected"), [pytest.param(*c, id=n) for n, c in CASES.items()]
)
def test_membership_renewal_eligibility(reasons, facts, person, expected):
    assert reasons(KEY, facts=facts, person=person) == expected


@pytest.mark.parametrize(
    ("level", "membership", "fee"),
    [
        ("普通会员", "valid", "200.00"),
        ("普通会员", "expired", "200.00"),
        ("专业会员", "valid", "300.00"),
    ],
)
def test_a_renewal_costs_the_levels_membership_fee_and_no_support_fee(
    decisions, level, membership, fee
):
    context = {
        "process_key": KEY,
        "person": {"id_number": "440308199901101512", "name": "张三", "member_level": level},
        "facts": build_facts(ordinary_membership=membership),
    }
    assert decisions.evaluate("business_fee", context) == {
        "support_fee": "0.00",
        "membership_fee": fee,
    }
    # and the same as the join's membership fee table says for that level
    assert decisions.evaluate("membership_fee", {"member_level": level})["fee_amount"] == fee
