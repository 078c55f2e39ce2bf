"""Forms are served self-contained: every $ref resolved, validating exactly as the original."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from service.engine import load_definitions
from service.engine.catalogue import FORMAT_CHECKER
from service.engine.formschema import UnresolvableSchema, dereference

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
FORMS = [
    (key, task_id, form)
    for key, defn in sorted(DEFINITIONS.items())
    for task_id, form in [("start", defn.start_form)]
    + [(t.id, t.form) for t in defn.user_tasks.values()]
]
FILE = "0123456789abcdef0123456789abcdef"
SAMPLES = [
    {},
    {"decision": "approve"},
    {"decision": "return"},
    {"decision": "return", "remark": "学历证书不清晰"},
    {"decision": "approve", "receipt_number": "GDCZ1", "receipt_date": "2026-11-28"},
    {"decision": "maybe", "unknown_field": 1},
    {"fee_voucher": FILE},
    {"fee_voucher": "not-a-file"},
    {
        "variant": "full",
        "name": "陈志强",
        "id_type": "resident_id",
        "id_number": "440106198503152318",
        "mobile": "13802511234",
        "address": "广州市天河区",
        "education": {
            "level": "本科",
            "school": "华南理工大学",
            "major": "土木工程",
            "graduated_on": "2008-07-01",
        },
        "title": "中级",
        **{k: FILE for k in ("photo", "id_front", "id_back", "diploma", "diploma_verification")},
    },
    {"variant": "short", "name": "陈志强", "address": "广州", "id_type": "passport"},
    {
        "persons": [
            {
                "id_number": "440106198503152318",
                "name": "陈志强",
                "certificate_type": "监理员",
                "specialty_1": "房屋建筑工程",
                "diploma": FILE,
                "social_insurance": FILE,
                "verification": FILE,
            }
        ],
        "pledge": FILE,
    },
    {"persons": [{"id_number": "!", "certificate_type": "厨师"}]},
    {"persons": []},
]


def _refs(node) -> list[str]:
    if isinstance(node, dict):
        own = [node["$ref"]] if "$ref" in node else []
        return own + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


@pytest.mark.parametrize(("key", "task_id", "form"), FORMS, ids=[f"{k}/{t}" for k, t, _ in FORMS])
def test_every_served_form_is_self_contained_and_a_valid_schema(key, task_id, form):
    assert _refs(form) == []
    assert "$defs" not in json.dumps(form)
    Draft202012Validator.check_schema(form)


@pytest.mark.parametrize(("key", "task_id", "form"), FORMS, ids=[f"{k}/{t}" for k, t, _ in FORMS])
def test_a_served_form_accepts_and_refuses_exactly_what_the_service_does(key, task_id, form):
    original = DEFINITIONS[key].validators[task_id]
    served = Draft202012Validator(form, format_checker=FORMAT_CHECKER)
    for sample in SAMPLES:
        expected = sorted(".".join(map(str, e.absolute_path)) for e in original.iter_errors(sample))
        got = sorted(".".join(map(str, e.absolute_path)) for e in served.iter_errors(sample))
        assert got == expected, sample


def test_a_ref_with_a_conflicting_sibling_keeps_both_constraints():
    base = "https://forms.example/"
    shared = {"$id": base + "common.json", "$defs": {"short": {"type": "string", "maxLength": 3}}}
    registry = Registry().with_resource(shared["$id"], DRAFT202012.create_resource(shared))
    form = {
        "$id": base + "f.json",
        "properties": {
            "a": {"$ref": "common.json#/$defs/short", "title": "甲"},
            "b": {"$ref": "common.json#/$defs/short", "maxLength": 10},
        },
    }
    out = dereference(form, registry)
    assert out["properties"]["a"] == {"type": "string", "maxLength": 3, "title": "甲"}
    assert out["properties"]["b"] == {
        "allOf": [{"type": "string", "maxLength": 3}],
        "maxLength": 10,
    }
    validator = Draft202012Validator(out)
    assert not validator.is_valid({"b": "abcd"})


def test_a_missing_target_or_a_cycle_is_reported_not_looped():
    with pytest.raises(UnresolvableSchema, match="找不到"):
        dereference({"$id": "https://f.example/x.json", "$ref": "#/$defs/none"}, None)
    loop = {
        "$id": "https://f.example/y.json",
        "$defs": {"a": {"$ref": "#/$defs/a"}},
        "$ref": "#/$defs/a",
    }
    with pytest.raises(UnresolvableSchema, match="层数过多"):
        dereference(loop, None)
