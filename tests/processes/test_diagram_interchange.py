"""The BPMN files open in a modeler: every element drawn, lanes named for roles, clean ids."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from service.domain.roles import role_for_lane

REPO = Path(__file__).resolve().parent.parent.parent
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DIAGRAMS = sorted((REPO / "processes").glob("**/*.bpmn"))  # with the shared templates
FLOW_NODES = (
    "startEvent",
    "endEvent",
    "userTask",
    "businessRuleTask",
    "scriptTask",
    "serviceTask",
    "exclusiveGateway",
    "parallelGateway",
    "boundaryEvent",
    "intermediateCatchEvent",
    "receiveTask",
    "callActivity",
    "subProcess",
)


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_every_element_has_a_shape_or_an_edge(path):
    root = etree.parse(str(path)).getroot()
    process = root.find(f"{BPMN}process")
    drawn = {el.get("bpmnElement") for el in root.iter(f"{DI}BPMNShape", f"{DI}BPMNEdge")}
    nodes = [el.get("id") for tag in FLOW_NODES for el in process.iter(f"{BPMN}{tag}")]
    flows = [el.get("id") for el in process.iter(f"{BPMN}sequenceFlow")]
    lanes = [el.get("id") for el in process.iter(f"{BPMN}lane")]
    assert nodes and flows and lanes
    assert set(nodes + flows + lanes) <= drawn, set(nodes + flows + lanes) - drawn


@pytest.mark.parametrize("path", DIAGRAMS, ids=lambda p: p.stem)
def test_lanes_are_roles_and_ids_are_meaningful(path):
    root = etree.parse(str(path)).getroot()
    process = root.find(f"{BPMN}process")
    # a type's own file is named after its process; a shared template's process is `__key__`
    assert process.get("id") == ("__key__" if path.parent.name == "shared" else path.stem)
    for lane in process.iter(f"{BPMN}lane"):
        assert role_for_lane(lane.get("name")) is not None, lane.get("name")
    for el in process.iter():
        element_id = el.get("id")
        if element_id:
            assert not element_id.startswith(("Activity_", "Gateway_", "Flow_", "Event_")), (
                element_id
            )
    for gateway in process.iter(f"{BPMN}exclusiveGateway"):
        if len(gateway.findall(f"{BPMN}outgoing")) > 1:
            assert gateway.get("default"), gateway.get("id")
