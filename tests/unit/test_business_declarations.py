"""What a business type declares in its BPMN, checked when the folders load.

Each mistake a designer can make in a declaration stops start-up and `memberflow check`
with the file, the element and the line; the named functions the declarations choose
exist in the service's registries, one for one.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from lxml import etree

from service.cli import main as cli
from service.engine import DefinitionError, declarations, load_definitions, shared
from service.services.education.certificates import LEARNING_EFFECTS
from service.services.workflow.effects import EFFECTS
from service.services.workflow.facts import FACTS

REPO = Path(__file__).resolve().parents[2]
SOURCES = [REPO / "service" / room for room in ("services", "api", "web")]
MENU = REPO / "service" / "web" / "nav.py"


@pytest.fixture(scope="module")
def repo_definitions():
    return load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")


def design_copy(tmp_path: Path) -> Path:
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, tmp_path / folder)
    return tmp_path


def own_file(design: Path, key: str) -> None:
    """A type sharing the education template gets its rendered BPMN as a file of its own
    (processes/<key>.bpmn), so a test can put a mistake into that one type."""
    variant = design / "processes" / f"{key}{shared.SUFFIX}"
    if variant.exists():
        text = variant.read_text(encoding="utf-8")
        template = shared.template_of(key, text)
        files = {
            shared.variant_name(key): text,
            template: (design / template).read_text(encoding="utf-8"),
        }
        (design / "processes" / f"{key}.bpmn").write_text(
            shared.render(key, files), encoding="utf-8"
        )
        variant.unlink()


def edit(design: Path, key: str, old: str, new: str) -> int:
    """Replace `old` once in a process's BPMN; the line of the first property in `new`
    (of the process element when `new` adds none)."""
    path = design / "processes" / f"{key}.bpmn"
    own_file(design, key)
    text = path.read_text(encoding="utf-8")
    assert text.count(old) == 1, old
    at = text.index(old)
    path.write_text(text[:at] + new + text[at + len(old) :], encoding="utf-8")
    if "<spiffworkflow:property" in new:
        at += new.index("<spiffworkflow:property")
    else:
        at = text.index(f'<bpmn:process id="{key}"')
    return text[:at].count("\n") + 1


def problems_of(design: Path) -> list:
    with pytest.raises(DefinitionError) as info:
        load_definitions(design / "processes", design / "rules", design / "forms")
    return info.value.problems


def test_every_name_a_declaration_may_choose_is_a_registered_function():
    assert set(EFFECTS) == set(declarations.EFFECTS)
    assert set(FACTS) == set(declarations.FACTS)
    assert set(LEARNING_EFFECTS) == set(declarations.LEARNING_EFFECTS)


def test_the_nine_business_types_declare_what_the_service_used_to_know_by_key(repo_definitions):
    declared = {key: d.declarations for key, d in repo_definitions.items()}
    assert {k for k, d in declared.items() if d.join_code} == {"member_join"}
    assert {k for k, d in declared.items() if d.facts == "applicant"} == {"member_join"}
    assert {k: d.effects.get("approved_end") for k, d in declared.items() if d.effects} == {
        "member_join": "admit_member",
        "member_info_change": "change_member_info",
        "certificate_unit_change": "change_certificate_unit",
        "certificate_cancellation": "cancel_certificates",
        "engineer_cpd": "record_cpd",
        "unit_name_change": "rename_unit",
        "unit_membership_join": "admit_unit",
    }
    assert {k for k, d in declared.items() if d.facts == "unit"} >= {
        "unit_name_change",
        "unit_membership_join",
    }
    assert {k: d.learning_effect for k, d in declared.items() if d.learning_effect} == {
        "initial_education": "issue_certificate",
        "continuing_education": "renew_certificate",
        "upgrade_education": "upgrade_certificate",
        "specialty_change": "change_specialty",
    }
    enrolment = {k for k, d in declared.items() if d.export_group == "enrolment"}
    assert enrolment == {
        "initial_education",
        "continuing_education",
        "upgrade_education",
        "specialty_change",
        "engineer_cpd",
    }
    label = {k: declared[k].training_label(repo_definitions[k].name, "监理员") for k in enrolment}
    assert label["initial_education"] == "监理员初始教育"
    assert label["upgrade_education"] == "员升师教育"
    assert label["engineer_cpd"] == "专业会员（注师）继教"
    assert declared["member_join"].blank_fields == ("birth_date",)


def test_no_process_key_is_written_in_the_services_the_api_or_the_pages(repo_definitions):
    """Business knowledge lives in the definitions: no `"member_join"` and the like in the
    use cases, the API or the pages. The unit's left menu (web/nav.py) is the exception:
    it is UI.md's words and order, each a link to one business."""
    keys = "|".join(repo_definitions)
    pattern = re.compile(rf"""["']({keys})["']""")
    found = []
    for room in SOURCES:
        for path in sorted(room.rglob("*.py")):
            if path == MENU:
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if pattern.search(line):
                    found.append(f"{path.relative_to(REPO)}:{number}: {line.strip()}")
    assert found == []


