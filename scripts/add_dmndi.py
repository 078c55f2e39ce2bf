#!/usr/bin/env python3
"""Give DMN files a diagram (DMNDI) so that bpmn.io / Camunda Modeler (dmn-js) open them.

    .venv/bin/python scripts/add_dmndi.py rules/*.dmn          # add where missing
    .venv/bin/python scripts/add_dmndi.py --check rules/*.dmn  # report; exit 1 if one lacks it

A DMN 1.3 file without `dmndi:DMNDI` has nothing for the modeler's decision requirements
view (DRD) to draw. This adds, before `</definitions>`, one `dmndi:DMNDiagram` with a
`dmndi:DMNShape` per decision (and per input data, business knowledge model and knowledge
source, if any) laid out in a row, plus a `dmndi:DMNEdge` for each requirement that has
an id; and it declares the `dmndi`, `dc` and `di` namespaces on the root element.

The file is edited as text: comments, layout and everything else stay as they are.
Idempotent: a file that already has a `DMNDI` element is left alone. SpiffWorkflow's
DMN parser ignores DMNDI (its XSD validation accepts it).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _rewrite_files import rewrite_files  # noqa: E402

DMN13 = "https://www.omg.org/spec/DMN/20191111/MODEL/"
DMNDI = "https://www.omg.org/spec/DMN/20191111/DMNDI/"
DC = "http://www.omg.org/spec/DMN/20180521/DC/"
DI = "http://www.omg.org/spec/DMN/20180521/DI/"
PREFIXES = {"dmndi": DMNDI, "dc": DC, "di": DI}

# The DRG elements a DRD draws as shapes, and the requirements it draws as edges.
SHAPES = ("decision", "inputData", "businessKnowledgeModel", "knowledgeSource")
REQUIREMENTS = ("informationRequirement", "knowledgeRequirement", "authorityRequirement")
REQUIRED_REF = {  # a requirement's child element naming where it comes from
    "informationRequirement": ("requiredDecision", "requiredInput"),
    "knowledgeRequirement": ("requiredKnowledge",),
    "authorityRequirement": ("requiredDecision", "requiredInput", "requiredAuthority"),
}
SIZE = {  # dmn-js's default sizes
    "decision": (180, 80),
    "inputData": (125, 45),
    "businessKnowledgeModel": (135, 46),
    "knowledgeSource": (100, 63),
}
LEFT, TOP, GAP = 160, 100, 60
XMLNS_ATTRIBUTE = r"""\sxmlns(:[\w.-]+)?\s*=\s*("[^"]*"|'[^']*')"""


class NotDmn13(Exception):
    pass


def _local(el) -> str:
    return etree.QName(el).localname


def _blank_comments(text: str) -> str:
    """The text with comments and processing instructions blanked (same length), so that
    searching for tags cannot hit a tag written inside a comment."""
    return re.sub(r"<!--.*?-->|<\?.*?\?>", lambda m: " " * len(m.group(0)), text, flags=re.S)


def _layout(root) -> tuple[list[tuple[str, str, int, int, int, int]], dict[str, tuple]]:
    """(shapes as (kind, id, x, y, w, h), shape boxes by element id)."""
    shapes, boxes = [], {}
    x = LEFT
    # decisions on the top row, what they require (inputs, knowledge, sources) below
    for row, kinds in enumerate((("decision",), SHAPES[1:])):
        x = LEFT
        for el in root:
            if not isinstance(el.tag, str) or etree.QName(el).namespace != DMN13:
                continue
            kind = _local(el)
            if kind not in kinds or not el.get("id"):
                continue
            w, h = SIZE[kind]
            y = TOP + row * 200 + (80 - h) // 2
            shapes.append((kind, el.get("id"), x, y, w, h))
            boxes[el.get("id")] = (x, y, w, h)
            x += w + GAP
    return shapes, boxes


