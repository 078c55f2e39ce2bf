"""Running instances: start, load, complete a user task, save — state without the spec.

SpiffWorkflow's serializer embeds the whole parsed spec in every saved state (most of
the blob). Here the workflow converter leaves it out and rebuilds the workflow around
the spec of the instance's definition version, which the catalogue already holds.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from copy import copy
from dataclasses import dataclass
from datetime import UTC, date, datetime
from types import MappingProxyType, ModuleType
from typing import Any
from uuid import UUID

import orjson
from lxml import etree
from SpiffWorkflow.bpmn.serializer.default.workflow import (
    BpmnWorkflowConverter,
    TaskConverter,
    WorkflowConverter,
)
from SpiffWorkflow.bpmn.serializer.helpers import DefaultRegistry
from SpiffWorkflow.bpmn.serializer.workflow import BpmnWorkflowSerializer
from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.bpmn.specs.mixins.events.event_types import CatchingEvent
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from SpiffWorkflow.bpmn.util import BpmnEvent
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.exceptions import SpiffWorkflowException, TaskNotFoundException
from SpiffWorkflow.spiff.serializer.config import SPIFF_CONFIG
from SpiffWorkflow.task import Task, TaskState

from service.engine.budget import ScriptLimitExceeded
from service.engine.catalogue import Definition
from service.engine.problem_text import runtime_error
from service.engine.scripting import REQUEST_FACTS
from service.engine.timers import timer_serializer_config

# data keys that reach the rules for one request only, not the stored state
REQUEST_FACT_KEYS = ("person_facts", "process_names")


class EngineError(Exception):
    """A script, condition or rule failed while the engine ran; names file and element."""


class TaskNotReady(Exception):
    """The engine task is not a ready user task (already done, or never existed)."""


# A state is written at every move and read at every load. orjson writes the text that
# json.dumps(…, ensure_ascii=False, separators=(",", ":")) writes for the strings, integers,
# lists and dicts a state holds, and the same floats (1e-7 where json wrote 1e-07), in about
# a tenth of the time (tests/unit/test_state_text.py).
# A value it would write its own way (a date, a subclass of str or int, a dataclass) or not
# at all (an integer beyond 64 bits, a key that is not a string) is refused here and left
# to json, as before. Two differences remain, neither reachable from a form (the request
# guard refuses non-finite numbers; the serializer converts ids and dates to text): orjson
# writes NaN and infinities as null, and a UUID or an Enum as its value, where json would
# fail the move.
_ORJSON_OPTIONS = (
    orjson.OPT_PASSTHROUGH_DATETIME
    | orjson.OPT_PASSTHROUGH_DATACLASS
    | orjson.OPT_PASSTHROUGH_SUBCLASS
)


def _refused(obj):
    raise TypeError(f"{type(obj).__name__} is left to json")


def _state_text(dct: dict) -> str:
    """A state as compact JSON text (UTF-8 as it is, no escapes)."""
    try:
        return orjson.dumps(dct, default=_refused, option=_ORJSON_OPTIONS).decode()
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        return json.dumps(dct, ensure_ascii=False, separators=(",", ":"))


def _state_dict(text: str) -> dict:
    """A state read back; json reads what orjson refuses (NaN, written by json.dumps)."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)


# the depth below which SpiffWorkflow's task iterator never stops descending (its
# max_depth is 1000; its depth count never exceeds a task's distance from the root)
_WALK_DEPTH = 990
# The task tree grows with every step taken, and a loop (returned, resubmitted, returned…)
# makes it deeper each time round. A task below the iterator's max_depth is never found:
# the instance would stop with nothing to do. A move that takes a task that deep is refused
# (`complete`); the service refuses a return well before (`depth`, RETURN_DEPTH), leaving
# room for the steps forward to the end.
RETURN_DEPTH = 800


