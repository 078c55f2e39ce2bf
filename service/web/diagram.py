"""Draw a BPMN diagram as inline SVG from the file's own diagram interchange (BPMNDI)."""

import hashlib
import math
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from html import escape

from lxml import etree

BPMN = "{http://www.omg.org/spec/BPMN/20100524/MODEL}"
BPMNDI = "{http://www.omg.org/spec/BPMN/20100524/DI}"
DC = "{http://www.omg.org/spec/DD/20100524/DC}"
DI = "{http://www.omg.org/spec/DD/20100524/DI}"
NO_DIAGRAM = "该流程没有图形信息"
STATE_NOTES = {"current": "（当前步骤）", "done": "（已完成）"}

TASKS = {"task", "userTask", "scriptTask", "businessRuleTask", "serviceTask", "sendTask"}
TASKS |= {"receiveTask", "manualTask", "callActivity"}
SUBPROCESSES = {"subProcess", "transaction", "adHocSubProcess"}
EVENTS = {"startEvent", "endEvent", "intermediateCatchEvent", "intermediateThrowEvent"}
EVENTS |= {"boundaryEvent"}
GATEWAYS = {"exclusiveGateway", "parallelGateway", "inclusiveGateway", "eventBasedGateway"}
GATEWAYS |= {"complexGateway"}

LINE = 14  # line height of the 12px font
BASELINE = 11  # from the top of a line to its baseline
MARGIN = 20
HEADER = 30  # the band holding a pool's or lane's name
LEGEND = 30
LABEL_WIDTH = 90  # external labels may be wider than the 14px-high bounds a modeler saved
_TOKEN = re.compile(r"[!-~]+ ?|\s|.")  # an ASCII word with its space, or one other character
_VERTICAL_FORMS = {"（": "︵", "）": "︶", "(": "︵", ")": "︶", "…": "︙", "—": "︱", "-": "︱"}
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")

# the smallest scale a diagram is drawn at: its 12px labels stay readable (about 10px);
# a wider diagram scrolls sideways in its frame rather than shrinking its words away
LEGIBLE = 0.8
STYLE = """
.bpmn-diagram text{font-family:"Noto Sans CJK SC","Microsoft YaHei",sans-serif;font-size:12px;
font-weight:normal;font-style:normal;letter-spacing:normal;fill:#222}
.bpmn-diagram .label{text-anchor:middle}
.bpmn-diagram text.left{text-anchor:start}
.bpmn-diagram text.right{text-anchor:end}
.bpmn-diagram .halo-text{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.bpmn-diagram .swim-title{font-size:13px;font-weight:bold}
.bpmn-diagram .swim{fill:#fff;stroke:#666;stroke-width:1.2}
.bpmn-diagram .band{fill:#f3f4f6;stroke:#666;stroke-width:1.2}
.bpmn-diagram .shape{fill:#fff;stroke:#333;stroke-width:1.5}
.bpmn-diagram .shape.start{stroke-width:2}
.bpmn-diagram .shape.end,.bpmn-diagram .shape.call{stroke-width:4}
.bpmn-diagram .shape.dashed{stroke-dasharray:5 3}
.bpmn-diagram .done .shape{stroke:#2e7d32;fill:#eaf6ea}
.bpmn-diagram .current .shape{stroke:#e8710a;fill:#fff1e0}
.bpmn-diagram .current .shape.box{stroke-width:3}
.bpmn-diagram .shape.inner{fill:none}
.bpmn-diagram .halo{fill:none;stroke:#e8710a;stroke-width:6;stroke-opacity:.3}
.bpmn-diagram .glyph{fill:#fff;stroke:#333;stroke-width:1.2}
.bpmn-diagram .glyph.solid{fill:#333}
.bpmn-diagram .glyph.line{fill:none}
.bpmn-diagram .glyph.white{stroke:#fff}
.bpmn-diagram .mark{fill:none;stroke:#333;stroke-width:3;stroke-linecap:round}
.bpmn-diagram .loop{fill:none;stroke:#333;stroke-width:2}
.bpmn-diagram .flow{fill:none;stroke:#444;stroke-width:1.5;stroke-linejoin:round}
.bpmn-diagram .flow.message{stroke-dasharray:6 4}
.bpmn-diagram .flow.association{stroke-dasharray:2 3}
.bpmn-diagram .legend-current{fill:#fff1e0;stroke:#e8710a;stroke-width:3}
.bpmn-diagram .legend-done{fill:#eaf6ea;stroke:#2e7d32;stroke-width:1.5}
.bpmn-diagram .hot .shape{stroke:#b3261e;stroke-width:2}
.bpmn-diagram .hot-1 .shape,.bpmn-diagram .legend-hot.hot-1{fill:#fff4e5}
.bpmn-diagram .hot-2 .shape,.bpmn-diagram .legend-hot.hot-2{fill:#ffe0b2}
.bpmn-diagram .hot-3 .shape,.bpmn-diagram .legend-hot.hot-3{fill:#ffb74d}
.bpmn-diagram .hot-4 .shape,.bpmn-diagram .legend-hot.hot-4{fill:#f57c00}
.bpmn-diagram .hot-5 .shape,.bpmn-diagram .legend-hot.hot-5{fill:#d84315}
.bpmn-diagram .legend-hot{stroke:#b3261e;stroke-width:1}
.bpmn-diagram .task.hot-4 text,.bpmn-diagram .task.hot-5 text{fill:#fff}
.bpmn-diagram .badge circle{fill:#b3261e;stroke:#fff;stroke-width:2}
.bpmn-diagram .badge text{fill:#fff;font-weight:bold}
"""

