"""Every reference in a BPMN file, checked before SpiffWorkflow reads it.

SpiffWorkflow reports a broken reference in English, without a line, and sometimes as
something else ("we found two items, perhaps a form has the same ID?" for a flow to a
missing target). These checks find each one first and say, in Chinese, which element of
which file at which line refers to what, with the nearest names that do exist:

- sequence flows: source and target exist in the same process or sub-process, and the
  elements' incoming/outgoing lists name flows that exist;
- a gateway's default flow is one of its outgoing flows;
- lanes list elements that exist;
- business rule tasks call decision tables that exist (any table in rules/ is listed);
- call activities call a process of the file;
- every flow node and sequence flow is drawn (a BPMNShape or BPMNEdge), so the diagram a
  designer opens shows every step the engine runs.

Each problem is reported once.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from lxml import etree

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
BPMNDI = "http://www.omg.org/spec/BPMN/20100524/DI"
SPIFF = "http://spiffworkflow.org/bpmn/schema/1.0/core"

FLOW_NODES = frozenset(
    {
        "startEvent",
        "endEvent",
        "intermediateCatchEvent",
        "intermediateThrowEvent",
        "boundaryEvent",
        "task",
        "userTask",
        "manualTask",
        "scriptTask",
        "serviceTask",
        "sendTask",
        "receiveTask",
        "businessRuleTask",
        "callActivity",
        "subProcess",
        "transaction",
        "exclusiveGateway",
        "parallelGateway",
        "inclusiveGateway",
        "eventBasedGateway",
    }
)
CONTAINERS = frozenset({"process", "subProcess", "transaction"})
KIND_NAMES = {
    "sequenceFlow": "顺序流",
    "exclusiveGateway": "排他网关",
    "parallelGateway": "并行网关",
    "inclusiveGateway": "包容网关",
    "businessRuleTask": "业务规则任务",
    "callActivity": "调用活动",
    "lane": "泳道",
}

Found = tuple[str | None, int | None, str]  # element id, line, message


def _local(el) -> str:
    return etree.QName(el).localname if isinstance(el.tag, str) else ""


def _nearest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, sorted(set(known)), n=3, cutoff=0.6)
    return f"；最接近的：{'、'.join(close)}" if close else ""


def _container_of(el):
    parent = el.getparent()
    while parent is not None and _local(parent) not in CONTAINERS:
        parent = parent.getparent()
    return parent


def check_references(root, decisions: Iterable[str]) -> list[Found]:
    """The broken references of one BPMN file's XML; `decisions` are the decision ids that
    exist (every table in rules/)."""
    found: list[Found] = []
    decisions = set(decisions)
    processes = {el.get("id") for el in root.iter(f"{{{BPMN}}}process")}
    nodes: dict[str, etree._Element] = {}
    flows: dict[str, etree._Element] = {}
    for el in root.iter(f"{{{BPMN}}}*"):
        kind = _local(el)
        if kind in FLOW_NODES and el.get("id"):
            nodes[el.get("id")] = el
        elif kind == "sequenceFlow" and el.get("id"):
            flows[el.get("id")] = el
    _flows(flows, nodes, found)
    _node_lists(nodes, flows, found)
    _lanes(root, nodes, found)
    _called(root, decisions, processes, found)
    _drawn(root, nodes, flows, found)
    unique, seen = [], set()
    for item in found:
        if item not in seen:
            seen.add(item)
            unique.append(item)
    return unique


def _flows(flows: dict, nodes: dict, found: list[Found]) -> None:
    for flow_id, flow in flows.items():
        container = _container_of(flow)
        for attr, what in (("sourceRef", "起点"), ("targetRef", "目标")):
            ref = flow.get(attr)
            if not ref:
                found.append((flow_id, flow.sourceline, f"顺序流缺少{what}（{attr}）"))
                continue
            node = nodes.get(ref)
            if node is None:
                hint = _nearest(ref, nodes)
                found.append((flow_id, flow.sourceline, f"顺序流的{what}“{ref}”不存在{hint}"))
            elif _container_of(node) is not container:
                found.append(
                    (
                        flow_id,
                        flow.sourceline,
                        f"顺序流的{what}“{ref}”在另一个流程或子流程中，顺序流不能跨越子流程边界",
                    )
                )


def _node_lists(nodes: dict, flows: dict, found: list[Found]) -> None:
    for node_id, node in nodes.items():
        for tag, attr, what in (
            ("incoming", "targetRef", "流入"),
            ("outgoing", "sourceRef", "流出"),
        ):
            for ref_el in node.findall(f"{{{BPMN}}}{tag}"):
                ref = (ref_el.text or "").strip()
                flow = flows.get(ref)
                if flow is None:
                    hint = _nearest(ref, flows)
                    found.append((node_id, ref_el.sourceline, f"{what}的顺序流“{ref}”不存在{hint}"))
                elif flow.get(attr) != node_id:
                    found.append(
                        (
                            node_id,
                            ref_el.sourceline,
                            f"顺序流“{ref}”列为该元素的{what}，但它的 {attr} 是“{flow.get(attr)}”",
                        )
                    )
        default = node.get("default")
        if default:
            outgoing = {(o.text or "").strip() for o in node.findall(f"{{{BPMN}}}outgoing")}
            if default not in outgoing:
                hint = _nearest(default, outgoing)
                found.append(
                    (node_id, node.sourceline, f"默认流向“{default}”不是该网关的出口{hint}")
                )


def _lanes(root, nodes: dict, found: list[Found]) -> None:
    for lane in root.iter(f"{{{BPMN}}}lane"):
        for ref_el in lane.findall(f"{{{BPMN}}}flowNodeRef"):
            ref = (ref_el.text or "").strip()
            if ref not in nodes:
                hint = _nearest(ref, nodes)
                found.append(
                    (
                        lane.get("id"),
                        ref_el.sourceline,
                        f"泳道“{lane.get('name') or lane.get('id')}”列出的元素“{ref}”不存在{hint}",
                    )
                )


def _called(root, decisions: set[str], processes: set[str], found: list[Found]) -> None:
    for el in root.iter(f"{{{SPIFF}}}calledDecisionId"):
        ref = (el.text or "").strip()
        owner = el.getparent()
        while owner is not None and owner.get("id") is None:
            owner = owner.getparent()
        if ref not in decisions:
            listed = "、".join(sorted(decisions)) or "（无）"
            hint = _nearest(ref, decisions)
            found.append(
                (
                    owner.get("id") if owner is not None else None,
                    el.sourceline,
                    f"调用的决策表“{ref}”不存在{hint}；rules/ 中的决策表：{listed}",
                )
            )
    for el in root.iter(f"{{{BPMN}}}callActivity"):
        ref = el.get("calledElement")
        if ref and ref not in processes:
            hint = _nearest(ref, processes)
            found.append((el.get("id"), el.sourceline, f"调用的流程“{ref}”不在本文件中{hint}"))


def _drawn(root, nodes: dict, flows: dict, found: list[Found]) -> None:
    if root.find(f".//{{{BPMNDI}}}BPMNPlane") is None:
        return  # no diagram at all: a modeler draws one (the round-trip test asks for it)
    drawn = {
        el.get("bpmnElement") for el in root.iter(f"{{{BPMNDI}}}BPMNShape", f"{{{BPMNDI}}}BPMNEdge")
    }
    for element_id, el in [*nodes.items(), *flows.items()]:
        if element_id not in drawn and not _inside_collapsed(el, drawn):
            what = "连线（BPMNEdge）" if _local(el) == "sequenceFlow" else "图形（BPMNShape）"
            found.append(
                (element_id, el.sourceline, f"该元素在流程图中没有{what}，在建模器中看不到它")
            )


def _inside_collapsed(el, drawn: set) -> bool:
    """Whether the element lies inside a sub-process drawn collapsed (or a process drawn on a
    diagram of its own, not drawn here): then it has no shape on this plane on purpose."""
    container = _container_of(el)
    return (
        container is not None
        and _local(container) != "process"
        and (container.get("id") not in drawn)
    )


def decision_ids(texts: Iterable[str]) -> set[str]:
    """The decision ids in DMN texts."""
    ids: set[str] = set()
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    for text in texts:
        try:
            root = etree.fromstring(text.encode("utf-8"), parser)
        except etree.XMLSyntaxError:
            continue
        ids |= {el.get("id") for el in root.iter() if _local(el) == "decision" and el.get("id")}
    return ids