class _Workflow(BpmnWorkflow):
    """SpiffWorkflow's workflow, with two walks of the task tree made cheaper.

    After every completed task SpiffWorkflow walks the whole task tree to update the
    waiting tasks. On a form of N persons each per-person step completes N tasks in a tree
    that holds N tasks per step already done: N x N visits, most of the engine's time at
    200 persons. The walk is skipped when no task of this workflow waits (most steps);
    otherwise it runs exactly as before.

    `get_tasks` by state (and `manual`), which the engine's steps call after every task
    they run and the service calls for the ready tasks and the status, returns the tasks
    SpiffWorkflow's BpmnTaskIterator returns, in its order, from a plain depth-first walk:
    without the iterator's per-task filter object, property look-ups and list copies
    (about 5 % of the server's CPU per request, sampled under bench_throughput.py). Any
    other query goes to SpiffWorkflow's iterator, and so does this one in a tree deep
    enough for the iterator's depth limit to matter.
    """

    # each task id of the state this workflow was loaded from, as the state wrote it
    # (`_SpeclessWorkflowConverter.from_dict`): saving the state again writes those ids
    # from here rather than formatting every UUID anew (UUID.__str__ is Python code, five
    # times the cost of a dict look-up). A workflow started, not loaded, has none.
    id_texts: Mapping[UUID, str] = MappingProxyType({})

    def update_waiting_tasks(self) -> None:
        waiting = TaskState.WAITING
        for task in self.tasks.values():  # a loop, not any(…): no call per task
            if task._state == waiting:
                super().update_waiting_tasks()
                return

    def get_tasks(self, first_task: Task | None = None, **kwargs) -> list[Task]:
        if first_task is not None or not kwargs.keys() <= {"state", "manual"}:
            return super().get_tasks(first_task, **kwargs)
        found = _walk(self, kwargs.get("state", TaskState.ANY_MASK), kwargs.get("manual"))
        return super().get_tasks(**kwargs) if found is None else found


def _tree_depth(task: Task) -> int:
    """A task's distance from the top workflow's root, as SpiffWorkflow's iterator counts it:
    a sub-process's root one below the task that started it."""
    depth = 0
    while True:
        depth += task.depth
        parent_id = getattr(task.workflow, "parent_task_id", None)
        if parent_id is None:
            return depth
        task = task.workflow.top_workflow.get_task_from_id(parent_id)
        depth += 1


def _walk(workflow: BpmnWorkflow, state: int, manual: bool | None) -> list[Task] | None:
    """What BpmnTaskIterator(workflow.task_tree, state=state, manual=manual) yields, in
    its order; None past _WALK_DEPTH. Its rules, from SpiffWorkflow 3.2's util/task.py
    and bpmn/util/task.py: a task's children are visited when its state is at least
    `floor` (or it started a sub-process), the sub-process's root first; a sub-process is
    skipped only when the task's state is >= FINISHED_MASK and `state` <= FINISHED_MASK."""
    if state & TaskState.PREDICTED_MASK:
        floor = TaskState.MAYBE
    elif state & TaskState.DEFINITE_MASK:
        floor = TaskState.FUTURE
    else:
        floor = TaskState.COMPLETED
    finished = TaskState.FINISHED_MASK
    skip_finished_subprocess = state <= finished
    subprocesses = workflow.top_workflow.subprocesses
    found: list[Task] = []
    stack = [(workflow.task_tree, 0)]
    pop, push = stack.pop, stack.append
    while stack:
        task, depth = pop()
        task_state = task._state
        if task_state & state and (manual is None or task.task_spec.manual == manual):
            found.append(task)
        subprocess = subprocesses.get(task.id) if subprocesses else None
        if not (task._children or subprocess is not None):
            continue
        if task_state < floor and subprocess is None:
            continue
        if depth >= _WALK_DEPTH:
            return None
        tasks = task.workflow.tasks
        for child in reversed(task._children):
            push((tasks.get(child), depth + 1))
        if subprocess is not None and not (task_state >= finished and skip_finished_subprocess):
            push((subprocess.task_tree, depth + 1))
    return found


# values the registry passes on as they are (none of these classes is registered: checked
# when the serializer is made)
_PLAIN = frozenset({str, int, float, bool, type(None)})


