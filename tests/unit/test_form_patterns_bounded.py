"""A designer's `pattern` runs on what anybody sends. A backtracking one (`^(a|aa)+$`) took
seconds, then hours, as a value grew by a few characters: a server thread held by one
request. Forms now match patterns under a time limit (engine/formats.pattern_search), and a
value the pattern cannot decide in time is refused at its field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.domain.errors import FormInvalid
from service.engine.formats import PATTERN_TIMEOUT, FormValidator, pattern_search
from service.services.workflow.deploy import check_folders
from service.services.workflow.forms import validate_form

REPO = Path(__file__).resolve().parents[2]
SLOW = r"^(a|aa)+$"  # exponential in the regex module too (it defuses `^(a+)+$` by itself)
HOSTILE = "a" * 40 + "!"


def test_a_pattern_that_cannot_decide_in_time_says_so():
    assert pattern_search(SLOW, HOSTILE) is None
    assert pattern_search(SLOW, "aaaa") is True and pattern_search(SLOW, "ab") is False
    # the syntax of Python's `re`, as the forms' patterns are written (\\u escapes, \\S)
    assert pattern_search(r"[^\s\u200b]", " \u200b x") is True
    assert pattern_search(r"[^\s\u200b]", " \u200b ") is False


def test_jsonschema_reports_it_as_a_pattern_error_of_its_own():
    schema = {"type": "object", "properties": {"remark": {"type": "string", "pattern": SLOW}}}
    [error] = FormValidator(schema).iter_errors({"remark": HOSTILE})
    assert error.validator == "pattern" and error.message == PATTERN_TIMEOUT
    assert list(FormValidator(schema).iter_errors({"remark": "aaa"})) == []


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _with_remark_pattern(design: Path, pattern: str) -> None:
    form = design / "forms" / "member_info_change" / "agency_review.schema.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema["properties"] = {"remark": {"type": ["string", "null"], "pattern": pattern}}
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")


def _check(design: Path):
    return check_folders(design / "processes", design / "rules", design / "forms")


def test_a_form_with_a_backtracking_pattern_refuses_the_value_at_its_field(design):
    _with_remark_pattern(design, SLOW)
    checked = _check(design)
    assert checked.problems == []  # a legal pattern: only a value can show it is slow
    defn = checked.definitions["member_info_change"]
    validator, quick = defn.validators["agency_review"], defn.quick.get("agency_review")
    with pytest.raises(FormInvalid) as refused:
        validate_form(
            validator, {"decision": "return", "remark": HOSTILE}, defn.registry, None, quick
        )
    assert refused.value.errors == {
        "remark": "「审核意见」的内容过于复杂，无法核对格式，请简化后重新填写"
    }
    validate_form(validator, {"decision": "return", "remark": "aaaa"}, defn.registry, None, quick)


@pytest.mark.parametrize("unseen", ["\u200b", "\ufeff", " \u2060 ", "\u3164", "\u115f\u1160"])
def test_a_text_that_shows_nothing_is_as_blank_to_a_pattern_as_spaces(unseen):
    """`\\S`, a form's "not blank", refuses a 票号 of a U+200B alone as it refuses spaces;
    a text that shows something keeps its invisible characters."""
    assert pattern_search(r"\S", unseen) is False
    assert pattern_search(r"^$", unseen) is True
    assert pattern_search(r"\S", f"{unseen}A1234") is True
