"""The engine adapter keeps no hidden state: its timers, its clock and its definitions."""

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
)
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser
from SpiffWorkflow.task import TaskState

from service.engine import Instance, build_definition
from service.engine.runtime import _SERIALIZER
from service.engine.timers import (
    ServiceDurationTimerEventDefinition,
    ServiceTimeDateEventDefinition,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BORN_1999 = "440308199901101512"  # a resident ID of someone born on 1999-01-10
FAR_AHEAD = datetime(2091, 5, 31, 17, 0, tzinfo=UTC)  # already 2091-06-01 in Shanghai
NEAR = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)

# start -> a script and a rule that read the date -> a gateway on today() -> two user tasks
CLOCK_PROBE = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
  xmlns:spiffworkflow="http://spiffworkflow.org/bpmn/schema/1.0/core"
  id="clock_probe_definitions" targetNamespace="https://memberflow.gdjsjl.org/bpmn">
  <bpmn:process id="clock_probe" name="时钟测试" isExecutable="true">
    <bpmn:laneSet id="lanes">
      <bpmn:lane id="lane_unit" name="单位管理员">
        <bpmn:flowNodeRef>start_event</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>stamp</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>check_day</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>late_gateway</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>late_review</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>unit_pay</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>pay_deadline</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>late_end</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>paid_end</bpmn:flowNodeRef>
        <bpmn:flowNodeRef>expired_end</bpmn:flowNodeRef>
      </bpmn:lane>
    </bpmn:laneSet>
    <bpmn:startEvent id="start_event"><bpmn:outgoing>f1</bpmn:outgoing></bpmn:startEvent>
    <bpmn:scriptTask id="stamp" name="记录日期">
      <bpmn:incoming>f1</bpmn:incoming><bpmn:outgoing>f2</bpmn:outgoing>
      <bpmn:script>seen_on = today()
applicant = id_facts("resident_id", id_number, None)</bpmn:script>
    </bpmn:scriptTask>
    <bpmn:businessRuleTask id="check_day" name="规则记录日期">
      <bpmn:extensionElements>
        <spiffworkflow:calledDecisionId>clock_probe_day</spiffworkflow:calledDecisionId>
      </bpmn:extensionElements>
      <bpmn:incoming>f2</bpmn:incoming><bpmn:outgoing>f3</bpmn:outgoing>
    </bpmn:businessRuleTask>
    <bpmn:exclusiveGateway id="late_gateway" default="f_on_time">
      <bpmn:incoming>f3</bpmn:incoming>
      <bpmn:outgoing>f_late</bpmn:outgoing><bpmn:outgoing>f_on_time</bpmn:outgoing>
    </bpmn:exclusiveGateway>
    <bpmn:userTask id="late_review" name="超期复核">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="status" value="超期复核中" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_late</bpmn:incoming><bpmn:outgoing>f4</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:userTask id="unit_pay" name="缴费">
      <bpmn:extensionElements><spiffworkflow:properties>
        <spiffworkflow:property name="status" value="待缴费" />
      </spiffworkflow:properties></bpmn:extensionElements>
      <bpmn:incoming>f_on_time</bpmn:incoming><bpmn:outgoing>f5</bpmn:outgoing>
    </bpmn:userTask>
    <bpmn:boundaryEvent id="pay_deadline" name="缴费期限" attachedToRef="unit_pay">
      <bpmn:outgoing>f6</bpmn:outgoing>
      <bpmn:timerEventDefinition id="pay_deadline_timer">
        <bpmn:timeDuration>"P30D"</bpmn:timeDuration>
      </bpmn:timerEventDefinition>
    </bpmn:boundaryEvent>
    <bpmn:endEvent id="late_end"><bpmn:incoming>f4</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="paid_end"><bpmn:incoming>f5</bpmn:incoming></bpmn:endEvent>
    <bpmn:endEvent id="expired_end"><bpmn:incoming>f6</bpmn:incoming></bpmn:endEvent>
    <bpmn:sequenceFlow id="f1" sourceRef="start_event" targetRef="stamp" />
    <bpmn:sequenceFlow id="f2" sourceRef="stamp" targetRef="check_day" />
    <bpmn:sequenceFlow id="f3" sourceRef="check_day" targetRef="late_gateway" />
    <bpmn:sequenceFlow id="f_late" sourceRef="late_gateway" targetRef="late_review">
      <bpmn:conditionExpression>today() &gt;= "2090-01-01"</bpmn:conditionExpression>
    </bpmn:sequenceFlow>
    <bpmn:sequenceFlow id="f_on_time" sourceRef="late_gateway" targetRef="unit_pay" />
    <bpmn:sequenceFlow id="f4" sourceRef="late_review" targetRef="late_end" />
    <bpmn:sequenceFlow id="f5" sourceRef="unit_pay" targetRef="paid_end" />
    <bpmn:sequenceFlow id="f6" sourceRef="pay_deadline" targetRef="expired_end" />
  </bpmn:process>
