"""The sandbox in which BPMN scripts, conditions and DMN cells run.

SpiffWorkflow evaluates every expression with plain ``eval``/``exec`` and full builtins.
Here every piece of designer-written Python is compiled with RestrictedPython and runs
against an explicit registry of helper functions; ``import``, ``open`` and dunder
access fail with a clear message. Each evaluation runs on a budget (about 1 s of CPU,
a bound on memory and on the size of any one value: see budget.py and instrument.py),
writes only into dicts and lists, and gets the policy parameters frozen (frozen.py).

The engine of one run carries its clock: `today()`, `id_facts` without a date and the
duration timers all read the moment the service passed in, never the real clock behind
its back (see `Scripts.engine`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from functools import lru_cache
from types import MappingProxyType, ModuleType
from typing import Any

from RestrictedPython import compile_restricted_eval, compile_restricted_exec
from RestrictedPython.Eval import default_guarded_getitem, default_guarded_getiter
from RestrictedPython.Guards import (
    guarded_iter_unpack_sequence,
    guarded_unpack_sequence,
    safe_builtins,
    safer_getattr,
)
from RestrictedPython.Limits import limited_builtins
from SpiffWorkflow.bpmn.script_engine import PythonScriptEngine
from SpiffWorkflow.bpmn.script_engine.python_environment import BasePythonScriptEngineEnvironment

from service.engine import frozen
from service.engine.budget import (
    Budget,
    guard_method,
    guarded_add,
    guarded_lshift,
    guarded_mod,
    guarded_mul,
    guarded_pow,
)
from service.engine.helpers import dated_helpers
from service.engine.instrument import TICK, BudgetedTransformer, Compiled

SHANGHAI = timezone(timedelta(hours=8))  # the association's business day


class ScriptRejected(Exception):
    """A script uses something the sandbox forbids (import, open, dunder names...)."""


_EXTRA_BUILTINS = {
    name: __builtins__[name] if isinstance(__builtins__, dict) else getattr(__builtins__, name)
    for name in (
        "min",
        "max",
        "sum",
        "any",
        "all",
        "sorted",
        "enumerate",
        "dict",
        "list",
        "reversed",
        "map",
        "filter",
    )
}


def _inplacevar(op: str, x: Any, y: Any) -> Any:
    if op == "+=":
        return guarded_add(x, y)
    if op == "*=":
        return guarded_mul(x, y)
    if op == "-=":
        return x - y
    raise ScriptRejected(f"不支持的运算符 {op}")


_READ_ONLY = (MappingProxyType, tuple, frozenset)
_MUTATORS = frozenset(
    ("append", "extend", "insert", "remove", "pop", "popitem", "clear", "update")
    + ("setdefault", "add", "discard", "sort", "reverse")
)
_READ_ONLY_HINT = "policy(...) 的值是只读的；需要修改时请先复制，如 list(...) 或 dict(...)"


def _guarded_getattr(obj: Any, name: str, default: Any = None) -> Any:
    if name in _MUTATORS and isinstance(obj, _READ_ONLY):
        raise TypeError(f"不能对只读的值调用 {name}：{_READ_ONLY_HINT}")
    return guard_method(obj, name, safer_getattr(obj, name, default))


def _writable(obj: Any) -> Any:
    """The target of an item or attribute assignment: only dicts and lists may change."""
    if type(obj) is dict or type(obj) is list:
        return obj
    if isinstance(obj, _READ_ONLY):
        raise TypeError(f"不能修改只读的值：{_READ_ONLY_HINT}")
    raise TypeError(f"脚本只能修改字典和列表，不能修改 {type(obj).__name__}")


def _blocked_import(*_args: Any, **_kwargs: Any) -> Any:
    raise ScriptRejected("脚本中不允许使用 import；请改用登记的辅助函数")


def _base_globals() -> dict[str, Any]:
    builtins = dict(safe_builtins)
    builtins.update(limited_builtins)
    builtins.update(_EXTRA_BUILTINS)
    builtins["__import__"] = _blocked_import
    builtins["pow"] = guarded_pow
    return {
        "__builtins__": builtins,
        "_getattr_": _guarded_getattr,
        "_getitem_": default_guarded_getitem,
        "_getiter_": default_guarded_getiter,
        "_iter_unpack_sequence_": guarded_iter_unpack_sequence,
        "_unpack_sequence_": guarded_unpack_sequence,
        # item and attribute writes: dicts and lists only (not helpers, not frozen policy)
        "_write_": _writable,
        "_inplacevar_": _inplacevar,
        "_add_": guarded_add,
        "_mul_": guarded_mul,
        "_pow_": guarded_pow,
        "_lshift_": guarded_lshift,
        "_mod_": guarded_mod,
        "_print_": None,
    }


_FORBIDDEN_NAMES = frozenset(
    {
        "open",
        "exec",
        "eval",
        "compile",
        "globals",
        "locals",
        "vars",
        "getattr",
        "setattr",
        "delattr",
        "input",
        "breakpoint",
        "help",
        "exit",
        "quit",
        "__import__",
        "memoryview",
    }
)


def _refuse_forbidden(source: str, mode: str) -> None:
    """Refuse at compile time what would only fail at run time (import, open...)."""
    try:
        tree = ast.parse(source, mode=mode)
    except SyntaxError:
        return  # RestrictedPython reports syntax errors with their line
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            raise ScriptRejected(
                f"Line {node.lineno}: 脚本中不允许使用 import；请改用登记的辅助函数"
            )
        if isinstance(node, ast.Name) and node.id in _FORBIDDEN_NAMES:
            raise ScriptRejected(f"Line {node.lineno}: 脚本中不允许使用 {node.id}")


@lru_cache(maxsize=4096)
def compile_expression(source: str) -> Compiled:
    """Compile one expression in restricted mode; ScriptRejected explains a refusal."""
    _refuse_forbidden(source.strip(), "eval")
    result = compile_restricted_eval(source.strip(), policy=BudgetedTransformer)
    if result.errors:
        raise ScriptRejected("；".join(result.errors))
    return Compiled(result.code, TICK in result.used_names)


@lru_cache(maxsize=1024)
def compile_script(source: str) -> Compiled:
    """Compile one script in restricted mode; ScriptRejected explains a refusal."""
    _refuse_forbidden(source, "exec")
    result = compile_restricted_exec(source, policy=BudgetedTransformer)
    if result.errors:
        raise ScriptRejected("；".join(result.errors))
    return Compiled(result.code, TICK in result.used_names)


# what task data mostly holds: never a callable or a module, kept without asking _clean
_PLAIN = frozenset({str, int, float, bool, type(None)})


def _clean(value: Any) -> bool:
    return not (callable(value) or isinstance(value, ModuleType))


# Facts the service computed for the request that runs the engine (`person_facts`):
# readable by scripts, conditions and rules, never stored in the instance's task data,
# where every task would carry (and deep-copy) a copy of every person's facts.
REQUEST_FACTS: ContextVar[Mapping[str, Any] | None] = ContextVar("request_facts", default=None)


def _request_facts() -> dict[str, Any]:
    facts = REQUEST_FACTS.get()
    return dict(facts) if facts else {}


def _budget(compiled: Compiled, scope: dict[str, Any]) -> Budget | None:
    """A fresh budget for code with loops or functions (straight-line code needs none)."""
    if not compiled.ticks:
        return None
    budget = Budget()
    scope[TICK] = budget.tick
    return budget


class RestrictedEnvironment(BasePythonScriptEngineEnvironment):
    """Task data plus registered helpers, evaluated by RestrictedPython."""

    def __init__(self, helpers: Mapping[str, Callable[..., Any]]):
        super().__init__({**_base_globals(), **helpers})
        self._reserved = set(self.globals)

    def evaluate(self, expression, context, external_context=None):
        compiled = compile_expression(expression)
        scope = {**self.globals, **_request_facts(), **(external_context or {}), **context}
        budget = _budget(compiled, scope)
        watching = frozen.watch()
        try:
            result = eval(compiled.code, scope)  # noqa: S307 - restricted bytecode, guarded globals
        finally:
            thaw = frozen.handed_out(watching)
        if budget is not None:
            budget.check_finished()
        return frozen.thaw(result) if thaw else result

    def execute(self, script, context, external_context=None):
        clash = self._reserved.intersection(context)
        if clash:
            raise ScriptRejected(f"流程数据中的变量名与辅助函数重名：{sorted(clash)}")
        compiled = compile_script(script)
        external = {**_request_facts(), **(external_context or {})}
        scope = {**self.globals, **external, **context}
        budget = _budget(compiled, scope)
        watching = frozen.watch()
        try:
            exec(compiled.code, scope)  # noqa: S102 - restricted bytecode, guarded globals
        finally:
            thaw = frozen.handed_out(watching)
        if budget is not None:
            budget.check_finished()  # before the task data changes: a stopped script leaves none
        for key in list(context):
            if key not in scope:
                del context[key]
        for key, value in scope.items():
            if key in self._reserved or key in external or key.startswith("_"):
                continue
            if type(value) in _PLAIN or _clean(value):
                context[key] = frozen.thaw(value) if thaw else value
        return True


def wall_clock() -> datetime:
    """The real time, as aware UTC: the clock when the caller names none."""
    return datetime.now(UTC)


def iso_today(clock: Callable[[], datetime] = wall_clock) -> str:
    """Today's date in Asia/Shanghai on `clock`, as ISO text (task data stores dates as text)."""
    return clock().astimezone(SHANGHAI).date().isoformat()


