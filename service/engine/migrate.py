"""Moving a running instance's engine state onto another version of its process.

The state is stored without the spec: each task names its spec by BPMN id. Migrating
rebuilds the workflow around version B's spec, so every task that ran or waits keeps its
id (the work queue's rows stay valid), its data and its timers (a payment deadline keeps
its due time). Only what the engine had *predicted* beyond the waiting tasks is dropped
and predicted again from B, which may route differently from there.

SpiffWorkflow's own `migrate_workflow` (bpmn/util/diff.py) is not used: it resets every
ready and waiting task, which restarts their timers and replaces a ready task's data with
its parent's, and it wants the workflow loaded on A first. Its alignment is by BPMN id, as
here; unlike it, an id missing from B is not guessed from the structure around it.

An instance can move when every task that ran or waits has a spec of the same id in B,
of the same kind (a user task stays a user task, a timer a timer), and every called
process it is inside of exists in B. What the forms of B ask of the data is the
service's check, not the engine's.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.task import TaskState

from service.engine.catalogue import Definition
from service.engine.runtime import Instance

_PREDICTED = TaskState.PREDICTED_MASK | TaskState.FUTURE  # not happened yet: may be redrawn
_NOT_RUN = TaskState.READY | TaskState.WAITING  # every child of these is a prediction
_OPEN = TaskState.READY | TaskState.WAITING | TaskState.STARTED


@dataclass(frozen=True)
class Obstacle:
    """Why an instance cannot move: a task of its state that B lacks or changed."""

    task: str  # the BPMN id
    title: str  # the element's name in the version it runs on (or its id)
    waiting: bool  # the task waits or runs now (else it ran earlier)
    problem: str  # "missing" | "kind" | "process" | "engine"
    detail: str = ""


@dataclass
class Migration:
    """The outcome: the instance rebuilt on B, or the obstacles; the user tasks it waits at."""

    instance: Instance | None
    obstacles: list[Obstacle] = field(default_factory=list)
    waiting: list[str] = field(default_factory=list)  # ready user tasks (BPMN ids)
    state: str = ""  # the instance's state on B, to store

    @property
    def movable(self) -> bool:
        return self.instance is not None


def _kind(spec) -> tuple[str, str | None]:
    event = getattr(spec, "event_definition", None)
    return type(spec).__name__, type(event).__name__ if event is not None else None


def _title(spec, name: str) -> str:
    return (getattr(spec, "bpmn_name", None) or name) if spec is not None else name


def _drop(tasks: dict, task_id: str) -> None:
    """Remove a task and everything below it from a serialized task tree."""
    found = tasks.pop(task_id, None)
    for child in (found or {}).get("children", []):
        _drop(tasks, child)


def _prune(wf: dict, source_spec) -> list[tuple[str, dict[str, int], list[str]]]:
    """Drop the predictions below the tasks that wait or run; for each such task, what to
    predict again: the state its predictions had, by spec, and the order of its children."""
    tasks = wf["tasks"]
    again = []
    for task_id, task in list(tasks.items()):
        if task_id not in tasks or not task["state"] & _OPEN:
            continue
        if task["state"] & _NOT_RUN:
            redraw = set(task["children"])
        else:  # running (a multi-instance, a called process): only its predicted outputs
            spec = source_spec.task_specs.get(task["task_spec"]) if source_spec else None
            outputs = {o.name for o in getattr(spec, "outputs", [])}
            redraw = {c for c in task["children"] if tasks[c]["task_spec"] in outputs}
        redraw = {c for c in redraw if tasks[c]["state"] & _PREDICTED}
        order = [tasks[c]["task_spec"] for c in task["children"]]
        states = {tasks[c]["task_spec"]: tasks[c]["state"] for c in task["children"] if c in redraw}
        for child in redraw:
            _drop(tasks, child)
        task["children"] = [c for c in task["children"] if c not in redraw]
        again.append((task_id, states, order))
    if wf.get("last_task") and wf["last_task"] not in tasks:
        wf["last_task"] = None
    return again


def _check(wf: dict, source_spec, target_spec, found: list[Obstacle]) -> None:
    """Each remaining task must have a spec of the same id, and of the same kind if open."""
    for task in wf["tasks"].values():
        name = task["task_spec"]
        old = source_spec.task_specs.get(name) if source_spec else None
        new = target_spec.task_specs.get(name)
        waiting = bool(task["state"] & (_OPEN | _PREDICTED))
        if new is None:
            found.append(Obstacle(name, _title(old, name), waiting, "missing"))
        elif task["state"] & _OPEN and old is not None and _kind(old) != _kind(new):
            detail = f"{_kind(old)[0]} → {_kind(new)[0]}"
            found.append(Obstacle(name, _title(old, name), True, "kind", detail))


def _predict_again(inst: Instance, again: list[tuple[str, dict[str, int], list[str]]]) -> None:
    """Predict, from B, what follows each task that waits or runs, in the states and order
    the predictions had (a boundary timer's branch stays a MAYBE, not a FUTURE)."""
    workflow = inst.workflow
    for task_id, states, order in again:
        task = workflow.get_task_from_id(UUID(task_id))
        default = next(
            iter(states.values()),
            TaskState.MAYBE if task.state & TaskState.WAITING else TaskState.FUTURE,
        )
        present = {child.task_spec for child in task.children}
        for output in task.task_spec.outputs:
            if output not in present:
                child = task._add_child(output, states.get(output.name, default))
                output._predict(child, None, 1, TaskState.FUTURE | TaskState.PREDICTED_MASK)
        rank = {name: i for i, name in reversed(list(enumerate(order)))}
        task._children.sort(
            key=lambda c: rank.get(workflow.get_task_from_id(c).task_spec.name, len(rank))
        )
    inst.changed()


def _rename(wf: dict, renames: dict[str, str]) -> None:
    """Put the tasks of renamed specs (a plan's task mapping) on their new ids."""
    for task in wf["tasks"].values():
        if task["task_spec"] in renames:
            task["task_spec"] = renames[task["task_spec"]]


def migrate_state(
    source: Definition,
    target: Definition,
    state: str,
    now: datetime | None = None,
    renames: dict[str, str] | None = None,
) -> Migration:
    """Rebuild a state saved on `source` around `target`'s spec, or say why it cannot move.

    `renames` maps a user task of `source` to the one of `target` that takes its place (a
    task renamed, as a Camunda migration plan's instruction maps one activity to another):
    its tasks keep their ids, data and state on the new spec. The caller checks that the
    two are user tasks of the same lane."""
    renames = renames or {}
    wf = json.loads(state)
    ready = {
        task_id: t["task_spec"]
        for task_id, t in wf["tasks"].items()
        if t["state"] & TaskState.READY and t["task_spec"] in source.user_tasks
    }
    waiting = list(ready.values())
    ready = {task_id: renames.get(name, name) for task_id, name in ready.items()}
    found: list[Obstacle] = []
    if renames:
        _rename(wf, renames)
        for sub in wf.get("subprocesses", {}).values():
            _rename(sub, renames)
    again = _prune(wf, source.spec)
    _check(wf, source.spec, target.spec, found)
    for sub in wf.get("subprocesses", {}).values():
        name = sub.get("spec", "")
        old, new = source.subprocess_specs.get(name), target.subprocess_specs.get(name)
        if new is None:
            found.append(Obstacle(name, _title(old, name), True, "process"))
            continue
        again += _prune(sub, old)
        _check(sub, old, new, found)
    if found:
        return Migration(None, found, waiting)
    try:
        inst = Instance.load(target, json.dumps(wf), now)
        _predict_again(inst, again)
        state = inst.dumps()
        inst.status  # noqa: B018 - fails now, not later, on a spec B cannot run
        inst.waiting_events()
    except (SpiffWorkflowException, KeyError, AttributeError, TypeError, ValueError) as exc:
        detail = str(exc).split("\n")[0][:200]
        return Migration(None, [Obstacle("", "", True, "engine", detail)], waiting)
    # nothing ran: the same user tasks wait, with the same ids (the queue's rows stay)
    if {t.id: t.name for t in inst.ready_tasks()} != ready:
        return Migration(None, [Obstacle("", "", True, "engine", "待办任务不一致")], waiting)
    return Migration(inst, [], waiting, state)