class _Registry(DefaultRegistry):
    """SpiffWorkflow's registry, converting and restoring data in fewer calls.

    Its `convert` and `restore` give exactly what DefaultRegistry's give: a dict is cleaned
    of callables and modules at every level and its values converted, a list, tuple or set
    keeps its class, a registered object goes through its converter, anything else is
    passed on as it is. They only skip, for the plain values most data holds (strings,
    numbers, None), the class look-ups, the cleaning and the nested call per value that
    SpiffWorkflow's generic versions make (most of a state's saving and loading).
    """

    def convert(self, obj):
        cls = obj.__class__
        if cls in _PLAIN:
            return obj
        if self._encoder_mode:
            return self._convert_for_encoder(obj)
        if isinstance(obj, dict):  # DefaultRegistry.clean, then DictionaryConverter.convert
            converted = {}
            for key, value in obj.items():
                if value.__class__ in _PLAIN:
                    converted[key] = value
                elif not callable(value) and not isinstance(value, ModuleType):
                    converted[key] = self.convert(value)
            return converted
        typename = self.typenames.get(cls)
        if typename in self.convert_to_dict:
            return self.convert_to_dict[typename](obj)
        if isinstance(obj, (list, tuple, set)):
            return cls([item if item.__class__ in _PLAIN else self.convert(item) for item in obj])
        return obj

    def restore(self, val, **kwargs):
        cls = val.__class__
        if cls in _PLAIN:
            return val
        if cls is dict and "typename" not in val:
            restored = {}
            for key, value in val.items():
                restored[key] = (
                    value if value.__class__ in _PLAIN else self.restore(value, **kwargs)
                )
            return restored
        if cls is list:
            return [
                item if item.__class__ in _PLAIN else self.restore(item, **kwargs) for item in val
            ]
        return super().restore(val, **kwargs)


# a workflow's `id_texts` where it has none (SpiffWorkflow's sub-workflows): each id of a
# task is written as `texts.get(id) or str(id)`, the text a loaded id was read from (which
# UUID() reads back as the same id: the state keeps its meaning) or the id formatted
_NO_TEXTS: Mapping[UUID, str] = MappingProxyType({})


def _uuid(text: str, parsed: dict[str, UUID]) -> UUID:
    """The UUID of `text`: of the state's task ids (`parsed`, each parsed once: an id is
    also its parent's child, its children's parent and its key), or parsed now."""
    return parsed[text] if text in parsed else UUID(text)


def _copy_data(data: dict) -> dict:
    """What SpiffWorkflow's DeepMerge.merge({}, data) returns: a dict of data's values, its
    dicts, lists and sets copied (shallowly)."""
    copied = {}
    for key, value in data.items():
        cls = value.__class__
        if cls in _PLAIN:
            copied[key] = value
        elif cls is dict or cls is list or cls is set:
            copied[key] = value.copy()
        elif isinstance(value, (dict, list, set)):
            copied[key] = copy(value)
        else:
            copied[key] = value
    return copied


class _SpeclessWorkflowConverter(BpmnWorkflowConverter):
    def __init__(self, target_class, registry, typename=None):
        # stored under SpiffWorkflow's own name: states saved before and after read the same
        super().__init__(target_class, registry, typename or "BpmnWorkflow")

    def to_dict(self, workflow):
        dct = WorkflowConverter.to_dict(self, workflow)
        # a finished sub-process has merged its data into its parent task: drop it, or
        # each per-person check, fee and return round would stay in the state forever
        live = {k: sp for k, sp in workflow.subprocesses.items() if not sp.completed}
        dct["subprocesses"] = self.mapping_to_dict(live)
        dct["bpmn_events"] = self.registry.convert(workflow.bpmn_events)
        return dct

    def from_dict(self, dct, spec=None, subprocess_specs=None):
        workflow = self.target_class(spec, subprocess_specs, deserializing=True)
        parsed = {key: UUID(key) for key in dct["tasks"]}
        workflow.tasks = self._tasks_from_dict(dct["tasks"], workflow, parsed)
        workflow.task_tree = workflow.tasks.get(_uuid(dct["root"], parsed))
        if isinstance(workflow, _Workflow):
            workflow.id_texts = {uuid: text for text, uuid in parsed.items()}
        self.set_default_attributes(workflow, dct)
        self.subprocesses_from_dict(dct["subprocesses"], workflow)
        workflow.bpmn_events = self.registry.restore(dct.pop("bpmn_events", []))
        return workflow

    def _tasks_from_dict(self, tasks: dict, workflow, parsed: dict[str, UUID]) -> dict:
        """mapping_from_dict(tasks, UUID, workflow=workflow), each id parsed once."""
        task_converter = self.registry.task_converter
        typename = task_converter.typename
        restored = {}
        for key, value in tasks.items():
            if value.__class__ is dict and value.get("typename") == typename:
                task = task_converter.from_dict(value, workflow, parsed)
            else:
                task = self.registry.restore(value, workflow=workflow)
            restored[parsed[key]] = task
        return restored

    def mapping_to_dict(self, mapping, **kwargs):
        """BpmnConverter's, with each Task converted directly (its id string is its key)."""
        task_converter = self.registry.task_converter
        typename = task_converter.typename
        converted = {}
        for key, value in mapping.items():
            if value.__class__ is Task and key is value.id and not kwargs:
                dct = task_converter.to_dict(value)
                dct["typename"] = typename
                converted[dct["id"]] = dct
            else:
                converted[str(key)] = self.registry.convert(value, **kwargs)
        return converted