Box = tuple[float, float, float, float]  # x, y, width, height
Element = etree._Element


@dataclass(frozen=True)
class _Node:
    id: str  # escaped, like every text field here
    title: str
    classes: str
    body: str
    halo: str
    box: Box = (0.0, 0.0, 0.0, 0.0)


@dataclass(frozen=True)
class _Layout:
    ref: str  # prefix of the ids inside the SVG
    title: str
    view: Box | None  # None: the file has no diagram to draw
    background: str
    under: tuple[_Node, ...]  # expanded subprocesses, beneath the flows
    flows: str
    over: tuple[_Node, ...]
    names: dict[str, str]


def render_svg(
    bpmn_xml: str,
    current: Iterable[str] = (),
    done: Iterable[str] = (),
    title: str | None = None,
    heat: Mapping[str, int] | None = None,
) -> str:
    """Draw the BPMN file's diagram as an SVG element, marking the current and done steps.

    `heat` (element id -> number of instances waiting there) draws the diagram as a heat
    map instead: each step with instances is shaded by its share of the busiest step and
    carries its number in a badge.
    """
    layout = _layout(bpmn_xml)
    current_ids = frozenset([current] if isinstance(current, str) else current)
    done_ids = frozenset([done] if isinstance(done, str) else done) - current_ids
    counts = {_esc(k): int(v) for k, v in (heat or {}).items() if int(v) > 0}
    heading = _esc(str(title)) if title else layout.title
    if layout.view is None:
        return _fallback(layout.ref, heading)
    x, y, w, h = layout.view
    if heat is not None:
        legend = _heat_legend(x + MARGIN, y - LEGEND + 8)
    else:
        legend = _legend(x + MARGIN, y - LEGEND + 8, bool(current_ids), bool(done_ids))
    if legend:
        y, h = y - LEGEND, h + LEGEND
    labelled = f"{layout.ref}-title"
    desc = ""
    if current_ids:
        steps = "、".join(n for i, n in layout.names.items() if i in current_ids)
        desc = f'<desc id="{layout.ref}-desc">当前步骤：{steps or "无"}</desc>'
        labelled += f" {layout.ref}-desc"
    elif heat is not None:
        steps = "、".join(f"{n} {counts[i]} 件" for i, n in layout.names.items() if counts.get(i))
        desc = f'<desc id="{layout.ref}-desc">在办实例：{steps or "无"}</desc>'
        labelled += f" {layout.ref}-desc"
    busiest = max(counts.values(), default=0)

    def nodes(group: tuple[_Node, ...]) -> str:
        if heat is not None:
            return "".join(_hot_node_svg(n, counts.get(n.id, 0), busiest) for n in group)
        return "".join(_node_svg(n, n.id in current_ids, n.id in done_ids) for n in group)

    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" '
        f'viewBox="{_n(x)} {_n(y)} {_n(w)} {_n(h)}" width="100%" '
        f'style="max-width: {_n(w)}px; min-width: {_n(w * LEGIBLE)}px" role="img" '
        f'aria-labelledby="{labelled}">'
        f'<title id="{layout.ref}-title">{heading}</title>{desc}<style>{STYLE}</style>'
        f'<defs><marker id="{layout.ref}-arrow" viewBox="0 0 10 10" refX="10" refY="5" '
        'markerWidth="10" markerHeight="10" markerUnits="userSpaceOnUse" orient="auto">'
        '<path d="M0,1 L10,5 L0,9 z" fill="#444"/></marker></defs>'
        f"{layout.background}{nodes(layout.under)}{layout.flows}{nodes(layout.over)}{legend}"
        "</svg>"
    )


