"""Each DMN table of member_join on its own, the script sandbox, and the loader's refusals."""

import shutil
from pathlib import Path
from types import SimpleNamespace

import pytest
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from service.engine import DefinitionError, load_definitions
from service.engine.helpers import build_helpers
from service.engine.scripting import RestrictedEnvironment, ScriptRejected, make_script_engine

REPO = Path(__file__).resolve().parents[2]
PROCESSES, RULES, FORMS = REPO / "processes", REPO / "rules", REPO / "forms"
BPMN_NAME = "processes/member_join.bpmn"
FIRST_PRESCRIPT = "failure_reasons = []\napplicant = id_facts("
ELIGIBILITY_GATEWAY = '<bpmn:exclusiveGateway id="eligibility_gateway"'
BAD_CHECK_CHAR = "身份证号码校验位不正确"


def decision_engine(dmn_file: str, decision_id: str):
    parser = SpiffBpmnParser()
    parser.add_dmn_file(str(RULES / dmn_file))
    return parser.get_engine(decision_id, None)


def decide(engine, data: dict) -> dict:
    """Evaluate one decision table against `data` with our restricted script engine."""
    script_engine = make_script_engine(build_helpers({}, lambda: "2026-01-01"))
    ctx = SimpleNamespace(
        data=data,
        task_spec=SimpleNamespace(bpmn_name="规则测试", name="rule_test"),
        workflow=SimpleNamespace(script_engine=script_engine),
    )
    return engine.result(ctx)


@pytest.fixture(scope="module")
def eligibility():
    return decision_engine("member_join_eligibility.dmn", "member_join_eligibility")


@pytest.fixture(scope="module")
def membership_fee():
    return decision_engine("membership_fee.dmn", "membership_fee")


def adult(age: int | None = 30) -> dict:
    return {"valid": True, "problem": None, "age": age}


INVALID_ID = {"valid": False, "problem": BAD_CHECK_CHAR, "age": None}
BOTH = ["普通会员", "专业会员"]

# (applicant, held_applied — the levels applied for already held —, join_in_flight, one text
# fragment per expected reason, in rule order)
ELIGIBILITY_CASES = {
    "valid adult of 30": (adult(30), [], False, []),
    "exactly 18": (adult(18), [], False, ["18周岁"]),
    "17": (adult(17), [], False, ["18周岁"]),
    "19": (adult(19), [], False, []),
    "exactly 65": (adult(65), [], False, []),
    "66": (adult(66), [], False, ["65周岁"]),
    "invalid id": (INVALID_ID, [], False, [BAD_CHECK_CHAR]),
    "already both levels": (
        adult(),
        BOTH,
        False,
        ["已是本协会普通会员、专业会员，不能重复申请入会"],
    ),
    "already the level applied for": (
        adult(),
        ["专业会员"],
        False,
        ["已是本协会专业会员，不能重复申请该级别"],
    ),
    "join in flight": (adult(), [], True, ["正在办理"]),
    "66 and already a member": (adult(66), BOTH, False, ["65周岁", "已是"]),
    "every person rule at once": (adult(66), BOTH, True, ["65周岁", "已是", "正在办理"]),
}


@pytest.mark.parametrize(
    ("applicant", "held_applied", "join_in_flight", "expected"),
    list(ELIGIBILITY_CASES.values()),
    ids=list(ELIGIBILITY_CASES),
)
def test_eligibility_table_gives_one_reason_per_rule_broken(
    eligibility, applicant, held_applied, join_in_flight, expected
):
    data = {
        "applicant": applicant,
        "held_applied": held_applied,
        "member_elsewhere": False,
        "join_in_flight": join_in_flight,
    }
    result = decide(eligibility, data)
    reasons = result.get("failure_reasons", [])
    assert len(reasons) == len(expected), reasons
    for reason, fragment in zip(reasons, expected, strict=True):
        assert fragment in reason


def test_eligibility_table_collects_nothing_for_an_eligible_applicant(eligibility):
    data = {
        "applicant": adult(30),
        "held_applied": [],
        "member_elsewhere": False,
        "join_in_flight": False,
    }
    assert decide(eligibility, data) == {}


