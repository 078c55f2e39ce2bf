"""The engine's own walk of the task tree (runtime._walk) finds what SpiffWorkflow's
task iterator finds, in its order.

Every process is walked through every branch (`memberflow check --walk`); at every query
of the tree by state the walk answers, the same tree is asked of SpiffWorkflow's iterator
for that state and for each of a set of other states and `manual` values, so the trees
compared hold sub-processes (open and finished), waiting timers, loops and ends.
"""

from __future__ import annotations

import pytest
from SpiffWorkflow.bpmn.workflow import BpmnWorkflow
from SpiffWorkflow.task import TaskState
from test_check_walk import KEYS, walk

from service.engine import runtime

STATES = (
    TaskState.READY,
    TaskState.WAITING,
    TaskState.COMPLETED,
    TaskState.STARTED | TaskState.WAITING,
    TaskState.FUTURE,
    TaskState.MAYBE | TaskState.LIKELY,
    TaskState.NOT_FINISHED_MASK,
    TaskState.FINISHED_MASK,
    TaskState.CANCELLED,
    TaskState.ANY_MASK,
)


def _ids(tasks) -> list:
    return [task.id for task in tasks]


@pytest.fixture
def compared(monkeypatch):
    """Each query of the walk, beside SpiffWorkflow's answers for the same tree."""
    seen = {"queries": 0, "subprocesses": 0, "differences": [], "owners": []}
    own = runtime._Workflow.get_tasks

    def get_tasks(self, first_task=None, **kwargs):
        found = own(self, first_task, **kwargs)
        if first_task is None and kwargs.keys() <= {"state", "manual"}:
            seen["queries"] += 1
            seen["subprocesses"] += bool(self.subprocesses)
            for task_id in self.subprocesses:  # a task that started a sub-process
                owner = self.get_task_from_id(task_id)
                if owner is not None and owner.workflow is self and len(seen["owners"]) < 5:
                    seen["owners"].append(owner)
            for state in {kwargs.get("state", TaskState.ANY_MASK), *STATES}:
                for manual in (None, True, False):
                    walked = runtime._walk(self, state, manual)
                    spiff = BpmnWorkflow.get_tasks(self, state=state, manual=manual)
                    if _ids(walked) != _ids(spiff):
                        seen["differences"].append((state, manual, len(walked), len(spiff)))
            if _ids(found) != _ids(BpmnWorkflow.get_tasks(self, **kwargs)):
                seen["differences"].append(("as asked", kwargs))
        return found

    monkeypatch.setattr(runtime._Workflow, "get_tasks", get_tasks)
    return seen


@pytest.mark.parametrize("key", KEYS)
def test_the_walk_finds_what_spiffworkflows_iterator_finds_in_every_tree(key, compared):
    from test_business_processes import definitions

    walk(definitions(), key)
    assert compared["queries"] > 0
    assert not compared["differences"], compared["differences"][:5]


def test_the_trees_compared_hold_sub_processes(compared):
    from test_business_processes import definitions

    for key in ("member_join", "continuing_education"):
        walk(definitions(), key)
    assert compared["subprocesses"] > 0
    # a task that started a sub-process and has children of its own (not met in these
    # diagrams' trees, where the children come when the sub-process ends): the sub-process
    # is visited first, then the children
    assert compared["owners"]
    for owner in compared["owners"]:
        workflow = owner.workflow
        owner._add_child(owner.task_spec, TaskState.MAYBE)
        owner._add_child(owner.task_spec, TaskState.LIKELY)
        for state in STATES:
            walked = runtime._walk(workflow, state, None)
            assert _ids(walked) == _ids(BpmnWorkflow.get_tasks(workflow, state=state)), state


def test_a_tree_deeper_than_the_iterators_limit_is_left_to_the_iterator(monkeypatch):
    """Past the depth where SpiffWorkflow's iterator may stop, the walk does not answer."""
    from test_business_processes import definitions

    defn = definitions()["member_join"]
    wf = runtime._Workflow(defn.spec, defn.subprocess_specs)
    everything = _ids(BpmnWorkflow.get_tasks(wf, state=TaskState.ANY_MASK))
    assert _ids(runtime._walk(wf, TaskState.ANY_MASK, None)) == everything
    monkeypatch.setattr(runtime, "_WALK_DEPTH", 1)
    assert runtime._walk(wf, TaskState.ANY_MASK, None) is None
    assert _ids(wf.get_tasks(state=TaskState.ANY_MASK)) == everything
