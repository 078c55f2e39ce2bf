#!/usr/bin/env python3
"""Declare the data that multi-instance tasks loop over, so that modelers keep the loop.

    .venv/bin/python scripts/declare_loop_data.py processes/*.bpmn          # declare
    .venv/bin/python scripts/declare_loop_data.py --check processes/*.bpmn  # report; exit 1

`<bpmn:loopDataInputRef>persons</bpmn:loopDataInputRef>` is, for BPMN, a reference to an
element with the id `persons`; SpiffWorkflow reads it as the name of a task data variable.
When nothing in the file has that id, bpmn-moddle (bpmn.io, Camunda Modeler) warns
"unresolved reference <persons>" on import and drops the loopDataInputRef /
loopDataOutputRef on save, and `memberflow check` then fails on the saved file.

This adds to the process a `<bpmn:property id="persons" name="persons" />` for every
loopDataInputRef / loopDataOutputRef that no element of the file declares. A process
property is a BPMN ItemAwareElement, so the reference resolves; SpiffWorkflow's parser
does not read process properties at all, so the running process is unchanged.

Why not a `bpmn:dataObject`: SpiffWorkflow makes each data object a workflow-level
variable — every new instance's workflow data gains `data_objects: {"persons": None, …}`,
stored with its state, and gateway conditions get these names as a fallback (a condition
reading `fee_lines` where the task data lacks it sees None instead of failing); a
`dataObjectReference` would later move the value out of the task data altogether.
Why not an `ioSpecification` on the task: SpiffWorkflow then gives the task only the
declared inputs and keeps only the declared outputs, and the ids would repeat across tasks.

The file is edited as text: comments and layout stay. Idempotent.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _rewrite_files import rewrite_files  # noqa: E402

BPMN = "http://www.omg.org/spec/BPMN/20100524/MODEL"
LOOP_REFS = ("loopDataInputRef", "loopDataOutputRef")
# the children of a bpmn:process that come before bpmn:property (tProcess in the XSD)
BEFORE_PROPERTY = {
    "documentation",
    "extensionElements",
    "supportedInterfaceRef",
    "ioSpecification",
    "ioBinding",
    "auditing",
    "monitoring",
    "property",
}
COMMENT = (
    "<!-- 多实例任务 loopDataInputRef / loopDataOutputRef 引用的数据：声明后 bpmn.io、"
    "Camunda Modeler 能解析、保存不丢；SpiffWorkflow 不读 bpmn:property，运行不变。 -->"
)


class CannotDeclare(Exception):
    pass


def _local(el) -> str | None:
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def undeclared(root) -> dict[object, list[str]]:
    """For each process, the loop data names it references that no element's id declares."""
    ids = {el.get("id") for el in root.iter() if isinstance(el.tag, str) and el.get("id")}
    result: dict[object, list[str]] = {}
    for process in root.iterfind(f"{{{BPMN}}}process"):
        for tag in LOOP_REFS:
            for ref in process.iter(f"{{{BPMN}}}{tag}"):
                name = (ref.text or "").strip()
                if ":" in name:  # a prefixed QName: declared in another document
                    continue
                if name and name not in ids:
                    result.setdefault(process, [])
                    if name not in result[process]:
                        result[process].append(name)
    return result


def _insertion_line(process) -> int:
    """The line (1-based) before which the process's properties go: that of its first child
    that must follow bpmn:property, or of the comments right before that child."""
    children = list(process)
    for index, child in enumerate(children):
        if _local(child) is None or _local(child) in BEFORE_PROPERTY:
            continue
        first = child
        while index > 0 and isinstance(children[index - 1], etree._Comment):
            index -= 1
            first = children[index]
        if first.sourceline is None or first.sourceline <= process.sourceline:
            break
        return first.sourceline
    raise CannotDeclare(
        f"process {process.get('id')}: no child element on its own line after which to "
        "declare properties; add them by hand"
    )


def declare_loop_data(text: str) -> tuple[str | None, list[str]]:
    """(the BPMN text with the declarations added, or None when nothing was missing;
    the names declared)."""
    root = etree.fromstring(text.encode("utf-8"))
    missing = undeclared(root)
    if not missing:
        return None, []
    lines = text.splitlines(keepends=True)
    declared = []
    # from the bottom up, so that earlier line numbers stay valid
    for process, names in sorted(missing.items(), key=lambda item: -item[0].sourceline):
        line = _insertion_line(process)
        target = lines[line - 1]
        indent = target[: len(target) - len(target.lstrip())]
        prefix = f"{process.prefix}:" if process.prefix else ""
        block = [f"{indent}{COMMENT}\n"] + [
            f'{indent}<{prefix}property id="{name}" name="{name}" />\n' for name in names
        ]
        lines[line - 1 : line - 1] = block
        declared += names
    new = "".join(lines)
    etree.fromstring(new.encode("utf-8"))  # still well formed
    return new, declared


def main(argv: list[str] | None = None) -> int:
    def rewrite(text: str) -> tuple[str | None, str]:
        new, names = declare_loop_data(text)
        return new, ", ".join(names)

    return rewrite_files(
        argv,
        __doc__,
        "BPMN files (e.g. processes/*.bpmn)",
        rewrite,
        (etree.XMLSyntaxError, CannotDeclare),
        ok="every loop data reference is declared",
        lacking="undeclared loop data {}",
        fixed="declared {}",
    )


if __name__ == "__main__":
    sys.exit(main())
