"""The eligibility tables of info change, unit change, cancellation and registered-engineer CPD."""

import pytest
from rule_facts import (
    cert,
)

UNKNOWN = "未找到该人员的会员记录"
NOT_IN_UNIT = "该人员不属于本单位"
EXPIRED_JL = "持有的监理员证书已过期，只能办理证书注销"
MS_CANCELLED = "普通会员会籍已注销，须重新入会后才能办理"
EXPIRED_MEMBERSHIP = {"ordinary_membership": "expired", "membership_until": "2025-12-31"}
ONLY_EXPIRED_JL = {"certificates": {"监理员": cert("expired", months=0)}}
NOT_IN_FLIGHT = "有办理中的表单（{}），不能同时办理"


def cases(table: dict):
    return [pytest.param(*case, id=name) for name, case in table.items()]


# --- member_info_change --------------------------------------------------------------------


def no_membership(ordinary: str, professional: str) -> str:
    return (
        f"普通会员和专业会员会籍均不在有效期内（普通会员：{ordinary}，专业会员：{professional}），"
        "不能办理信息变更"
    )


INFO_CHANGE = {
    "all clear": ({}, []),
    "only the ordinary membership valid": ({"professional_membership": "none"}, []),
    "only the professional membership valid": ({"ordinary_membership": "expired"}, []),
    "neither membership valid": (
        {"ordinary_membership": "expired", "professional_membership": "none"},
        [no_membership("已过期", "无")],
    ),
    "cancelled and expired": (
        {"ordinary_membership": "cancelled", "professional_membership": "expired"},
        [no_membership("已注销", "已过期")],
    ),
    "violation record": ({"has_violation": True}, ["该人员有违规记录，不能办理信息变更"]),
    "continuing in flight": (
        {"in_flight": ["continuing_education"]},
        [NOT_IN_FLIGHT.format("普通会员继续教育")],
    ),
    "unpaid bill does not block an info change": ({"unpaid_bills": ["initial_education"]}, []),
    "expired certificate does not block an info change": (ONLY_EXPIRED_JL, []),
    "not in unit": ({"in_unit": False}, [NOT_IN_UNIT]),
    "unknown person": ({"known": False}, [UNKNOWN]),
}


@pytest.mark.parametrize(("facts", "expected"), cases(INFO_CHANGE))
def test_member_info_change_eligibility(reasons, facts, expected):
    assert reasons("member_info_change", facts) == expected


ALREADY_PROFESSIONAL = "该人员已是专业会员（专业会籍在有效期内），不能再申请变更为专业会员"
LEVEL_CHANGE = {
    "an ordinary member": ({"professional_membership": "none"}, []),
    "a lapsed professional membership": ({"professional_membership": "expired"}, []),
    "a valid professional membership": ({}, [ALREADY_PROFESSIONAL]),
    "an expired ordinary membership and no professional one": (
        {"ordinary_membership": "expired", "professional_membership": "none"},
        [no_membership("已过期", "无")],
    ),
}


@pytest.mark.parametrize(("facts", "expected"), cases(LEVEL_CHANGE))
def test_a_change_to_professional_needs_an_ordinary_member_not_yet_professional(
    reasons, facts, expected
):
    """Manual §2.11.2.1: 普通会员 → 专业会员 (the form's `changes.member_level`, carried on
    the person line by the process's pre-script)."""
    assert reasons("member_info_change", facts, {"member_level": "专业会员"}) == expected


# --- certificate_unit_change: form-level reason new_employment / unit_renamed -------------------

NEW = "new_employment"
RENAMED = "unit_renamed"
NEWCOMER = {"in_unit": False}  # in another unit: has not scanned this unit's transfer code
NOT_CONSENTED = (
    "该人员尚未同意调入本单位：请其用手机扫描本单位的个人变更单二维码确认后，再办理新单位入职"
)
RENAMED_EXPIRED = (
    "普通会员会籍已过期（有效期至2025-12-31），单位名称变更须会籍在有效期内，请先缴纳个人会员费"
)

