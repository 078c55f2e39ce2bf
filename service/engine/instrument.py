"""Compiling designer code with a budget: RestrictedPython's checks, plus ticks and guards.

The transformer extends RestrictedPython's policy. Every `while` and `for` body, every
comprehension, function and lambda starts with a call to `_tick_` (the evaluation's
Budget, see budget.py), so no loop or recursion runs past the CPU and memory limits;
`+ * ** << %` become calls to guarded operators that refuse a value too large to build.
A `while` whose condition is a constant and whose body has no way out is refused when
the code is compiled, so `memberflow check` reports it with the file, element and line.
"""

from __future__ import annotations

import ast
from typing import NamedTuple

from RestrictedPython.transformer import RestrictingNodeTransformer

from service.engine.budget import ScriptLimitExceeded, check_format_spec

TICK = "_tick_"
OPERATORS = {
    ast.Add: "_add_",
    ast.Mult: "_mul_",
    ast.Pow: "_pow_",
    ast.LShift: "_lshift_",
    ast.Mod: "_mod_",
}
# nodes by which a loop's body may end the loop (an exception counts: a call may raise)
_WAYS_OUT = (
    ast.Break,
    ast.Return,
    ast.Raise,
    ast.Yield,
    ast.YieldFrom,
    ast.Call,
    ast.Subscript,
    ast.Attribute,
)


class Compiled(NamedTuple):
    """Restricted bytecode and whether it needs a Budget (it has loops or functions)."""

    code: object
    ticks: bool


def _located(new: ast.AST, old: ast.AST) -> ast.AST:
    return ast.fix_missing_locations(ast.copy_location(new, old))


def _tick(node: ast.AST) -> ast.Call:
    return _located(ast.Call(func=ast.Name(TICK, ast.Load()), args=[], keywords=[]), node)


def _obviously_endless(node: ast.While) -> bool:
    """`while True:` (any constant true test) with nothing in its body that could end it."""
    if not (isinstance(node.test, ast.Constant) and node.test.value):
        return False
    return not any(isinstance(n, _WAYS_OUT) for stmt in node.body for n in ast.walk(stmt))


class BudgetedTransformer(RestrictingNodeTransformer):
    """RestrictedPython's policy, with ticks in loops and calls and guarded operators."""

    def _ticked(self, body: list[ast.stmt], node: ast.AST) -> list[ast.stmt]:
        self.used_names[TICK] = True
        return [_located(ast.Expr(_tick(node)), node), *body]

    def visit_While(self, node: ast.While) -> ast.AST:
        if _obviously_endless(node):
            self.error(node, "死循环：while 的条件恒为真，循环体中没有 break、return 或 raise")
        node = super().visit_While(node)
        node.body = self._ticked(node.body, node)
        return node

    def visit_For(self, node: ast.For) -> ast.AST:
        node = super().visit_For(node)
        node.body = self._ticked(node.body, node)
        return node

    def visit_comprehension(self, node: ast.comprehension) -> ast.AST:
        node = super().visit_comprehension(node)
        self.used_names[TICK] = True
        node.ifs.insert(0, _tick(node.iter))
        return node

    def visit_FunctionDef(self, node: ast.FunctionDef) -> ast.AST:
        node = super().visit_FunctionDef(node)
        node.body = self._ticked(node.body, node)
        return node

    def visit_Lambda(self, node: ast.Lambda) -> ast.AST:
        node = super().visit_Lambda(node)
        self.used_names[TICK] = True
        # `_tick_() and body`: the tick returns True, so the lambda returns its body
        node.body = _located(ast.BoolOp(op=ast.And(), values=[_tick(node), node.body]), node)
        return node

    def visit_BinOp(self, node: ast.BinOp) -> ast.AST:
        node = super().visit_BinOp(node)
        guard = OPERATORS.get(type(node.op))
        if guard is None:
            return node
        call = ast.Call(func=ast.Name(guard, ast.Load()), args=[node.left, node.right], keywords=[])
        return _located(call, node)

    def visit_FormattedValue(self, node: ast.FormattedValue) -> ast.AST:
        node = super().visit_FormattedValue(node)
        for part in node.format_spec.values if node.format_spec else ():
            if isinstance(part, ast.FormattedValue):
                self.error(node, "f-string 的格式说明中不允许嵌套 {}")
            elif isinstance(part, ast.Constant) and isinstance(part.value, str):
                try:
                    check_format_spec(part.value)
                except ScriptLimitExceeded as exc:
                    self.error(node, str(exc))
        return node
