"""Scripts and expressions run on a budget: CPU time, memory, the size of any one value;
the policy they read is frozen. Normal code runs as plain Python would run it."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import pytest

from service.engine import DefinitionError, ScriptRejected, load_definitions
from service.engine.budget import ScriptLimitExceeded
from service.engine.helpers import build_helpers
from service.engine.scripting import RestrictedEnvironment

pytestmark = pytest.mark.alone  # see scripts/test

REPO = Path(__file__).resolve().parent.parent.parent
POLICY = {
    "business_combinations": {"continuing_education": ["specialty_change", "upgrade_education"]},
    "business_names": {"member_join": "个人会员入会申请"},
    "payment_deadline_days": 30,
}


@pytest.fixture
def env() -> RestrictedEnvironment:
    return RestrictedEnvironment(build_helpers(POLICY, lambda: "2026-11-28"))


def test_the_issues_endless_pre_script_is_stopped_by_its_cpu_budget(env):
    data = {"n": 0}
    with pytest.raises(ScriptLimitExceeded, match="CPU 时间"):
        env.execute("while n >= 0:\n    n = n + 1", data)
    assert data == {"n": 0}  # a stopped script writes nothing back


def test_a_script_that_swallows_its_limit_is_stopped_all_the_same(env):
    script = (
        "try:\n    while n >= 0:\n        n = n + 1\nexcept Exception:\n    pass\n"
        "try:\n    for i in range(10):\n        n = i\nexcept Exception:\n    pass\n"
        "escaped = True"
    )
    data = {"n": 0}
    with pytest.raises(ScriptLimitExceeded):
        env.execute(script, data)
    assert "escaped" not in data


@pytest.mark.parametrize(
    "script",
    [
        pytest.param("def f(n):\n    return f(n - 1) + f(n - 1) if n else 1\nx = f(60)", id="def"),
        pytest.param("f = lambda n: f(n - 1) + f(n - 1) if n else 1\nx = f(60)", id="lambda"),
        pytest.param(
            "x = [a for a in range(999) for b in range(999) for c in range(999)]", id="for"
        ),
    ],
)
def test_exponential_recursion_and_nested_comprehensions_are_stopped(env, script):
    with pytest.raises(ScriptLimitExceeded, match="CPU 时间"):
        env.execute(script, {})


def test_an_endless_comprehension_in_an_expression_is_stopped(env):
    expression = "sum(1 for a in range(999) for b in range(999) for c in range(999)) > 0"
    with pytest.raises(ScriptLimitExceeded, match="CPU 时间"):
        env.evaluate(expression, {})


def test_a_list_that_grows_without_end_is_stopped_by_its_memory_budget(env):
    script = "parts = []\nwhile len(parts) >= 0:\n    parts.append('x' * 100000 + str(len(parts)))"
    with pytest.raises(ScriptLimitExceeded, match="内存"):
        env.execute(script, {})


@pytest.mark.parametrize(
    "script",
    [
        's = "x" * 10**9',
        "s = 10**9 * 'x'",
        "s = [0] * 10**9",
        "s = 2 ** 10**9",
        "s = pow(10, 10**8)",
        "s = 1 << 10**10",
        's = "%1000000000d" % 1',
        's = "%*d" % (10**9, 1)',
        's = "a".ljust(10**9)',
        's = str.center("a", 10**9)',
        's = ("a" * 1000).replace("", "b" * 100000)',
        's = ",".join(["x" * 9000000, "y" * 9000000])',
        "s = [1]\nwhile len(s) > 0:\n    s.extend(s)",
        's = "ab"\nwhile len(s) > 0:\n    s = s + s',
        's = "ab"\nwhile len(s) > 0:\n    s += s',
    ],
)
def test_a_value_too_large_to_build_is_refused_before_it_is_built(env, script):
    with pytest.raises(ScriptLimitExceeded, match="生成的值过大"):
        env.execute(script, {})


@pytest.mark.parametrize(
    ("script", "problem"),
    [
        ('s = f"{1:>1000000000}"', "格式宽度"),
        ('w = 9\ns = f"{1:>{w}}"', "不允许嵌套"),
        ("while True:\n    n = 1", "死循环"),
        ("while 1:\n    pass", "死循环"),
    ],
)
def test_code_that_can_only_run_away_is_refused_when_it_is_compiled(env, script, problem):
    with pytest.raises(ScriptRejected, match=problem):
        env.execute(script, {})


def test_everyday_code_gives_what_plain_python_gives(env):
    script = (
        "total = 0\nfor p in persons:\n    total += p['fee']\n"
        "names = sorted({p['name'] for p in persons})\n"
        "def label(p):\n    return '%s（%d元）' % (p['name'], p['fee'])\n"
        "labels = list(map(lambda p: label(p), persons))\n"
        "line = '-' * 10 + f'{total:>8.2f}'\n"
        "n = 0\nwhile n < 5:\n    n += 1\n"
        "big = 2 ** 64 << 3\n"
        "days = 'P%dD' % policy('payment_deadline_days')\n"
        "persons[0]['seen'] = True"
    )
    persons = [{"name": "张三", "fee": 60}, {"name": "李四", "fee": 100}]
    data = {"persons": persons}
    env.execute(script, data)
    assert data["total"] == 160 and data["names"] == ["张三", "李四"]
    assert data["labels"] == ["张三（60元）", "李四（100元）"]
    assert data["line"] == "----------  160.00" and data["n"] == 5
    assert data["big"] == 2**67 and data["days"] == "P30D"
    assert persons[0]["seen"] is True


@pytest.mark.parametrize(
    "script",
    [
        'policy("business_combinations")["continuing_education"].append("certificate_cancellation")',
        'policy("business_combinations")["continuing_education"] = []',
        'policy("business_names").update({"member_join": "改掉"})',
        'policy("business_names").clear()',
    ],
)
def test_a_script_cannot_change_the_policy_the_next_instance_reads(env, script):
    with pytest.raises(TypeError, match="只读"):
        env.execute(script, {})
    data: dict = {}
    env.execute('allowed = policy("business_combinations")["continuing_education"]', data)
    assert data["allowed"] == ["specialty_change", "upgrade_education"]
    assert POLICY["business_names"] == {"member_join": "个人会员入会申请"}


def test_policy_values_a_script_keeps_are_plain_data_again(env):
    data: dict = {}
    env.execute(
        'combos = policy("business_combinations")\nnames = [policy("business_names")]', data
    )
    assert data == {
        "combos": {"continuing_education": ["specialty_change", "upgrade_education"]},
        "names": [{"member_join": "个人会员入会申请"}],
    }
    assert json.loads(json.dumps(copy.deepcopy(data))) == data
    assert env.evaluate('policy("business_names")', {}) == {"member_join": "个人会员入会申请"}


def test_a_script_cannot_set_attributes_on_the_shared_helpers(env):
    with pytest.raises(TypeError, match="只能修改字典和列表"):
        env.execute("id_facts.cache = {}", {})


def test_memberflow_check_names_the_file_element_and_line_of_an_obvious_endless_loop(tmp_path):
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    probe = (REPO / "tests" / "fixtures" / "script_probe.bpmn").read_text(encoding="utf-8")
    looping = probe.replace('if mode == "spin":', 'while True:\n    n = 1\nif mode == "spin":')
    (design / "processes" / "script_probe.bpmn").write_text(looping, encoding="utf-8")
    forms = design / "forms" / "script_probe"
    forms.mkdir()
    shutil.copy(REPO / "tests/fixtures/timer_probe.start.schema.json", forms / "start.schema.json")
    shutil.copy(
        REPO / "tests/fixtures/script_probe.unit_fill.schema.json", forms / "unit_fill.schema.json"
    )
    with pytest.raises(DefinitionError) as refused:
        load_definitions(design / "processes", design / "rules", design / "forms")
    (problem,) = refused.value.problems
    assert (problem.file, problem.element) == ("processes/script_probe.bpmn", "run_script")
    assert isinstance(problem.line, int) and "死循环" in problem.message
