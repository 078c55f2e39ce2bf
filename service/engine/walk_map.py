"""What `memberflow check --walk` reads from a definition's files (engine/walk.py): element
lines and names, sequence flows, gateways, the names expressions read, and the columns of
the eligibility decision table.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from lxml import etree

from service.engine.catalogue import BPMN_NS, DMN_NS, Definition

GATEWAYS = ("exclusiveGateway", "inclusiveGateway", "eventBasedGateway")
_CODE_TAGS = ("conditionExpression", "script", "preScript", "postScript", "timeDate")


@dataclass
class ProcessMap:
    """What the walk needs from the BPMN and DMN files of a definition."""

    file: str
    lines: dict[str, int]
    names: dict[str, str]
    flows: dict[tuple[str, str], list[str]]  # (source, target) -> flow ids
    gateways: dict[str, list[str]]  # gateway id -> its outgoing flow ids (two or more)
    read: set[str]  # names read by conditions, scripts and decision table inputs
    columns: list[tuple[str, list[str]]]  # eligibility table: (input expression, entries)
    reasons: set[str]  # data keys holding the eligibility table's outputs
    successors: dict[str, list[str]]
    kinds: dict[str, str]
    children: dict[str, list[str]]  # sub-process -> its start events
    decision_of: dict[str, str]  # business rule task -> decision id
    eligibility: str | None = None  # the table that says who may start
    # decision id -> (its DMN file, the line of its decision element), to name a table
    decision_places: dict[str, tuple[str, int]] = field(default_factory=dict)
    # (decision id, rule id) -> the line of the rule
    rule_lines: dict[tuple[str, str], int] = field(default_factory=dict)


def _local(el) -> str | None:
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def read_names(code: str) -> set[str]:
    """Names an expression or script reads, with its string constants: a field may be read
    by its name as a string too (`changes.get("member_level")`)."""
    for mode in ("eval", "exec"):
        try:
            tree = ast.parse(code, mode=mode)
        except SyntaxError:
            continue
        return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} | {
            n.value
            for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str)
        }
    return set()


def read_map(defn: Definition) -> ProcessMap:
    """Read the definition's BPMN and DMN files for the walk."""
    root = etree.fromstring(defn.bpmn.encode("utf-8"))
    m = ProcessMap(f"processes/{defn.key}.bpmn", {}, {}, {}, {}, set(), [], set(), {}, {}, {}, {})
    for el in root.iter():
        tag, element_id = _local(el), el.get("id")
        if element_id:
            m.lines[element_id] = el.sourceline
            m.names[element_id] = el.get("name") or element_id
            m.kinds[element_id] = tag
        if tag == "sequenceFlow":
            source, target = el.get("sourceRef"), el.get("targetRef")
            m.flows.setdefault((source, target), []).append(element_id)
            m.successors.setdefault(source, []).append(target)
        elif tag == "startEvent" and _local(el.getparent()) == "subProcess":
            m.children.setdefault(el.getparent().get("id"), []).append(element_id)
        elif tag in _CODE_TAGS and (el.text or "").strip():
            m.read |= read_names(el.text)
        elif tag == "calledDecisionId":
            owner = el.getparent().getparent()
            m.decision_of[owner.get("id")] = (el.text or "").strip()
    for el in root.iter(
        f"{{{BPMN_NS}}}{GATEWAYS[0]}", *(f"{{{BPMN_NS}}}{g}" for g in GATEWAYS[1:])
    ):
        out = [o.text.strip() for o in el.findall(f"{{{BPMN_NS}}}outgoing")]
        if len(out) > 1:
            m.gateways[el.get("id")] = out
    nested = {e for starts in m.children.values() for e in starts}
    starts = [e for e, kind in m.kinds.items() if kind == "startEvent" and e not in nested]
    eligibility = defn.eligibility_decision or next(
        (d for start in starts for d in [next_decision(m, start)] if d), None
    )
    _read_decisions(defn, root, m, eligibility)
    return m


def _read_decisions(defn: Definition, root, m: ProcessMap, eligibility: str | None) -> None:
    """Names the decision tables read, and the eligibility table's columns and outputs."""
    outputs: set[str] = set()
    for name, text in defn.files.items():
        if not name.endswith(".dmn"):
            continue
        for decision in etree.fromstring(text.encode("utf-8")).iter(f"{{{DMN_NS}}}decision"):
            m.decision_places[decision.get("id")] = (name, decision.sourceline)
            for rule in decision.iter(f"{{{DMN_NS}}}rule"):
                m.rule_lines[(decision.get("id"), rule.get("id"))] = rule.sourceline
            inputs = [
                (i.findtext(f"{{{DMN_NS}}}inputExpression/{{{DMN_NS}}}text") or "").strip()
                for i in decision.iter(f"{{{DMN_NS}}}input")
            ]
            for text_ in inputs:
                m.read |= read_names(text_)
            if decision.get("id") != eligibility:
                continue
            outputs |= {o.get("name") for o in decision.iter(f"{{{DMN_NS}}}output")}
            entries: list[list[str]] = [[] for _ in inputs]
            for rule in decision.iter(f"{{{DMN_NS}}}rule"):
                for i, entry in enumerate(rule.iter(f"{{{DMN_NS}}}inputEntry")):
                    if i < len(entries):
                        entries[i].append((entry.findtext(f"{{{DMN_NS}}}text") or "").strip())
            m.columns = list(zip(inputs, entries, strict=True))
    m.eligibility = eligibility
    m.reasons = set(outputs)
    for mi in root.iter(f"{{{BPMN_NS}}}multiInstanceLoopCharacteristics"):
        item = mi.find(f"{{{BPMN_NS}}}outputDataItem")
        ref = (mi.findtext(f"{{{BPMN_NS}}}loopDataOutputRef") or "").strip()
        if item is not None and item.get("name") in outputs and ref:
            m.reasons.add(ref)


def decisions_after(m: ProcessMap, element: str) -> list[str]:
    """The decisions that run after `element` before the next user task, nearest first."""
    found, seen, queue = [], set(), list(m.successors.get(element, []))
    while queue:
        node = queue.pop(0)
        if node in seen:
            continue
        seen.add(node)
        if node in m.decision_of:
            found.append(m.decision_of[node])
        if m.kinds.get(node) in ("userTask", "manualTask"):
            continue
        queue += m.children.get(node, []) + m.successors.get(node, [])
    return found


def next_decision(m: ProcessMap, element: str) -> str | None:
    return next(iter(decisions_after(m, element)), None)
