"""The eligibility tables of the four education enrolments, each case against rules/."""

import shutil

import pytest
from rule_facts import (
    RULES,
    build_context,
    cert,
)

from service.engine.decisions import load_decisions

UNKNOWN = "未找到该人员的会员记录"
NAME = "姓名与证件号码不符"
NOT_IN_UNIT = "该人员不属于本单位"
EXPIRED_JL = "持有的监理员证书已过期，只能办理证书注销"
MS_EXPIRED = "普通会员会籍已过期（有效期至2025-12-31），请先缴纳个人会员费"
MS_CANCELLED = "普通会员会籍已注销，须重新入会后才能办理"
MS_NONE = "该人员没有普通会员会籍，须先入会成为普通会员"
C1_UNIT_CHANGE = "有办理中的表单（证书变更（单位名称）），不能同时办理"
C1_CONTINUING = "有办理中的表单（普通会员继续教育），不能同时办理"
C2_UNIT_CHANGE = "有未缴费的账单（证书变更（单位名称）），请先完成缴费"
C3_INITIAL = "有未完成的学习任务（普通会员初始教育），请先完成学习"
NO_AGE = "会员记录中没有出生日期，无法核验年龄"
EXPIRED_MEMBERSHIP = {"ordinary_membership": "expired", "membership_until": "2025-12-31"}
ONLY_EXPIRED_JL = {"certificates": {"监理员": cert("expired", months=0)}}
NO_TITLE = {"title": "无", "has_registration": False}


def cases(table: dict):
    """One pytest.param per case, named by its key."""
    return [pytest.param(*case, id=name) for name, case in table.items()]


def junior(ct: str, age: int) -> tuple:
    return {"age": age}, {"certificate_type": ct}


def engineer(**facts) -> tuple:
    """专业监理工程师 for someone holding no certificate (a 监理员 holder upgrades instead)."""
    return {"certificates": {}, **facts}, {"certificate_type": "专业监理工程师"}


def too_old(ct: str, limit: int, age: int) -> str:
    return f"报名{ct}须在{limit}周岁以内（现为{age}周岁）"


ENGINEER_EDUCATION = (
    "报名专业监理工程师须具有大专及以上学历，且专业类别为工程建设类或工程经济类"
    "（现为{}学历，专业类别：{}）"
)

# --- initial_education: person["certificate_type"] is the type to enrol for ------------------

SAFETY = {"certificate_type": "安全监理员"}
HELD_PAIR = {"specialty_1": "房屋建筑工程", "specialty_2": "市政公用工程"}
SWAPPED = {"specialty_1": "市政公用工程", "specialty_2": "房屋建筑工程"}
DIFFERENT = (
    "已持有证书的专业为：房屋建筑工程、市政公用工程。"
    "双证的专业名称和顺序须一致，请按此顺序填写专业1、专业2"
)

SUPERVISOR_WITH_ENGINEER = (
    "已持有专业监理工程师证书，不能再报名监理员初始教育"
    "（一人最多持有两类证书：监理员+安全监理员，或专业监理工程师+安全监理员，手册 3.12）"
)
ENGINEER_WITH_SUPERVISOR = (
    "持有监理员证书的，请报名员升师升为专业监理工程师（手册 3.19），不能报名专业监理工程师初始教育"
)
ENGINEER_WITH_EXPIRED_SUPERVISOR = (
    "持有监理员证书（已过期）的，不能报名专业监理工程师初始教育"
    "（监理员与专业监理工程师证书不能同时持有，手册 3.12）"
)

