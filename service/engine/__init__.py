"""The only package that imports SpiffWorkflow: parse, validate, run and store workflows."""

from service.engine.catalogue import (
    Definition,
    DefinitionError,
    Problem,
    UserTaskInfo,
    build_definition,
    flow_order,
    load_definitions,
)
from service.engine.migrate import Migration, Obstacle, migrate_state
from service.engine.runtime import RETURN_DEPTH, EngineError, Instance, ReadyTask, TaskNotReady
from service.engine.scripting import ScriptRejected

__all__ = [
    "Definition",
    "DefinitionError",
    "EngineError",
    "Instance",
    "Migration",
    "Obstacle",
    "Problem",
    "RETURN_DEPTH",
    "ReadyTask",
    "ScriptRejected",
    "TaskNotReady",
    "UserTaskInfo",
    "build_definition",
    "flow_order",
    "load_definitions",
    "migrate_state",
]
