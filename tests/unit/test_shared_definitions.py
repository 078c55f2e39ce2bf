"""The four education businesses share one diagram (processes/shared/education.bpmn): each
is a small `processes/<key>.shared.json` with what differs. A change to the template is made
once and is a new version of each of the four (and of nothing else); a wrong variant or
template is reported with file and line."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from service.engine import DefinitionError, build_definition, load_definitions
from service.engine.shared import SUFFIX

REPO = Path(__file__).resolve().parents[2]
EDUCATION = {
    "initial_education": ("普通会员初始教育", "issue_certificate"),
    "continuing_education": ("普通会员继续教育", "renew_certificate"),
    "upgrade_education": ("员升师", "upgrade_certificate"),
    "specialty_change": ("普通会员专业变更", "change_specialty"),
}


@pytest.fixture
def design(tmp_path) -> Path:
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def _load(design: Path):
    return load_definitions(design / "processes", design / "rules", design / "forms")


def test_the_education_types_are_one_template_and_four_small_files():
    assert (REPO / "processes" / "shared" / "education.bpmn").exists()
    for key in EDUCATION:
        assert not (REPO / "processes" / f"{key}.bpmn").exists(), key
        spec = json.loads((REPO / "processes" / f"{key}{SUFFIX}").read_text(encoding="utf-8"))
        assert spec["template"] == "shared/education.bpmn"


def test_each_type_renders_with_its_own_name_category_and_learning_effect(design):
    definitions = _load(design)
    for key, (name, effect) in EDUCATION.items():
        defn = definitions[key]
        assert defn.name == name and defn.bpmn_file == "processes/shared/education.bpmn"
        assert f'<bpmn:process id="{key}" name="{name}"' in defn.bpmn
        assert f'calledElement="{key}_learning"' in defn.bpmn
        assert "__" not in defn.bpmn.split("<bpmndi:BPMNDiagram")[0].replace("__init__", "")
        assert defn.declarations.learning_effect == effect
        assert {"unit_pay", "finance_review", "agency_review"} <= set(defn.user_tasks)
        # a stored version rebuilds from its files alone
        assert build_definition(key, dict(defn.files)).digest == defn.digest


def test_a_change_to_the_template_is_a_new_version_of_each_type_using_it(design):
    before = {k: d.digest for k, d in _load(design).items()}
    template = design / "processes" / "shared" / "education.bpmn"
    text = template.read_text(encoding="utf-8")
    assert 'name="协会初审"' in text
    template.write_text(text.replace('name="协会初审"', 'name="协会审核"'), encoding="utf-8")
    after = {k: d.digest for k, d in _load(design).items()}
    changed = {k for k in before if before[k] != after[k]}
    assert changed == set(EDUCATION)


def _problems(design: Path):
    with pytest.raises(DefinitionError) as caught:
        _load(design)
    return caught.value.problems


def test_a_placeholder_without_a_value_names_the_variant_file(design):
    variant = design / "processes" / f"upgrade_education{SUFFIX}"
    spec = json.loads(variant.read_text(encoding="utf-8"))
    del spec["values"]["learning_effect"]
    variant.write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")
    [problem] = _problems(design)
    assert problem.file == f"processes/upgrade_education{SUFFIX}" and problem.line
    assert "占位符没有取值：learning_effect" in problem.message


def test_a_value_the_template_does_not_use_and_a_missing_template(design):
    variant = design / "processes" / f"initial_education{SUFFIX}"
    spec = json.loads(variant.read_text(encoding="utf-8"))
    spec["values"]["colour"] = "红"
    variant.write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")
    [problem] = _problems(design)
    assert "没有这些占位符：colour" in problem.message
    spec["values"].pop("colour")
    spec["template"] = "shared/educaton.bpmn"
    variant.write_text(json.dumps(spec, ensure_ascii=False, indent=2), encoding="utf-8")
    [problem] = _problems(design)
    assert problem.file == f"processes/initial_education{SUFFIX}"
    assert "模板文件 processes/shared/educaton.bpmn 不存在" in problem.message


def test_a_mistake_in_the_template_is_reported_in_the_template(design):
    template = design / "processes" / "shared" / "education.bpmn"
    text = template.read_text(encoding="utf-8")
    template.write_text(
        text.replace('targetRef="return_merge"', 'targetRef="return_mergex"', 1), encoding="utf-8"
    )
    problems = _problems(design)
    assert {p.file for p in problems} == {"processes/shared/education.bpmn"}
    assert len({p.message for p in problems if "return_mergex" in p.message}) >= 1


def test_a_key_with_both_its_own_diagram_and_a_shared_file_is_refused(design):
    (design / "processes" / "initial_education.bpmn").write_text(
        (design / "processes" / "shared" / "education.bpmn").read_text(encoding="utf-8"),
        encoding="utf-8",
    )
    problems = _problems(design)
    assert any(
        p.file == f"processes/initial_education{SUFFIX}" and "只能保留一个" in p.message
        for p in problems
    ), problems