@lru_cache(maxsize=4096)
def _syntax_error(expression: str) -> SyntaxError | None:
    """Why `expression` is not Python (None: it parses); asked once per text."""
    try:
        ast.parse(expression)
    except SyntaxError as exc:
        return exc
    return None


class ServiceScriptEngine(PythonScriptEngine):
    """SpiffWorkflow's script engine, restricted, with the clock of one engine run.

    The service's duration timers count from `clock()` (see timers.py).
    """

    def __init__(self, environment: RestrictedEnvironment, clock: Callable[[], datetime]):
        super().__init__(environment=environment)
        self.clock = clock

    def validate(self, expression: str) -> None:
        """SpiffWorkflow's check that `expression` parses (a SyntaxError if not), which its
        DMN engine asks of every cell of a decision at every evaluation (twice for a cell
        such as `< 60`): parsed once per text here, not at each of those calls."""
        error = _syntax_error(expression)
        if error is not None:
            raise SyntaxError(*error.args)


def make_script_engine(
    helpers: Mapping[str, Callable[..., Any]], clock: Callable[[], datetime] = wall_clock
) -> ServiceScriptEngine:
    """A SpiffWorkflow script engine running in the restricted environment."""
    return ServiceScriptEngine(RestrictedEnvironment(helpers), clock)


def _utc(moment: datetime) -> datetime:
    """A naive timestamp is UTC (how the service stores time)."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


@dataclass(frozen=True)
class Scripts:
    """How one definition version runs designer code: its helpers, on the caller's clock."""

    helpers: Mapping[str, Callable[..., Any]]  # those that read no date (policy, money...)

    def engine(self, now: datetime | None = None) -> ServiceScriptEngine:
        """A script engine whose today(), id_facts and timers see `now` (None: the real time)."""
        if now is None:
            clock = wall_clock
        else:
            moment = _utc(now)

            def clock() -> datetime:
                return moment

        dated = dated_helpers(lambda: iso_today(clock))
        return make_script_engine({**self.helpers, **dated}, clock)
