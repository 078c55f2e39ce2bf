"""More of what a designer meets in a broken file, said in Chinese with its line, column
and names: a cut-off or empty diagram, a file that is not BPMN, a DMN value outside its set,
Python's syntax errors and the sandbox's refusals in a cell, and an incident's failure.
Each read as libxml2's, Python's or RestrictedPython's English before. A wording not known
here is said as what kind of problem it is, its English only after 原文："""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from service.engine import problem_text
from service.engine.scripting import ScriptRejected, compile_expression
from service.services.workflow.deploy import check_folders

REPO = Path(__file__).resolve().parents[2]
# English a reader would have to translate (names, tags and values are no sentence)
ENGLISH = re.compile(
    r"\b(?:is|are|not|the|was|an|of|with|because|expected|never|closed|unmatched|invalid"
    r"|syntax|empty|Document|Element|Line|line|column|name|value|set)\b"
)
CELL = '<text>"安全监理员"</text>'  # rules/business_fee.dmn, an input entry of line 38


def _chinese(message: str) -> str:
    """The message; no English in it but after 原文："""
    assert not ENGLISH.search(message.split("原文：")[0]), message
    return message


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _problem(design: Path) -> dict:
    checked = check_folders(design / "processes", design / "rules", design / "forms")
    assert checked.problems, "the broken file passed"
    for p in checked.problems:
        _chinese(p["message"])
    return checked.problems[0]


def _cell(design: Path, text: str) -> dict:
    dmn = design / "rules" / "business_fee.dmn"
    source = dmn.read_text(encoding="utf-8")
    assert CELL in source
    dmn.write_text(source.replace(CELL, f"<text>{text}</text>", 1), encoding="utf-8")
    return _problem(design)


def test_a_cut_off_diagram_says_an_attribute_is_unfinished_at_its_line_and_column(design):
    bpmn = design / "processes" / "engineer_cpd.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    cut = text.index('id="agency_review"') + len('id="agen')
    bpmn.write_text(text[:cut], encoding="utf-8")
    line = text[:cut].count("\n") + 1
    p = _problem(design)
    assert (p["file"], p["line"]) == ("processes/engineer_cpd.bpmn", line)
    assert re.fullmatch(
        rf"XML 格式错误：属性值须用引号括起来（或文件在此处被截断）（第 {line} 行第 \d+ 列）",
        p["message"],
    ), p["message"]


def test_an_empty_diagram_is_said_to_be_empty(design):
    (design / "processes" / "engineer_cpd.bpmn").write_text("", encoding="utf-8")
    assert _problem(design)["message"] == "XML 格式错误：文件是空的（第 1 行第 1 列）"


def test_a_file_that_is_no_diagram_names_its_root_element(design):
    (design / "processes" / "engineer_cpd.bpmn").write_text("<html/>", encoding="utf-8")
    assert _problem(design)["message"] == (
        "根元素 <html> 不是 BPMN 或 DMN 文件的根元素（应为 definitions，文件是否选错了？）"
    )


def test_a_hit_policy_outside_its_set_names_the_value_and_the_ones_allowed(design):
    dmn = design / "rules" / "business_fee.dmn"
    source = dmn.read_text(encoding="utf-8")
    dmn.write_text(source.replace('hitPolicy="UNIQUE"', 'hitPolicy="BOGUS"', 1), "utf-8")
    p = _problem(design)
    assert (p["element"], p["line"]) == ("business_fee_table", 13)
    assert p["message"] == (
        "元素 <decisionTable> 的属性 hitPolicy 的值“BOGUS”无效"
        "（可以是：UNIQUE、FIRST、PRIORITY、ANY、COLLECT、RULE ORDER、OUTPUT ORDER）"
    )


@pytest.mark.parametrize(
    ("cell", "said"),
    [
        ("&lt;= 18 )(", "多了一个 “)”（前面没有与之配对的括号）"),
        ("in_list(1", "“(” 没有闭合（缺少对应的右括号）"),
        ("[1, 2", "“[” 没有闭合（缺少对应的右括号）"),
        ("1 +* 2 if", "写法有误，无法解析（多了或缺少运算符、括号、引号？）"),
    ],
)
def test_a_cell_that_is_no_python_says_what_is_wrong_at_its_line(design, cell, said):
    p = _cell(design, cell)
    assert (p["element"], p["line"]) == ("rule_initial_safety_certificate_type", 38)
    assert p["message"] == f"语法错误（第1行）：{said}"


def test_a_cell_reaching_for_dunder_attributes_names_them_once_each(design):
    p = _cell(design, "().__class__.__bases__[0].__subclasses__()")
    assert p["message"] == (
        "表达式或脚本不被允许：第1行：不能使用以下划线开头的属性名 "
        "__subclasses__、__bases__、__class__"
    )


@pytest.mark.parametrize(
    ("source", "said"),
    [
        ("x.f_back", "不允许访问 f_back"),
        ("_secret + 1", "不能使用以下划线开头的变量名 _secret"),
        (
            "[x for x in 1，2]",
            "语法错误（第1行）：有不能使用的字符 “，”（U+FF0C），标点须用英文半角",
        ),
    ],
)
def test_other_refusals_of_the_sandbox_and_of_python_are_said_in_chinese(source, said):
    with pytest.raises((ScriptRejected, SyntaxError)) as refused:
        compile_expression(source)
    assert _chinese(problem_text.code_problem(refused.value)).endswith(said)


def test_a_wording_not_known_here_says_what_kind_of_problem_and_keeps_the_original():
    assert problem_text.xml_syntax("Something new happened, line 3, column 7") == (
        "XML 格式错误（第 3 行第 7 列），文件无法解析。原文：Something new happened"
    )
    assert problem_text.schema_message(
        "Element '{urn:x}task', attribute 'a': A new complaint.. "
    ) == (
        "不符合 BPMN/DMN 规范：元素 <task> 的属性 a 有误。原文：Element 'task', attribute 'a': "
        "A new complaint."
    )
    assert (
        problem_text.python_syntax("a brand new complaint")
        == "写法有误，无法解析。原文：a brand new complaint"
    )
    rejected = ScriptRejected('Line 2: "x" is weird in a new way')
    assert problem_text.code_problem(rejected) == (
        '表达式或脚本不被允许：第2行：沙箱不允许这种写法。原文："x" is weird in a new way'
    )


@pytest.mark.parametrize(
    ("kind", "detail", "said"),
    [
        (
            "RecursionError",
            "RecursionError:maximum recursion depth exceeded while calling a Python object",
            "调用层数过深（函数直接或间接地调用自身而没有结束）。原文：RecursionError:maximum "
            "recursion depth exceeded while calling a Python object",
        ),
        (
            "unknown",
            "float division by zero",
            "除数为零（除法或取余运算的除数是 0，请先判断除数不为 0）。"
            "原文：float division by zero（ZeroDivisionError）",
        ),
        (
            "NotImplementedError",
            "NotImplementedError:Using the format*() methods of `str` is not safe",
            "不允许使用字符串的 format()、format_map() 方法（请改用 f-string 或 + 拼接）。"
            "原文：NotImplementedError:Using the format*() methods of `str` is not safe",
        ),
    ],
)
def test_an_incident_explains_its_failure_in_chinese_before_the_original(kind, detail, said):
    assert _chinese(problem_text.runtime_error(kind, detail)) == said
