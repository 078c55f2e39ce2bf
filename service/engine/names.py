"""What `memberflow check` finds before it fails at run time: names nothing defines.

SpiffWorkflow evaluates conditions, scripts, timers (timeDuration, timeDate, timeCycle) and
DMN cells only when an instance reaches them, so a misspelt variable (`decison`), an
unknown helper (`strr`, `id_fact`, `polcy`), a `policy("…")` parameter rules/policy.json
lacks, or a form whose `required` names a field it never declares parses cleanly and
strands every instance that gets there.

Each name read by an expression is resolved against what can exist in its process: the
fields of its forms (and the shared common.schema.json), the names its scripts, pre- and
post-scripts assign, its multi-instance items and collections, the outputs of the
decisions it calls, the names the service puts into the data (`provided`), the helpers
and the sandbox's builtins. A DMN cell is resolved against the processes that call its
decision. An unknown name is reported once per element, in Chinese, with the file, the
element id, the line and the nearest known names; a timer's by the id of its event, the
message naming the event and the kind of timer.
"""

from __future__ import annotations

import ast
import builtins
import difflib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from service.engine import json_files, shared
from service.engine.helpers import dated_helpers, policy_helpers
from service.engine.problem_text import TIMER_KINDS, timer_event, timer_lead

CELL = "cell_value_"  # what a DMN input entry's `?` stands for while it is parsed
EXPRESSION_TAGS = {"conditionExpression": "eval", "script": "exec"}
# a timer's duration, date or cycle: an expression the engine evaluates only when the event
# is reached (engine/timers.py), so a wrong name in it strands every instance that gets there
TIMER_TAGS = {tag: "eval" for tag in TIMER_KINDS}
SCRIPT_TAGS = {"preScript", "postScript"}
MI_TAGS = {"loopDataInputRef", "loopDataOutputRef"}


@dataclass(frozen=True)
class NameProblem:
    file: str
    element: str | None
    line: int | None
    message: str


def _parse(code: str, mode: str) -> ast.AST | None:
    try:
        return ast.parse(code, mode=mode)
    except SyntaxError:
        return None  # the catalogue reports what does not parse


def _names(tree: ast.AST) -> tuple[set[str], set[str]]:
    """(names read, names bound) anywhere in `tree`, comprehension and lambda names bound."""
    read, bound = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            (bound if isinstance(node.ctx, ast.Store | ast.Del) else read).add(node.id)
        elif isinstance(node, ast.arg):
            bound.add(node.arg)
    return read, bound


def _policy_calls(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id == "policy"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, str)
        ):
            found.append(node.args[0].value)
    return found


def _element_of(el) -> str | None:
    while el is not None:
        if isinstance(el.tag, str) and el.get("id"):
            return el.get("id")
        el = el.getparent()
    return None


def _localname(el) -> str | None:
    return etree.QName(el).localname if isinstance(el.tag, str) else None


