"""The designers' JSON files (forms, policy, templates) read for check and deploy.

Python's reader refuses some text without a syntax error: nesting deeper than its stack
(RecursionError) and an integer of more than 4,300 digits (ValueError). And nesting it reads
may still be deeper than the checks that walk a file recursively can follow. Each of these
is a `JsonFileProblem` here, with the line where it can be told, as a syntax error is; a
check or a deploy reports it for its file instead of failing.
"""

from __future__ import annotations

import json
import re

from service.engine.problem_text import json_syntax

MAX_DEPTH = 64  # of objects and arrays (the forms nest about ten deep)
MAX_DIGITS = 4000  # of an integer (Python's own limit is 4,300)
_LONG_NUMBER = re.compile(rf"\d{{{MAX_DIGITS + 1},}}")


class JsonFileProblem(ValueError):
    """What is wrong with a JSON file, said for the designer (`line` None: the whole file)."""

    def __init__(self, line: int | None, message: str):
        super().__init__(message)
        self.line, self.message = line, message


def read(text: str):
    """The file's value; JsonFileProblem when it is no JSON, or JSON too deep or too long."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise JsonFileProblem(exc.lineno, json_syntax(exc.msg, exc.colno)) from exc
    except RecursionError as exc:
        raise JsonFileProblem(None, f"JSON 嵌套层数超过{MAX_DEPTH}层") from exc
    except ValueError as exc:  # an integer past Python's limit
        found = _LONG_NUMBER.search(text)
        line = text.count("\n", 0, found.start()) + 1 if found else None
        raise JsonFileProblem(line, f"JSON 中的数值位数过多（超过 {MAX_DIGITS} 位）") from exc
    if _depth(value) > MAX_DEPTH:
        raise JsonFileProblem(None, f"JSON 嵌套层数超过{MAX_DEPTH}层")
    return value


def _depth(value) -> int:
    """How deep objects and arrays nest in `value` (walked without recursion)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, dict):
            children = node.values()
        elif isinstance(node, list):
            children = node
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:
            break
        stack.extend((child, depth + 1) for child in children)
    return deepest