SAME = "证书上的单位名称已是本单位现名称，无需办理证书变更（单位名称）"

UNIT_CHANGE = {
    # the person consented by scanning the unit's transfer code, and so belongs to it now
    "new employment of a person who consented": (NEW, {}, []),
    "new employment without the person's consent": (NEW, NEWCOMER, [NOT_CONSENTED]),
    "new employment of an unknown person": (NEW, {"known": False, "in_unit": False}, [UNKNOWN]),
    # transfer, then renewal: an expired membership is paid on the form's bill
    "new employment with an expired membership": (NEW, EXPIRED_MEMBERSHIP, []),
    "new employment with a cancelled membership": (
        NEW,
        {"ordinary_membership": "cancelled"},
        [MS_CANCELLED],
    ),
    "unit renamed": (RENAMED, {}, []),
    # every valid certificate already carries the unit's current name: nothing would change
    "unit renamed, names already current": (
        RENAMED,
        {"certificates_carry_unit_name": True},
        [SAME],
    ),
    "new employment, names already current": (NEW, {"certificates_carry_unit_name": True}, [SAME]),
    "unit renamed, person not in unit": (RENAMED, NEWCOMER, [NOT_IN_UNIT]),
    "unit renamed with an expired membership": (RENAMED, EXPIRED_MEMBERSHIP, [RENAMED_EXPIRED]),
    "no certificate": (RENAMED, {"certificates": {}}, ["未持有有效的培训证书，不能办理证书变更"]),
    "expired certificate": (NEW, ONLY_EXPIRED_JL, [EXPIRED_JL]),
    "continuing in flight": (
        RENAMED,
        {"in_flight": ["continuing_education"]},
        [NOT_IN_FLIGHT.format("普通会员继续教育")],
    ),
    "specialty change and upgrade in flight": (
        NEW,
        {"in_flight": ["upgrade_education", "specialty_change"]},
        [NOT_IN_FLIGHT.format("普通会员专业变更、员升师")],
    ),
    "unpaid continuing bill": (
        RENAMED,
        {"unpaid_bills": ["continuing_education"]},
        ["有未缴费的账单（普通会员继续教育），请先完成缴费"],
    ),
    "open learning": (
        RENAMED,
        {"open_learning": ["upgrade_education"]},
        ["有未完成的学习任务（员升师），请先完成学习"],
    ),
    "no reason chosen": ("", {}, ["请选择变更原因：新单位入职或单位名称变更"]),
}


@pytest.mark.parametrize(("reason", "facts", "expected"), cases(UNIT_CHANGE))
def test_certificate_unit_change_eligibility(reasons, reason, facts, expected):
    assert reasons("certificate_unit_change", facts, reason=reason) == expected


# --- certificate_cancellation: person["certificate_types"] are the types to cancel --------------

NOTHING_HELD = "没有可注销的证书（未持有证书或均已注销）"
TWO_CERTIFICATES = {"certificates": {"监理员": cert(), "安全监理员": cert("expired", months=0)}}