INITIAL = {
    "all clear 安全监理员": (*junior("安全监理员", 40), []),
    "安全监理员 exactly 60": (*junior("安全监理员", 60), []),
    "安全监理员 61": (*junior("安全监理员", 61), [too_old("安全监理员", 60, 61)]),
    "监理员 exactly 60": ({"age": 60, "certificates": {}}, {}, []),
    "监理员 61": ({"age": 61, "certificates": {}}, {}, [too_old("监理员", 60, 61)]),
    "专业监理工程师 at 61": (*engineer(age=61), []),
    "专业监理工程师 exactly 65": (*engineer(age=65), []),
    "专业监理工程师 66": (*engineer(age=66), [too_old("专业监理工程师", 65, 66)]),
    "no birth date": ({"age": None}, {"certificate_type": "安全监理员"}, [NO_AGE]),
    "already holds 监理员": ({}, {}, ["已持有监理员证书，不能重复报名初始教育"]),
    "a cancelled 监理员 may be taken again": (
        {"certificates": {"监理员": cert("cancelled")}},
        {},
        [],
    ),
    "an expired other certificate": (
        ONLY_EXPIRED_JL,
        {"certificate_type": "安全监理员"},
        [EXPIRED_JL],
    ),
    "engineer with 大专 工程经济类": (
        *engineer(education_level="大专", major_category="工程经济类"),
        [],
    ),
    "engineer with 中专": (
        *engineer(education_level="中专"),
        [ENGINEER_EDUCATION.format("中专", "工程建设类")],
    ),
    "engineer with an unrelated major": (
        *engineer(major_category="其他"),
        [ENGINEER_EDUCATION.format("本科", "其他")],
    ),
    "engineer without a major": (
        *engineer(major_category=None),
        [ENGINEER_EDUCATION.format("本科", "未登记")],
    ),
    "no education on record": (
        *engineer(education_level=None),
        ["会员记录中没有最高学历，请先办理个人会员信息变更补充学历"],
    ),
    "安全监理员 with 中专 and no major": (
        {"education_level": "中专", "major_category": None},
        {"certificate_type": "安全监理员"},
        [],
    ),
    "unknown type": (
        {},
        {"certificate_type": "注册监理工程师"},
        ["报名的证书类型无效：注册监理工程师（应为安全监理员、监理员或专业监理工程师）"],
    ),
    "membership expired": (EXPIRED_MEMBERSHIP, {"certificate_type": "安全监理员"}, [MS_EXPIRED]),
    "membership cancelled": (
        {"ordinary_membership": "cancelled"},
        {"certificate_type": "安全监理员"},
        [MS_CANCELLED],
    ),
    "no membership": (
        {"ordinary_membership": "none"},
        {"certificate_type": "安全监理员"},
        [MS_NONE],
    ),
    "continuing in flight": (
        {"in_flight": ["continuing_education"]},
        {"certificate_type": "安全监理员"},
        [C1_CONTINUING],
    ),
    "unpaid unit-change bill": (
        {"unpaid_bills": ["certificate_unit_change"]},
        {"certificate_type": "安全监理员"},
        [C2_UNIT_CHANGE],
    ),
    "open initial learning": (
        {"open_learning": ["initial_education"]},
        {"certificate_type": "安全监理员"},
        [C3_INITIAL],
    ),
    "not in unit": ({"in_unit": False}, {"certificate_type": "安全监理员"}, [NOT_IN_UNIT]),
    "name mismatch": ({"name_matches": False}, {"certificate_type": "安全监理员"}, [NAME]),
    "unknown person gives one reason": (
        {"known": False, "in_unit": False, "ordinary_membership": "none", "age": None},
        {"certificate_type": "安全监理员"},
        [UNKNOWN],
    ),
    # a second certificate carries the first one's specialties, in the same order (§2.8.1(3))
    "安全监理员 with the held certificate's specialties": ({}, {**SAFETY, **HELD_PAIR}, []),
    "安全监理员 with the specialties swapped": ({}, {**SAFETY, **SWAPPED}, [DIFFERENT]),
    "安全监理员 without the held specialty 2": (
        {},
        {**SAFETY, "specialty_1": "房屋建筑工程"},
        [DIFFERENT],
    ),
    # FAQ 3.12: two types at most, 监理员+安全监理员 or 专业监理工程师+安全监理员; FAQ 3.19:
    # a 监理员 becomes 专业监理工程师 through 员升师. Holding counts as 已持有 does (valid or
    # expired; a cancelled or upgraded certificate is not held).
    "监理员 while holding 专业监理工程师 and 安全监理员": (
        {"certificates": {"专业监理工程师": cert(), "安全监理员": cert()}},
        {},
        [SUPERVISOR_WITH_ENGINEER],
    ),
    "监理员 while holding an expired 专业监理工程师": (
        {"certificates": {"专业监理工程师": cert("expired", months=0)}},
        {},
        ["持有的专业监理工程师证书已过期，只能办理证书注销", SUPERVISOR_WITH_ENGINEER],
    ),
    "监理员 after the 监理员 was upgraded": (
        {"certificates": {"监理员": cert("upgraded"), "专业监理工程师": cert()}},
        {},
        [SUPERVISOR_WITH_ENGINEER],
    ),
    "监理员 after a cancelled 专业监理工程师": (
        {"certificates": {"专业监理工程师": cert("cancelled")}},
        {},
        [],
    ),
    "专业监理工程师 while holding 监理员": (
        {},
        {"certificate_type": "专业监理工程师"},
        [ENGINEER_WITH_SUPERVISOR],
    ),
    "专业监理工程师 while holding 监理员 and 安全监理员": (
        {"certificates": {"监理员": cert(), "安全监理员": cert()}},
        {"certificate_type": "专业监理工程师"},
        [ENGINEER_WITH_SUPERVISOR],
    ),
    "专业监理工程师 while holding an expired 监理员": (
        ONLY_EXPIRED_JL,
        {"certificate_type": "专业监理工程师"},
        [EXPIRED_JL, ENGINEER_WITH_EXPIRED_SUPERVISOR],
    ),
    "专业监理工程师 after a cancelled 监理员": (
        {"certificates": {"监理员": cert("cancelled"), "安全监理员": cert()}},
        {"certificate_type": "专业监理工程师"},
        [],
    ),
    "安全监理员 while holding 专业监理工程师": (
        {"certificates": {"专业监理工程师": cert()}},
        SAFETY,
        [],
    ),
    "安全监理员, nothing held: any specialties": (
        {"certificates": {}},
        {**SAFETY, **SWAPPED},
        [],
    ),
    "several at once": (
        {"age": 70, "ordinary_membership": "cancelled", "in_unit": False},
        {},
        [
            NOT_IN_UNIT,
            MS_CANCELLED,
            "已持有监理员证书，不能重复报名初始教育",
            too_old("监理员", 60, 70),
        ],
    ),
}