</bpmn:definitions>
"""
CLOCK_PROBE_DMN = """<?xml version="1.0" encoding="UTF-8"?>
<definitions xmlns="https://www.omg.org/spec/DMN/20191111/MODEL/" id="clock_probe_day_defs"
  name="规则所见日期" namespace="https://memberflow.gdjsjl.org/dmn">
  <decision id="clock_probe_day" name="规则所见日期">
    <decisionTable id="clock_probe_day_table" hitPolicy="UNIQUE">
      <input id="input_age" label="年龄">
        <inputExpression id="input_age_expr" typeRef="integer">
          <text>applicant["age"]</text>
        </inputExpression>
      </input>
      <output id="output_rule_day" label="规则所见日期" name="rule_day" typeRef="string" />
      <rule id="rule_any">
        <inputEntry id="rule_any_age"><text></text></inputEntry>
        <outputEntry id="rule_any_day"><text>today()</text></outputEntry>
      </rule>
    </decisionTable>
  </decision>
</definitions>
"""
FORM = '{"type": "object", "properties": {"id_number": {"type": "string"}}}'


@pytest.fixture(scope="module")
def clock_probe():
    files = {
        "processes/clock_probe.bpmn": CLOCK_PROBE,
        "rules/clock_probe_day.dmn": CLOCK_PROBE_DMN,
        **{f"forms/clock_probe/{t}.schema.json": FORM for t in ("start", "late_review")},
        "forms/clock_probe/unit_pay.schema.json": FORM,
    }
    return build_definition("clock_probe", files)


def timer_probe_files(duration: str = '"P30D"') -> dict[str, str]:
    bpmn = (FIXTURES / "timer_probe.bpmn").read_text(encoding="utf-8")
    form = (FIXTURES / "timer_probe.start.schema.json").read_text(encoding="utf-8")
    return {
        "processes/timer_probe.bpmn": bpmn.replace('"P30D"', duration),
        "forms/timer_probe/start.schema.json": form,
        "forms/timer_probe/unit_pay.schema.json": form,
    }


def test_scripts_rules_and_conditions_see_the_injected_date_far_from_the_real_one(clock_probe):
    inst = Instance.start(clock_probe, {"id_number": BORN_1999}, FAR_AHEAD)
    assert inst.data["seen_on"] == "2091-06-01"  # today() in a script: Shanghai's date
    assert inst.data["applicant"]["age"] == 92  # id_facts without a date: age on that day
    assert inst.data["rule_day"] == "2091-06-01"  # today() in a DMN cell
    assert [t.name for t in inst.ready_tasks()] == ["late_review"]  # today() in a condition


def test_the_same_diagram_on_a_near_date_takes_the_other_way(clock_probe):
    inst = Instance.start(clock_probe, {"id_number": BORN_1999}, NEAR)
    assert (inst.data["seen_on"], inst.data["rule_day"]) == ("2026-11-28", "2026-11-28")
    assert inst.data["applicant"]["age"] == 27
    assert [t.name for t in inst.ready_tasks()] == ["unit_pay"]
    # the duration timer counts from the injected clock too
    [deadline] = inst.waiting_events()
    assert deadline["due"] == "2026-12-28T02:00:00+00:00"


def test_a_restored_instance_runs_on_the_clock_it_is_loaded_with(clock_probe):
    state = Instance.start(clock_probe, {"id_number": BORN_1999}, NEAR).dumps()
    inst = Instance.load(clock_probe, state, FAR_AHEAD)
    assert inst.workflow.script_engine.evaluate(inst.workflow.last_task, "today()") == (
        "2091-06-01"
    )
    assert Instance.load(clock_probe, state, NEAR).fire_timers(FAR_AHEAD) == [
        {"name": "缴费期限", "correlation": None}
    ]


def test_decisions_outside_a_workflow_see_the_date_they_are_given(clock_probe):
    context = {"applicant": {"age": 30}}
    assert clock_probe.decisions.evaluate("clock_probe_day", context, FAR_AHEAD) == {
        "rule_day": "2091-06-01"
    }
    naive_utc = datetime(2026, 11, 28, 2, 0)  # as the service's clock gives it
    assert clock_probe.decisions.evaluate("clock_probe_day", context, naive_utc) == {
        "rule_day": "2026-11-28"
    }


def test_the_engine_parses_its_own_timers_and_leaves_spiffworkflow_s_classes_alone():
    defn = build_definition("timer_probe", timer_probe_files())
    timer = defn.spec.task_specs["pay_deadline"].event_definition
    assert type(timer) is ServiceDurationTimerEventDefinition
    # importing the engine changed nothing in SpiffWorkflow itself
    for cls in (TimeDateEventDefinition, DurationTimerEventDefinition):
        assert cls.has_fired.__module__ == "SpiffWorkflow.bpmn.specs.event_definitions.timer"


def test_a_plain_spiffworkflow_workflow_still_fires_its_timers_on_the_real_clock():
    """What someone else's code in the same process sees: SpiffWorkflow as shipped."""
    files = timer_probe_files('"PT0S"')
    parser = SpiffBpmnParser()
    parser.add_bpmn_str(files["processes/timer_probe.bpmn"].encode(), "timer_probe.bpmn")
    spec = parser.get_spec("timer_probe")
    assert type(spec.task_specs["pay_deadline"].event_definition) is DurationTimerEventDefinition
    wf = BpmnWorkflow(spec)
    wf.do_engine_steps()
    wf.refresh_timers()
    wf.do_engine_steps()
    assert wf.completed
    ended = [t.task_spec.name for t in wf.get_tasks(state=TaskState.COMPLETED)]
    assert "expired_end" in ended

    # the same diagram in the engine waits until the service fires the timer
    inst = Instance.start(build_definition("timer_probe", files), {}, NEAR)
    inst.workflow.refresh_timers()
    inst.workflow.do_engine_steps()
    assert [t.name for t in inst.ready_tasks()] == ["unit_pay"]
    assert inst.fire_timers(NEAR) == [{"name": "缴费期限", "correlation": None}]
    assert inst.end_event == "expired_end"


