"""DMN decisions evaluated outside a workflow: who is eligible, with reasons, before a start.

The same table a business rule task calls inside the process is evaluated here with the
same context shape, so a list of eligible persons and the check at start agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from lxml import etree
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.exceptions import SpiffWorkflowException
from SpiffWorkflow.spiff.parser.process import SpiffBpmnParser

from service.engine.helpers import policy_helpers
from service.engine.scripting import Scripts, ServiceScriptEngine


class DecisionError(Exception):
    """A decision is unknown or failed on the given context (names the decision)."""


class Decisions:
    """The DMN decisions of a set of files, with the scripts of their policy.

    `now` is the moment the cells' `today()` sees: the caller's clock, or the one the
    decisions were loaded with, or else the real time.
    """

    def __init__(self, engines: Mapping[str, Any], scripts: Scripts, now: datetime | None = None):
        self._engines = dict(engines)
        self._scripts = scripts
        self._now = now
        self._last: tuple[datetime | None, ServiceScriptEngine] | None = None

    def _script_engine(self, now: datetime | None) -> ServiceScriptEngine:
        """The script engine on `now`; kept for the next call, which is mostly the same moment."""
        last = self._last
        if last is not None and last[0] == now:
            return last[1]
        engine = self._scripts.engine(now)
        self._last = (now, engine)
        return engine

    def __contains__(self, decision_id: str) -> bool:
        return decision_id in self._engines

    def evaluate(
        self, decision_id: str, context: Mapping[str, Any], now: datetime | None = None
    ) -> dict[str, Any]:
        """The outputs of one decision for `context` at `now`; COLLECT outputs are lists."""
        engine = self._engines.get(decision_id)
        if engine is None:
            raise DecisionError(f"没有规则表 {decision_id}")
        data = dict(context)
        task = SimpleNamespace(
            data=data,
            task_spec=SimpleNamespace(name=decision_id, bpmn_id=decision_id, bpmn_name=decision_id),
            workflow=SimpleNamespace(
                script_engine=self._script_engine(now or self._now),
                spec=SimpleNamespace(file=decision_id),
                top_workflow=SimpleNamespace(spec=SimpleNamespace(file=decision_id)),
            ),
        )
        try:
            result = engine.result(task)
        except (SpiffWorkflowException, Exception) as exc:  # a cell failed on this context
            raise DecisionError(f"规则表 {decision_id} 计算出错：{exc}") from exc
        table = engine.decision_table
        if table.hit_policy == "COLLECT":
            for output in table.outputs:
                result.setdefault(output.name, [])
        return result


def unique_overlap(task) -> list | None:
    """For a business rule task that ran a UNIQUE table: its rules that match the task's
    data, when more than one does. SpiffWorkflow takes the first match of a
    UNIQUE table and says nothing of the others (DMNEngine.decide), so a designer's
    overlapping rules are found by checking every rule again here. None otherwise (a
    COLLECT table, one match or none, or a rule that fails on the data: reported where it
    ran)."""
    engine = getattr(task.task_spec, "dmnEngine", None)
    table = getattr(engine, "decision_table", None)
    if table is None or table.hit_policy != "UNIQUE":
        return None
    check = engine._DMNEngine__check_rule  # the engine's own test of one rule (private)
    try:
        matched = [rule for rule in table.rules if check(rule, task)]
    except Exception:  # noqa: BLE001 - a cell failing on the data is the run's to report
        return None
    return matched if len(matched) > 1 else None


def decisions_from_parser(
    parser: SpiffBpmnParser, scripts: Scripts, now: datetime | None = None
) -> Decisions:
    """Every decision a parser holds (already validated by the catalogue)."""
    engines = {}
    for decision_id in parser.dmn_parsers:
        try:
            engines[decision_id] = parser.get_engine(decision_id, None)
        except ValidationException as exc:  # pragma: no cover - the catalogue reports it
            raise DecisionError(str(exc)) from exc
    return Decisions(engines, scripts, now)


def load_decisions(rules_dir: Path | str, now: datetime | None = None) -> Decisions:
    """Every decision in a rules folder, with its policy parameters (for tools and tests).

    `now`: the moment their `today()` sees when a call names none (None: the real time).
    """
    rules_dir = Path(rules_dir)
    parser = SpiffBpmnParser()
    for path in sorted(rules_dir.glob("*.dmn")):
        parser.add_dmn_xml(etree.parse(str(path)).getroot(), filename=str(path))
    policy_file = rules_dir / "policy.json"
    policy = {}
    if policy_file.exists():
        policy = {
            k: v["value"] for k, v in json.loads(policy_file.read_text(encoding="utf-8")).items()
        }
    return decisions_from_parser(parser, Scripts(policy_helpers(policy)), now)