@pytest.mark.parametrize(("facts", "person", "expected"), cases(INITIAL))
def test_initial_education_eligibility(reasons, facts, person, expected):
    assert reasons("initial_education", facts, person) == expected


# --- continuing_education: the all-clear 监理员 expires in 3 months ---------------------------


def expiring_in(months: int) -> dict:
    return {"certificates": {"监理员": cert(months=months, valid_until="2026-08-01")}}


TOO_EARLY_7 = "监理员证书有效期至2026-08-01，到期前6个月内才能报名继续教育（现距到期7个月）"

CONTINUING = {
    "all clear": ({}, {}, []),
    "expires in exactly 6 months": (expiring_in(6), {}, []),
    "expires in 7 months": (expiring_in(7), {}, [TOO_EARLY_7]),
    "expires this month": (expiring_in(0), {}, []),
    "membership expired is allowed": (EXPIRED_MEMBERSHIP, {}, []),
    "membership cancelled": ({"ordinary_membership": "cancelled"}, {}, [MS_CANCELLED]),
    "no membership": ({"ordinary_membership": "none"}, {}, [MS_NONE]),
    "does not hold the type": (
        {},
        {"certificate_type": "安全监理员"},
        ["未持有有效的安全监理员证书，不能办理继续教育"],
    ),
    "the certificate was cancelled": (
        {"certificates": {"监理员": cert("cancelled")}},
        {},
        ["未持有有效的监理员证书，不能办理继续教育"],
    ),
    "the certificate expired": (ONLY_EXPIRED_JL, {}, [EXPIRED_JL]),
    "specialty change and upgrade in flight": (
        {"in_flight": ["specialty_change", "upgrade_education"]},
        {},
        [],
    ),
    "unit change in flight": ({"in_flight": ["certificate_unit_change"]}, {}, [C1_UNIT_CHANGE]),
    "another continuing in flight": ({"in_flight": ["continuing_education"]}, {}, [C1_CONTINUING]),
    "unit change and upgrade in flight": (
        {"in_flight": ["upgrade_education", "certificate_unit_change"]},
        {},
        [C1_UNIT_CHANGE],
    ),
    "unpaid upgrade bill is a permitted combination": (
        {"unpaid_bills": ["upgrade_education"]},
        {},
        [],
    ),
    "unpaid unit-change bill": (
        {"unpaid_bills": ["certificate_unit_change"]},
        {},
        [C2_UNIT_CHANGE],
    ),
    "open initial learning": ({"open_learning": ["initial_education"]}, {}, [C3_INITIAL]),
    "not in unit": ({"in_unit": False}, {}, [NOT_IN_UNIT]),
    "unknown person": ({"known": False, "certificates": {}}, {}, [UNKNOWN]),
}


