"""Parse and validate the designers' files: processes/, rules/ and forms/.

A definition version is the content of one process's files (its BPMN, the DMN it calls,
the policy parameters, its forms); its digest identifies the version. The same code
builds a definition from the folders at start-up and from the files stored with an old
version in the database, so an instance always runs on the diagram it started with.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import jsonschema_rs
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError
from lxml import etree
from referencing import Registry
from referencing.jsonschema import DRAFT202012
from SpiffWorkflow.bpmn.parser.ValidationException import ValidationException
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import LoopTask
from SpiffWorkflow.spiff.parser.process import VALIDATOR

from service.domain.roles import role_for_lane
from service.engine import json_files, shared
from service.engine.decisions import Decisions, decisions_from_parser
from service.engine.declarations import (
    Declarations,
    check_blank_fields,
    check_required,
    read_declarations,
)
from service.engine.formats import (
    FORMAT_CHECKER,
    FormValidator,
    PatternError,
    quick_validator,
)
from service.engine.formschema import (
    UnresolvableSchema,
    birth_paths_of,
    dereference,
    file_paths_of,
    image_paths_of,
    mobile_paths_of,
    past_paths_of,
    properties_of,
    video_only_paths_of,
)
from service.engine.helpers import policy_helpers
from service.engine.problem_text import (
    TIMER_KINDS,
    code_problem,
    json_schema_problem,
    schema_message,
    timer_event,
    timer_lead,
    xml_syntax,
)
from service.engine.references import check_references, decision_ids
from service.engine.scripting import (
    ScriptRejected,
    Scripts,
    compile_expression,
    compile_script,
)
from service.engine.timers import ServiceBpmnParser

logging.getLogger("spiff").setLevel(logging.WARNING)

BPMN_NS = "http://www.omg.org/spec/BPMN/20100524/MODEL"
SPIFF_NS = "http://spiffworkflow.org/bpmn/schema/1.0/core"
DMN_NS = "https://www.omg.org/spec/DMN/20191111/MODEL/"
COMMON_FORM = "forms/common.schema.json"
POLICY_FILE = "rules/policy.json"
FORMS_BASE_URI = "https://forms.memberflow.invalid/"
VIDEO = "video/"  # an upload field whose x-accept names a video type takes videos


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a designer's file."""

    file: str
    element: str | None
    line: int | None
    message: str

    def __str__(self) -> str:
        where = self.file
        if self.line:
            where += f":{self.line}"
        if self.element:
            where += f" [{self.element}]"
        return f"{where}: {self.message}"