def _owner(task: Task) -> Task | None:
    """The task that started the sub-process whose first task this is; else None."""
    parent_task_id = getattr(task.workflow, "parent_task_id", None)
    if task._parent is not None or parent_task_id is None:
        return None
    return task.workflow.top_workflow.get_task_from_id(parent_task_id)


class _DeltaTaskConverter(TaskConverter):
    """Each task's data stored as its change from the data it came from.

    SpiffWorkflow stores a task's data as the change from its parent's, except for the
    first task of a sub-process, which it stores whole. A form's sub-process per person
    (learning) would then store the whole form once per person: a state that grows with
    the square of the persons. Here that first task is stored as its change from the task
    that started the sub-process (for a learning branch: nothing at all).

    Saving and loading read and write what SpiffWorkflow's TaskConverter does, with its
    steps written out here (fewer calls: a state holds a few dozen tasks).
    """

    def __init__(self, target_class, registry, typename=None):
        super().__init__(target_class, registry, typename)
        registry.task_converter = self  # the workflow converter restores tasks directly

    def to_dict(self, task: Task) -> dict:
        parent_id = task._parent
        base = task.workflow.tasks.get(parent_id) if parent_id is not None else None
        if base is None:
            base = _owner(task)
        convert = self.registry.convert
        if base is None:
            data, delta = convert(task.data), {}
        else:
            before, after = base.data, task.data
            updates = {
                key: value
                for key, value in after.items()
                if key not in before or value != before[key]
            }
            data = {}
            delta = {
                "updates": convert(updates),
                "deletions": [key for key in before if key not in after],
            }
            if parent_id is None:
                delta["from_owner"] = True
        texts = getattr(task.workflow, "id_texts", _NO_TEXTS)
        return {
            "id": texts.get(task.id) or str(task.id),
            "parent": (texts.get(parent_id) or str(parent_id)) if parent_id is not None else None,
            "children": [texts.get(child) or str(child) for child in task._children],
            "last_state_change": task.last_state_change,
            "state": task._state,
            "task_spec": task.task_spec.name,
            "triggered": task.triggered,
            "internal_data": convert(task.internal_data),
            "data": data,
            "delta": delta,
        }

    def from_dict(self, dct: dict, workflow, parsed: dict[str, UUID] | None = None) -> Task:
        parsed = {} if parsed is None else parsed  # (a sub-process's tasks: parsed here)
        restore = self.registry.restore
        task_spec = workflow.spec.task_specs.get(dct["task_spec"])
        task = self.target_class(
            workflow, task_spec, state=dct["state"], id=_uuid(dct["id"], parsed)
        )
        parent_id = dct["parent"]
        task._parent = _uuid(parent_id, parsed) if parent_id is not None else None
        task._children = [_uuid(child, parsed) for child in dct["children"]]
        task.last_state_change = dct["last_state_change"]
        task.triggered = dct["triggered"]
        task.internal_data = restore(dct["internal_data"])
        if isinstance(task_spec, CatchingEvent) and task._state & TaskState.WAITING:
            task.workflow.top_workflow.event_manager.add_task(task)
        delta = dct.get("delta")
        if delta and delta.get("from_owner"):
            # the owner was restored first (parents before children)
            data = _copy_data(_owner(task).data)
            data.update(restore(delta.get("updates", {})))
            for key in delta.get("deletions", []):
                data.pop(key, None)
        else:
            parent = (
                workflow.tasks.get(task._parent) if delta and task._parent is not None else None
            )
            if parent is not None:
                data = _copy_data(parent.data)
                data.update(restore(delta.get("updates", {})))
                for key in delta.get("deletions", {}):
                    if key in data:
                        del data[key]
            else:
                data = restore(dct["data"])
        task.data = data
        return task