def _node_svg(node: _Node, current: bool, done: bool) -> str:
    state = "current" if current else "done" if done else ""
    return (
        f'<g class="node {node.classes}{" " + state if state else ""}" '
        f'data-element-id="{node.id}"><title>{node.title}{STATE_NOTES.get(state, "")}</title>'
        f"{node.halo if current else ''}{node.body}</g>"
    )


HEAT_LEVELS = 5  # shades from a few instances waiting to the busiest step


def _hot_node_svg(node: _Node, count: int, busiest: int) -> str:
    """A step of the heat map: shaded by its count against the busiest step, with a badge."""
    if count <= 0:
        return (
            f'<g class="node {node.classes}" data-element-id="{node.id}" data-count="0">'
            f"<title>{node.title}</title>{node.body}</g>"
        )
    level = max(1, min(HEAT_LEVELS, math.ceil(HEAT_LEVELS * count / busiest)))
    bx, by, bw, _bh = node.box
    badge_x, badge_y = bx + bw - 2, by + 2
    text = str(count)
    radius = max(10.0, _width(text) / 2 + 5)
    badge = (
        f'<g class="badge"><circle cx="{_n(badge_x)}" cy="{_n(badge_y)}" r="{_n(radius)}"/>'
        f'<text class="label" x="{_n(badge_x)}" y="{_n(badge_y + 4)}">{text}</text></g>'
    )
    return (
        f'<g class="node {node.classes} hot hot-{level}" data-element-id="{node.id}" '
        f'data-count="{count}"><title>{node.title}（在办 {count} 件）</title>'
        f"{node.body}{badge}</g>"
    )


def _heat_legend(x: float, y: float) -> str:
    parts = [f'<text x="{_n(x)}" y="{_n(y + 11)}">在办实例：少</text>']
    x += _width("在办实例：少") + 8
    for level in range(1, HEAT_LEVELS + 1):
        parts.append(
            f'<rect class="legend-hot hot-{level}" x="{_n(x)}" y="{_n(y)}" width="20" '
            'height="12" rx="3"/>'
        )
        x += 24
    parts.append(f'<text x="{_n(x + 4)}" y="{_n(y + 11)}">多（数字为在办件数）</text>')
    return f'<g class="legend">{"".join(parts)}</g>'


def _legend(x: float, y: float, current: bool, done: bool) -> str:
    items = [("legend-current", "当前步骤")] if current else []
    items += [("legend-done", "已完成")] if done else []
    parts = []
    for css, text in items:
        parts.append(f'<rect class="{css}" x="{_n(x)}" y="{_n(y)}" width="20" height="12" rx="3"/>')
        parts.append(f'<text x="{_n(x + 26)}" y="{_n(y + 11)}">{text}</text>')
        x += 26 + _width(text) + 24
    return f'<g class="legend">{"".join(parts)}</g>' if parts else ""


def _fallback(ref: str, heading: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="bpmn-diagram" viewBox="0 0 320 60" '
        f'width="100%" style="max-width: 320px" role="img" aria-labelledby="{ref}-title">'
        f'<title id="{ref}-title">{heading}</title><style>{STYLE}</style>'
        '<rect class="swim" x="1" y="1" width="318" height="58" rx="6"/>'
        f'<text class="label" x="160" y="34">{NO_DIAGRAM}</text></svg>'
    )