@pytest.mark.parametrize("age", [17, 18, 66])
def test_age_reasons_state_the_applicants_actual_age(eligibility, age):
    data = {
        "applicant": adult(age),
        "held_applied": [],
        "member_elsewhere": False,
        "join_in_flight": False,
    }
    [reason] = decide(eligibility, data)["failure_reasons"]
    assert f"现为{age}周岁" in reason


def test_an_invalid_id_gives_only_the_id_problem_and_no_age_rule(eligibility):
    data = {
        "applicant": INVALID_ID,
        "held_applied": [],
        "member_elsewhere": False,
        "join_in_flight": False,
    }
    reasons = decide(eligibility, data)["failure_reasons"]
    assert reasons == [f"证件号码无效：{BAD_CHECK_CHAR}"]
    assert not any("周岁" in reason for reason in reasons)


@pytest.mark.parametrize(("level", "fee"), [("普通会员", "200.00"), ("专业会员", "300.00")])
def test_membership_fee_table_gives_the_fee_of_each_level(membership_fee, level, fee):
    assert decide(membership_fee, {"member_level": level}) == {"fee_amount": fee}


def test_the_real_loader_accepts_the_shipped_definitions():
    definitions = load_definitions(PROCESSES, RULES, FORMS)
    assert "member_join" in definitions
    defn = definitions["member_join"]
    assert "rules/member_join_eligibility.dmn" in defn.files
    assert "rules/membership_fee.dmn" in defn.files
    assert defn.end_status == {
        "approved_end": "审批完成",
        "ineligible_end": "不符合条件",
        "recheck_ineligible_end": "不符合条件",
        "payment_expired_end": "已关闭",
    }
    assert defn.end_bills == {"payment_expired_end": "void"}


# --- the sandbox -----------------------------------------------------------------------


@pytest.fixture
def sandbox():
    return RestrictedEnvironment({})


def test_an_import_statement_is_refused_by_the_sandbox(sandbox):
    with pytest.raises(ScriptRejected, match="import"):
        sandbox.execute("import os", {})


@pytest.mark.parametrize("run", ["execute", "evaluate"])
def test_calling_dunder_import_is_refused_by_the_sandbox(sandbox, run):
    with pytest.raises(ScriptRejected, match="__import__"):
        getattr(sandbox, run)('__import__("os")', {})


@pytest.mark.parametrize("run", ["execute", "evaluate"])
def test_dunder_attribute_access_is_refused_by_the_sandbox(sandbox, run):
    with pytest.raises(ScriptRejected, match="__class__"):
        getattr(sandbox, run)("().__class__", {})


@pytest.mark.parametrize("run", ["execute", "evaluate"])
def test_open_is_not_available_in_the_sandbox(sandbox, run):
    with pytest.raises((NameError, ScriptRejected), match="open"):
        getattr(sandbox, run)('open("/etc/passwd")', {})


def test_a_plain_script_updates_the_task_data(sandbox):
    context = {"a": 1}
    assert sandbox.execute("b = a + 1", context) is True
    assert context == {"a": 1, "b": 2}


def test_a_plain_expression_is_evaluated_against_the_task_data(sandbox):
    assert sandbox.evaluate("a * 2 + 1", {"a": 20}) == 41


def test_a_script_may_not_overwrite_a_registered_helper():
    sandbox = RestrictedEnvironment({"id_facts": len})
    with pytest.raises(ScriptRejected, match="id_facts"):
        sandbox.execute("x = 1", {"id_facts": "shadowed"})


# --- the loader refuses broken designer files -------------------------------------------


@pytest.fixture
def design(tmp_path) -> Path:
    """A private copy of processes/, rules/ and forms/ that a test may break."""
    for folder in (PROCESSES, RULES, FORMS):
        shutil.copytree(folder, tmp_path / folder.name)
    return tmp_path


def edit_bpmn(design: Path, old: str, new: str) -> str:
    """Replace the first `old` in the copied member_join.bpmn; return the original text."""
    path = design / BPMN_NAME
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} is no longer in {BPMN_NAME}"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return text


def line_of(text: str, fragment: str) -> int:
    return text[: text.index(fragment)].count("\n") + 1