@pytest.mark.parametrize(
    ("ours", "name"),
    [
        (ServiceDurationTimerEventDefinition, "DurationTimerEventDefinition"),
        (ServiceTimeDateEventDefinition, "TimeDateEventDefinition"),
    ],
)
def test_a_service_timer_is_stored_under_spiffworkflow_s_name_and_read_back_as_ours(ours, name):
    registry = _SERIALIZER.registry
    stored = registry.convert(ours("缴费期限", '"P30D"', description="Timer"))
    assert stored["typename"] == name
    restored = registry.restore(stored)
    assert type(restored) is ours
    assert (restored.name, restored.expression) == ("缴费期限", '"P30D"')


def test_a_built_definition_cannot_be_changed(clock_probe):
    with pytest.raises(dataclasses.FrozenInstanceError):
        clock_probe.name = "改名"
    with pytest.raises(dataclasses.FrozenInstanceError):
        clock_probe.decisions = None
    assert clock_probe.name == "时钟测试"


def test_what_the_instance_reports_follows_each_move(clock_probe):
    """The ready tasks, status and data are kept between moves, never across one."""
    paid = Instance.start(clock_probe, {"id_number": BORN_1999}, NEAR)
    expired = Instance.load(clock_probe, paid.dumps(), NEAR)
    for inst in (paid, expired):  # read before each moves
        assert [t.name for t in inst.ready_tasks()] == ["unit_pay"]
        assert (inst.status, inst.finished, inst.data.get("paid")) == ("待缴费", False, None)

    [task] = paid.ready_tasks()
    paid.complete(task.id, {"paid": True})
    assert (paid.ready_tasks(), paid.finished, paid.status) == ([], True, "已结束")
    assert paid.data["paid"] is True

    assert expired.fire_timers(FAR_AHEAD) == [{"name": "缴费期限", "correlation": None}]
    assert (expired.ready_tasks(), expired.finished, expired.status) == ([], True, "已结束")
