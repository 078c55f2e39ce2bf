"""The fee, learning-hours and cancellation-membership tables; policy.json; DMN schema."""

import json

import pytest
from lxml import etree
from rule_facts import (
    RULES,
    build_facts,
)
from SpiffWorkflow.spiff.parser.process import VALIDATOR, SpiffBpmnParser

FEES = {
    "initial 安全监理员": ("initial_education", "安全监理员", "valid", "60.00", "0.00"),
    "initial 监理员": ("initial_education", "监理员", "valid", "60.00", "0.00"),
    "initial 专业监理工程师": ("initial_education", "专业监理工程师", "valid", "100.00", "0.00"),
    "continuing 监理员": ("continuing_education", "监理员", "valid", "60.00", "0.00"),
    "continuing 监理员, membership expired": (
        "continuing_education",
        "监理员",
        "expired",
        "60.00",
        "200.00",
    ),
    "continuing 安全监理员, membership expired": (
        "continuing_education",
        "安全监理员",
        "expired",
        "60.00",
        "200.00",
    ),
    "continuing 专业监理工程师": (
        "continuing_education",
        "专业监理工程师",
        "valid",
        "100.00",
        "0.00",
    ),
    "continuing 专业监理工程师, membership expired": (
        "continuing_education",
        "专业监理工程师",
        "expired",
        "100.00",
        "200.00",
    ),
    "upgrade": ("upgrade_education", None, "valid", "100.00", "0.00"),
    "specialty change": ("specialty_change", None, "valid", "60.00", "0.00"),
    "unit change": ("certificate_unit_change", None, "valid", "20.00", "0.00"),
    "unit change, membership expired": (
        "certificate_unit_change",
        None,
        "expired",
        "20.00",
        "200.00",
    ),
}


@pytest.mark.parametrize(
    ("process_key", "certificate_type", "membership", "support_fee", "membership_fee"),
    [pytest.param(*case, id=name) for name, case in FEES.items()],
)
def test_business_fee(
    decisions, process_key, certificate_type, membership, support_fee, membership_fee
):
    person = {"id_number": "440308199901101512", "name": "张三"}
    if certificate_type:
        person["certificate_type"] = certificate_type
    context = {
        "process_key": process_key,
        "person": person,
        "facts": build_facts(ordinary_membership=membership),
    }
    assert decisions.evaluate("business_fee", context) == {
        "support_fee": support_fee,
        "membership_fee": membership_fee,
    }


@pytest.mark.parametrize("process_key", ["certificate_cancellation", "engineer_cpd"])
def test_businesses_without_a_fee_match_no_fee_rule(decisions, process_key):
    context = {"process_key": process_key, "person": {}, "facts": build_facts()}
    assert decisions.evaluate("business_fee", context) == {}


@pytest.mark.parametrize(
    ("process_key", "hours"),
    [
        ("upgrade_education", 8),
        ("initial_education", 24),
        ("continuing_education", 24),
        ("specialty_change", 16),
    ],
)
@pytest.mark.parametrize("learner", [{"certificate_type": "监理员"}, {}], ids=["typed", "untyped"])
def test_learning_hours(decisions, process_key, hours, learner):
    context = {"process_key": process_key, "learner": {"id_number": "X", **learner}}
    assert decisions.evaluate("learning_hours", context) == {"required_hours": hours}


@pytest.mark.parametrize(
    ("remaining", "cancels", "note"),
    [
        ([], True, "注销后该人员不再持有任何培训证书，普通会员会籍将同时注销"),
        (["安全监理员"], False, "注销后该人员仍持有安全监理员证书，普通会员会籍保留"),
        (
            ["监理员", "安全监理员"],
            False,
            "注销后该人员仍持有监理员、安全监理员证书，普通会员会籍保留",
        ),
    ],
    ids=["none left", "one left", "two left"],
)
def test_certificate_cancellation_membership(decisions, remaining, cancels, note):
    result = decisions.evaluate(
        "certificate_cancellation_membership", {"remaining_types": remaining}
    )
    assert result == {"cancels_membership": cancels, "membership_note": note}


def test_policy_entries_have_a_value_and_a_chinese_description():
    policy = json.loads((RULES / "policy.json").read_text(encoding="utf-8"))
    assert policy["certificate_validity_years"]["value"] == 3
    assert policy["max_exam_attempts"]["value"] == 10
    assert "business_names" not in policy  # a business's name is its BPMN process's name
    combinations = policy["business_combinations"]["value"]
    assert set(combinations) == {"continuing_education", "specialty_change", "upgrade_education"}
    assert "certificate_unit_change" not in {k for v in combinations.values() for k in v}
    for name, entry in policy.items():
        assert set(entry) == {"value", "description"}, name
        assert any("\u4e00" <= ch <= "\u9fff" for ch in entry["description"]), name


@pytest.mark.parametrize("path", sorted(RULES.glob("*.dmn")), ids=lambda p: p.name)
def test_every_rules_file_passes_the_dmn_schema(path):
    """XSD checks (e.g. duplicate ids) run only when a process calls the table; run them here."""
    SpiffBpmnParser(validator=VALIDATOR).add_dmn_xml(etree.parse(str(path)).getroot(), str(path))
