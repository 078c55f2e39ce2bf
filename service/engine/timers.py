"""BPMN timers on the service's clock, registered through SpiffWorkflow's own configuration.

SpiffWorkflow's date and duration timers read the real clock whenever the engine steps, so
a deadline would fire on its own, at a moment no test can choose. Here they fire only when
the service says so (`Instance.fire_timers`, from the indexed waiting rows), and a duration
counts from the clock of the engine run that reached it (its script engine's `clock`). The
subclasses reach SpiffWorkflow through the parser's OVERRIDE_PARSER_CLASSES and the
serializer's configuration; SpiffWorkflow's own classes stay as they are.
"""

from __future__ import annotations

from SpiffWorkflow.bpmn.parser.BpmnParser import full_tag
from SpiffWorkflow.bpmn.serializer.default.event_definition import (
    TimerConditionalEventDefinitionConverter,
)
from SpiffWorkflow.bpmn.specs.defaults import (
    BoundaryEvent,
    IntermediateCatchEvent,
    IntermediateThrowEvent,
    StartEvent,
)
from SpiffWorkflow.bpmn.specs.event_definitions.timer import (
    DurationTimerEventDefinition,
    TimeDateEventDefinition,
    TimerEventDefinition,
)
from SpiffWorkflow.spiff.parser.event_parsers import (
    SpiffBoundaryEventParser,
    SpiffIntermediateCatchEventParser,
    SpiffIntermediateThrowEventParser,
    SpiffStartEventParser,
)
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser


class ServiceTimeDateEventDefinition(TimeDateEventDefinition):
    """A timer at a date: computes its due time once, fires only when the service fires it."""

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_value") is None:
            value = my_task.workflow.script_engine.evaluate(my_task, self.expression)
            my_task._set_internal_data(event_value=value)
        return my_task._get_internal_data("event_fired", False)


class ServiceDurationTimerEventDefinition(DurationTimerEventDefinition):
    """A timer after a duration, counted from the clock of the engine run that reached it."""

    def has_fired(self, my_task):
        if my_task._get_internal_data("event_value") is None:
            engine = my_task.workflow.script_engine
            expression = engine.evaluate(my_task, self.expression)
            duration = TimerEventDefinition.parse_iso_duration(expression)
            start = engine.clock()
            due = start + TimerEventDefinition.get_timedelta_from_start(duration, start)
            my_task._set_internal_data(event_value=due.isoformat())
        return my_task._get_internal_data("event_fired", False)


# SpiffWorkflow's class -> ours; other timers (cycles) keep SpiffWorkflow's behaviour
SERVICE_TIMERS = {
    TimeDateEventDefinition: ServiceTimeDateEventDefinition,
    DurationTimerEventDefinition: ServiceDurationTimerEventDefinition,
}


class _ServiceTimerParsing:
    """Mixed into an event parser: its timer definitions become the service's timers."""

    def parse_timer_event(self, event):
        parsed = super().parse_timer_event(event)
        ours = SERVICE_TIMERS.get(type(parsed))
        if ours is None:
            return parsed
        return ours(parsed.name, parsed.expression, description=parsed.description)


class _StartEventParser(_ServiceTimerParsing, SpiffStartEventParser):
    pass


class _IntermediateCatchEventParser(_ServiceTimerParsing, SpiffIntermediateCatchEventParser):
    pass


class _IntermediateThrowEventParser(_ServiceTimerParsing, SpiffIntermediateThrowEventParser):
    pass


class _BoundaryEventParser(_ServiceTimerParsing, SpiffBoundaryEventParser):
    pass


class ServiceBpmnParser(SpiffBpmnParser):
    """SpiffWorkflow's parser for spiff-flavoured files, with the service's timers."""

    OVERRIDE_PARSER_CLASSES = {
        **SpiffBpmnParser.OVERRIDE_PARSER_CLASSES,
        full_tag("startEvent"): (_StartEventParser, StartEvent),
        full_tag("intermediateCatchEvent"): (_IntermediateCatchEventParser, IntermediateCatchEvent),
        full_tag("intermediateThrowEvent"): (_IntermediateThrowEventParser, IntermediateThrowEvent),
        full_tag("boundaryEvent"): (_BoundaryEventParser, BoundaryEvent),
    }


class _ServiceTimerConverter(TimerConditionalEventDefinitionConverter):
    """Writes and reads a service timer under the name of the SpiffWorkflow class it replaces,
    so a serialized definition reads the same before and after the subclasses."""

    def __init__(self, target_class, registry, typename=None):
        replaced = next(k for k, v in SERVICE_TIMERS.items() if v is target_class)
        super().__init__(target_class, registry, typename or replaced.__name__)


def timer_serializer_config(config: dict) -> dict:
    """A serializer configuration with the service's timers in place of SpiffWorkflow's."""
    config = {k: v for k, v in config.items() if k not in SERVICE_TIMERS}
    config.update({ours: _ServiceTimerConverter for ours in SERVICE_TIMERS.values()})
    return config
