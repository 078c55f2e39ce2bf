"""The quick check of a form (engine/formats.py) never passes a form jsonschema refuses.

Every form of every definition: valid samples (one per value of each choice on the form),
then each of them broken one field at a time with values people and scripts send — blank
and space-like text, control characters, numbers as text, wrong types, impossible dates,
overlong text, missing and unknown fields. jsonschema's verdict is the reference.
"""

from __future__ import annotations

import copy
from datetime import date
from pathlib import Path

import pytest

from service.domain.errors import FormInvalid
from service.engine.catalogue import load_definitions
from service.engine.formats import FormValidator, quick_validator, quickly_valid
from service.engine.formsample import properties_at, sample_form
from service.services.workflow.forms import validate_form

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
TODAY = date(2026, 12, 3)

FORMS = [
    (key, task_id)
    for key, defn in sorted(DEFINITIONS.items())
    for task_id in ["start", *sorted(defn.user_tasks)]
]

# what replaces one field's value in a broken form
BAD_VALUES = (
    "",
    " ",
    "\u3000",
    "\x1c",
    "\x1c张三\x1c",
    "张三 ",
    " 张三",
    "\t",
    "20200101",
    "2024-02-30",
    "2026-12-03T10:00:00",
    "1380013800",
    "138001380001",
    "f" * 31,
    "f" * 31 + "-",
    "x" * 300,
    "0",
    0,
    -1,
    1.5,
    2**40,
    True,
    None,
    [],
    [None],
    {},
    {"x": 1},
)


def _schema(key: str, task_id: str) -> dict:
    defn = DEFINITIONS[key]
    return defn.start_form if task_id == "start" else defn.user_tasks[task_id].form


def _samples(key: str, task_id: str) -> list[dict]:
    """A valid form, and one for each value of each top-level choice that yields one."""
    defn, schema = DEFINITIONS[key], _schema(key, task_id)
    validator = defn.validators[task_id]
    found = [sample_form(schema, validator, TODAY)]
    for name, nodes in properties_at(schema, []).items():
        for node in nodes:
            for value in node.get("enum") or []:
                try:
                    found.append(sample_form(schema, validator, TODAY, {name: value}))
                except Exception:  # a choice no data satisfies on its own: nothing to try
                    continue
    return found


def _leaves(data, path=()):
    if isinstance(data, dict):
        for k, v in data.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(data, list) and data:
        for i, v in enumerate(data):
            yield from _leaves(v, (*path, i))
    if path:
        yield path


def _with(data: dict, path: tuple, value) -> dict:
    broken = copy.deepcopy(data)
    node = broken
    for part in path[:-1]:
        node = node[part]
    node[path[-1]] = value
    return broken


def _without(data: dict, path: tuple) -> dict:
    broken = copy.deepcopy(data)
    node = broken
    for part in path[:-1]:
        node = node[part]
    del node[path[-1]]
    return broken


def _broken(sample: dict):
    yield {**sample, "未知字段": "x"}
    for path in _leaves(sample):
        if isinstance(path[-1], str):
            yield _without(sample, path)
        for value in BAD_VALUES:
            yield _with(sample, path, value)


@pytest.mark.parametrize("key,task_id", FORMS, ids=[f"{k}-{t}" for k, t in FORMS])
def test_the_quick_check_passes_the_valid_forms_and_no_form_jsonschema_refuses(key, task_id):
    defn = DEFINITIONS[key]
    validator, quick = defn.validators[task_id], defn.quick[task_id]
    lenient, refused, tried = [], 0, 0
    for sample in _samples(key, task_id):
        assert validator.is_valid(sample)
        assert quickly_valid(quick, sample), sample  # else the quick check saves nothing
        for broken in _broken(sample):
            tried += 1
            if validator.is_valid(broken):
                continue
            refused += 1
            if quickly_valid(quick, broken):
                lenient.append(broken)
    assert not lenient, lenient[:3]
    assert refused > 0 and tried > refused / 2  # the broken forms do get refused


def test_patterns_and_formats_are_checked_as_jsonschema_checks_them():
    """jsonschema-rs's own `format` would pass these (measured); its `pattern` is the forms'
    validator's, with a time limit."""
    schema = {
        "type": "object",
        "properties": {
            "name": {"type": "string", "pattern": "\\S"},
            "on": {"type": "string", "format": "date"},
            "mobile": {"type": "string", "format": "cn-mobile"},
        },
    }
    quick = quick_validator(schema)
    assert quickly_valid(quick, {"name": "张三", "on": "2026-12-03", "mobile": "13800138000"})
    assert not quickly_valid(quick, {"name": " \u3000"})  # spaces only
    # the same matcher as the forms' validator (engine/formats.pattern_search): "\x1c" is a
    # space to Python's `re`, text to `regex` and to ECMA-262 (the guards refuse it anyway)
    assert quickly_valid(quick, {"name": "\x1c"}) == FormValidator(schema).is_valid(
        {"name": "\x1c"}
    )
    assert not quickly_valid(quick, {"on": "20200101"})
    assert not quickly_valid(quick, {"mobile": "1380013800"})


def test_what_the_quick_check_cannot_take_in_is_left_to_jsonschema():
    quick = quick_validator({"type": "object", "properties": {"a": {"type": "string"}}})
    assert not quickly_valid(quick, {"a": date(2026, 12, 3)})
    assert not quickly_valid(None, {"a": "x"})


def test_a_form_the_quick_check_refuses_still_gets_jsonschemas_errors():
    defn = DEFINITIONS["member_join"]
    sample = sample_form(defn.start_form, defn.validators["start"], TODAY)
    broken = {**sample, "mobile": "1380013800"}
    with pytest.raises(FormInvalid) as caught:
        validate_form(
            defn.validators["start"], broken, defn.registry, defn.start_fields, defn.quick["start"]
        )
    assert "手机" in caught.value.errors["mobile"]