def _schema_names(node, found: set[str]) -> None:
    """Every property name declared anywhere in a JSON Schema document."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                found.update(value)
            _schema_names(value, found)
    elif isinstance(node, list):
        for value in node:
            _schema_names(value, found)


def _required(node, path: str = "") -> Iterable[tuple[str, str]]:
    """(schema path, required name) of every `required` in a JSON Schema document."""
    if isinstance(node, dict):
        for name in node.get("required") or []:
            if isinstance(name, str):
                yield path or "/", name
        for key, value in node.items():
            yield from _required(value, f"{path}/{key}")
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from _required(value, f"{path}/{i}")


def _read_json(path: Path):
    try:
        return json_files.read(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):  # JsonFileProblem is a ValueError
        return None  # the catalogue reports it


@dataclass
class _Process:
    key: str
    file: str
    known: set[str]
    # (lead of the message, element, line, names read, policy names) of each expression
    reads: list[tuple[str, str | None, int | None, set[str], list[str]]]
    decisions: set[str]


def _process_trees(processes_dir: Path):
    """(key, file to report, parsed XML) of each process: its own BPMN, or the rendered
    template of a type sharing one (engine/shared.py; reported as the template)."""
    for path in sorted(processes_dir.glob("*.bpmn")):
        yield path.stem, f"processes/{path.name}", etree.parse(str(path))
    for path in sorted(processes_dir.glob(f"*{shared.SUFFIX}")):
        key = path.name.removesuffix(shared.SUFFIX)
        text = path.read_text(encoding="utf-8")
        try:
            template = shared.template_of(key, text)
            files = {
                shared.variant_name(key): text,
                template: (processes_dir / template.removeprefix("processes/")).read_text(
                    encoding="utf-8"
                ),
            }
            rendered = shared.render(key, files)
        except (shared.TemplateProblem, OSError):
            continue  # the catalogue reports it
        yield key, template, etree.fromstring(rendered.encode("utf-8"))


def _scan_process(key: str, rel: str, tree) -> _Process:
    known, reads, decisions = set(), [], set()
    for el in tree.iter():
        tag = _localname(el)
        if tag is None:
            continue
        text = (el.text or "").strip()
        if tag in MI_TAGS and text:
            known.add(text)
        elif tag in ("inputDataItem", "outputDataItem", "dataObject", "dataObjectReference"):
            known.update(n for n in (el.get("name"), el.get("id")) if n)
        elif tag == "calledDecisionId" and text:
            decisions.add(text)
        elif (tag in EXPRESSION_TAGS or tag in SCRIPT_TAGS or tag in TIMER_TAGS) and text:
            mode = EXPRESSION_TAGS.get(tag) or TIMER_TAGS.get(tag) or "exec"
            parsed = _parse(text, mode)
            if parsed is None:
                continue
            read, bound = _names(parsed)
            known |= bound
            if tag in TIMER_TAGS:  # named by its event, not its timerEventDefinition
                lead, element = timer_lead(el), _element_of(timer_event(el))
            else:
                lead, element = "", _element_of(el)
            reads.append((lead, element, el.sourceline, read - bound, _policy_calls(parsed)))
    return _Process(key, rel, known, reads, decisions)


def _scan_dmn(path: Path):
    """(decision ids, output names, cells) of a DMN file; a cell is (element, line, reads,
    policy names)."""
    tree = etree.parse(str(path))
    decisions, outputs, cells = set(), set(), []
    for el in tree.iter():
        tag = _localname(el)
        if tag == "decision" and el.get("id"):
            decisions.add(el.get("id"))
        elif tag == "output" and el.get("name"):
            outputs.add(el.get("name"))
        elif tag == "text" and (el.text or "").strip():
            source = el.text.strip().replace("?", CELL)
            if source in ("-", ""):
                continue
            parsed = _parse(source, "eval")
            if parsed is None:
                continue
            read, bound = _names(parsed)
            cells.append(
                (_element_of(el), el.sourceline, read - bound - {CELL}, _policy_calls(parsed))
            )
    return decisions, outputs, cells


def _nearest(name: str, known: set[str]) -> str:
    close = difflib.get_close_matches(name, sorted(known), n=3, cutoff=0.6)
    return f"，相近的名称：{'、'.join(close)}" if close else ""


def check_names(
    processes_dir: Path, rules_dir: Path, forms_dir: Path, provided: Iterable[str] = ()
) -> list[NameProblem]:
    """Every name read by a condition, script, timer or DMN cell that nothing defines, every
    `policy("…")` parameter missing from rules/policy.json, and every form `required` name
    the form never declares."""
    policy = _read_json(Path(rules_dir) / "policy.json") or {}
    policy_values = {k: (v.get("value") if isinstance(v, dict) else v) for k, v in policy.items()}
    helpers = set(policy_helpers(policy_values)) | set(dated_helpers(lambda: "2026-01-01"))
    base = set(dir(builtins)) | helpers | set(provided) | {"True", "False", "None"}
    common = _read_json(Path(forms_dir) / "common.schema.json") or {}
    common_names: set[str] = set()
    _schema_names(common, common_names)

    problems: list[NameProblem] = []
    processes = []
    for key, rel, tree in _process_trees(Path(processes_dir)):
        process = _scan_process(key, rel, tree)
        fields = set(common_names)
        schemas = {}
        for form in sorted((Path(forms_dir) / process.key).glob("*.json")):
            schema = _read_json(form)
            if schema is not None:
                schemas[form.name] = schema
                _schema_names(schema, fields)
        declared = fields  # forms $ref each other within the process and common.schema.json
        for form_name, schema in schemas.items():
            form = Path(forms_dir) / process.key / form_name
            for where, name in _required(schema):
                if name not in declared:
                    problems.append(
                        NameProblem(
                            f"forms/{process.key}/{form.name}",
                            where,
                            None,
                            f"required 中的字段 {name} 在表单中没有声明（properties），"
                            f"该表单永远无法提交{_nearest(name, declared)}",
                        )
                    )
        process.known |= fields
        processes.append(process)

    outputs_of: dict[str, set[str]] = {}
    cells_of: dict[str, list] = {}
    for path in sorted(Path(rules_dir).glob("*.dmn")):
        decisions, outputs, cells = _scan_dmn(path)
        for decision in decisions:
            outputs_of[decision] = outputs
        cells_of[f"rules/{path.name}"] = (decisions, cells)

    for process in processes:
        for decision in process.decisions:
            process.known |= outputs_of.get(decision, set())
        known = process.known | base
        for lead, element, line, read, policy_names in process.reads:
            problems += _unknown(
                process.file, element, line, read, known, policy_names, policy, lead
            )

    everything = set().union(*(p.known for p in processes)) if processes else set()
    for file, (decisions, cells) in cells_of.items():
        callers = [p for p in processes if p.decisions & decisions]
        known = base | (set().union(*(p.known for p in callers)) if callers else everything)
        for element, line, read, policy_names in cells:
            problems += _unknown(file, element, line, read, known, policy_names, policy)
    return list(dict.fromkeys(problems))  # a shared template's, once (not once per type)


def _unknown(
    file, element, line, read, known, policy_names, policy, lead: str = ""
) -> list[NameProblem]:
    """The problems of one expression; `lead` says which expression when the element alone
    does not (a timer's)."""
    found = [
        NameProblem(
            file,
            element,
            line,
            f"{lead}名称 {name} 未定义："
            f"不是表单字段、脚本赋值、决策表输出、辅助函数或系统提供的数据{_nearest(name, known)}",
        )
        for name in sorted(read - known)
    ]
    for name in policy_names:
        if name not in policy:
            found.append(
                NameProblem(
                    file,
                    element,
                    line,
                    f'{lead}policy("{name}") 读取的参数在 rules/policy.json 中不存在'
                    f"{_nearest(name, set(policy))}",
                )
            )
    return found