def _edges(root, boxes) -> list[tuple[str, tuple[int, int], tuple[int, int]]]:
    """(requirement id, source point, target point) for each requirement with an id."""
    edges = []
    for owner in root:
        if not isinstance(owner.tag, str) or owner.get("id") not in boxes:
            continue
        for req in owner:
            if not isinstance(req.tag, str) or _local(req) not in REQUIREMENTS:
                continue
            if not req.get("id"):
                continue
            href = None
            for child in req:
                if isinstance(child.tag, str) and _local(child) in REQUIRED_REF[_local(req)]:
                    href = (child.get("href") or "").lstrip("#")
            if href not in boxes:
                continue
            sx, sy, sw, sh = boxes[href]
            tx, ty, tw, _ = boxes[owner.get("id")]
            source = (sx + sw // 2, sy if sy > ty else sy + sh)
            target = (tx + tw // 2, ty + 80 if sy > ty else ty)
            edges.append((req.get("id"), source, target))
    return edges


def dmndi_block(root, indent: str = "  ") -> str:
    """The DMNDI element for this DMN document, as text indented one level below the root."""
    shapes, boxes = _layout(root)
    taken = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}

    def fresh(wanted: str) -> str:
        new, n = wanted, 1
        while new in taken:
            n += 1
            new = f"{wanted}_{n}"
        taken.add(new)
        return new

    diagram_id = fresh(f"{root.get('id') or 'definitions'}_diagram")
    i1, i2, i3, i4 = (indent * n for n in (1, 2, 3, 4))
    lines = [f"{i1}<dmndi:DMNDI>", f'{i2}<dmndi:DMNDiagram id="{diagram_id}">']
    for _, element_id, x, y, w, h in shapes:
        shape_id = fresh(f"{element_id}_shape")
        lines += [
            f'{i3}<dmndi:DMNShape id="{shape_id}" dmnElementRef="{element_id}">',
            f'{i4}<dc:Bounds height="{h}" width="{w}" x="{x}" y="{y}" />',
            f"{i3}</dmndi:DMNShape>",
        ]
    for req_id, (sx, sy), (tx, ty) in _edges(root, boxes):
        edge_id = fresh(f"{req_id}_edge")
        lines += [
            f'{i3}<dmndi:DMNEdge id="{edge_id}" dmnElementRef="{req_id}">',
            f'{i4}<di:waypoint x="{sx}" y="{sy}" />',
            f'{i4}<di:waypoint x="{tx}" y="{ty}" />',
            f"{i3}</dmndi:DMNEdge>",
        ]
    lines += [f"{i2}</dmndi:DMNDiagram>", f"{i1}</dmndi:DMNDI>"]
    return "\n".join(lines) + "\n"


def add_dmndi(text: str) -> str | None:
    """The DMN text with a DMNDI block added; None when it already has one."""
    root = etree.fromstring(text.encode("utf-8"))
    if etree.QName(root).namespace != DMN13 or _local(root) != "definitions":
        raise NotDmn13(
            "not a DMN 1.3 document (root must be definitions in "
            f"{DMN13}); dmn-js reads DMN 1.3 only — open and save it in Camunda Modeler first"
        )
    if any(isinstance(el.tag, str) and _local(el) == "DMNDI" for el in root.iter()):
        return None
    for prefix, uri in PREFIXES.items():
        bound = root.nsmap.get(prefix)
        if bound is not None and bound != uri:
            raise NotDmn13(f"the prefix {prefix}: is bound to {bound}, not {uri}")
    blank = _blank_comments(text)
    start = re.search(r"<([\w.-]+:)?definitions\b[^>]*>", blank)
    ends = list(re.finditer(r"</([\w.-]+:)?definitions\s*>", blank))
    if start is None or not ends:
        raise NotDmn13("cannot find the definitions element's tags")
    end = ends[-1]
    # indentation: that of the root's first child element, else two spaces
    child = re.search(r"\n([ \t]+)<[\w]", blank[start.end() : end.start()])
    indent = child.group(1) if child else "  "
    block = dmndi_block(root, indent)
    needed = {"dmndi", "dc"} | ({"di"} if "<di:waypoint" in block else set())
    line_start = text.rfind("\n", 0, end.start()) + 1
    if text[line_start : end.start()].strip():  # something before </definitions> on its line
        before, after = text[: end.start()] + "\n", text[end.start() :]
    else:
        before, after = text[:line_start], text[line_start:]
    text = before + block + after
    # declare the namespaces on the root start tag (before the insertion: it did not move)
    missing = [
        f'xmlns:{p}="{uri}"'
        for p, uri in PREFIXES.items()
        if p in needed and root.nsmap.get(p) is None
    ]
    if missing:
        # after the tag's last namespace declaration, else after its name
        declared = list(re.finditer(XMLNS_ATTRIBUTE, start.group(0)))
        if declared:
            at = start.start() + declared[-1].end()
        else:
            at = start.start() + 1 + len(start.group(1) or "") + len("definitions")
        text = text[:at] + " " + " ".join(missing) + text[at:]
    etree.fromstring(text.encode("utf-8"))  # still well formed
    return text


def main(argv: list[str] | None = None) -> int:
    return rewrite_files(
        argv,
        __doc__,
        "DMN files (e.g. rules/*.dmn)",
        lambda text: (add_dmndi(text), ""),
        (etree.XMLSyntaxError, NotDmn13),
        ok="has DMNDI",
        lacking="no DMNDI{}",
        fixed="DMNDI added{}",
    )


if __name__ == "__main__":
    sys.exit(main())