@lru_cache(maxsize=64)
def _layout(bpmn_xml: str) -> _Layout:
    """Parse once per file text; every render afterwards only joins strings."""
    data = bpmn_xml.encode("utf-8") if isinstance(bpmn_xml, str) else bpmn_xml
    # the text is already decoded: ignore whatever encoding its declaration names
    parser = etree.XMLParser(encoding="utf-8", resolve_entities=False, no_network=True)
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"BPMN 文件不是格式正确的 XML：{exc}") from exc
    ref = "bpmn-" + hashlib.sha1(data).hexdigest()[:8]
    elements = {el.get("id"): el for el in root.iter(f"{BPMN}*") if el.get("id")}
    title = _esc(_process_name(root, elements) or "流程图")
    plane = root.find(f".//{BPMNDI}BPMNPlane")
    if plane is None:
        return _Layout(ref, title, None, "", (), "", (), {})
    extent: list[Box] = []
    background, under, over, boundary, names = [], [], [], [], {}
    areas: dict[str, float] = {}
    for shape in plane.iter(f"{BPMNDI}BPMNShape"):
        box = _bounds(shape.find(f"{DC}Bounds"))
        if box is None:
            continue
        element_id = shape.get("bpmnElement", "")
        el = elements.get(element_id)
        kind = etree.QName(el).localname if el is not None else "unknown"
        name = (el.get("name") or "").strip() if el is not None else ""
        extent.append(box)
        if kind in ("participant", "lane"):
            background.append(_swimlane(box, name, shape.get("isHorizontal") != "false", kind))
            continue
        label = _bounds(shape.find(f"{BPMNDI}BPMNLabel/{DC}Bounds"))
        expanded = kind in SUBPROCESSES and shape.get("isExpanded") == "true"
        body, halo, category = _draw(kind, el, shape, box, label, name, extent)
        node = _Node(
            _esc(element_id), _esc(name or element_id), f"{category} {kind}", body, halo, box
        )
        areas[node.id] = box[2] * box[3]
        (under if expanded else boundary if kind == "boundaryEvent" else over).append(node)
        names[element_id] = _esc(name or element_id)
    flows = []
    for edge in plane.iter(f"{BPMNDI}BPMNEdge"):
        points = [p for p in map(_point, edge.iter(f"{DI}waypoint")) if p]
        if len(points) < 2:
            continue
        extent.extend((x, y, 0, 0) for x, y in points)
        el = elements.get(edge.get("bpmnElement", ""))
        label = _bounds(edge.find(f"{BPMNDI}BPMNLabel/{DC}Bounds"))
        flows.append(_flow(edge.get("bpmnElement", ""), el, elements, points, label, ref, extent))
    if not extent:
        return _Layout(ref, title, None, "", (), "", (), {})
    left = min(b[0] for b in extent) - MARGIN
    top = min(b[1] for b in extent) - MARGIN
    right = max(b[0] + b[2] for b in extent) + MARGIN
    bottom = max(b[1] + b[3] for b in extent) + MARGIN
    under.sort(key=lambda n: -areas[n.id])  # a nested subprocess lies above its parent
    view = (left, top, right - left, bottom - top)
    background_svg, flows_svg = "".join(background), "".join(flows)
    return _Layout(
        ref, title, view, background_svg, tuple(under), flows_svg, (*over, *boundary), names
    )


def _process_name(root: Element, elements: dict) -> str:
    for participant in root.iter(f"{BPMN}participant"):
        process = elements.get(participant.get("processRef", ""))
        name = process.get("name") if process is not None else None
        if name or participant.get("name"):
            return name or participant.get("name")
    for process in root.iter(f"{BPMN}process"):
        if process.get("name") or process.get("id"):
            return process.get("name") or process.get("id")
    return ""