MISTAKES = {
    "an unknown effect": (
        "member_join",
        '<spiffworkflow:property name="effect" value="admit_member" />',
        '<spiffworkflow:property name="effect" value="admit_members" />',
        "approved_end",
        "effect 属性值“admit_members”无效",
    ),
    "an unknown facts name": (
        "member_join",
        '<spiffworkflow:property name="facts" value="applicant" />',
        '<spiffworkflow:property name="facts" value="applicants" />',
        "member_join",
        "facts 属性值“applicants”无效，可选值：applicant、persons",
    ),
    "an unknown category": (
        "engineer_cpd",
        '<spiffworkflow:property name="category" value="cpd" />',
        '<spiffworkflow:property name="category" value="training" />',
        "engineer_cpd",
        "category 属性值“training”无效",
    ),
    "an unknown learning effect": (
        "initial_education",
        '<spiffworkflow:property name="learning_effect" value="issue_certificate" />',
        '<spiffworkflow:property name="learning_effect" value="issue" />',
        "learning_passed",
        "learning_effect 属性值“issue”无效",
    ),
    "a misspelt property on the process": (
        "member_info_change",
        '<spiffworkflow:property name="category" value="membership" />',
        '<spiffworkflow:property name="categroy" value="membership" />',
        "member_info_change",
        "流程上不认识的属性 categroy",
    ),
    "an effect on a start event": (
        "member_join",
        '<spiffworkflow:property name="blank_fields" value="birth_date" />',
        '<spiffworkflow:property name="effect" value="admit_member" />',
        "start_event",
        "effect 属性（到达该结束事件时对档案的改变）不能放在这里，只能放在结束事件",
    ),
    "a learning effect on the process": (
        "upgrade_education",
        '<spiffworkflow:property name="export_group" value="enrolment" />',
        '<spiffworkflow:property name="learning_effect" value="upgrade_certificate" />',
        "upgrade_education",
        "learning_effect 属性（考试通过后对证书的改变）不能放在这里",
    ),
    "a category on an end event": (
        "certificate_cancellation",
        '<spiffworkflow:property name="effect" value="cancel_certificates" />',
        '<spiffworkflow:property name="category" value="certificate" />',
        "approved_end",
        "category 属性（业务分类）不能放在这里，只能放在流程（bpmn:process）上",
    ),
    "a training category inserting an unknown field": (
        "specialty_change",
        '<spiffworkflow:property name="training_category" value="{certificate_type}专业变更" />',
        '<spiffworkflow:property name="training_category" value="{unit_name}专业变更" />',
        "specialty_change",
        "training_category 中只能插入 {certificate_type}，不能插入 {unit_name}",
    ),
    "a blank field the start form does not have": (
        "member_join",
        '<spiffworkflow:property name="blank_fields" value="birth_date" />',
        '<spiffworkflow:property name="blank_fields" value="birthday" />',
        "start_event",
        "blank_fields 中的 birthday 不是开始表单的字段",
    ),
    "a missing category": (
        "initial_education",
        '        <spiffworkflow:property name="category" value="education" />\n',
        "",
        "initial_education",
        "流程缺少 category 属性（业务分类，可选值：membership、education、certificate、cpd、",
    ),
    "a missing facts declaration": (
        "certificate_unit_change",
        '        <spiffworkflow:property name="facts" value="persons" />\n',
        "",
        "certificate_unit_change",
        "流程缺少 facts 属性",
    ),
}


def _line_of(design: Path, key: str, needle: str) -> int:
    text = (design / "processes" / f"{key}.bpmn").read_text(encoding="utf-8")
    return text[: text.rindex(needle)].count("\n") + 1


@pytest.mark.parametrize(
    ("key", "old", "new", "element", "words"), MISTAKES.values(), ids=list(MISTAKES)
)
def test_each_declaration_mistake_names_file_element_and_line(
    tmp_path, key, old, new, element, words
):
    design = design_copy(tmp_path)
    line = edit(design, key, old, new)
    problems = problems_of(design)
    assert [(p.file, p.element, p.line) for p in problems] == [
        (f"processes/{key}.bpmn", element, line)
    ], problems
    assert words in problems[0].message


def test_two_join_processes_are_both_named(tmp_path):
    design = design_copy(tmp_path)
    category = '<spiffworkflow:property name="category" value="membership" />'
    join = '<spiffworkflow:property name="join_code" value="true" />'
    edit(design, "member_info_change", category, category + join)
    problems = problems_of(design)
    assert [(p.file, p.element, p.line) for p in problems] == [
        (
            "processes/member_info_change.bpmn",
            "member_info_change",
            _line_of(design, "member_info_change", join),
        ),
        ("processes/member_join.bpmn", "member_join", _line_of(design, "member_join", join)),
    ]
    assert (
        problems[0].message == "只能有一个流程声明 join_code，现有：member_info_change、member_join"
    )


