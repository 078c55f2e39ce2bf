"""The script engine's syntax check, which SpiffWorkflow's DMN engine asks of every cell at
every evaluation, parses each text once and answers as Python's parser does."""

from __future__ import annotations

import ast

import pytest

from service.engine.decisions import load_decisions
from service.engine.scripting import _syntax_error, make_script_engine

# an age cell needing the input put before it (< 35), one that compares as it is ("本科"),
# a range written with the input's place (35 <= ? < 60), an empty one (anything)
DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="band_defs"
  name="年龄段" namespace="https://memberflow.gdjsjl.org/dmn">
  <decision id="band" name="年龄段">
    <decisionTable id="band_table" hitPolicy="FIRST">
      <input id="in_age" label="年龄">
        <inputExpression id="in_age_expr" typeRef="integer"><text>age</text></inputExpression>
      </input>
      <input id="in_level" label="学历">
        <inputExpression id="in_level_expr" typeRef="string"><text>level</text></inputExpression>
      </input>
      <output id="out_band" label="年龄段" name="band" typeRef="string" />
      <rule id="r1">
        <inputEntry id="r1a"><text>&lt; 35</text></inputEntry>
        <inputEntry id="r1b"><text>"本科"</text></inputEntry>
        <outputEntry id="r1o"><text>"青年本科"</text></outputEntry>
      </rule>
      <rule id="r2">
        <inputEntry id="r2a"><text>35 &lt;= ? &lt; 60</text></inputEntry>
        <inputEntry id="r2b"><text></text></inputEntry>
        <outputEntry id="r2o"><text>"中年"</text></outputEntry>
      </rule>
      <rule id="r3">
        <inputEntry id="r3a"><text></text></inputEntry>
        <inputEntry id="r3b"><text></text></inputEntry>
        <outputEntry id="r3o"><text>"其他"</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""


@pytest.mark.parametrize("text", ["age < 35", "'本科'", "v < 35", "(x) == (1)"])
def test_a_text_that_parses_passes(text):
    make_script_engine({}).validate(text)


@pytest.mark.parametrize("text", ["< 35", "age <", "def", "1 +* 2"])
def test_a_text_that_does_not_parse_is_refused_each_time_as_python_refuses_it(text):
    engine = make_script_engine({})
    with pytest.raises(SyntaxError) as python:
        ast.parse(text)
    for _ in range(2):  # the second answer comes from the cache, and is the same
        with pytest.raises(SyntaxError) as ours:
            engine.validate(text)
        assert ours.value.args == python.value.args


def test_a_decision_s_cells_are_parsed_once_and_decide_as_before(tmp_path):
    (tmp_path / "band.dmn").write_text(DMN, encoding="utf-8")
    decisions = load_decisions(tmp_path)
    cases = [
        ({"age": 30, "level": "本科"}, "青年本科"),
        ({"age": 30, "level": "大专"}, "其他"),
        ({"age": 40, "level": "本科"}, "中年"),
        ({"age": 70, "level": "本科"}, "其他"),
    ]
    _syntax_error.cache_clear()
    for context, band in cases:
        assert decisions.evaluate("band", context) == {"band": band}, context
    first = _syntax_error.cache_info()
    assert first.misses > 0
    for context, band in cases:
        assert decisions.evaluate("band", context) == {"band": band}, context
    again = _syntax_error.cache_info()
    assert again.misses == first.misses  # no cell parsed again
    assert again.hits > first.hits
