"""A designer's broken file is reported in Chinese, naming the element and its line: the
BPMN schema's check (an unknown element, an unknown attribute), XML and JSON syntax, a form
that is not a JSON Schema. These read as libxml2's and Python's English before."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from service.services.workflow.deploy import check_folders

REPO = Path(__file__).resolve().parents[2]
ENGLISH = re.compile(r"[A-Za-z]{4,} [a-z]{3,} [a-z]{3,}")  # a sentence, not a name or a tag


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _edit(path: Path, old: str, new: str) -> int:
    """Replace `old` once; the line it is on."""
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    line = text[: text.index(old)].count("\n") + 1
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return line


def _problems(design: Path) -> list[dict]:
    checked = check_folders(design / "processes", design / "rules", design / "forms")
    assert checked.problems, "the broken file passed"
    for p in checked.problems:
        assert not ENGLISH.search(p["message"]), p["message"]
    return checked.problems


def test_an_unknown_element_names_itself_and_what_may_stand_there(design):
    bpmn = design / "processes" / "engineer_cpd.bpmn"
    line = _edit(
        bpmn,
        '<bpmn:userTask id="agency_review"',
        '<bpmn:fooBar/>\n    <bpmn:userTask id="agency_review"',
    )
    [p] = _problems(design)
    assert p["file"] == "processes/engineer_cpd.bpmn" and p["line"] == line
    assert p["message"].startswith("元素 <fooBar> 不应出现在此处（此处可以是：")


def test_an_unknown_attribute_names_the_element_it_is_on(design):
    bpmn = design / "processes" / "engineer_cpd.bpmn"
    line = _edit(
        bpmn, '<bpmn:userTask id="agency_review"', '<bpmn:userTask fooAttr="1" id="agency_review"'
    )
    [p] = _problems(design)
    assert (p["element"], p["line"]) == ("agency_review", line)
    assert p["message"] == "元素 <userTask> 不能有属性 fooAttr"


def test_broken_xml_and_json_say_what_is_wrong(design):
    _edit(design / "processes" / "engineer_cpd.bpmn", "</bpmn:userTask>", "</bpmn:task>")
    form = design / "forms" / "engineer_cpd" / "agency_review.schema.json"
    form.write_text('{"type": "object", properties: {}}', encoding="utf-8")
    found = {p["file"]: p["message"] for p in _problems(design)}
    assert found["processes/engineer_cpd.bpmn"].startswith(
        "XML 格式错误：开始标签与结束标签不匹配：第"
    )
    assert found["forms/engineer_cpd/agency_review.schema.json"] == (
        "JSON 格式错误：属性名须用英文双引号括起来（或多了一个逗号）（第 20 列）"
    )


def test_json_too_deep_or_with_too_long_a_number_is_a_problem_of_its_file(design):
    """What Python's reader refuses without a syntax error (nesting past the stack, an
    integer of thousands of digits) and nesting our checks would walk too deep: each a
    problem naming its file, never an exception out of check or deploy."""
    forms = design / "forms" / "engineer_cpd"
    deep, deeper, long = (
        forms / "agency_review.schema.json",
        forms / "association_review.schema.json",
        design / "rules" / "policy.json",
    )
    deep.write_text('{"type": "object", "x-deep": ' + "[" * 100 + "]" * 100 + "}")
    deeper.write_text('{"type": "object", "x-deep": ' + '{"a": ' * 5000 + "1" + "}" * 5001)
    long.write_text(long.read_text(encoding="utf-8").replace("{", '{\n"x": ' + "7" * 5000 + ",", 1))
    found = {p["file"]: (p["line"], p["message"]) for p in _problems(design)}
    assert found["forms/engineer_cpd/agency_review.schema.json"] == (
        None,
        "JSON 嵌套层数超过64层",
    )
    assert found["forms/engineer_cpd/association_review.schema.json"] == (
        None,
        "JSON 嵌套层数超过64层",
    )
    assert found["rules/policy.json"] == (2, "JSON 中的数值位数过多（超过 4000 位）")


def test_a_form_that_is_no_json_schema_names_the_keyword(design):
    form = design / "forms" / "engineer_cpd" / "agency_review.schema.json"
    form.write_text('{"type": "aray"}', encoding="utf-8")
    [p] = _problems(design)
    assert p["message"].startswith("不是有效的 JSON Schema：「type」的值 'aray' 不符合规范")


def test_a_missing_form_names_the_task_s_line_in_the_diagram_not_in_the_form(design):
    (design / "forms" / "engineer_cpd" / "agency_review.schema.json").unlink()
    [p] = _problems(design)
    assert p["file"] == "forms/engineer_cpd/agency_review.schema.json" and p["line"] is None
    assert re.fullmatch(
        r"缺少该任务的表单文件（processes/engineer_cpd\.bpmn 第 \d+ 行的任务）", p["message"]
    )