def _draw(
    kind: str,
    el: Element | None,
    shape: Element,
    box: Box,
    label: Box | None,
    name: str,
    extent: list,
) -> tuple[str, str, str]:
    """Return the body, the current-step halo and the category class of one flow node."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    if kind in EVENTS:
        r = min(w, h) / 2
        body = _event(kind, el, cx, cy, r) + _outside_label(name, box, label, extent)
        return body, f'<circle class="halo" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r + 5)}"/>', "event"
    if kind in GATEWAYS:
        body = _gateway(kind, shape, box) + _outside_label(name, box, label, extent)
        return body, f'<polygon class="halo" points="{_diamond(box, 6)}"/>', "gateway"
    halo = f'<rect class="halo" {_rect((x - 4, y - 4, w + 8, h + 8))} rx="14"/>'
    if kind in SUBPROCESSES and shape.get("isExpanded") == "true":
        text = _text(_wrap(name, w - 16, 2), x + 8, y + 6, "left")
        body = f'<rect class="shape box" {_rect(box)} rx="10"/>{text}'
        return body + _markers(el, kind, True, cx, y + h), halo, "subprocess"
    if kind in TASKS or kind in SUBPROCESSES:
        glyph = _TASK_GLYPHS.get(kind, lambda _x, _y: "")(x + 6, y + 5)
        markers = _markers(el, kind, False, cx, y + h)
        css = "shape box call" if kind == "callActivity" else "shape box"
        # the name sits in the middle, but below the type glyph and above the markers
        room_top, room_bottom = (22 if glyph else 4), (18 if markers else 4)
        lines = _wrap(name, w - 12, max(1, int((h - room_top - room_bottom) / LINE)))
        top = max(cy - len(lines) * LINE / 2, y + room_top)
        body = f'<rect class="{css}" {_rect(box)} rx="10"/>{glyph}{_text(lines, cx, top)}{markers}'
        return body, halo, "subprocess" if kind in SUBPROCESSES else "task"
    lines = _wrap(name, w - 8, max(1, int((h - 4) / LINE)))
    body = f'<rect class="shape box" {_rect(box)}/>{_text(lines, cx, cy - len(lines) * LINE / 2)}'
    return body, f'<rect class="halo" {_rect((x - 4, y - 4, w + 8, h + 8))}/>', "other"


def _event(kind: str, el: Element | None, cx: float, cy: float, r: float) -> str:
    css = {"startEvent": "shape start", "endEvent": "shape end"}.get(kind, "shape")
    if el is not None and "false" in (el.get("cancelActivity"), el.get("isInterrupting")):
        css += " dashed"
    parts = [f'<circle class="{css}" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"/>']
    if kind in ("intermediateCatchEvent", "intermediateThrowEvent", "boundaryEvent"):
        inner = css.replace("shape", "shape inner")
        parts.append(
            f'<circle class="{inner}" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(max(r - 3, 0))}"/>'
        )
    children = [] if el is None else [c for c in el if isinstance(c.tag, str)]
    definitions = {etree.QName(c).localname for c in children}
    throw = kind in ("endEvent", "intermediateThrowEvent")
    if "timerEventDefinition" in definitions:
        parts.append(_clock(cx, cy, r * 0.6))
    elif "messageEventDefinition" in definitions:
        parts.append(_envelope(cx, cy, r * 1.05, r * 0.7, throw))
    elif "terminateEventDefinition" in definitions:
        parts.append(f'<circle class="glyph solid" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r * 0.6)}"/>')
    elif "signalEventDefinition" in definitions:
        s = r * 0.55
        points = (
            f"{_n(cx)},{_n(cy - s)} {_n(cx + s)},{_n(cy + s * 0.6)} {_n(cx - s)},{_n(cy + s * 0.6)}"
        )
        parts.append(f'<polygon class="glyph{" solid" if throw else ""}" points="{points}"/>')
    return "".join(parts)


def _clock(cx: float, cy: float, r: float) -> str:
    ticks = []
    for hour in range(12):
        a = math.pi * hour / 6
        sx, sy = math.sin(a), -math.cos(a)
        x1, y1, x2, y2 = cx + sx * r * 0.75, cy + sy * r * 0.75, cx + sx * r, cy + sy * r
        ticks.append(f"{_m(x1, y1)} L{_n(x2)},{_n(y2)}")
    hands = f"{_m(cx, cy)} v{_n(-r * 0.65)} {_m(cx, cy)} h{_n(r * 0.5)}"
    return (
        f'<circle class="glyph" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}"/>'
        f'<path class="glyph line" d="{" ".join(ticks)} {hands}"/>'
    )


def _envelope(cx: float, cy: float, w: float, h: float, solid: bool) -> str:
    x, y = cx - w / 2, cy - h / 2
    flap = f"M{_n(x)},{_n(y)} L{_n(cx)},{_n(cy + h * 0.1)} L{_n(x + w)},{_n(y)}"
    return (
        f'<rect class="glyph{" solid" if solid else ""}" {_rect((x, y, w, h))}/>'
        f'<path class="glyph line{" white" if solid else ""}" d="{flap}"/>'
    )


def _gateway(kind: str, shape: Element, box: Box) -> str:
    x, y, w, h = box
    cx, cy, s = x + w / 2, y + h / 2, min(w, h)
    parts = [f'<polygon class="shape box" points="{_diamond(box, 0)}"/>']
    d = s * 0.18
    dd = _n(2 * d)
    cross = f"{_m(cx - d, cy - d)} l{dd},{dd} {_m(cx + d, cy - d)} l-{dd},{dd}"
    p = s * 0.24
    plus = f"{_m(cx, cy - p)} v{_n(2 * p)} {_m(cx - p, cy)} h{_n(2 * p)}"
    if kind == "exclusiveGateway" and shape.get("isMarkerVisible") != "false":
        parts.append(f'<path class="mark" d="{cross}"/>')
    elif kind == "parallelGateway":
        parts.append(f'<path class="mark" d="{plus}"/>')
    elif kind == "complexGateway":
        parts.append(f'<path class="mark" d="{cross} {plus}"/>')
    elif kind == "inclusiveGateway":
        circle = f'cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(s * 0.22)}"'
        parts.append(f'<circle class="mark" {circle} style="stroke-width:2.5"/>')
    elif kind == "eventBasedGateway":
        for radius in (s * 0.26, s * 0.21):
            parts.append(
                f'<circle class="glyph line" cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(radius)}"/>'
            )
        corners = [
            (
                cx + s * 0.13 * math.sin(2 * math.pi * i / 5),
                cy - s * 0.13 * math.cos(2 * math.pi * i / 5),
            )
            for i in range(5)
        ]
        parts.append(f'<polygon class="glyph line" points="{_points(corners)}"/>')
    return "".join(parts)


def _user_glyph(x: float, y: float) -> str:
    return (
        f'<path class="glyph" d="M{_n(x + 1)},{_n(y + 17)} v-3 q0,-5 7,-5 q7,0 7,5 v3 z"/>'
        f'<circle class="glyph" cx="{_n(x + 8)}" cy="{_n(y + 5)}" r="3.5"/>'
    )


def _script_glyph(x: float, y: float) -> str:
    scroll = (
        _m(x + 4, y + 1)
        + " h10 c-4,3 -4,5 0,8 c4,3 4,5 0,8 h-10 c4,-3 4,-5 0,-8 c-4,-3 -4,-5 0,-8 z"
    )
    lines = f"{_m(x + 5, y + 5)} h6 {_m(x + 7, y + 9)} h6 {_m(x + 5, y + 13)} h6"
    return f'<path class="glyph" d="{scroll}"/><path class="glyph line" d="{lines}"/>'


def _rule_glyph(x: float, y: float) -> str:
    grid = f"M{_n(x)},{_n(y + 10.5)} h18 M{_n(x + 6)},{_n(y + 6)} v9"
    return (
        f'<rect class="glyph" {_rect((x, y + 2, 18, 13))}/>'
        f'<rect class="glyph solid" {_rect((x, y + 2, 18, 4))}/>'
        f'<path class="glyph line" d="{grid}"/>'
    )


_TASK_GLYPHS = {
    "userTask": _user_glyph,
    "scriptTask": _script_glyph,
    "businessRuleTask": _rule_glyph,
}


def _markers(el: Element | None, kind: str, expanded: bool, cx: float, bottom: float) -> str:
    """Draw the loop and collapsed-subprocess markers side by side at the bottom centre."""
    names = ["collapsed"] if kind in SUBPROCESSES and not expanded else []
    loop = el.find(f"{BPMN}multiInstanceLoopCharacteristics") if el is not None else None
    if loop is not None:
        names.append("sequential" if loop.get("isSequential") == "true" else "parallel")
    elif el is not None and el.find(f"{BPMN}standardLoopCharacteristics") is not None:
        names.append("loop")
    parts, x = [], cx - (len(names) * 18 - 4) / 2
    for name in names:
        if name == "parallel":  # BPMN: parallel instances are three vertical bars
            d = " ".join(f"M{_n(x + dx)},{_n(bottom - 16)} v12" for dx in (2, 7, 12))
        elif name == "sequential":
            d = " ".join(f"M{_n(x + 1)},{_n(bottom - dy)} h12" for dy in (15, 10, 5))
        elif name == "loop":
            d = f"M{_n(x + 3)},{_n(bottom - 5)} a5.5,5.5 0 1 1 8,0 m0,0 l3,-1 m-3,1 l-1,-3"
        else:
            d = f"M{_n(x)},{_n(bottom - 16)} h14 v13 h-14 z M{_n(x + 7)},{_n(bottom - 13)} v7 "
            d += f"M{_n(x + 3.5)},{_n(bottom - 9.5)} h7"
        parts.append(f'<path class="loop" d="{d}"/>')
        x += 18
    return "".join(parts)


def _outside_label(name: str, box: Box, label: Box | None, extent: list) -> str:
    """Write an event's or gateway's name at its label bounds, else below the shape."""
    if not label:
        lines = _wrap(name, LABEL_WIDTH, 3)
        return _text(lines, box[0] + box[2] / 2, box[1] + box[3] + 4, "label halo-text", extent)
    x, y, w, h = label
    lines = _wrap(name, max(w, LABEL_WIDTH), 3)
    # bounds saved by a modeler are often narrower than our font: grow away from the shape
    if y + h <= box[1] + 1:
        y = y + h - len(lines) * LINE
    if max(map(_width, lines), default=0) <= w:
        return _text(lines, x + w / 2, y, "label halo-text", extent)
    if x >= box[0] + box[2] - 1:
        return _text(lines, x, y, "label left halo-text", extent)
    if x + w <= box[0] + 1:
        return _text(lines, x + w, y, "label right halo-text", extent)
    return _text(lines, x + w / 2, y, "label halo-text", extent)


def _flow(
    flow_id: str,
    el: Element | None,
    elements: dict,
    points: list,
    label: Box | None,
    ref: str,
    extent: list,
) -> str:
    kind = etree.QName(el).localname if el is not None else "unknown"
    name = (el.get("name") or "").strip() if el is not None else ""
    css = {"sequenceFlow": "flow", "messageFlow": "flow message"}.get(kind, "flow association")
    arrow = f' marker-end="url(#{ref}-arrow)"' if kind in ("sequenceFlow", "messageFlow") else ""
    parts = [f"<title>{_esc(name)}</title>" if name else ""]
    parts.append(f'<polyline class="{css}" points="{_points(points)}"{arrow}/>')
    source = elements.get(el.get("sourceRef", "")) if el is not None else None
    (x0, y0), (x1, y1) = points[0], points[1]
    length = math.hypot(x1 - x0, y1 - y0)
    if source is not None and source.get("default") == flow_id and length > 1:
        # the default-flow slash crosses the flow near its start
        dx, dy = (x1 - x0) / length, (y1 - y0) / length
        mx, my = x0 + dx * min(12, length / 2), y0 + dy * min(12, length / 2)
        vx, vy = 4 * (dx + dy), 4 * (dy - dx)
        parts.append(
            f'<path class="flow" d="M{_n(mx - vx)},{_n(my - vy)} L{_n(mx + vx)},{_n(my + vy)}"/>'
        )
    if name and label:
        lines = _wrap(name, max(label[2], 60), 3)
        parts.append(_text(lines, label[0] + label[2] / 2, label[1], "label halo-text", extent))
    elif name:  # no saved position: just above the middle of the first segment
        lines = _wrap(name, 80, 2)
        top = (y0 + y1) / 2 - LINE * len(lines) - 2
        parts.append(_text(lines, (x0 + x1) / 2, top, "label halo-text", extent))
    return f'<g class="edge {_esc(kind)}" data-element-id="{_esc(flow_id)}">{"".join(parts)}</g>'


def _swimlane(box: Box, name: str, horizontal: bool, kind: str) -> str:
    """Draw a pool or lane with its name in a header band: on the left, or on top if vertical."""
    x, y, w, h = box
    css = "swim-title" if kind == "participant" else ""
    parts = [f'<rect class="swim" {_rect(box)}/>']
    if horizontal:
        parts.append(f'<rect class="band" {_rect((x, y, min(HEADER, w), h))}/>')
        parts.append(_vertical_text(name, x + min(HEADER, w) / 2, y, h, css))
    else:
        parts.append(f'<rect class="band" {_rect((x, y, w, min(HEADER, h)))}/>')
        lines = _wrap(name, w - 8, 1)
        parts.append(_text(lines, x + w / 2, y + min(HEADER, h) / 2 - LINE / 2, f"label {css}"))
    return f'<g class="{kind}">{"".join(parts)}</g>'


def _vertical_text(name: str, cx: float, y: float, h: float, css: str) -> str:
    text = " ".join(name.split())
    if not text:
        return ""
    wide = sum(unicodedata.east_asian_width(c) in "WFA" for c in text)
    if wide * 2 >= len(text):  # Chinese reads best upright, one character under another
        room = max(1, int((h - 8) / LINE))
        chars = list(text) if len(text) <= room else [*text[: room - 1], "…"]
        chars = [_VERTICAL_FORMS.get(c, c) for c in chars]
        top = y + (h - len(chars) * LINE) / 2
        spans = "".join(
            f'<tspan x="{_n(cx)}" y="{_n(top + BASELINE + i * LINE)}">{_esc(c)}</tspan>'
            for i, c in enumerate(chars)
        )
        return f'<text class="label {css}">{spans}</text>'
    line = (_wrap(text, h - 8, 1) or [""])[0]
    cy = y + h / 2
    return (
        f'<text class="label {css}" x="{_n(cx)}" y="{_n(cy + 4)}" '
        f'transform="rotate(-90 {_n(cx)} {_n(cy)})">{_esc(line)}</text>'
    )


def _text(lines: list[str], x: float, top: float, css: str = "label", extent=None) -> str:
    """Write lines from a top edge, centred on x unless the class anchors them otherwise."""
    if not lines:
        return ""
    if extent is not None:
        width = max(map(_width, lines))
        left = x if "left" in css else x - width if "right" in css else x - width / 2
        extent.append((left, top, width, len(lines) * LINE))
    spans = "".join(
        f'<tspan x="{_n(x)}" y="{_n(top + BASELINE + i * LINE)}">{_esc(line)}</tspan>'
        for i, line in enumerate(lines)
    )
    return f'<text class="{css}">{spans}</text>'


def _wrap(text: str, width: float, max_lines: int) -> list[str]:
    """Break a name into even lines of at most width pixels, with "…" if it needs too many."""
    lines = _greedy(text, width)
    if len(lines) > max_lines:
        last = lines[max_lines - 1]
        while last and _width(last + "…") > width:
            last = last[:-1]
        return [*lines[: max_lines - 1], last + "…"]
    # "重新核验入会资格" reads better as 4 + 4 than as 7 + 1: narrow while the count holds
    while len(lines) > 1 and width > 12 and len(narrower := _greedy(text, width - 6)) == len(lines):
        lines, width = narrower, width - 6
    return lines


def _greedy(text: str, width: float) -> list[str]:
    """Fill lines one by one; Chinese breaks between any characters, other text at spaces."""
    lines: list[str] = []
    for paragraph in text.replace("\r", "").split("\n"):
        pieces: list[str] = []
        for token in _TOKEN.findall(" ".join(paragraph.split())):
            pieces.extend(token if _width(token.rstrip()) > width else [token])
        line = ""
        for piece in pieces:
            if line and _width((line + piece).rstrip()) > width:
                lines.append(line.rstrip())
                line = piece.lstrip()
            else:
                line += piece
        if line.strip():
            lines.append(line.rstrip())
    return lines


def _width(text: str) -> float:
    return sum(12.0 if unicodedata.east_asian_width(c) in "WFA" else 7.0 for c in text)


def _esc(text: str) -> str:
    return escape(_NOT_XML.sub("", text), quote=True)


def _n(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".")


def _m(x: float, y: float) -> str:
    return f"M{_n(x)},{_n(y)}"


def _rect(box: Box) -> str:
    x, y, w, h = box
    return f'x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="{_n(h)}"'


def _points(points: Iterable[tuple[float, float]]) -> str:
    return " ".join(f"{_n(x)},{_n(y)}" for x, y in points)


def _diamond(box: Box, grow: float) -> str:
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2
    return _points([(cx, y - grow), (x + w + grow, cy), (cx, y + h + grow), (x - grow, cy)])


def _bounds(el: Element | None) -> Box | None:
    if el is None:
        return None
    try:
        box = tuple(float(el.get(k, "")) for k in ("x", "y", "width", "height"))
    except ValueError:
        return None
    return box if all(map(math.isfinite, box)) and box[2] >= 0 and box[3] >= 0 else None


def _point(el: Element) -> tuple[float, float] | None:
    try:
        point = float(el.get("x", "")), float(el.get("y", ""))
    except ValueError:
        return None
    return point if all(map(math.isfinite, point)) else None