@pytest.mark.parametrize(("facts", "person", "expected"), cases(CONTINUING))
def test_continuing_education_eligibility(reasons, facts, person, expected):
    assert reasons("continuing_education", facts, person) == expected


# --- upgrade_education: 监理员 → 专业监理工程师 ---------------------------------------------


def route_a(level: str, years: int, major: str = "工程建设类") -> dict:
    """Education only: no title and no registration, so route B never holds."""
    return {
        **NO_TITLE,
        "education_level": level,
        "years_since_graduation": years,
        "major_category": major,
    }


def route_b(level: str | None, title: str = "中级", registration: bool = False) -> dict:
    """A 中专 of an unrelated major with no years, lifted by a title or registration."""
    return {
        "education_level": level,
        "years_since_graduation": None,
        "major_category": "其他",
        "title": title,
        "has_registration": registration,
    }


UPGRADE_EDUCATION = "学历条件不符合员升师要求"
UPGRADE_EDUCATION_FULL = (
    "学历条件不符合员升师要求：须为工程建设类或工程经济类专业，且硕士毕业满2年、本科毕业满3年或"
    "大专毕业满4年；或取得中级及以上职称或注册监理工程师注册证，且具有中专及以上学历"
    "（现为：学历本科，专业类别工程建设类，毕业2年，职称无，无注册证）"
)

UPGRADE = {
    "all clear": ({}, []),
    "本科 exactly 3 years": (route_a("本科", 3), []),
    "本科 2 years": (route_a("本科", 2), [UPGRADE_EDUCATION_FULL]),
    "硕士 exactly 2 years": (route_a("硕士", 2), []),
    "硕士 1 year": (route_a("硕士", 1), [UPGRADE_EDUCATION]),
    "博士 2 years": (route_a("博士", 2), []),
    "大专 exactly 4 years": (route_a("大专", 4), []),
    "大专 3 years": (route_a("大专", 3), [UPGRADE_EDUCATION]),
    "大专 工程经济类 4 years": (route_a("大专", 4, "工程经济类"), []),
    "中专 without a title": (route_a("中专", 20), [UPGRADE_EDUCATION]),
    "本科 of another major": (route_a("本科", 10, "其他"), [UPGRADE_EDUCATION]),
    "中专 with 中级 title": (route_b("中专"), []),
    "中专 with 高级 title": (route_b("中专", "高级"), []),
    "中专 with registration": (route_b("中专", "无", True), []),
    "中专 with 初级 title": (route_b("中专", "初级"), [UPGRADE_EDUCATION]),
    "中级 title but no education": (route_b(None), [UPGRADE_EDUCATION]),
    "no 监理员 certificate": (
        {"certificates": {"安全监理员": cert()}},
        ["未持有有效的监理员证书，不能办理员升师"],
    ),
    "already 专业监理工程师": (
        {"certificates": {"监理员": cert(), "专业监理工程师": cert()}},
        ["已持有专业监理工程师证书，无需办理员升师"],
    ),
    "expired 监理员": (ONLY_EXPIRED_JL, [EXPIRED_JL]),
    "membership expired": (EXPIRED_MEMBERSHIP, [MS_EXPIRED]),
    "continuing and specialty change in flight": (
        {"in_flight": ["continuing_education", "specialty_change"]},
        [],
    ),
    "unit change in flight": ({"in_flight": ["certificate_unit_change"]}, [C1_UNIT_CHANGE]),
    "not in unit": ({"in_unit": False}, [NOT_IN_UNIT]),
}


@pytest.mark.parametrize(("facts", "expected"), cases(UPGRADE))
def test_upgrade_education_eligibility(reasons, facts, expected):
    found = reasons("upgrade_education", facts)
    assert len(found) == len(expected), found
    for reason, fragment in zip(found, expected, strict=True):
        assert reason.startswith(fragment)


def test_the_upgrade_education_reason_states_the_requirement_and_the_facts(reasons):
    assert reasons("upgrade_education", route_a("本科", 2)) == [UPGRADE_EDUCATION_FULL]


