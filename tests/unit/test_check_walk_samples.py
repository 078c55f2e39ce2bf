"""The sample data of `memberflow check --walk`: forms filled from their schema, and facts."""

from __future__ import annotations

from datetime import date

import pytest
from jsonschema import Draft202012Validator

from service.engine.declarations import FACTS as DECLARABLE
from service.engine.formsample import SAMPLE_ID, SampleError, sample_form
from service.engine.walk_choices import candidates, mutate
from service.engine.walk_map import ProcessMap
from service.services.workflow.facts import FACTS
from service.services.workflow.sample_facts import SAMPLES, sample_facts

TODAY = date(2026, 12, 1)
REVIEW = {
    "type": "object",
    "properties": {
        "decision": {"type": "string", "enum": ["approve", "return"]},
        "remark": {"type": ["string", "null"], "maxLength": 500},
    },
    "required": ["decision"],
    "if": {"properties": {"decision": {"const": "return"}}, "required": ["decision"]},
    "then": {
        "properties": {"remark": {"type": "string", "pattern": "\\S"}},
        "required": ["remark"],
    },
    "unevaluatedProperties": False,
}
APPLICATION = {
    "type": "object",
    "properties": {
        "variant": {"enum": ["full", "short"]},
        "id_number": {"type": "string", "pattern": "^[0-9A-Za-z]{8,18}$"},
        "mobile": {"type": "string", "format": "cn-mobile"},
        "address": {"type": "string", "minLength": 1},
        "proof": {"type": "string", "format": "file-id"},
        "video": {"type": "string", "format": "file-id"},
        "persons": {
            "type": "array",
            "minItems": 1,
            "items": {
                "type": "object",
                "properties": {
                    "name": {"type": "string", "minLength": 1},
                    "certificate_type": {"enum": ["安全监理员", "监理员"]},
                },
                "required": ["name", "certificate_type"],
                "additionalProperties": False,
            },
        },
    },
    "required": ["variant", "id_number", "mobile", "persons"],
    "allOf": [
        {
            "if": {"properties": {"variant": {"const": "full"}}},
            "then": {
                "required": ["address"],
                "anyOf": [{"required": ["proof"]}, {"required": ["video"]}],
            },
        },
        {
            "if": {"properties": {"variant": {"const": "short"}}},
            "then": {"properties": {"address": {"not": {}}}},
        },
    ],
    "unevaluatedProperties": False,
}


def validator(schema: dict) -> Draft202012Validator:
    from service.engine.catalogue import FORMAT_CHECKER

    return Draft202012Validator(schema, format_checker=FORMAT_CHECKER)


def test_a_review_is_approved_by_default_and_a_return_gets_the_remark_it_requires():
    assert sample_form(REVIEW, validator(REVIEW), TODAY) == {"decision": "approve"}
    returned = sample_form(REVIEW, validator(REVIEW), TODAY, {"decision": "return"})
    assert returned["decision"] == "return"
    assert returned["remark"].strip()


def test_conditional_branches_any_of_and_nested_choices_are_satisfied():
    schema = APPLICATION
    full = sample_form(schema, validator(schema), TODAY)
    assert full["id_number"] == SAMPLE_ID
    assert full["mobile"] == "13800138000"
    assert full["address"] and "proof" in full
    short = sample_form(schema, validator(schema), TODAY, {"variant": "short"})
    assert "address" not in short
    chosen = sample_form(schema, validator(schema), TODAY, {"persons.0.certificate_type": "监理员"})
    assert chosen["persons"][0] == {"certificate_type": "监理员", "name": "张三"}


def test_a_form_no_data_can_satisfy_is_reported():
    schema = {"type": "object", "properties": {"a": {"type": "string"}}, "not": {"required": ["a"]}}
    schema["required"] = ["a"]
    with pytest.raises(SampleError, match="无法生成满足表单的样例数据"):
        sample_form(schema, validator(schema), TODAY)


def test_there_are_sample_facts_for_every_kind_of_facts_a_process_may_declare():
    assert set(SAMPLES) == set(FACTS) == set(DECLARABLE)


def test_the_sample_person_is_a_member_in_good_standing_of_the_unit():
    facts = sample_facts("persons", TODAY, {"x": "X"})({"persons": [{"id_number": SAMPLE_ID}]})
    person = facts["person_facts"][SAMPLE_ID]
    assert facts["process_names"] == {"x": "X"}
    assert person["known"] and person["in_unit"] and person["name_matches"]
    assert (person["ordinary_membership"], person["professional_membership"]) == ("valid", "valid")
    assert person["in_flight"] == person["unpaid_bills"] == person["open_learning"] == []


def test_fact_variants_use_the_values_the_decision_table_tests():
    table = ProcessMap("f", {}, {}, {}, {}, set(), [], set(), {}, {}, {}, {})
    table.columns = [
        ('facts["age"]', ["> 65", ""]),
        ('facts["ordinary_membership"]', ['"expired"', '"none"']),
        ('facts["known"]', ["False"]),
    ]
    facts = {"person_facts": {"A": {"age": 40, "ordinary_membership": "valid", "known": True}}}
    found = {(path[-1], repr(value)) for path, value in candidates(table, facts, "k")}
    assert {("age", "66"), ("ordinary_membership", "'expired'"), ("known", "False")} <= found
    changed = mutate(facts, ((("person_facts", "A", "age"), 66),))
    assert changed["person_facts"]["A"]["age"] == 66
    assert facts["person_facts"]["A"]["age"] == 40
