"""The server-drawn BPMN diagram: well-formed, complete, escaped, marked where asked."""

import re
from html import escape
from pathlib import Path

import pytest
from lxml import etree

from service.web import diagram
from service.web.diagram import NO_DIAGRAM, render_svg

PROCESSES = sorted((Path(__file__).resolve().parents[2] / "processes").glob("**/*.bpmn"))
SVG = "{http://www.w3.org/2000/svg}"
BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"

SMALL = """<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL"
    xmlns:bpmndi="http://www.omg.org/spec/BPMN/20100524/DI"
    xmlns:dc="http://www.omg.org/spec/DD/20100524/DC"
    xmlns:di="http://www.omg.org/spec/DD/20100524/DI" id="defs">
  <bpmn:process id="small" name="小流程">
    <bpmn:startEvent id="start" name="开始" />
    <bpmn:userTask id="task" name="TASK_NAME" />
    <bpmn:userTask id="hidden" name="没有图形" />
    <bpmn:fancyThing id="odd" name="奇怪的元素" />
    <bpmn:sequenceFlow id="flow" name="走" sourceRef="start" targetRef="task" />
  </bpmn:process>
  DIAGRAM
</bpmn:definitions>"""
SMALL_DIAGRAM = """<bpmndi:BPMNDiagram id="d"><bpmndi:BPMNPlane id="p" bpmnElement="small">
    <bpmndi:BPMNShape id="start_di" bpmnElement="start">
      <dc:Bounds x="10" y="20" width="36" height="36" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="task_di" bpmnElement="task">
      <dc:Bounds x="100" y="-2" width="100" height="80" /></bpmndi:BPMNShape>
    <bpmndi:BPMNShape id="odd_di" bpmnElement="odd">
      <dc:Bounds x="250" y="0" width="80" height="40" /></bpmndi:BPMNShape>
    <bpmndi:BPMNEdge id="flow_di" bpmnElement="flow">
      <di:waypoint x="46" y="38" /><di:waypoint x="100" y="38" /></bpmndi:BPMNEdge>
  </bpmndi:BPMNPlane></bpmndi:BPMNDiagram>"""


def small(name: str = "单位预审", with_diagram: bool = True) -> str:
    text = SMALL.replace("DIAGRAM", SMALL_DIAGRAM if with_diagram else "")
    return text.replace("TASK_NAME", escape(name, quote=True))


def read(path: Path) -> str:
    return path.read_text(encoding="utf-8")


def svg_tree(svg: str) -> etree._Element:
    return etree.fromstring(svg.encode("utf-8"))


def nodes(tree: etree._Element) -> dict[str, etree._Element]:
    found = tree.iter(f"{SVG}g")
    return {g.get("data-element-id"): g for g in found if "node" in g.get("class", "").split()}


def ids_with_class(tree: etree._Element, css: str) -> set[str]:
    return {i for i, g in nodes(tree).items() if css in g.get("class", "").split()}


def user_tasks(path: Path) -> list[str]:
    return [t.get("id") for t in etree.parse(str(path)).iter(f"{BPMN}userTask")]


each_file = pytest.mark.parametrize("path", PROCESSES, ids=[p.stem for p in PROCESSES])


def test_all_nine_process_files_are_drawn():
    # the manual's nine, the unit's own two (单位名称变更, 单位会员入会) and any added since
    folder = (
        PROCESSES[0].parent if PROCESSES[0].parent.name != "shared" else PROCESSES[0].parents[1]
    )
    keys = {p.stem for p in PROCESSES if p.parent.name != "shared"}
    keys |= {p.name.removesuffix(".shared.json") for p in folder.glob("*.shared.json")}
    assert len(keys) >= 12  # the education four share processes/shared/education.bpmn
    assert {"unit_name_change", "unit_membership_join", "initial_education"} <= keys


@each_file
def test_the_drawing_is_a_well_formed_accessible_svg(path):
    svg = render_svg(read(path))
    tree = svg_tree(svg)
    assert tree.tag == f"{SVG}svg"
    assert not svg.startswith("<?xml")
    assert tree.get("role") == "img" and tree.get("width") == "100%"
    assert tree.get("height") is None
    title = tree.find(f"{SVG}title")
    assert title.get("id") in tree.get("aria-labelledby").split()
    name = etree.parse(str(path)).find(f"{BPMN}process").get("name")
    assert title.text == name
    width = float(tree.get("viewBox").split()[2])
    # at its size at most, and at 0.8 of it at least (its labels readable; the frame scrolls)
    narrowest = float(f"{width * 0.8:.1f}")
    assert tree.get("style") == f"max-width: {width:g}px; min-width: {narrowest:g}px"
    assert tree.find(f"{SVG}style") is not None


