"""`memberflow check --walk`: run a process in memory on sample data through every choice.

Each user task is completed with data made from its form (formsample.py), each wait is
ended by delivering its message or firing its timer, and the facts the service would give
the rules come from the caller (`facts`: the same shape as the service's facts). The walk
branches where the outcome can differ: each value of a form field an expression reads
(`decision` = approve / return...), each way out of a wait (message or timer), each
initiator role, and variants of the facts that make each eligibility rule fire (found by
changing one fact at a time to the values the decision table tests). Every branch is
taken once, from the first place it is met, and then the walk goes on with the first
choice everywhere: a return loop is taken once, and the second time round a task takes
the first choice. Each step is saved and restored as the service does per request.

What it reports: every step that raises (script, condition, decision table, timer, a
form no sample satisfies), with the path that led there, and every outgoing flow of a
gateway that no path took.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from SpiffWorkflow.bpmn.specs.event_definitions.message import MessageEventDefinition
from SpiffWorkflow.bpmn.specs.event_definitions.timer import TimerEventDefinition
from SpiffWorkflow.task import TaskState

from service.engine.catalogue import Definition
from service.engine.decisions import unique_overlap
from service.engine.formsample import SampleError, sample_form
from service.engine.runtime import EngineError, Instance
from service.engine.walk_choices import candidates, choice_fields, label, mutate, value_at
from service.engine.walk_map import decisions_after, read_map

FAR_FUTURE = datetime(9000, 1, 1, tzinfo=UTC)  # fires every timer
MAX_PATHS = 200
MAX_STEPS = 80
MAX_FACT_VARIANTS = 16
_TAKEN = TaskState.COMPLETED | TaskState.READY | TaskState.STARTED | TaskState.WAITING
_TAKEN |= TaskState.ERROR

Facts = Callable[[dict], dict]  # the form data so far -> the facts the service adds


@dataclass(frozen=True)
class Step:
    """One choice on a path: the element where it was made, its name, what was chosen."""

    element: str
    name: str
    choice: str

    def __str__(self) -> str:
        return f"{self.name} {self.element}" + (f"（{self.choice}）" if self.choice else "")


@dataclass(frozen=True)
class Finding:
    """A failing step (error) or a flow no path took (warning)."""

    level: str  # "error" / "warning"
    file: str
    element: str | None
    line: int | None
    message: str
    path: tuple[Step, ...] = ()

    def as_dict(self) -> dict:
        return {
            "level": self.level,
            "file": self.file,
            "element": self.element,
            "line": self.line,
            "message": self.message,
            "path": [{"element": s.element, "name": s.name, "choice": s.choice} for s in self.path],
        }


@dataclass
class WalkResult:
    """What the walk of one process found and how far it went."""

    key: str
    paths: int = 0
    steps: int = 0
    capped: bool = False  # stopped at max_paths: some branches were not walked
    flows_taken: int = 0
    gateway_flows: int = 0
    fact_variants: int = 0
    findings: list[Finding] = field(default_factory=list)
    taken: set[str] = field(default_factory=set)  # the sequence flows some path took

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.level == "warning"]


@dataclass(frozen=True)
class _Option:
    key: str  # unique at its element: what the walk remembers as explored
    label: str
    overrides: tuple = ()  # (field, value) pairs for the form
    facts: tuple | None = None  # a fact variant (see walk_choices.mutate); None: keep the path's
    event: str | None = None  # "timer" or "message:<name>"
    element: str | None = None  # the event that waits for it


class _Walker:
    def __init__(self, defn: Definition, facts: Facts, now: datetime, max_paths: int):
        self.defn = defn
        self.facts_of = facts
        self.now = now
        self.today = now.date()
        self.max_paths = max_paths
        self.map = read_map(defn)
        self.result = WalkResult(defn.key)
        self.explored: set[tuple[str, str]] = set()
        self.taken: set[str] = set()
        self.pending: list[tuple] = []
        self.seen_errors: set[tuple] = set()
        self.variants: list[tuple] = []  # fact variants that fail the eligibility table
        self.baseline: tuple = ()
        self.base_samples: dict[str, dict] = {}
        self.trial_failed = False  # a start on some fact variant raised (an error found)
        self.overlaps_seen: set = set()  # the tasks checked, the tables reported

    # -- findings
    def error(self, element: str | None, message: str, path, file: str | None = None) -> None:
        key = (file, element, message)
        if key in self.seen_errors:
            return
        self.seen_errors.add(key)
        line = self.map.lines.get(element) if element and not file else None
        self.result.findings.append(
            Finding("error", file or self.map.file, element, line, message, tuple(path))
        )

    def warn(self, element: str | None, message: str) -> None:
        line = self.map.lines.get(element) if element else None
        self.result.findings.append(Finding("warning", self.map.file, element, line, message))

    def engine_error(self, exc: Exception, path, step: Step | None) -> None:
        cause = exc.__cause__
        spec = getattr(cause, "task_spec", None) or getattr(
            getattr(cause, "task", None), "task_spec", None
        )
        element = getattr(spec, "name", None) or (step.element if step else None)
        text = str(exc) if isinstance(exc, EngineError) else f"{type(exc).__name__}: {exc}"
        # the engine's message repeats the file and element the finding already names
        text = text.split("：", 2)[-1] if text.startswith("流程执行出错：processes/") else text
        name = self.map.names.get(element or "", element)
        self.error(element, f"走到“{name}”时出错：{text}", path)

    def collect(self, inst: Instance) -> None:
        wf = inst.workflow
        workflows = [wf, *wf.subprocesses.values()]
        for w in workflows:
            for task in w.tasks.values():
                parent = task.parent
                if parent is None or not task.state & _TAKEN:
                    continue
                pair = (parent.task_spec.name, task.task_spec.name)
                for flow in self.map.flows.get(pair, ()):
                    self.taken.add(flow)
                if task.state & TaskState.COMPLETED and hasattr(task.task_spec, "dmnEngine"):
                    self.check_unique(task)

    def check_unique(self, task) -> None:
        """A UNIQUE table two of whose rules matched the sample: an error naming the table's
        file and the rules (SpiffWorkflow took the first silently)."""
        if task.id in self.overlaps_seen:
            return
        self.overlaps_seen.add(task.id)
        matched = unique_overlap(task)
        if not matched:
            return
        # a multi-instance task's instances run a spec of their own ("<id> [child]")
        element = task.task_spec.name.removesuffix(" [child]")
        decision = self.map.decision_of.get(element, task.task_spec.dmnEngine.decision_table.id)
        if ("decision", decision) in self.overlaps_seen:  # once a table: fixed, walked again
            return
        self.overlaps_seen.add(("decision", decision))
        file, _line = self.map.decision_places.get(decision, (f"rules/{decision}.dmn", None))
        lines = self.map.rule_lines
        rules = "、".join(
            f"第{r.row_number}条（{r.id}，第{lines.get((decision, r.id), '?')}行）" for r in matched
        )
        self.result.findings.append(
            Finding(
                "error",
                file,
                decision,
                self.map.rule_lines.get((decision, matched[1].id)),
                f"规则表 {decision} 的命中策略为 UNIQUE（只取一条），但走查样例同时符合{rules}："
                f"引擎只取第一条，其余被忽略（在“{self.map.names.get(element, element)}”"
                f" {element} 处）。请让这些规则互斥，或把命中策略改为 COLLECT",
            )
        )

    # -- data
    def start_data(self, option: _Option) -> dict:
        overrides = dict(option.overrides)
        role = overrides.pop("initiator_role", None) or self.default_role()
        data = self.sample("start", overrides)
        for name in self.defn.declarations.blank_fields:
            data.setdefault(name, None)
        data.update(
            submitted_on=self.today.isoformat(),
            process_key=self.defn.key,
            initiator_role=role,
            unit_name="走查样例监理有限公司",
        )
        return data

    def default_role(self) -> str:
        roles = sorted(self.defn.start_roles)
        if "unit_admin" in roles or not roles:
            return "unit_admin"
        return roles[0]

    def facts(self, data: dict, variant: tuple | None) -> dict:
        return mutate(self.facts_of(data), variant)

    def outcome(self, inst: Instance) -> tuple[bool, frozenset]:
        """(reached a user task or a wait, the eligibility reasons given)."""
        reasons: set[str] = set()

        def strings(node):
            if isinstance(node, str):
                reasons.add(node)
            elif isinstance(node, list | tuple):
                for v in node:
                    strings(v)

        for name in self.map.reasons:
            strings(inst.data.get(name))
        return (not inst.finished, frozenset(reasons))

    # -- fact variants
    def trial(self, data: dict, variant: tuple) -> tuple | None:
        """Start on `data` with the fact variant: the outcome (see `outcome`), None if it failed."""
        try:
            inst = Instance.start(self.defn, {**data, **self.facts(data, variant)}, self.now)
        except Exception as exc:  # noqa: BLE001 - reported with its path
            start = self.map.names.get("start_event", "开始")
            self.engine_error(exc, [Step("start_event", start, label(variant))], None)
            self.trial_failed = True
            return None
        self.collect(inst)
        return self.outcome(inst)

    def climb(self, data: dict, base: tuple) -> tuple[tuple, tuple | None]:
        """A fact variant from `base` on which `data` passes the eligibility table, found one
        fact at a time (or the nearest found), and its outcome."""

        def score(outcome):
            return (2, 0) if outcome is None else (0 if outcome[0] else 1, len(outcome[1]))

        best = self.trial(data, base)
        for _ in range(4):
            if best is not None and best[0] and not best[1]:
                break
            tried = [
                (score(o), variant, o)
                for c in candidates(self.map, self.facts(data, base), self.defn.key)
                for variant in [base + (c,)]
                for o in [self.trial(data, variant)]
                if o is not None
            ]
            if not tried:
                break
            tried.sort(key=lambda t: t[0])
            if tried[0][0] >= score(best):
                break
            _, base, best = tried[0]
        return base, best

    def find_variants(self) -> None:
        """The sample's baseline facts, and variants that each make other rules fire."""
        if not self.map.columns:
            return
        data = self.start_data(_Option("", ""))
        base, best = self.climb(data, ())
        self.baseline = base
        # a start that failed is an error of its own, which may be why no sample passed:
        # then no warning that blames the samples
        if (best is None or not best[0] or best[1]) and not self.trial_failed:
            reasons = "、".join(sorted(best[1])) if best else ""
            self.warn(
                "start_event",
                "走查无法生成符合办理条件的样例数据，只走查了不符合条件的路径"
                + (f"（{reasons}）" if reasons else ""),
            )
        known = set(best[1]) if best else set()
        for c in candidates(self.map, self.facts(data, base), self.defn.key):
            if len(self.variants) >= MAX_FACT_VARIANTS:
                break
            variant = base + (c,)
            outcome = self.trial(data, variant)
            if outcome is not None and not outcome[1] <= known:
                known |= outcome[1]
                self.variants.append(variant)
        self.result.fact_variants = len(self.variants)

    def eligible_for(self, option: _Option) -> _Option:
        """The start option with facts on which its own data passes the table, if some do."""
        if not self.map.columns:
            return option
        try:
            data = self.start_data(option)
        except SampleError:
            return option
        outcome = self.trial(data, self.baseline)
        if outcome is None or (outcome[0] and not outcome[1]):
            return option
        variant, best = self.climb(data, self.baseline)
        if best is None or not best[0] or best[1]:
            return option
        return _Option(option.key, option.label, option.overrides, variant, option.event)

    # -- options
    def sample(self, form: str, overrides: dict | None = None, shown: dict | None = None) -> dict:
        schema = self.defn.start_form if form == "start" else self.defn.user_tasks[form].form
        return sample_form(schema, self.defn.validators[form], self.today, overrides, shown)

    def form_options(self, form: str, fields: dict) -> list[_Option]:
        """Each value of a choice field an expression reads, other than the sample's."""
        if form not in self.base_samples:
            try:
                self.base_samples[form] = self.sample(form)
            except SampleError:
                self.base_samples[form] = {}
        base, options = self.base_samples[form], []
        for where, node in choice_fields(fields):
            if where.split(".")[-1] not in self.map.read or node.get("readOnly"):
                continue
            values = [v for v in node.get("enum") or [] if v is not None]
            if node.get("type") == "boolean":
                values = [False, True]
            current = value_at(base, where)
            options += [
                _Option(f"{where}={v}", f"{where}={v}", ((where, v),))
                for v in values
                if v != current
            ]
        return options

    def start_options(self) -> list[_Option]:
        default = _Option("default", label(self.baseline), facts=self.baseline)
        options = [default]
        roles = [r for r in sorted(self.defn.start_roles) if r != self.default_role()]
        options += [
            _Option(f"initiator_role={r}", f"发起人={r}", (("initiator_role", r),), self.baseline)
            for r in roles
        ]
        options += [
            self.eligible_for(_Option(o.key, o.label, o.overrides, self.baseline))
            for o in self.form_options("start", self.defn.start_fields)
        ]
        options += [_Option(label(v), label(v), facts=v) for v in self.variants]
        return options

    def task_options(self, inst: Instance, name: str) -> list[_Option]:
        info = self.defn.user_tasks[name]
        options = [_Option("default", "")]
        options += self.form_options(name, info.fields)
        if self.variants and self.map.eligibility in decisions_after(self.map, name):
            options.append(_Option("ineligible", label(self.variants[0]), facts=self.variants[0]))
        options += self.event_options(inst)
        return options

    def event_options(self, inst: Instance) -> list[_Option]:
        """Each way to end what the instance waits for: a message, or its timers firing."""
        options: dict[str, _Option] = {}
        for task in inst._waiting_tasks():
            definition = task.task_spec.event_definition
            for ev in getattr(definition, "event_definitions", None) or [definition]:
                if isinstance(ev, TimerEventDefinition):
                    key, label = "timer", f"定时器到期：{ev.name}"
                elif isinstance(ev, MessageEventDefinition):
                    key, label = f"message:{ev.name}", f"收到消息：{ev.name}"
                else:
                    continue
                options.setdefault(key, _Option(key, label, event=key, element=task.task_spec.name))
        return sorted(options.values(), key=lambda o: (o.event == "timer", o.key))  # messages first

    # -- running
    def run(self) -> WalkResult:
        self.find_variants()
        starts = self.start_options()
        for option in starts:
            self.explored.add(("start_event", option.key))
        self.pending = [(None, [], Counter(), option) for option in starts]
        while self.pending:
            if self.result.paths >= self.max_paths:
                self.result.capped = True
                break
            state, path, visits, option = self.pending.pop(0)
            self.result.paths += 1
            self.follow(state, list(path), Counter(visits), option)
        self.report_flows()
        return self.result

    def follow(self, state, path: list[Step], visits: Counter, option: _Option) -> None:
        variant = option.facts if option.facts is not None else self.baseline
        inst = None
        if state is None:  # a start
            step = Step("start_event", self.map.names.get("start_event", "开始"), option.label)
            path.append(step)
            try:
                data = self.start_data(option)
                self.result.steps += 1
                inst = Instance.start(self.defn, {**data, **self.facts(data, variant)}, self.now)
            except SampleError as exc:
                self.error("start", str(exc), path, f"forms/{self.defn.key}/start.schema.json")
                return
            except Exception as exc:  # noqa: BLE001 - every failure is a finding
                self.engine_error(exc, path, step)
                return
            self.collect(inst)
        else:
            inst = Instance.load(self.defn, state[0], self.now)
            variant = state[1]
            if not self.apply(inst, state[2], option, path, visits, variant):
                return
            variant = option.facts if option.facts is not None else variant
        for _ in range(MAX_STEPS):
            inst = self.restored(inst, path)
            if inst is None:
                return
            if inst.finished:
                return
            ready = inst.ready_tasks()
            if ready:
                where = ready[0].name
                options = self.task_options(inst, where)
            else:
                options = self.event_options(inst)
                where = "wait:" + ",".join(sorted(o.key for o in options))
                if not options:
                    self.error(None, "流程停住了：没有待办任务，也没有等待的消息或定时器", path)
                    return
            if visits[where] == 0:  # alternatives only the first time round
                snapshot = (inst.dumps(), variant, where)
                for alt in options[1:]:
                    if (where, alt.key) not in self.explored:
                        self.explored.add((where, alt.key))
                        self.pending.append((snapshot, list(path), Counter(visits), alt))
            if not self.apply(inst, where, options[0], path, visits, variant):
                return
        self.error(None, f"路径超过 {MAX_STEPS} 步仍未结束，可能有无法退出的循环", path)

    def restored(self, inst: Instance, path) -> Instance | None:
        """Save and rebuild, as the service does between requests."""
        try:
            return Instance.load(self.defn, inst.dumps(), self.now)
        except Exception as exc:  # noqa: BLE001
            self.error(None, f"流程状态无法保存或恢复：{type(exc).__name__}: {exc}", path)
            return None

    def apply(self, inst, where, option: _Option, path, visits: Counter, variant) -> bool:
        """Take `option` at `where` (a ready task or a wait); False when the step failed."""
        visits[where] += 1
        self.result.steps += 1
        if option.facts is not None:
            variant = option.facts
        if option.event or where.startswith("wait:"):
            event = option.event or ""
            element = option.element or where
            if where.startswith("wait:"):
                step = Step(element, self.map.names.get(element, element), option.label)
            else:
                step = Step(where, self.map.names.get(where, where), option.label)
            path.append(step)
            try:
                if event == "timer":
                    inst.fire_timers(FAR_FUTURE)
                else:
                    name = event.removeprefix("message:")
                    payloads = {  # the shape education/learning.py sends for a pass
                        e["correlation"]: {
                            "id_number": e["correlation"],
                            "completed_hours": "24",
                            "exam_attempts": 1,
                            "passed_on": self.today.isoformat(),
                        }
                        for e in inst.waiting_events()
                        if e["kind"] == "message" and e["name"] == name
                    }
                    inst.deliver_messages(name, payloads)
            except Exception as exc:  # noqa: BLE001
                self.engine_error(exc, path, step)
                return False
            self.collect(inst)
            return True
        task = inst.ready_tasks()[0]
        info = self.defn.user_tasks[where]
        step = Step(where, self.map.names.get(where, where), option.label)
        path.append(step)
        try:
            data = self.sample(where, dict(option.overrides), task.data)
        except SampleError as exc:
            self.error(where, str(exc), path, f"forms/{self.defn.key}/{where}.schema.json")
            return False
        if info.runs_rules:
            data = {**data, **self.facts({**task.data, **data}, variant)}
        try:
            inst.complete(task.id, data)
        except Exception as exc:  # noqa: BLE001
            self.engine_error(exc, path, step)
            self.collect(inst)
            return False
        self.collect(inst)
        return True

    def report_flows(self) -> None:
        m = self.map
        self.result.taken = set(self.taken)
        for gateway, flows in m.gateways.items():
            self.result.gateway_flows += len(flows)
            for flow in flows:
                if flow in self.taken:
                    self.result.flows_taken += 1
                    continue
                target = next((t for (s, t), ids in m.flows.items() if flow in ids), None)
                self.result.findings.append(
                    Finding(
                        "warning",
                        m.file,
                        flow,
                        m.lines.get(flow),
                        f"网关 {gateway}“{m.names.get(gateway, gateway)}”的出口 {flow}"
                        f"“{m.names.get(flow, flow)}”（到 {target}）在走查的任何路径上都没有走到"
                        + ("（已达路径上限，未走完）" if self.result.capped else ""),
                    )
                )


def walk_definition(
    defn: Definition,
    facts: Facts,
    now: datetime | None = None,
    max_paths: int = MAX_PATHS,
) -> WalkResult:
    """Walk one process through every branch once; what failed and what was never taken."""
    return _Walker(defn, facts, now or datetime.now(UTC), max_paths).run()
