"""A timer's expression (timeDuration, timeDate, timeCycle) is checked as a condition or a
script is: a misspelt function, a `policy("…")` parameter rules/policy.json lacks or a
syntax error fails `memberflow check` (and so a deploy) with the file, the timer's event
and its line, in Chinese. Before, only a syntax error was found, and a wrong name went
through check and deploy to fail when an instance reached the timer (an incident)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main as cli
from service.engine import DefinitionError, load_definitions

REPO = Path(__file__).resolve().parents[2]
JOIN = "processes/member_join.bpmn"
TEMPLATE = "processes/shared/education.bpmn"  # the four education types' diagram
# member_join's payment deadline: the boundary event 缴费期限 on 待缴费
DEADLINE = '"P%dD" % policy("payment_deadline_days")</bpmn:timeDuration>'
DEADLINE_LEAD = "定时器“缴费期限”的时长表达式（timeDuration）中，"

BREAKS = {  # how the timer is broken -> (its new text, what the message says)
    "misspelt_function": (
        DEADLINE.replace("policy(", "polcy("),
        ["名称 polcy 未定义", "相近的名称：policy"],
    ),
    "unknown_policy_name": (
        DEADLINE.replace("_days", "_day"),
        [
            'policy("payment_deadline_day") 读取的参数在 rules/policy.json 中不存在',
            "相近的名称：payment_deadline_days",
        ],
    ),
    "syntax_error": (DEADLINE.replace('days")', 'days"'), ["语法错误（第1行）"]),
}


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old`, which the file holds once; the line it is on."""
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new), encoding="utf-8")
    return line


def _check(design: Path) -> tuple[int, list[dict], str]:
    """`memberflow check --from design`: exit code, problems (of --json), plain output."""
    as_json = CliRunner().invoke(cli, ["check", "--json", "--from", str(design)])
    plain = CliRunner().invoke(cli, ["check", "--from", str(design)])
    assert as_json.exit_code == plain.exit_code, plain.output
    return plain.exit_code, json.loads(as_json.output)["problems"], plain.output


def test_the_unbroken_folders_pass_with_their_timers(design):
    code, problems, output = _check(design)
    assert (code, problems) == (0, []), output
    assert "正常 member_join" in output


@pytest.mark.parametrize("how", list(BREAKS))
def test_a_broken_timer_fails_the_check_naming_file_event_and_line(design, how):
    new, said = BREAKS[how]
    line = _edit(design / JOIN, DEADLINE, new)
    code, problems, output = _check(design)
    assert code == 1
    [problem] = problems
    assert (problem["file"], problem["element"], problem["line"]) == (
        JOIN,
        "payment_deadline",
        line,
    )
    assert problem["message"].startswith(DEADLINE_LEAD), problem["message"]
    for text in said:
        assert text in problem["message"], problem["message"]
    assert f"错误 {JOIN}:{line} [payment_deadline]: {DEADLINE_LEAD}" in output


def test_a_date_timer_of_a_shared_template_is_named_once_in_the_template(design):
    line = _edit(
        design / TEMPLATE,
        'end_of_day(person_facts[learner["id_number"]]',
        'end_of_dy(person_facts[learner["id_number"]]',
    )
    code, problems, _output = _check(design)
    assert code == 1
    [problem] = problems  # not once for each of the four types the template draws
    assert (problem["file"], problem["element"], problem["line"]) == (
        TEMPLATE,
        "learning_deadline",
        line,
    )
    assert problem["message"].startswith("定时器“会籍到期”的日期表达式（timeDate）中，")
    assert "名称 end_of_dy 未定义" in problem["message"]
    assert "相近的名称：end_of_day" in problem["message"]


def test_a_cycle_timer_is_checked_too(design):
    cycle = (
        '"R2/P%dD" % policy("payment_deadline_dayz")</bpmn:timeCycle>',
        '<bpmn:timeCycle xsi:type="bpmn:tFormalExpression">',
    )
    bpmn = design / JOIN
    line = _edit(bpmn, DEADLINE, cycle[0])
    _edit(bpmn, '<bpmn:timeDuration xsi:type="bpmn:tFormalExpression">', cycle[1])
    code, problems, _output = _check(design)
    assert code == 1
    [problem] = problems
    assert (problem["file"], problem["element"], problem["line"]) == (
        JOIN,
        "payment_deadline",
        line,
    )
    assert problem["message"].startswith("定时器“缴费期限”的周期表达式（timeCycle）中，")
    assert (
        'policy("payment_deadline_dayz") 读取的参数在 rules/policy.json 中不存在'
        in (problem["message"])
    )


def test_a_timer_that_does_not_parse_stops_start_up_naming_its_event(design):
    """Start-up parses the folders (load_definitions): a syntax error stops it."""
    new, _said = BREAKS["syntax_error"]
    line = _edit(design / JOIN, DEADLINE, new)
    with pytest.raises(DefinitionError) as raised:
        load_definitions(design / "processes", design / "rules", design / "forms")
    [problem] = raised.value.problems
    assert (problem.file, problem.element, problem.line) == (JOIN, "payment_deadline", line)
    assert problem.message.startswith(DEADLINE_LEAD + "语法错误")
