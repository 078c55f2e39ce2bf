"""`memberflow check --walk`: every process run in memory on sample data through every branch.

The fixtures are copies of certificate_cancellation: walk_misspelt misspells a name in the
condition after the resubmission (reached only when the association returns the form),
walk_unreachable adds a gateway flow on a decision value the form cannot send.
"""

from __future__ import annotations

import functools
import json
import shutil
from datetime import UTC, datetime
from pathlib import Path

import pytest
from click.testing import CliRunner
from test_business_processes import REPO, definitions

from service.cli import main as cli
from service.engine import load_definitions
from service.engine.walk import walk_definition
from service.services.workflow.sample_facts import sample_facts

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
NOW = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
# (process, gateway flow) pairs that must be walked: each return loop, each ineligible end
RETURNS = [
    ("certificate_cancellation", "flow_association_return"),
    ("certificate_cancellation", "flow_recheck_fail"),
    ("member_join", "flow_finance_return"),
    ("initial_education", "flow_agency_return"),
    ("member_info_change", "flow_by_member"),
]


def walk(defns: dict, key: str):
    names = {k: d.name for k, d in defns.items()}
    defn = defns[key]
    return walk_definition(defn, sample_facts(defn.declarations.facts, NOW.date(), names), NOW)


@functools.cache
def repo_walk(key: str):
    return walk(definitions(), key)


def fixture(name: str) -> dict:
    root = FIXTURES / name
    return load_definitions(root / "processes", root / "rules", root / "forms")


def use_folders(monkeypatch, root: Path) -> None:
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(root / name.lower()))


KEYS = sorted(
    [path.stem for path in (REPO / "processes").glob("*.bpmn")]
    + [
        path.name.removesuffix(".shared.json")
        for path in (REPO / "processes").glob("*.shared.json")
    ]
)


@pytest.mark.parametrize("key", KEYS)
def test_each_process_of_the_repository_walks_without_a_failing_step(key):
    result = repo_walk(key)
    assert [f"{f.file}:{f.line} {f.message}" for f in result.errors] == []
    assert result.paths > 1
    assert not result.capped


@pytest.mark.parametrize(("key", "flow"), RETURNS)
def test_the_walk_takes_each_return_loop_and_each_refusal(key, flow):
    result = repo_walk(key)
    assert flow in result.taken
    assert flow not in [f.element for f in result.warnings]


def test_a_misspelt_name_reached_only_after_a_return_fails_the_walk_with_its_path():
    result = walk(fixture("walk_misspelt"), "certificate_cancellation")
    [error] = result.errors
    assert error.file == "processes/certificate_cancellation.bpmn"
    assert error.element == "recheck_gateway"
    assert error.line == 136
    assert "person_reasns" in error.message
    assert [(s.element, s.choice) for s in error.path] == [
        ("start_event", "样例事实"),
        ("association_review", "decision=return"),
        ("unit_resubmit", ""),
    ]


def test_a_gateway_flow_no_sample_can_take_is_a_warning_with_its_line():
    result = walk(fixture("walk_unreachable"), "certificate_cancellation")
    assert result.errors == []
    [warning] = result.warnings
    assert (warning.element, warning.line) == ("flow_association_reject", 200)
    assert "association_gateway" in warning.message
    assert "驳回" in warning.message
    assert (result.flows_taken, result.gateway_flows) == (6, 7)


def test_memberflow_check_walk_fails_and_prints_the_path(monkeypatch):
    use_folders(monkeypatch, FIXTURES / "walk_misspelt")
    result = CliRunner().invoke(cli, ["check", "--walk"])
    assert result.exit_code == 1
    assert "错误 processes/certificate_cancellation.bpmn:136 [recheck_gateway]" in result.output
    assert (
        "路径：提交注销申请 start_event（样例事实） → 协会复核 association_review" in result.output
    )
    assert "错误 1 个" in result.output