def _make_serializer() -> BpmnWorkflowSerializer:
    config = timer_serializer_config(SPIFF_CONFIG)
    config[BpmnWorkflow] = _SpeclessWorkflowConverter
    config[_Workflow] = _SpeclessWorkflowConverter  # registered last: states load as _Workflow
    config[Task] = _DeltaTaskConverter
    registry = BpmnWorkflowSerializer.configure(config, _Registry())
    registry.register(
        date,
        lambda d: {"value": d.isoformat()},
        lambda dct: date.fromisoformat(dct["value"]),
        "date",
    )
    # _Registry passes these on unconverted; a converter registered for one would be skipped
    assert not {dict, list, tuple, set, *_PLAIN} & set(registry.typenames)
    assert isinstance(registry.task_converter, _DeltaTaskConverter)
    return BpmnWorkflowSerializer(registry)


_SERIALIZER = _make_serializer()


_SYSTEM_STEPS = {"BusinessRuleTask", "ScriptTask", "ServiceTask"}


def _aware(moment: datetime | None) -> datetime | None:
    """A naive timestamp is UTC (how the service stores time)."""
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@dataclass(frozen=True)
class ReadyTask:
    """A user task waiting for a person."""

    id: str
    name: str
    data: dict


def _limit_behind(exc: BaseException) -> ScriptLimitExceeded | None:
    """The script limit that SpiffWorkflow's error was raised while handling, if any."""
    for _ in range(4):
        exc = exc.__cause__ or exc.__context__
        if exc is None or isinstance(exc, ScriptLimitExceeded):
            return exc
    return None


def _wrap(defn: Definition, exc: SpiffWorkflowException) -> EngineError:
    task = getattr(exc, "task", None)
    spec = getattr(exc, "task_spec", None) or getattr(task, "task_spec", None)
    element = getattr(spec, "name", None) or "?"
    line = getattr(exc, "line_number", None)
    at = _element_line(defn.bpmn, element)
    where = f"processes/{defn.key}.bpmn" + (f" 第{at}行" if at else "") + f" [{element}]"
    flow = _failed_flow(defn.bpmn, element, str(exc))
    if flow is not None:  # a gateway's condition: the flow that carries it, where to look
        where += f" 顺序流 [{flow[0]}]" + (f" 第{flow[1]}行" if flow[1] else "") + " 的条件"
    where += f" 脚本第{line}行" if line else ""
    limit = _limit_behind(exc)
    if limit is not None:  # stopped by its budget: say so, plainly
        return EngineError(f"流程执行出错：{where}：{'脚本' if line else '表达式'}{limit}")
    detail = str(exc).split("\n")[0]
    # the kind of failure in Chinese first; the engine's words after it, for the designer
    return EngineError(
        f"流程执行出错：{where}：{runtime_error(getattr(exc, 'error_type', None), detail)}"
    )


def _failed_flow(bpmn: str, element: str, message: str) -> tuple[str, int | None] | None:
    """The sequence flow out of `element` whose condition is the expression SpiffWorkflow
    says failed (its id and line; read only when a step has failed), or None."""
    if "Error evaluating expression '" not in message:
        return None
    try:
        root = etree.fromstring(bpmn.encode())
    except etree.XMLSyntaxError:
        return None
    for flow in root.iter("{*}sequenceFlow"):
        if flow.get("sourceRef") != element:
            continue
        condition = next(flow.iter("{*}conditionExpression"), None)
        if condition is None:
            continue
        if f"Error evaluating expression '{(condition.text or '').strip()}'" in message:
            return flow.get("id") or "?", flow.sourceline
    return None


def _element_line(bpmn: str, element: str) -> int | None:
    """The line of an element in its BPMN text (read only when a step has failed)."""
    mark = f'id="{element}"'
    return next((i for i, row in enumerate(bpmn.splitlines(), 1) if mark in row), None)