def load_problems(design: Path) -> list:
    with pytest.raises(DefinitionError) as info:
        load_definitions(design / "processes", design / "rules", design / "forms")
    assert info.value.problems, "DefinitionError without problems"
    return info.value.problems


# `import os` is NOT in this list: RestrictedPython compiles it, so the loader (and
# `memberflow check`) accept it and only the running script is refused (see below).
@pytest.mark.parametrize(
    "forbidden", ['__import__("os")', "x = applicant.__class__"], ids=["dunder import", "dunder"]
)
def test_the_loader_refuses_a_forbidden_script_naming_file_element_and_line(design, forbidden):
    original = edit_bpmn(design, FIRST_PRESCRIPT, forbidden + "\napplicant = id_facts(")
    problems = load_problems(design)
    expected_line = line_of(original, "<spiffworkflow:preScript>" + FIRST_PRESCRIPT)
    matching = [p for p in problems if p.element == "check_eligibility"]
    assert matching, problems
    [problem] = matching
    assert problem.file == BPMN_NAME
    assert isinstance(problem.line, int)
    assert problem.line == expected_line
    assert "不被允许" in problem.message


@pytest.mark.parametrize("script", ["import os", "from os import path", "x = open('/etc/passwd')"])
def test_the_loader_refuses_import_and_open_before_anything_runs(design, script):
    edit_bpmn(design, FIRST_PRESCRIPT, script + "\napplicant = id_facts(")
    problems = load_problems(design)
    [problem] = [p for p in problems if p.element == "check_eligibility"]
    assert problem.file == BPMN_NAME and isinstance(problem.line, int)
    assert ("import" in problem.message) or ("open" in problem.message)


def test_the_loader_refuses_malformed_xml_with_a_line_number(design):
    path = design / BPMN_NAME
    text = path.read_text(encoding="utf-8")
    path.write_text(text[: len(text) // 2], encoding="utf-8")
    problems = load_problems(design)
    [problem] = [p for p in problems if p.file == BPMN_NAME]
    assert isinstance(problem.line, int)
    assert problem.line > 1
    assert "XML" in problem.message


def test_the_loader_refuses_a_gateway_without_its_default_flow(design):
    gateway = ELIGIBILITY_GATEWAY + ' name="符合入会条件？"'
    original = edit_bpmn(design, gateway + ' default="flow_eligible"', gateway)
    problems = load_problems(design)
    [problem] = [p for p in problems if p.element == "eligibility_gateway"]
    assert problem.file == BPMN_NAME
    assert problem.line == line_of(original, ELIGIBILITY_GATEWAY)
    assert "default" in problem.message


@pytest.mark.parametrize(
    "old, new, element",
    [
        (
            '<spiffworkflow:property name="bill" value="pay" />',
            '<spiffworkflow:property name="bill" value="paid" />',
            "unit_pay",
        ),
        (
            '<spiffworkflow:property name="bill" value="void" />',
            '<spiffworkflow:property name="bill" value="cancel" />',
            "payment_expired_end",
        ),
    ],
    ids=["user task", "end event"],
)
def test_the_loader_refuses_an_unknown_bill_property(design, old, new, element):
    original = edit_bpmn(design, old, new)
    [problem] = [p for p in load_problems(design) if p.element == element]
    assert problem.file == BPMN_NAME and "bill" in problem.message
    assert problem.line == line_of(original, f'id="{element}"')


def test_the_loader_calls_a_syntax_error_a_syntax_error(design):
    """An unclosed bracket is 语法错误 with its line, not something "not allowed"."""
    edit_bpmn(design, FIRST_PRESCRIPT, "failure_reasons = len(\napplicant = id_facts(")
    [problem] = [p for p in load_problems(design) if p.element == "check_eligibility"]
    assert problem.message.startswith("语法错误（第"), problem.message
    assert "不被允许" not in problem.message


def test_a_member_of_another_unit_is_refused_whatever_level_is_applied_for(eligibility):
    # a join through another unit would move the person there: 调入 comes first
    data = {
        "applicant": adult(30),
        "held_applied": ["普通会员"],
        "member_elsewhere": True,
        "join_in_flight": False,
    }
    assert decide(eligibility, data)["failure_reasons"] == [
        "申请人已是本协会普通会员，不能重复申请入会"
    ]