def test_memberflow_check_walk_json_passes_with_warnings(monkeypatch):
    use_folders(monkeypatch, FIXTURES / "walk_unreachable")
    result = CliRunner().invoke(cli, ["check", "--walk", "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["ok"] is True
    [problem] = report["problems"]
    assert problem["level"] == "warning"
    assert problem["element"] == "flow_association_reject"
    [process] = report["processes"]
    assert process["key"] == "certificate_cancellation"
    assert process["paths"] > 1 and not process["capped"]


def test_memberflow_check_walk_json_gives_the_failing_path(monkeypatch):
    use_folders(monkeypatch, FIXTURES / "walk_misspelt")
    result = CliRunner().invoke(cli, ["check", "--walk", "--json"])
    assert result.exit_code == 1
    report = json.loads(result.stdout)
    assert report["ok"] is False
    [error] = [p for p in report["problems"] if p["level"] == "error"]
    assert [step["element"] for step in error["path"]] == [
        "start_event",
        "association_review",
        "unit_resubmit",
    ]


def test_a_unique_table_two_of_whose_rules_match_a_sample_fails_the_walk(tmp_path):
    """SpiffWorkflow takes the first match of a UNIQUE table and ignores the rest: the walk
    checks every rule again and names the table's file, its rules and their lines."""
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    dmn = tmp_path / "rules" / "member_info_change_eligibility.dmn"
    dmn.write_text(
        dmn.read_text(encoding="utf-8").replace('hitPolicy="COLLECT"', 'hitPolicy="UNIQUE"'),
        encoding="utf-8",
    )
    defns = load_definitions(tmp_path / "processes", tmp_path / "rules", tmp_path / "forms")
    result = walk(defns, "member_info_change")
    [finding] = result.errors  # once per table
    assert finding.file == "rules/member_info_change_eligibility.dmn"
    assert finding.element == "member_info_change_eligibility" and finding.line
    assert "命中策略为 UNIQUE" in finding.message and "COLLECT" in finding.message
    assert "rule_already_professional" in finding.message and "核验变更条件" in finding.message
    # the repository's own UNIQUE tables (fees, hours) never match twice
    assert repo_walk("member_info_change").errors == []


def test_a_start_that_fails_is_an_error_in_chinese_without_a_warning_blaming_the_samples(
    tmp_path,
):
    """A misspelt name in the eligibility check's script: every start fails. The walk says
    so in Chinese first (名称未定义), keeping the engine's words, and does not also claim it
    could not make an eligible sample."""
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    bpmn = tmp_path / "processes" / "member_info_change.bpmn"
    facts = "facts = person_facts[id_number]</spiffworkflow:preScript>"
    text = bpmn.read_text(encoding="utf-8")
    bpmn.write_text(text.replace(facts, facts.replace("person_facts", "person_factz"), 1), "utf-8")
    defns = load_definitions(tmp_path / "processes", tmp_path / "rules", tmp_path / "forms")
    result = walk(defns, "member_info_change")
    assert result.errors
    message = result.errors[0].message
    assert "使用了未定义的名称" in message and "person_factz" in message, message
    assert message.index("未定义") < message.index("原文")
    assert not [w for w in result.warnings if "无法生成符合办理条件" in w.message]


def test_memberflow_check_reads_another_folder_with_from(tmp_path):
    """`check --from DIR` (and `check --walk --from DIR`) read DIR's three folders, as
    `deploy --from DIR` would."""
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    bpmn = tmp_path / "processes" / "member_info_change.bpmn"
    facts = "facts = person_facts[id_number]</spiffworkflow:preScript>"
    text = bpmn.read_text(encoding="utf-8")
    bpmn.write_text(text.replace(facts, facts.replace("[id_number]", "[id_number"), 1), "utf-8")
    refused = CliRunner().invoke(cli, ["check", "--from", str(tmp_path)])
    assert refused.exit_code == 1 and "member_info_change.bpmn" in refused.output
    assert "语法错误" in refused.output
    walked = CliRunner().invoke(cli, ["check", "--walk", "--from", str(tmp_path)])
    assert walked.exit_code == 1 and "memberflow check" in walked.output
    missing = CliRunner().invoke(cli, ["check", "--from", str(tmp_path / "none")])
    assert missing.exit_code == 2