class DefinitionError(Exception):
    """The process files have problems; each names file, element and line."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


@dataclass(frozen=True)
class UserTaskInfo:
    """What the service needs to know about one user task of a diagram."""

    id: str
    title: str
    lane: str
    role: str
    status: str
    form: dict
    fields: dict = field(default_factory=dict)
    file_fields: frozenset = frozenset()
    past_fields: frozenset = frozenset()  # dates that may not be after today
    birth_fields: frozenset = frozenset()  # dates that may not precede the person's birth
    mobile_fields: frozenset = frozenset()  # kept as their 11 digits
    video_fields: frozenset = frozenset()  # the file fields whose x-accept takes a video
    image_fields: frozenset = frozenset()  # the file fields whose x-accept takes images alone
    video_only_fields: frozenset = frozenset()  # … and those whose x-accept takes videos alone
    runs_rules: bool = False
    bill: str | None = None  # "pay": the unit pays the form's bill here; "confirm": finance


# the `bill` property: a user task pays or confirms the form's bill, an end event voids it
BILL_VALUES = {"UserTask": ("pay", "confirm"), "EndEvent": ("void",)}


@dataclass(frozen=True)
class Definition:
    """One parsed, validated definition version of a process; read-only once built.

    Every app and instance of the version shares it (see build_definition).
    """

    key: str
    name: str
    digest: str
    files: dict[str, str]
    spec: Any
    subprocess_specs: dict
    scripts: Scripts  # the helpers; `scripts.engine(now)` runs code on a clock
    policy: dict[str, Any]
    start_form: dict
    start_role: str | None
    business_key_prefix: str
    user_tasks: dict[str, UserTaskInfo]
    end_status: dict[str, str]
    lanes: list[str]
    start_props: dict[str, str] = field(default_factory=dict)
    start_fields: dict = field(default_factory=dict)
    start_file_fields: frozenset = frozenset()
    start_past_fields: frozenset = frozenset()  # dates that may not be after today
    start_birth_fields: frozenset = frozenset()  # dates that may not precede the birth date
    start_mobile_fields: frozenset = frozenset()  # kept as their 11 digits
    start_video_fields: frozenset = frozenset()
    start_image_fields: frozenset = frozenset()
    start_video_only_fields: frozenset = frozenset()
    validators: dict[str, Draft202012Validator] = field(default_factory=dict)
    # the same forms compiled for a quick "is it valid" (formats.quick_validator)
    quick: dict[str, jsonschema_rs.Validator] = field(default_factory=dict)
    registry: Registry | None = None
    start_roles: frozenset = frozenset()
    wait_status: dict[str, str] = field(default_factory=dict)
    correlations: dict[str, str] = field(default_factory=dict)
    decisions: Decisions | None = None
    end_bills: dict[str, str] = field(default_factory=dict)  # end event -> "void"
    declarations: Declarations = field(default_factory=Declarations)  # see declarations.py
    flow: tuple[str, ...] = ()  # the user tasks in the order the flow reaches them (flow_order)

    @property
    def eligibility_decision(self) -> str | None:
        """The DMN decision that checks each person on a form, if the process has one."""
        return self.start_props.get("eligibility_decision")

    @property
    def bill_kind(self) -> str | None:
        return self.start_props.get("bill_kind")

    @property
    def bpmn(self) -> str:
        """The process's BPMN text (a shared type's: rendered from its template)."""
        own = self.files.get(f"processes/{self.key}.bpmn")
        return own if own is not None else shared.render(self.key, self.files)

    @property
    def bpmn_file(self) -> str:
        """The BPMN file a designer edits for this process (a shared type's template)."""
        return bpmn_file_of(self.key, self.files)


def bpmn_file_of(key: str, files: dict[str, str]) -> str:
    """The BPMN file of a process's files: its own, or the template a shared type names."""
    variant = files.get(shared.variant_name(key))
    if variant is not None:
        try:
            return shared.template_of(key, variant)
        except shared.TemplateProblem:
            return shared.variant_name(key)
    return f"processes/{key}.bpmn"


def _expanded(key: str, files: dict[str, str], problems: list[Problem]) -> dict[str, str]:
    """The files as the parser reads them: a shared type's BPMN rendered in place of its
    `.shared.json` and template (engine/shared.py)."""
    variant = shared.variant_name(key)
    if variant not in files:
        return files
    out = {
        n: t for n, t in files.items() if n != variant and not n.startswith(shared.SHARED_FOLDER)
    }
    try:
        out[f"processes/{key}.bpmn"] = shared.render(key, files)
    except shared.TemplateProblem as exc:
        problems.append(Problem(exc.file, None, exc.line, exc.message))
    return out


def digest_of(files: dict[str, str]) -> str:
    """The content hash of a set of files (names and contents)."""
    h = hashlib.sha256()
    for name in sorted(files):
        h.update(name.encode() + b"\0" + files[name].encode() + b"\0")
    return h.hexdigest()


# a DTD or entity declaration: no BPMN or DMN file needs one, and a bundle's upload refuses
# it (deploy._read_text); the folders `check` and `deploy --from` read refuse it the same way
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
DTD_REFUSED = "不允许包含 DTD 或实体声明"


def _parse_xml(name: str, text: str, problems: list[Problem]):
    declared = _DTD.search(text)
    if declared:
        line = text.count("\n", 0, declared.start()) + 1
        problems.append(Problem(name, None, line, DTD_REFUSED))
        return None
    try:
        return etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError as exc:
        problems.append(Problem(name, None, exc.lineno, xml_syntax(exc.msg)))
        return None


def _own_properties(el) -> dict[str, str]:
    """The spiffworkflow properties of this element itself (not of nested elements)."""
    props = {}
    ext = el.find(f"{{{BPMN_NS}}}extensionElements")
    if ext is not None:
        for prop in ext.iterfind(f"{{{SPIFF_NS}}}properties/{{{SPIFF_NS}}}property"):
            props[prop.get("name")] = prop.get("value")
    return props


def _check_code(name, el, text, kind, problems, owner=None, lead: str = "") -> None:
    """Compile one expression or script in the sandbox; record a refusal, naming the element
    `owner` (default: the nearest with an id) and starting the message with `lead`."""
    text = (text or "").strip()
    if not text:
        return
    owner = el if owner is None else owner
    while owner is not None and owner.get("id") is None:
        owner = owner.getparent()
    element = owner.get("id") if owner is not None else None
    try:
        if kind == "script":
            compile_script(text)
        elif kind == "entry":
            try:
                compile_expression(text.replace("?", "dmninputexpr"))
            except (ScriptRejected, SyntaxError):
                compile_expression("dmninputexpr " + text)
        else:
            compile_expression(text)
    except (ScriptRejected, SyntaxError) as exc:
        problems.append(Problem(name, element, el.sourceline, lead + code_problem(exc)))


def _check_bpmn_xml(name: str, root, problems: list[Problem]) -> None:
    for tag in ("conditionExpression", "script"):
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            _check_code(name, el, el.text, "script" if tag == "script" else "expr", problems)
    for tag in TIMER_KINDS:  # named by their event (names.py checks the names they read)
        for el in root.iter(f"{{{BPMN_NS}}}{tag}"):
            _check_code(name, el, el.text, "expr", problems, timer_event(el), timer_lead(el))
    for tag in ("preScript", "postScript"):
        for el in root.iter(f"{{{SPIFF_NS}}}{tag}"):
            _check_code(name, el, el.text, "script", problems)
    for gw in root.iter(f"{{{BPMN_NS}}}exclusiveGateway"):
        outgoing = gw.findall(f"{{{BPMN_NS}}}outgoing")
        if len(outgoing) > 1 and not gw.get("default"):
            problems.append(
                Problem(
                    name,
                    gw.get("id"),
                    gw.sourceline,
                    "排他网关有多条出口时必须设置默认流向（default）",
                )
            )


def _check_dmn_xml(name: str, root, problems: list[Problem]) -> None:
    for el in root.iter(f"{{{DMN_NS}}}inputEntry"):
        text = el.findtext(f"{{{DMN_NS}}}text")
        _check_code(name, el, text, "entry", problems)
    for tag in ("outputEntry", "inputExpression"):
        for el in root.iter(f"{{{DMN_NS}}}{tag}"):
            _check_code(name, el, el.findtext(f"{{{DMN_NS}}}text"), "expr", problems)


def _form_registry(files: dict[str, str], problems: list[Problem]) -> dict[str, dict]:
    forms = {}
    for name, text in files.items():
        if not name.startswith("forms/"):
            continue
        try:
            schema = json_files.read(text)
            Draft202012Validator.check_schema(schema)
        except json_files.JsonFileProblem as exc:
            problems.append(Problem(name, None, exc.line, exc.message))
            continue
        except SchemaError as exc:
            problems.append(
                Problem(
                    name,
                    "/".join(map(str, exc.path)) or None,
                    None,
                    json_schema_problem(list(exc.path), exc.instance, exc.validator),
                )
            )
            continue
        # refs between form files are relative to the file, as a designer writes them
        schema.setdefault("$id", FORMS_BASE_URI + name.removeprefix("forms/"))
        forms[name] = schema
    return forms


_BUILT: dict[str, Definition] = {}  # content hash -> definition, parsed once per process
_BUILT_LOCK = threading.Lock()
_BUILT_MAX = 64


def build_definition(
    key: str, files: dict[str, str], known_decisions: frozenset[str] | None = None
) -> Definition:
    """Parse and validate one process from its files; DefinitionError lists the problems.

    `known_decisions` are every decision id in rules/ (a missing table's message lists them);
    by default those of the process's own files.

    The same files are parsed once per process: a Definition is read-only once built, so
    every app (and every old version's rebuild) of this process shares it.
    """
    digest = digest_of({**files, "\0key": key})
    built = _BUILT.get(digest)
    if built is not None:
        return built
    built = _build_definition(key, files, known_decisions)
    with _BUILT_LOCK:
        if len(_BUILT) >= _BUILT_MAX:
            _BUILT.pop(next(iter(_BUILT)))
        _BUILT[digest] = built
    return built


def _build_definition(
    key: str, files: dict[str, str], known_decisions: frozenset[str] | None = None
) -> Definition:
    return _assemble(key, files, _parse(key, files, known_decisions))


@dataclass(frozen=True)
class _Parsed:
    """What a process's files give before its definition is assembled from them."""

    parser: ServiceBpmnParser
    spec: Any
    subprocess_specs: dict
    root: Any  # the BPMN file's XML
    lines: dict[str, int]  # element id -> line in the BPMN file
    policy: dict[str, Any]
    forms: dict[str, dict]  # form file -> its JSON Schema
    bpmn_name: str  # the BPMN file problems name (a shared type's template)


def _parse(key: str, files: dict[str, str], known_decisions=None) -> _Parsed:
    """Parse the diagrams, decision tables, policy and forms; DefinitionError lists mistakes."""
    problems: list[Problem] = []
    bpmn_name = bpmn_file_of(key, files)
    parser = ServiceBpmnParser(validator=VALIDATOR)
    root = _add_diagrams(parser, _expanded(key, files, problems), problems, bpmn_name)
    if root is not None:
        if known_decisions is None:
            known_decisions = decision_ids(t for n, t in files.items() if n.endswith(".dmn"))
        problems += [
            Problem(bpmn_name, element, line, message)
            for element, line, message in check_references(root, known_decisions)
        ]
    policy = _read_policy(files, problems)
    forms = _form_registry(files, problems)
    if root is None or problems:
        raise DefinitionError(problems or [Problem(bpmn_name, None, None, "缺少流程文件")])
    if key not in parser.get_process_ids():
        raise DefinitionError([Problem(bpmn_name, key, None, f"流程 id 必须与文件名相同：{key}")])
    try:
        spec = parser.get_spec(key)
        subprocess_specs = parser.get_subprocess_specs(key)
    except ValidationException as exc:
        raise DefinitionError([_validation_problem(exc, bpmn_name)]) from exc
    _connect_loop_merges(spec, subprocess_specs)
    lines = {el.get("id"): el.sourceline for el in root.iter() if el.get("id")}
    return _Parsed(parser, spec, subprocess_specs, root, lines, policy, forms, bpmn_name)


def _connect_loop_merges(spec, subprocess_specs: dict) -> None:
    """Let every multi-instance (and loop) task merge each finished instance, from the start.

    A multi-instance task learns that one of its instances finished through a callback on
    the instance's spec, which SpiffWorkflow connects only when the task creates an
    instance in this process (or when it deserializes a spec with the state; ours is kept
    out). A process that loads a state whose instances another process created (another
    worker, the server after a restart) never merged them: a learning branch whose person
    passed ended, but the form's call activity waited forever and the form never finished.
    Connected here, once per parsed spec, as SpiffWorkflow's own spec converter does.
    """
    for process in (spec, *subprocess_specs.values()):
        for task_spec in process.task_specs.values():
            if isinstance(task_spec, LoopTask):
                child = process.task_specs[task_spec.task_spec]
                if not child.completed_event.is_connected(task_spec.merge_child):
                    child.completed_event.connect(task_spec.merge_child)


def _validation_problem(exc: ValidationException, name: str, root=None) -> Problem:
    """SpiffWorkflow's validation error as a problem of the file it names (else `name`), in
    Chinese where it is a schema check's; without an element, the one with an id at its
    line or around it in `root` (the file's XML), when given."""
    message = schema_message(str(exc))
    line = exc.line_number or None
    element = exc.id or (_element_at(root, line) if root is not None and line else None)
    return Problem(exc.file_name or name, element, line, message)


def _element_at(root, line: int) -> str | None:
    """The id of the element at `line`, or of the nearest one around it that has an id."""
    found = None
    for el in root.iter():
        if not isinstance(el.tag, str) or el.sourceline is None or el.sourceline > line:
            continue
        if el.sourceline == line and el.get("id"):
            return el.get("id")
        holder = el
        while holder is not None and holder.get("id") is None:
            holder = holder.getparent()
        if holder is not None:
            found = holder.get("id")
    return found


def _add_diagrams(
    parser: ServiceBpmnParser, files: dict[str, str], problems: list[Problem], bpmn_name: str
):
    """Check each BPMN and DMN file and give it to the parser; the BPMN's XML (None: none).
    The BPMN's problems name `bpmn_name` (a shared type's template)."""
    root = None
    for name in sorted(files):
        if not name.endswith((".bpmn", ".dmn")):
            continue
        shown = bpmn_name if name.endswith(".bpmn") else name
        tree = _parse_xml(shown, files[name], problems)
        if tree is None:
            continue
        try:
            if name.endswith(".bpmn"):
                root = tree
                _check_bpmn_xml(shown, tree, problems)
                parser.add_bpmn_xml(etree.ElementTree(tree), filename=shown)
            else:
                _check_dmn_xml(name, tree, problems)
                parser.add_dmn_xml(tree, filename=name)
        except ValidationException as exc:
            problems.append(_validation_problem(exc, shown, tree))
    return root


def _read_policy(files: dict[str, str], problems: list[Problem]) -> dict[str, Any]:
    """The policy parameters (rules/policy.json) as name -> value."""
    if POLICY_FILE not in files:
        return {}
    text = files[POLICY_FILE]
    try:
        entries = json_files.read(text)
    except json_files.JsonFileProblem as exc:
        problems.append(Problem(POLICY_FILE, None, exc.line, exc.message))
        return {}
    if not isinstance(entries, dict):
        problems.append(
            Problem(POLICY_FILE, None, 1, '政策参数文件应为一个对象：参数名 → {"value": …}')
        )
        return {}
    values, bad = {}, False
    for name, entry in entries.items():
        if isinstance(entry, dict) and "value" in entry:
            values[name] = entry["value"]
            continue
        bad = True
        line = next((i for i, row in enumerate(text.splitlines(), 1) if f'"{name}"' in row), None)
        problems.append(
            Problem(
                POLICY_FILE,
                name,
                line,
                f'政策参数“{name}”格式错误：每项应为 {{"value": …, "description": …}}',
            )
        )
    return {} if bad else values


def _declarations(bpmn_name: str, root, start_fields: dict) -> Declarations:
    """The business type's declarations in its BPMN; DefinitionError names each mistake."""
    declarations, found = read_declarations(root)
    found += check_blank_fields(declarations, start_fields)
    if found:
        raise DefinitionError([Problem(bpmn_name, f.element, f.line, f.message) for f in found])
    return declarations


def _check_declarations(definitions: dict[str, Definition], problems: list[Problem]) -> None:
    """What every process in the folders must declare, and what only one may."""
    joins = []
    for key, defn in sorted(definitions.items()):
        bpmn_name = defn.bpmn_file
        for f in check_required(key, defn.declarations):
            problems.append(Problem(bpmn_name, f.element, f.line, f.message))
        if defn.declarations.join_code:
            joins.append((bpmn_name, key, defn.declarations.lines.get("join_code")))
    if len(joins) > 1:
        keys = "、".join(key for _, key, _ in joins)
        for bpmn_name, key, line in joins:
            problems.append(
                Problem(bpmn_name, key, line, f"只能有一个流程声明 join_code，现有：{keys}")
            )


def _all_specs(spec, subprocess_specs):
    """Every task spec of the process, including those of its sub-processes."""
    yield from spec.task_specs.values()
    for sub in subprocess_specs.values():
        yield from sub.task_specs.values()


def _assemble(key: str, files: dict[str, str], parsed: _Parsed) -> Definition:
    """Check what the parsed files say and build the definition, read-only from then on."""
    bpmn_name = parsed.bpmn_name
    problems: list[Problem] = []
    lanes = _lanes(parsed.spec, bpmn_name, parsed.root, problems)
    wait_status, correlations = _element_properties(parsed.root)
    tasks = _read_tasks(key, parsed, problems)
    if problems:
        raise DefinitionError(problems)
    registry = Registry().with_resources(
        (schema["$id"], DRAFT202012.create_resource(schema)) for schema in parsed.forms.values()
    )
    schemas = {"start": tasks.start_form, **{t.id: t.form for t in tasks.user_tasks.values()}}
    validators, quick, resolved = _compile_forms(key, schemas, registry, files)
    user_tasks = _with_forms(tasks.user_tasks, resolved, registry, parsed)
    start_fields = properties_of(resolved["start"], None)
    start_role, start_props = tasks.start_role, tasks.start_props
    roles = {r.strip() for r in start_props.get("start_roles", "").split(",") if r.strip()}
    scripts = Scripts(policy_helpers(parsed.policy))
    decisions = _decisions(bpmn_name, parsed.parser, scripts, start_props)
    declarations = _declarations(bpmn_name, parsed.root, start_fields)
    return Definition(
        key=key,
        name=parsed.root.find(f"{{{BPMN_NS}}}process").get("name") or key,
        digest=digest_of(files),
        files=files,
        spec=parsed.spec,
        subprocess_specs=parsed.subprocess_specs,
        scripts=scripts,
        policy=parsed.policy,
        start_form=resolved["start"],
        start_role=start_role,
        business_key_prefix=tasks.prefix,
        user_tasks=user_tasks,
        end_status=tasks.end_status,
        lanes=lanes,
        start_props=start_props,
        start_fields=start_fields,
        start_file_fields=file_paths_of(tasks.start_form, registry),
        start_past_fields=past_paths_of(tasks.start_form, registry),
        start_birth_fields=birth_paths_of(tasks.start_form, registry),
        start_mobile_fields=mobile_paths_of(tasks.start_form, registry),
        start_video_fields=file_paths_of(tasks.start_form, registry, VIDEO),
        start_image_fields=image_paths_of(tasks.start_form, registry),
        start_video_only_fields=video_only_paths_of(tasks.start_form, registry),
        validators=validators,
        quick=quick,
        registry=registry,
        start_roles=frozenset(roles or ({start_role} if start_role else set())),
        wait_status=wait_status,
        correlations=correlations,
        decisions=decisions,
        end_bills=tasks.end_bills,
        declarations=declarations,
        flow=_walk_flow(parsed.spec, parsed.subprocess_specs, list(user_tasks)),
    )


def _lanes(spec, bpmn_name: str, root, problems: list[Problem]) -> list[str]:
    """The diagram's lanes, each of which must map to a role."""
    lanes = sorted({ts.lane for ts in spec.task_specs.values() if getattr(ts, "lane", None)})
    elements = {el.get("name"): el for el in root.iter(f"{{{BPMN_NS}}}lane")}
    for lane in lanes:
        if role_for_lane(lane) is None:
            el = elements.get(lane)
            problems.append(
                Problem(
                    bpmn_name,
                    el.get("id") if el is not None else None,
                    el.sourceline if el is not None else None,
                    f"泳道“{lane}”没有对应的角色（见 service/domain/roles.py）",
                )
            )
    return lanes


def _element_properties(root) -> tuple[dict[str, str], dict[str, str]]:
    """Wait statuses and correlations, read from the XML: the engine keeps no properties for
    gateways and sub-processes."""
    wait_status: dict[str, str] = {}
    correlations: dict[str, str] = {}
    for el in root.iter():
        element_id = el.get("id")
        if not element_id or not isinstance(el.tag, str):
            continue
        props = _own_properties(el)
        if props.get("correlation"):
            correlations[element_id] = props["correlation"]
        local = etree.QName(el).localname
        if props.get("status") and local not in ("userTask", "endEvent", "startEvent"):
            # a multi-instance activity waits under its own name and as "<id> [child]"
            wait_status[element_id] = wait_status[f"{element_id} [child]"] = props["status"]
    return wait_status, correlations


@dataclass
class _Tasks:
    """What the task specs say: user tasks (forms not yet resolved), start and end events."""

    prefix: str
    start_form: dict = field(default_factory=dict)
    user_tasks: dict[str, UserTaskInfo] = field(default_factory=dict)
    start_role: str | None = None
    start_props: dict[str, str] = field(default_factory=dict)
    end_status: dict[str, str] = field(default_factory=dict)
    end_bills: dict[str, str] = field(default_factory=dict)


def _form_for(key: str, parsed: _Parsed, task_id: str, problems: list[Problem]) -> dict:
    """The form file of one task (start: the start form); a missing file is a problem."""
    name = f"forms/{key}/{task_id}.schema.json"
    if name not in parsed.forms:
        # the file is what is missing: no line of it to name; the task's is the diagram's
        line = parsed.lines.get(task_id)
        where = f"（{parsed.bpmn_name} 第 {line} 行的任务）" if line else ""
        problems.append(Problem(name, task_id, None, f"缺少该任务的表单文件{where}"))
        return {}
    return parsed.forms[name]


def _read_tasks(key: str, parsed: _Parsed, problems: list[Problem]) -> _Tasks:
    """User tasks, the start event and the end events, with their properties checked."""
    bpmn_name = parsed.bpmn_name
    tasks = _Tasks(prefix=key.upper()[:4])
    for ts in _all_specs(parsed.spec, parsed.subprocess_specs):
        kind = type(ts).__name__
        props = (getattr(ts, "extensions", None) or {}).get("properties", {})
        if kind == "UserTask":
            tasks.user_tasks[ts.name] = _user_task(key, ts, props, parsed, problems)
        elif kind == "StartEvent" and ts.name in parsed.lines and ts.name in parsed.spec.task_specs:
            tasks.start_role = role_for_lane(ts.lane)
            tasks.start_props = dict(props)
            tasks.prefix = props.get("business_key_prefix", tasks.prefix)
        elif kind == "EndEvent" and props.get("status"):
            tasks.end_status[ts.name] = props["status"]
            if props.get("bill"):
                tasks.end_bills[ts.name] = props["bill"]
        _check_bill(kind, ts.name, props, bpmn_name, parsed.lines, problems)
    tasks.start_form = _form_for(key, parsed, "start", problems)
    return tasks


def _user_task(key: str, ts, props: dict, parsed: _Parsed, problems: list) -> UserTaskInfo:
    """One user task: in a lane, with the status the unit sees and a form file."""
    bpmn_name, line = parsed.bpmn_name, parsed.lines.get(ts.name)
    if ts.lane is None:
        problems.append(Problem(bpmn_name, ts.name, line, "用户任务必须放在某个泳道中"))
    if not props.get("status"):
        problems.append(
            Problem(bpmn_name, ts.name, line, "用户任务缺少 status 属性（单位看到的状态）")
        )
    return UserTaskInfo(
        ts.name,
        ts.bpmn_name or ts.name,
        ts.lane or "",
        role_for_lane(ts.lane) or "",
        props.get("status", ""),
        _form_for(key, parsed, ts.name, problems),
        bill=props.get("bill"),
    )


def _check_bill(kind: str, element: str, props: dict, bpmn_name: str, lines, problems) -> None:
    """The `bill` property is allowed only where BILL_VALUES says, with those values."""
    allowed = BILL_VALUES.get(kind, ())
    if props.get("bill") and props["bill"] not in allowed:
        problems.append(
            Problem(
                bpmn_name,
                element,
                lines.get(element),
                f"bill 属性“{props['bill']}”无效，此处只能是："
                + ("、".join(allowed) if allowed else "（不能设置 bill）"),
            )
        )


def _where_referenced(files: dict[str, str], default: str, exc: UnresolvableSchema):
    """The form file and line holding the reference that failed (the task's own form first,
    then the shared ones); else the task's form without a line."""
    if exc.ref:
        wanted = json.dumps(exc.ref, ensure_ascii=False)
        for name in [default, *sorted(n for n in files if n.startswith("forms/"))]:
            for number, row in enumerate(files.get(name, "").splitlines(), 1):
                if wanted in row:
                    return name, number
    return default, None


def _compile_forms(key: str, schemas: dict[str, dict], registry: Registry, files_of_forms):
    """For each task's form: the schema with every $ref resolved, a validator of it (what
    clients see; validating it follows no references: twice as fast as the form with its
    $refs to common.schema.json) and its quick check (formats.quick_validator; none for a
    schema jsonschema-rs cannot compile: jsonschema alone checks that form)."""
    problems: list[Problem] = []
    resolved: dict[str, dict] = {}
    for task_id, schema in schemas.items():
        try:
            resolved[task_id] = dereference(schema, registry)
        except UnresolvableSchema as exc:
            name, line = _where_referenced(
                files_of_forms, f"forms/{key}/{task_id}.schema.json", exc
            )
            problems.append(Problem(name, task_id, line, str(exc)))
    if problems:
        raise DefinitionError(problems)
    validators = {
        task_id: FormValidator(schema, format_checker=FORMAT_CHECKER)
        for task_id, schema in resolved.items()
    }
    quick = {}
    for task_id, schema in resolved.items():
        try:
            quick[task_id] = quick_validator(schema)
        except (ValueError, re.error, PatternError):
            pass
    return validators, quick, resolved


def _with_forms(user_tasks: dict, resolved: dict, registry: Registry, parsed: _Parsed) -> dict:
    """The user tasks with their resolved forms, form fields, file fields and whether rules
    run after them."""
    spec, subprocess_specs = parsed.spec, parsed.subprocess_specs
    return {
        name: replace(
            info,
            form=resolved[name],  # what clients see: self-contained, no $ref to follow
            fields=properties_of(resolved[name], None),
            file_fields=file_paths_of(info.form, registry),
            past_fields=past_paths_of(info.form, registry),
            birth_fields=birth_paths_of(info.form, registry),
            mobile_fields=mobile_paths_of(info.form, registry),
            video_fields=file_paths_of(info.form, registry, VIDEO),
            image_fields=image_paths_of(info.form, registry),
            video_only_fields=video_only_paths_of(info.form, registry),
            runs_rules=_rules_follow(spec.task_specs[name], spec, subprocess_specs),
        )
        for name, info in user_tasks.items()
    }


def _decisions(bpmn_name: str, parser, scripts: Scripts, start_props: dict) -> Decisions:
    """The DMN decisions of the files; the start's eligibility_decision must be one of them."""
    decisions = decisions_from_parser(parser, scripts)
    decision = start_props.get("eligibility_decision")
    if decision and decision not in decisions:
        raise DefinitionError(
            [
                Problem(
                    bpmn_name,
                    "start_event",
                    None,
                    f"eligibility_decision 指向的规则表 {decision} 不存在",
                )
            ]
        )
    return decisions


def flow_order(defn: Definition) -> list[str]:
    """The user tasks of a definition in the order its flow reaches them from the start, not
    the file's order: the order people meet the steps in (walked once, when it was built)."""
    return list(defn.flow)


def _walk_flow(spec, subprocess_specs: dict, user_tasks: list[str]) -> tuple[str, ...]:
    """`user_tasks` in the order a breadth-first walk of the sequence flows from the start
    reaches them (sub-processes' tasks where they are entered); any it never reaches last."""
    wanted, found = set(user_tasks), []
    seen, queue = set(), deque([spec.start])
    while queue:
        current = queue.popleft()
        if current.name in seen:
            continue
        seen.add(current.name)
        if current.name in wanted:
            found.append(current.name)
        sub = subprocess_specs.get(getattr(current, "spec", None) or "")
        if sub is not None:
            queue.append(sub.start)
        queue.extend(current.outputs)
    return tuple(found + [name for name in user_tasks if name not in seen])


def _rules_follow(task_spec, spec, subprocess_specs) -> bool:
    """Whether a business rule task runs between this user task and the next wait.

    Sub-processes entered on the way count, so facts are fresh for rules inside them.
    """
    seen, stack = set(), list(task_spec.outputs)
    while stack:
        current = stack.pop()
        if current.name in seen:
            continue
        seen.add(current.name)
        kind = type(current).__name__
        if kind == "BusinessRuleTask":
            return True
        child = getattr(current, "task_spec", None)  # a multi-instance activity's child
        if isinstance(child, str) and child in spec.task_specs:
            stack.append(spec.task_specs[child])
        sub = subprocess_specs.get(getattr(current, "spec", None) or "")
        if sub is not None and any(
            type(ts).__name__ == "BusinessRuleTask" for ts in sub.task_specs.values()
        ):
            return True
        if kind not in ("UserTask", "ManualTask"):
            stack.extend(current.outputs)
    return False


def _decisions_in(text: str) -> set[str]:
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return set()
    return {el.get("id") for el in root.iter(f"{{{DMN_NS}}}decision")}


def _called_decisions(text: str) -> set[str]:
    try:
        root = etree.fromstring(text.encode("utf-8"))
    except etree.XMLSyntaxError:
        return set()
    return {(el.text or "").strip() for el in root.iter(f"{{{SPIFF_NS}}}calledDecisionId")}


def collect_files(processes_dir: Path, rules_dir: Path, forms_dir: Path) -> dict[str, dict]:
    """For each process key, the files that make up its definition."""

    def read(path: Path) -> str:
        return path.read_text(encoding="utf-8")

    dmn = {f"rules/{p.name}": read(p) for p in sorted(rules_dir.glob("*.dmn"))}
    decision_files = {d: name for name, text in dmn.items() for d in _decisions_in(text)}
    common = {}
    if (rules_dir / "policy.json").exists():
        common[POLICY_FILE] = read(rules_dir / "policy.json")
    if (forms_dir / "common.schema.json").exists():
        common[COMMON_FORM] = read(forms_dir / "common.schema.json")
    result = {}
    own = [(p.stem, {f"processes/{p.name}": read(p)}) for p in sorted(processes_dir.glob("*.bpmn"))]
    for path in sorted(processes_dir.glob(f"*{shared.SUFFIX}")):
        key = path.name.removesuffix(shared.SUFFIX)
        text = read(path)
        found = {shared.variant_name(key): text}
        try:  # the template it names, from processes/shared/ (a missing one is reported)
            template = shared.template_of(key, text)
            found[template] = read(processes_dir / template.removeprefix("processes/"))
        except (shared.TemplateProblem, OSError):
            pass
        own.append((key, found))
    for key, process_files in sorted(own, key=lambda pair: pair[0]):
        files = {**process_files, **common}
        # the tables its business rule tasks call, and every table named after the process
        # (`<key>_…`: e.g. one its effects or the eligibility listing evaluate)
        try:
            wanted = _called_decisions(_expanded(key, files, [])[f"processes/{key}.bpmn"])
        except KeyError:  # a shared type whose template is wrong: reported when built
            wanted = set()
        wanted |= {d for d in decision_files if d.startswith(f"{key}_")}
        for decision in wanted:
            if decision in decision_files:
                files[decision_files[decision]] = dmn[decision_files[decision]]
        for form in sorted((forms_dir / key).glob("*.json")):
            files[f"forms/{key}/{form.name}"] = read(form)
        result[key] = files
    # DMN files no process calls are still validated.
    called = {name for files in result.values() for name in files}
    for name, text in dmn.items():
        if name not in called:
            result.setdefault("__rules__", {})[name] = text
    return result


# the folders' content hash -> their definitions: read once per process while unchanged
_LOADED: dict[str, dict[str, Definition]] = {}
_LOADED_MAX = 8


def _folders_digest(*folders: Path) -> str:
    """The content hash of every file under the folders (names and bytes)."""
    h = hashlib.sha256()
    for n, folder in enumerate(folders):
        for path in sorted(p for p in folder.rglob("*") if p.is_file()):
            h.update(f"{n}\0{path.relative_to(folder).as_posix()}\0".encode())
            h.update(path.read_bytes() + b"\0")
    return h.hexdigest()


def load_definitions(processes_dir, rules_dir, forms_dir) -> dict[str, Definition]:
    """Parse every process in the folders; DefinitionError lists all problems found.

    Folders read before with the same content give the same definitions at once (read-only,
    as `build_definition`'s): collecting and cross-checking them took 25–50 ms of each app's
    start-up even when every process was parsed before."""
    folders = (Path(processes_dir), Path(rules_dir), Path(forms_dir))
    digest = _folders_digest(*folders)
    loaded = _LOADED.get(digest)
    if loaded is None:
        loaded = _load_definitions(*folders)
        with _BUILT_LOCK:
            if len(_LOADED) >= _LOADED_MAX:
                _LOADED.pop(next(iter(_LOADED)))
            _LOADED[digest] = loaded
    return dict(loaded)


def _load_definitions(processes_dir: Path, rules_dir: Path, forms_dir: Path):
    problems: list[Problem] = []
    definitions: dict[str, Definition] = {}
    collected = collect_files(Path(processes_dir), Path(rules_dir), Path(forms_dir))
    loose = collected.pop("__rules__", {})
    known = frozenset(
        decision_ids(
            {
                name: text
                for files in [*collected.values(), loose]
                for name, text in files.items()
                if name.endswith(".dmn")
            }.values()
        )
    )
    for name, text in loose.items():
        tree = _parse_xml(name, text, problems)
        if tree is not None:
            _check_dmn_xml(name, tree, problems)
    for path in sorted(Path(processes_dir).glob(f"*{shared.SUFFIX}")):
        key = path.name.removesuffix(shared.SUFFIX)
        if (Path(processes_dir) / f"{key}.bpmn").exists():
            problems.append(
                Problem(
                    shared.variant_name(key),
                    key,
                    None,
                    f"{key} 既有自己的 processes/{key}.bpmn 又有 {path.name}：只能保留一个",
                )
            )
    for key, files in collected.items():
        try:
            definitions[key] = build_definition(key, files, known)
        except DefinitionError as exc:
            problems.extend(exc.problems)
    _check_declarations(definitions, problems)
    if problems:  # a shared file (policy.json, a table, a common form) is reported once
        raise DefinitionError(list(dict.fromkeys(problems)))
    return definitions