@each_file
def test_every_user_task_appears_as_a_node_with_its_name(path):
    tree = svg_tree(render_svg(read(path)))
    drawn = nodes(tree)
    for task in etree.parse(str(path)).iter(f"{BPMN}userTask"):
        node = drawn[task.get("id")]
        assert node.find(f"{SVG}title").text == task.get("name")
        assert "userTask" in node.get("class").split()


@each_file
def test_current_and_done_classes_land_on_exactly_the_ids_given(path):
    tasks = user_tasks(path)
    current, done = {tasks[0]}, {"start_event", *tasks[1:3]}
    tree = svg_tree(render_svg(read(path), current=current, done=done))
    assert ids_with_class(tree, "current") == current
    assert ids_with_class(tree, "done") == done
    assert tree.find(f".//{SVG}g[@class='legend']") is not None


@each_file
def test_the_view_box_encloses_every_shape_and_waypoint(path):
    tree = svg_tree(render_svg(read(path)))
    x, y, w, h = map(float, tree.get("viewBox").split())
    source = etree.parse(str(path))
    for bounds in source.iter(f"{DC}Bounds"):
        left, top = float(bounds.get("x")), float(bounds.get("y"))
        right, bottom = left + float(bounds.get("width")), top + float(bounds.get("height"))
        assert x <= left and right <= x + w and y <= top and bottom <= y + h
    for point in source.iter(f"{DI}waypoint"):
        assert x <= float(point.get("x")) <= x + w and y <= float(point.get("y")) <= y + h


def test_a_step_may_be_both_current_and_done_and_then_it_is_current():
    tree = svg_tree(render_svg(small(), current=["task"], done=["task", "start"]))
    assert ids_with_class(tree, "current") == {"task"}
    assert ids_with_class(tree, "done") == {"start"}


def test_no_legend_is_drawn_when_nothing_is_marked():
    assert 'class="legend"' not in render_svg(small())


def test_names_and_titles_from_the_file_are_escaped():
    svg = render_svg(small('<script>alert("x")&'), current={"task"}, title="<b>标题</b>")
    assert "<script" not in svg and "<b>" not in svg
    assert "&lt;script&gt;" in svg and "&amp;" in svg and "&quot;" in svg
    tree = svg_tree(svg)
    assert nodes(tree)["task"].find(f"{SVG}title").text.startswith('<script>alert("x")&')
    assert tree.find(f"{SVG}title").text == "<b>标题</b>"


def test_elements_without_a_shape_are_skipped():
    assert "hidden" not in nodes(svg_tree(render_svg(small())))


def test_an_unknown_element_is_drawn_as_a_plain_rectangle():
    node = nodes(svg_tree(render_svg(small())))["odd"]
    assert node.find(f"{SVG}rect") is not None
    assert "奇怪的元素" in "".join(node.itertext())


def test_a_long_chinese_name_wraps_inside_its_task():
    tree = svg_tree(render_svg(small("重新核验入会资格并通知申请人")))
    lines = [t.text for t in nodes(tree)["task"].iter(f"{SVG}tspan")]
    assert "".join(lines) == "重新核验入会资格并通知申请人"
    assert len(lines) > 1 and all(len(line) <= 7 for line in lines)


def test_a_file_without_diagram_interchange_gets_a_message():
    tree = svg_tree(render_svg(small(with_diagram=False)))
    assert tree.tag == f"{SVG}svg"
    assert NO_DIAGRAM in "".join(tree.itertext())
    assert tree.find(f"{SVG}title").text == "小流程"


def test_well_formed_xml_that_is_not_bpmn_gets_the_message_too():
    assert NO_DIAGRAM in render_svg("<a><b/></a>")


@pytest.mark.parametrize("text", ["", "<bpmn:definitions", "<a></b>", "not xml at all"])
def test_malformed_xml_raises_value_error(text):
    with pytest.raises(ValueError, match="XML"):
        render_svg(text)


def test_odd_geometry_is_skipped_without_raising():
    text = small().replace('x="100" y="-2"', 'x="abc" y="-2"').replace('x="46"', 'x="nan"')
    drawn = nodes(svg_tree(render_svg(text)))
    assert "task" not in drawn and "start" in drawn


def test_multi_instance_subprocesses_carry_a_loop_marker():
    path = next(p for p in PROCESSES if p.stem == "education")  # the education template
    node = nodes(svg_tree(render_svg(read(path))))["check_persons"]
    assert node.find(f"{SVG}path[@class='loop']") is not None


def test_flows_end_in_an_arrowhead():
    svg = render_svg(read(PROCESSES[0]))
    marker = re.search(r'<marker id="([^"]+)"', svg)[1]
    assert f'marker-end="url(#{marker})"' in svg


def test_the_parsed_geometry_is_reused_between_renders():
    text = read(PROCESSES[0])
    render_svg(text)
    hits = diagram._layout.cache_info().hits
    render_svg(text, current={"x"})
    assert diagram._layout.cache_info().hits == hits + 1
