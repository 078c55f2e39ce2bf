"""`memberflow check` finds what would fail only at run time: a misspelt name in a condition
or a DMN cell, an unknown helper, a policy parameter rules/policy.json lacks, a form whose
`required` names a field it never declares — each with file, element, line and the
nearest known names. The repository's own files have none."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main as cli
from service.engine.names import check_names
from service.services.workflow.facts import PROVIDED_NAMES

REPO = Path(__file__).resolve().parents[2]
AGENCY_RETURN = (
    'sourceRef="agency_gateway" targetRef="return_merge">\n      '
    '<bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "return"'
)


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once; the line it is on."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) >= 1, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def _problems(design: Path):
    return check_names(design / "processes", design / "rules", design / "forms", PROVIDED_NAMES)


def test_the_repositorys_files_have_no_unknown_names():
    assert check_names(REPO / "processes", REPO / "rules", REPO / "forms", PROVIDED_NAMES) == []


def test_a_misspelt_name_in_a_condition_is_found_with_its_flow_and_line(design):
    bpmn = design / "processes" / "member_join.bpmn"
    old = AGENCY_RETURN
    line = _edit(bpmn, old, old.replace("decision ==", "decison =="))
    [problem] = _problems(design)
    assert (problem.file, problem.element) == ("processes/member_join.bpmn", "flow_agency_return")
    assert problem.line == line + 1  # the expression's own line
    assert "名称 decison 未定义" in problem.message and "相近的名称：decision" in problem.message


def test_an_unknown_helper_and_an_unknown_policy_parameter_are_found(design):
    bpmn = design / "processes" / "certificate_unit_change.bpmn"
    _edit(bpmn, "has_failures(", "has_failure(")
    dmn = design / "rules" / "certificate_unit_change_eligibility.dmn"
    _edit(dmn, "business_names(conflicts(", "business_names(conflict(")
    found = {(p.file, p.message.split("：")[0]) for p in _problems(design)}
    assert ("processes/certificate_unit_change.bpmn", "名称 has_failure 未定义") in found
    assert ("rules/certificate_unit_change_eligibility.dmn", "名称 conflict 未定义") in found
    messages = " ".join(p.message for p in _problems(design))
    assert "相近的名称：has_failures" in messages and "conflicts" in messages


def test_a_policy_parameter_missing_from_policy_json_is_found(design):
    bpmn = design / "processes" / "certificate_cancellation.bpmn"
    _edit(bpmn, "<bpmn:script>", '<bpmn:script>days = policy("payment_deadline_day")\n')
    found = [p for p in _problems(design) if "policy(" in p.message]
    assert len(found) == 1
    assert 'policy("payment_deadline_day")' in found[0].message
    assert "payment_deadline_days" in found[0].message


def test_a_required_field_the_form_never_declares_is_found(design):
    form = design / "forms" / "certificate_cancellation" / "start.schema.json"
    schema = json.loads(form.read_text(encoding="utf-8"))
    schema.setdefault("required", []).append("pledgee")
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    [problem] = _problems(design)
    assert problem.file == "forms/certificate_cancellation/start.schema.json"
    assert "required 中的字段 pledgee 在表单中没有声明" in problem.message


def test_memberflow_check_reports_them_and_fails(design, monkeypatch):
    bpmn = design / "processes" / "member_join.bpmn"
    old = AGENCY_RETURN
    _edit(bpmn, old, old.replace("decision ==", "decison =="))
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert "processes/member_join.bpmn:" in result.output
    assert "[flow_agency_return]: 名称 decison 未定义" in result.output