CANCELLATION = {
    "a valid certificate": ({}, ["监理员"], []),
    "an expired certificate may be cancelled": (ONLY_EXPIRED_JL, ["监理员"], []),
    "both of two certificates": (TWO_CERTIFICATES, ["监理员", "安全监理员"], []),
    "a type not held": ({}, ["安全监理员"], ["未持有安全监理员证书（或已注销），不能办理注销"]),
    "an already cancelled type": (
        {"certificates": {"监理员": cert(), "安全监理员": cert("cancelled")}},
        ["监理员", "安全监理员"],
        ["未持有安全监理员证书（或已注销），不能办理注销"],
    ),
    "two types not held": (
        {},
        ["专业监理工程师", "监理员", "安全监理员"],
        ["未持有专业监理工程师、安全监理员证书（或已注销），不能办理注销"],
    ),
    "nothing chosen": ({}, [], ["请选择要注销的证书类型"]),
    # the person picker asks with the types a person holds: none held is said as such
    "no certificate held": ({"certificates": {}}, [], [NOTHING_HELD]),
    "every certificate cancelled": (
        {"certificates": {"监理员": cert("cancelled")}},
        [],
        [NOTHING_HELD],
    ),
    "no certificate held, a type chosen": (
        {"certificates": {}},
        ["监理员"],
        ["未持有监理员证书（或已注销），不能办理注销"],
    ),
    "unknown, nothing chosen": ({"known": False, "certificates": {}}, [], [UNKNOWN]),
    "membership need not be valid": ({"ordinary_membership": "cancelled"}, ["监理员"], []),
    "continuing in flight": (
        {"in_flight": ["continuing_education"]},
        ["监理员"],
        [NOT_IN_FLIGHT.format("普通会员继续教育")],
    ),
    "unpaid bill": (
        {"unpaid_bills": ["continuing_education"]},
        ["监理员"],
        ["有未缴费的账单（普通会员继续教育），请先完成缴费"],
    ),
    "open learning": (
        {"open_learning": ["continuing_education"]},
        ["监理员"],
        ["有未完成的学习任务（普通会员继续教育），请先完成学习"],
    ),
    "not in unit": ({"in_unit": False}, ["监理员"], [NOT_IN_UNIT]),
    "unknown person": ({"known": False, "certificates": {}}, ["监理员"], [UNKNOWN]),
}


@pytest.mark.parametrize(("facts", "types", "expected"), cases(CANCELLATION))
def test_certificate_cancellation_eligibility(reasons, facts, types, expected):
    person = {"certificate_types": types, "certificate_type": None}
    assert reasons("certificate_cancellation", facts, person) == expected


# --- engineer_cpd ----------------------------------------------------------------------------

CPD = {
    "all clear": ({}, []),
    "exactly 65": ({"age": 65}, []),
    "66": ({"age": 66}, ["专业会员（注师）继教的年龄不得超过65周岁（现为66周岁）"]),
    "no birth date": ({"age": None}, ["会员记录中没有出生日期，无法核验年龄"]),
    "professional membership expired": (
        {"professional_membership": "expired"},
        ["专业会员会籍已过期，请先缴纳专业会员会费"],
    ),
    "not a professional member": (
        {"professional_membership": "none"},
        ["该人员不是专业会员，须先成为专业会员"],
    ),
    "ordinary membership is irrelevant": ({"ordinary_membership": "none"}, []),
    "expired training certificate is irrelevant": (ONLY_EXPIRED_JL, []),
    "continuing in flight": (
        {"in_flight": ["continuing_education"]},
        [NOT_IN_FLIGHT.format("普通会员继续教育")],
    ),
    "not in unit": ({"in_unit": False}, [NOT_IN_UNIT]),
    "enrolled, waiting for the weekly report": (
        {"cpd_enrolment": "awaiting_report", "cpd_enrolled_on": "2026-11-27"},
        ["已报名专业会员（注师）继教（2026-11-27审批完成），正等待每周上报开通学习，不能重复报名"],
    ),
    "reported, learning not opened yet": (
        {"cpd_enrolment": "awaiting_opening", "cpd_enrolled_on": "2026-11-20"},
        ["已列入注师继教上报名单（2026-11-20审批完成），尚未开通学习，不能重复报名"],
    ),
    "enrolled without a known day": (
        {"cpd_enrolment": "awaiting_report", "cpd_enrolled_on": None},
        ["已报名专业会员（注师）继教，正等待每周上报开通学习，不能重复报名"],
    ),
    "learning opened: may enrol again": ({"cpd_enrolment": "none"}, []),
}


@pytest.mark.parametrize(("facts", "expected"), cases(CPD))
def test_engineer_cpd_eligibility(reasons, facts, expected):
    assert reasons("engineer_cpd", facts) == expected