class Instance:
    """One workflow in memory, bound to its definition version."""

    def __init__(self, defn: Definition, workflow: BpmnWorkflow, now: datetime | None = None):
        self.defn = defn
        self.workflow = workflow
        self.system_steps: list[dict] = []  # automatic steps the last engine run performed
        self.now = _aware(now)  # the service's clock (None: the real time)
        # scripts, rules, helpers and duration timers all read this one clock
        workflow.script_engine = defn.scripts.engine(self.now)
        self.facts: dict[str, Any] = {}  # this request's facts (see REQUEST_FACT_KEYS)
        self._end_reached: tuple[str | None] | None = None  # end_event, once finished
        # what walks of the task tree found, kept until the engine moves: a move asks for
        # the ready tasks, the status and the data several times over an unchanged tree
        self._walks: dict[str, Any] = {}

    def _walked(self, key: str, walk: Callable[[], Any]) -> Any:
        if key not in self._walks:
            self._walks[key] = walk()
        return self._walks[key]

    def changed(self) -> None:
        """Forget what the task tree held: for code that changes `workflow` directly."""
        self._walks.clear()

    def _take_facts(self, data: dict[str, Any]) -> dict[str, Any]:
        """Data without the request's facts, which are kept aside for this engine run."""
        self.facts.update({k: data[k] for k in REQUEST_FACT_KEYS if k in data})
        return {k: v for k, v in data.items() if k not in REQUEST_FACT_KEYS}

    @classmethod
    def start(cls, defn: Definition, data: dict[str, Any], now: datetime | None = None) -> Instance:
        """Create an instance, put the start data in, run to the first wait state."""
        wf = _Workflow(defn.spec, defn.subprocess_specs)
        start = wf.get_tasks(state=TaskState.READY)[0]
        inst = cls(defn, wf, now)
        start.data.update(inst._take_facts(data))
        inst._steps()
        return inst

    @classmethod
    def load(cls, defn: Definition, state: str, now: datetime | None = None) -> Instance:
        """Rebuild an instance from state saved by `dumps`."""
        dct = _state_dict(state)
        wf = _SERIALIZER.from_dict(dct, spec=defn.spec, subprocess_specs=defn.subprocess_specs)
        return cls(defn, wf, now)  # the script engine is not stored: attached on the clock

    def dumps(self) -> str:
        """The engine state as JSON, without the spec."""
        return _state_text(_SERIALIZER.to_dict(self.workflow))

    def _steps(self) -> None:
        self.system_steps = []
        facts = REQUEST_FACTS.set(self.facts)
        try:
            self.workflow.do_engine_steps(did_complete_task=self._record)
        except SpiffWorkflowException as exc:
            raise _wrap(self.defn, exc) from exc
        finally:
            REQUEST_FACTS.reset(facts)
            self.changed()

    def _record(self, task) -> None:
        spec = task.task_spec
        if type(spec).__name__ in _SYSTEM_STEPS:
            self.system_steps.append({"id": spec.name, "name": spec.bpmn_name or spec.name})

    def _ready(self) -> list[Task]:
        return self._walked(
            "ready", lambda: self.workflow.get_tasks(state=TaskState.READY, manual=True)
        )

    def ready_tasks(self) -> list[ReadyTask]:
        """User tasks that wait for a person, in diagram order."""
        return [ReadyTask(str(t.id), t.task_spec.name, t.data) for t in self._ready()]

    def complete(self, engine_task_id: str, data: dict[str, Any]) -> None:
        """Complete one ready user task with form data and run to the next wait state."""
        try:
            task = self.workflow.get_task_from_id(UUID(engine_task_id))
        except (TaskNotFoundException, ValueError):
            task = None
        if task is None or task.state != TaskState.READY or not task.task_spec.manual:
            raise TaskNotReady(engine_task_id)
        self.changed()
        task.set_data(**self._take_facts(data))
        token = REQUEST_FACTS.set(self.facts)
        try:
            task.run()  # its post-script may read the facts too
        except SpiffWorkflowException as exc:
            raise _wrap(self.defn, exc) from exc
        finally:
            REQUEST_FACTS.reset(token)
        self._steps()
        # a tree of fewer tasks cannot be that deep: most moves skip the walk up
        if self._task_count() >= _WALK_DEPTH and self.depth() >= _WALK_DEPTH:
            raise EngineError(
                f"流程“{self.defn.name}”的环节记录已达流程引擎的上限（任务树深度"
                f"{_WALK_DEPTH}），无法继续流转：该表单往复退回次数过多，请终止后重新申请"
            )

    def _task_count(self) -> int:
        """The tasks of the workflow and its sub-processes."""
        workflow = self.workflow
        return len(workflow.tasks) + sum(len(w.tasks) for w in workflow.subprocesses.values())

    def depth(self) -> int:
        """How deep in the task tree (as SpiffWorkflow's iterator counts, through
        sub-processes) the deepest task ready or waiting is; 0 when none is."""
        tasks = [*self._ready(), *self._waiting_tasks()]
        return max((_tree_depth(t) for t in tasks), default=0)

    def passed_steps(self) -> set[str]:
        """The diagram's elements this instance has passed through: the ids of the top
        process's completed tasks, automatic steps, gateways and events among them (a page
        draws the path taken, not only the user tasks its record names)."""
        completed = TaskState.COMPLETED
        return {
            task.task_spec.bpmn_id
            for task in self.workflow.tasks.values()
            if task._state & completed and task.task_spec.bpmn_id
        }

    @property
    def finished(self) -> bool:
        return self.workflow.completed

    @property
    def end_event(self) -> str | None:
        """The id of the end event reached, when finished."""
        if self._end_reached is not None:
            return self._end_reached[0]
        end = self._walked("end", self._end_event)
        # a finished workflow no longer changes: look once (a step recorded per person of
        # a form of 200 would otherwise walk the whole tree 200 times)
        if self.finished:
            self._end_reached = (end,)
        return end

    def _end_event(self) -> str | None:
        # the walk yields only tasks of the workflow and its sub-processes: when none of
        # those is a completed end event (an instance still running, mostly), skip it
        if not self._may_have_ended():
            return None
        for task in self.workflow.get_tasks(state=TaskState.COMPLETED):
            if task.task_spec.name in self.defn.end_status:
                return task.task_spec.name
        return None

    def _may_have_ended(self) -> bool:
        """Whether any task of the workflow or its sub-processes is a completed end event."""
        ends, completed = self.defn.end_status, TaskState.COMPLETED
        for workflow in (self.workflow, *self.workflow.subprocesses.values()):
            for task in workflow.tasks.values():
                if task._state & completed and task.task_spec.name in ends:
                    return True
        return False

    @property
    def status(self) -> str:
        """The status label the unit sees: from the ready user task or the end event."""
        return self._walked("status", self._status)

    def _status(self) -> str:
        if self.finished:
            return self.defn.end_status.get(self.end_event or "", "已结束")
        labels = [
            self.defn.user_tasks[t.name].status
            for t in self.ready_tasks()
            if t.name in self.defn.user_tasks
        ]
        if labels:
            return labels[0]
        # waiting (e.g. for learning results): the label of the activity that waits
        for task in self.workflow.get_tasks(state=TaskState.STARTED | TaskState.WAITING):
            label = self.defn.wait_status.get(task.task_spec.name)
            if label:
                return label
        return "处理中"

    @property
    def data(self) -> dict:
        """The instance's current business data."""
        return self._walked("data", self._data)

    def _data(self) -> dict:
        ready = self._ready()
        if ready:
            return ready[0].data
        if self.workflow.completed:
            return self.workflow.data or (
                self.workflow.last_task.data if self.workflow.last_task else {}
            )
        for task in self.workflow.get_tasks(state=TaskState.STARTED):
            if task.workflow is self.workflow:
                return task.data
        last = self.workflow.last_task
        return last.data if last is not None else {}

    def _waiting_tasks(self):
        for task in list(self.workflow.event_manager.tasks.values()):
            if task.state == TaskState.WAITING:
                yield task

    def _correlation(self, task) -> str | None:
        """The task's correlation value: its `correlation` property, evaluated on its data."""
        expression = self.defn.correlations.get(task.task_spec.name)
        if not expression:
            return None
        try:
            value = self.workflow.script_engine.evaluate(task, expression)
        except SpiffWorkflowException as exc:
            raise _wrap(self.defn, exc) from exc
        return None if value is None else str(value)

    def waiting_events(self) -> list[dict]:
        """Timers and messages the instance waits for: kind, name, due (ISO), correlation."""
        events = []
        for task in self._waiting_tasks():
            definition = task.task_spec.event_definition
            correlation = self._correlation(task)
            for ev in getattr(definition, "event_definitions", None) or [definition]:
                if isinstance(ev, TimerEventDefinition):
                    due = task.internal_data.get("event_value")
                    kind = "timer"
                elif isinstance(ev, MessageEventDefinition):
                    due, kind = None, "message"
                else:
                    continue
                events.append(
                    {
                        "kind": kind,
                        "name": ev.name,
                        "due": due if isinstance(due, str) else None,
                        "correlation": correlation,
                        "data": task.data,  # what the waiting branch knows (not stored)
                    }
                )
        return events

    def deliver_message(self, name: str, correlation: str, payload: dict) -> bool:
        """Deliver a message to the one waiting task it is meant for; False if none waits."""
        return bool(self.deliver_messages(name, {correlation: payload}))

    def deliver_messages(self, name: str, payloads: dict[str, dict]) -> list[str]:
        """Deliver one message per correlation value, then run on once; those delivered."""
        delivered = []
        for task in list(self._waiting_tasks()):
            definition = task.task_spec.event_definition
            catches = [
                ev
                for ev in getattr(definition, "event_definitions", None) or [definition]
                if isinstance(ev, MessageEventDefinition) and ev.name == name
            ]
            correlation = self._correlation(task) if catches else None
            if correlation in payloads and correlation not in delivered:
                event = BpmnEvent(
                    catches[0], payload=dict(payloads[correlation]), target=task.workflow
                )
                try:
                    self.workflow.send_event(event)
                except SpiffWorkflowException as exc:
                    raise _wrap(self.defn, exc) from exc
                delivered.append(correlation)
        if delivered:
            self._steps()
        return delivered

    def _timers_beside(self):
        """(task, correlation value) of each waiting task with a timer among its events."""
        for task in self._waiting_tasks():
            definition = task.task_spec.event_definition
            events = getattr(definition, "event_definitions", None) or [definition]
            if any(isinstance(ev, TimerEventDefinition) for ev in events):
                yield task, self._correlation(task)

    def fire_timers_of(self, correlations: set[str]) -> list[str]:
        """Fire now, whatever their due time, the timers that wait beside the given
        correlation values, and run on; the correlation values whose timer fired. (A
        learning that ended before its deadline on a diagram version that has no other way
        to end it.)"""
        fired = []
        for task, correlation in self._timers_beside():
            if correlation in correlations and correlation not in fired:
                task.internal_data["event_fired"] = True
                fired.append(correlation)
        if fired:
            self.workflow.refresh_timers()
            self._steps()
        return fired

    def move_timers_of(self, dues: dict[str, str]) -> list[str]:
        """Give the timers that wait beside the given correlation values, not fired yet, the
        due time given for each (an ISO timestamp); the correlation values whose timer moved.
        (A learning deadline that follows the person's renewed membership.)"""
        moved = []
        for task, correlation in self._timers_beside():
            if correlation in dues and not task.internal_data.get("event_fired"):
                task.internal_data["event_value"] = dues[correlation]
                moved.append(correlation)
        return moved

    def merge_ended_instances(self) -> int:
        """Merge every ended instance of a multi-instance task that has not heard of it,
        then run on; how many were merged.

        A state saved by a process in which the diagram's merges were not connected (before
        `catalogue._connect_loop_merges`: the person passed, the learning branch ended, but
        the form's learning task kept waiting) is stuck so: nothing waits any more, so no
        event would move it. Merging what ended lets the task, and the form, finish."""
        merged = 0
        for task in self.workflow.get_tasks(state=TaskState.STARTED):
            spec = task.task_spec
            if not isinstance(spec, MultiInstanceTask):
                continue
            done = task.internal_data.setdefault("merged", [])
            for child in list(task.children):
                if (
                    child.task_spec.name == spec.task_spec
                    and child.state == TaskState.COMPLETED
                    and str(child.id) not in done
                    and task.state == TaskState.STARTED
                ):
                    self.changed()
                    try:
                        spec.merge_child(self.workflow, child)
                    except SpiffWorkflowException as exc:
                        raise _wrap(self.defn, exc) from exc
                    merged += 1
        if merged:
            self._steps()
        return merged

    def fire_timers(self, now: datetime) -> list[dict]:
        """Fire every timer due at `now` (the service's clock) and run on; what fired."""
        fired = []
        for task in self._waiting_tasks():
            definition = task.task_spec.event_definition
            for ev in getattr(definition, "event_definitions", None) or [definition]:
                if not isinstance(ev, TimerEventDefinition):
                    continue
                due = task.internal_data.get("event_value")
                if not isinstance(due, str):
                    continue
                due_at = datetime.fromisoformat(due)
                if due_at.tzinfo is None:
                    due_at = due_at.replace(tzinfo=UTC)
                if due_at <= _aware(now):
                    task.internal_data["event_fired"] = True
                    fired.append({"name": ev.name, "correlation": self._correlation(task)})
        if fired:
            self.workflow.refresh_timers()
            self._steps()
        return fired