def test_a_declaration_on_a_timer_catch_event_is_refused(tmp_path):
    design = design_copy(tmp_path)
    timer = '<bpmn:intermediateCatchEvent id="learning_deadline" name="会籍到期">\n'
    edit(
        design,
        "continuing_education",
        timer,
        timer + "        <bpmn:extensionElements><spiffworkflow:properties>"
        '<spiffworkflow:property name="learning_effect" value="renew_certificate" />'
        "</spiffworkflow:properties></bpmn:extensionElements>\n",
    )
    (problem,) = problems_of(design)
    assert (problem.file, problem.element) == (
        "processes/continuing_education.bpmn",
        "learning_deadline",
    )
    assert "只能放在消息捕获事件" in problem.message


def test_memberflow_check_reports_a_declaration_mistake_with_file_line_and_element(
    tmp_path, monkeypatch
):
    design = design_copy(tmp_path)
    edit(
        design,
        "engineer_cpd",
        '<spiffworkflow:property name="effect" value="record_cpd" />',
        '<spiffworkflow:property name="effect" value="record_cdp" />',
    )
    line = _line_of(design, "engineer_cpd", 'value="record_cdp"')
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    result = CliRunner().invoke(cli, ["check"])
    assert result.exit_code == 1
    assert (
        f"错误 processes/engineer_cpd.bpmn:{line} [approved_end]: "
        "effect 属性值“record_cdp”无效，可选值：admit_member、"
    ) in result.output


def test_memberflow_check_json_lets_editors_and_ci_read_the_problems(tmp_path, monkeypatch):
    import json

    design = design_copy(tmp_path)
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    clean = CliRunner().invoke(cli, ["check", "--json"])
    assert clean.exit_code == 0, clean.output
    result = json.loads(clean.output)
    assert result["ok"] is True and result["problems"] == []
    assert {p["key"] for p in result["processes"]} >= {"member_join", "engineer_cpd"}
    assert result["message_templates"] > 0

    edit(
        design,
        "engineer_cpd",
        '<spiffworkflow:property name="effect" value="record_cpd" />',
        '<spiffworkflow:property name="effect" value="record_cdp" />',
    )
    line = _line_of(design, "engineer_cpd", 'value="record_cdp"')
    broken = CliRunner().invoke(cli, ["check", "--json"])
    assert broken.exit_code == 1
    [problem] = json.loads(broken.output)["problems"]
    assert (problem["file"], problem["element"], problem["line"]) == (
        "processes/engineer_cpd.bpmn",
        "approved_end",
        line,
    )
    assert "record_cdp" in problem["message"]


def _bpmn(body: str) -> bytes:
    return (
        '<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"\n'
        ' xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core" id="d">\n'
        f"{body}</bpmn:definitions>\n"
    ).encode()


def _props(**values: str) -> str:
    props = "".join(f'<spiffworkflow:property name="{n}" value="{v}" />' for n, v in values.items())
    props = f"<spiffworkflow:properties>{props}</spiffworkflow:properties>"
    return f"<bpmn:extensionElements>{props}</bpmn:extensionElements>"


@pytest.mark.parametrize(
    ("body", "element", "line", "words"),
    [
        pytest.param(
            '<bpmn:process id="p">\n<bpmn:subProcess id="sub">\n'
            f'<bpmn:endEvent id="sub_end">{_props(effect="record_cpd")}</bpmn:endEvent>\n'
            "</bpmn:subProcess>\n</bpmn:process>\n",
            "sub_end",
            5,
            "子流程或被调用流程内的结束事件不是本流程的结束",
            id="an effect on an end inside a sub-process",
        ),
        pytest.param(
            '<bpmn:process id="p">\n</bpmn:process>\n<bpmn:process id="p_learning">\n'
            f'<bpmn:endEvent id="called_end">{_props(effect="record_cpd")}</bpmn:endEvent>\n'
            "</bpmn:process>\n",
            "called_end",
            6,
            "只能放在结束事件（bpmn:endEvent）上",
            id="an effect on an end of a called process",
        ),
        pytest.param(
            '<bpmn:process id="p">\n</bpmn:process>\n'
            f'<bpmn:process id="p_learning">{_props(category="education")}\n</bpmn:process>\n',
            "p_learning",
            5,
            "category 属性（业务分类）不能放在这里",
            id="a category on a called process",
        ),
    ],
)
def test_a_declaration_inside_a_sub_or_called_process_is_refused(body, element, line, words):
    _, found = declarations.read_declarations(etree.fromstring(_bpmn(body)))
    assert [(f.element, f.line) for f in found] == [(element, line)], found
    assert words in found[0].message
