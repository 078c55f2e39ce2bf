"""`memberflow check` names every broken reference in Chinese with file, element and line,
once each: a flow to a missing element, an unknown decision table (listing every table in
rules/), a form `$ref` to a missing definition, a lane without a role, a malformed
policy.json entry, a task the diagram does not draw."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main as cli
from service.engine import DefinitionError, load_definitions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _edit(path: Path, old: str, new: str, regex: bool = False) -> int:
    """Replace `old` once; the line it was on."""
    text = path.read_text(encoding="utf-8")
    found = re.search(old, text, re.S) if regex else None
    start = found.start() if regex else text.index(old)
    assert regex and found or old in text, old
    line = text[:start].count("\n") + 1
    text = re.sub(old, new, text, count=1, flags=re.S) if regex else text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")
    return line


def _problems(design: Path):
    with pytest.raises(DefinitionError) as caught:
        load_definitions(design / "processes", design / "rules", design / "forms")
    return caught.value.problems


def test_a_flow_to_a_missing_target_names_the_flow_its_line_and_the_nearest_element(design):
    bpmn = design / "processes" / "member_join.bpmn"
    line = _edit(bpmn, 'targetRef="return_merge"', 'targetRef="return_mergex"')
    problems = _problems(design)
    flow = [p for p in problems if "不存在" in p.message]
    assert len(flow) == 1, problems
    assert (flow[0].file, flow[0].line) == ("processes/member_join.bpmn", line)
    assert "顺序流的目标“return_mergex”不存在；最接近的：return_merge" in flow[0].message
    assert not any("two items" in p.message for p in problems)


def test_an_unknown_decision_lists_every_table_in_rules(design):
    bpmn = design / "processes" / "member_join.bpmn"
    old = "<spiffworkflow:calledDecisionId>member_join_eligibility<"
    line = _edit(bpmn, old, old.replace("eligibility<", "eligibilty<"))
    [problem] = _problems(design)
    assert (problem.element, problem.line) == ("check_eligibility", line)
    assert "调用的决策表“member_join_eligibilty”不存在" in problem.message
    assert "最接近的：member_join_eligibility" in problem.message
    tables = sorted(p.stem for p in (design / "rules").glob("*.dmn"))
    for table in ("business_fee", "learning_hours", "engineer_cpd_eligibility"):
        assert table in problem.message
    assert len(tables) > 5


def test_a_form_ref_to_a_missing_definition_names_the_form_and_line(design):
    form = design / "forms" / "member_join" / "agency_review.schema.json"
    line = _edit(form, "$defs/review", "$defs/reviewx")
    [problem] = _problems(design)
    assert (problem.file, problem.line) == ("forms/member_join/agency_review.schema.json", line)
    assert "表单引用 ../common.schema.json#/$defs/reviewx 找不到" in problem.message


def test_a_lane_without_a_role_has_its_element_and_line(design):
    bpmn = design / "processes" / "member_join.bpmn"
    line = _edit(bpmn, 'name="会员服务机构"', 'name="会员服务机构X"')
    [problem] = _problems(design)
    assert (problem.element, problem.line) == ("lane_agency", line)
    assert "泳道“会员服务机构X”没有对应的角色" in problem.message


def test_a_bad_policy_entry_is_reported_once_with_its_name_and_line(design):
    policy = design / "rules" / "policy.json"
    line = _edit(policy, '"value": 365', '"valu": 365')
    problems = _problems(design)
    assert len(problems) == 1, problems
    assert (problems[0].element, problems[0].line) == ("join_code_validity_days", line - 1)
    assert "政策参数“join_code_validity_days”格式错误" in problems[0].message


def test_a_task_the_diagram_does_not_draw_is_found(design):
    bpmn = design / "processes" / "member_join.bpmn"
    _edit(
        bpmn,
        r'<bpmndi:BPMNShape id="[^"]*" bpmnElement="agency_review"[^>]*>.*?</bpmndi:BPMNShape>',
        "",
        regex=True,
    )
    [problem] = _problems(design)
    assert problem.element == "agency_review" and problem.line
    assert "没有图形（BPMNShape）" in problem.message


def test_the_cli_prints_each_problem_once(design, monkeypatch):
    _edit(design / "rules" / "policy.json", '"value": 365', '"valu": 365')
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert result.output.count("join_code_validity_days") == 2  # element and message, one line
    assert len([r for r in result.output.splitlines() if r.startswith("错误")]) == 1


def test_a_form_no_data_can_satisfy_is_found(design, monkeypatch):
    form = design / "forms" / "member_join" / "agency_review.schema.json"
    text = form.read_text(encoding="utf-8")
    schema = json.loads(text)
    schema["properties"] = {
        **schema.get("properties", {}),
        "seal_code": {"type": "string", "minLength": 5, "maxLength": 3},
    }
    schema["required"] = [*schema.get("required", []), "seal_code"]
    form.write_text(json.dumps(schema, ensure_ascii=False), encoding="utf-8")
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1, result.output
    assert "forms/member_join/agency_review.schema.json [agency_review]: 表单无法填写" in (
        result.output
    )