# --- specialty_change --------------------------------------------------------------------

NO_VALID = "未持有有效的培训证书，不能办理专业变更"

SPECIALTY = {
    "all clear": ({}, []),
    # the specialty change is itself the 专业同步 (manual §2.8.1(3)): it rewrites both
    "two certificates that disagree": (
        {
            "certificates": {"监理员": cert(), "安全监理员": cert()},
            "specialties_agree": False,
        },
        [],
    ),
    "no certificate": ({"certificates": {}}, [NO_VALID]),
    "only a cancelled certificate": ({"certificates": {"监理员": cert("cancelled")}}, [NO_VALID]),
    "only an expired certificate": (ONLY_EXPIRED_JL, [EXPIRED_JL]),
    "a valid and an expired certificate": (
        {"certificates": {"安全监理员": cert(), "监理员": cert("expired", months=0)}},
        [EXPIRED_JL],
    ),
    "continuing and upgrade in flight": (
        {"in_flight": ["continuing_education", "upgrade_education"]},
        [],
    ),
    "unit change in flight": ({"in_flight": ["certificate_unit_change"]}, [C1_UNIT_CHANGE]),
    "membership expired": (EXPIRED_MEMBERSHIP, [MS_EXPIRED]),
    "name mismatch": ({"name_matches": False}, [NAME]),
}


@pytest.mark.parametrize(("facts", "expected"), cases(SPECIALTY))
def test_specialty_change_eligibility(reasons, facts, expected):
    assert reasons("specialty_change", facts) == expected


# the line's 专业1/专业2 against the valid certificates (the all-clear 监理员: 房屋建筑工程、
# 市政公用工程); a line without specialties is the persons picker's, judged before they are typed
UNCHANGED = "报名的专业与现有证书的专业相同，无需办理专业变更"
ONE_SPECIALTY = {"specialty_1": "房屋建筑工程"}

SPECIALTY_LINES = {
    "the held specialties": ({}, HELD_PAIR, [UNCHANGED]),
    "the held specialties swapped": ({}, SWAPPED, []),
    "the first held specialty alone (专业2 dropped)": ({}, ONE_SPECIALTY, []),
    "another specialty": ({}, {"specialty_1": "机电安装工程"}, []),
    "one held specialty, 专业2 left empty": (
        {"certificates": {"监理员": cert()}},
        {**ONE_SPECIALTY, "specialty_2": ""},
        [UNCHANGED],
    ),
    "two certificates that agree": (
        {"certificates": {"监理员": cert(), "安全监理员": cert()}},
        ONE_SPECIALTY,
        [UNCHANGED],
    ),
    "two certificates that disagree: the line syncs them": (
        {"certificates": {"监理员": cert(), "安全监理员": {**cert(), **HELD_PAIR}}},
        HELD_PAIR,
        [],
    ),
    "a cancelled certificate's other specialties do not count": (
        {"certificates": {"监理员": cert(), "专业监理工程师": {**cert("cancelled"), **SWAPPED}}},
        ONE_SPECIALTY,
        [UNCHANGED],
    ),
    "no valid certificate": ({"certificates": {}}, HELD_PAIR, [NO_VALID]),
    "the picker's line, no specialties yet": ({}, {}, []),
}


@pytest.mark.parametrize(("facts", "person", "expected"), cases(SPECIALTY_LINES))
def test_specialty_change_refuses_the_specialties_already_held(reasons, facts, person, expected):
    assert reasons("specialty_change", facts, person) == expected


# --- the numbers live in rules/ ----------------------------------------------------------


def test_changing_an_age_limit_in_the_dmn_file_changes_the_decision(tmp_path):
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    table = rules / "initial_education_eligibility.dmn"
    text = table.read_text(encoding="utf-8")
    assert text.count("<text>&gt; 60</text>") == 1
    table.write_text(text.replace("<text>&gt; 60</text>", "<text>&gt; 55</text>"), "utf-8")
    context = build_context("initial_education", {"age": 58}, {"certificate_type": "安全监理员"})

    before = load_decisions(RULES).evaluate("initial_education_eligibility", context)
    after = load_decisions(rules).evaluate("initial_education_eligibility", context)

    assert before == {"failure_reasons": []}
    [reason] = after["failure_reasons"]
    assert "现为58周岁" in reason
