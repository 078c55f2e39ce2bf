"""Choices for `memberflow check --walk` (engine/walk.py): the choice fields of a form, and
variants of the sample facts that each change one fact to a value the eligibility decision
table tests.
"""

from __future__ import annotations

import ast
import copy
from typing import Any

from service.engine.walk_map import ProcessMap, read_names


def choice_fields(fields: dict):
    """(dotted path, schema) of the fields of a form, of its object fields and of the first
    line of its list fields."""
    for name, node in fields.items():
        yield name, node
        if isinstance(node.get("properties"), dict):
            for sub, inner in node["properties"].items():
                yield f"{name}.{sub}", inner
        items = node.get("items")
        if isinstance(items, dict) and isinstance(items.get("properties"), dict):
            for sub, inner in items["properties"].items():
                yield f"{name}.0.{sub}", inner


def value_at(data: Any, where: str) -> Any:
    """The value at a dotted path (`persons.0.certificate_type`), None when absent."""
    for part in where.split("."):
        if isinstance(data, list) and part.isdigit() and int(part) < len(data):
            data = data[int(part)]
        elif isinstance(data, dict):
            data = data.get(part)
        else:
            return None
    return data


def _literals(entries: list[str]) -> list[Any]:
    """Values a column's entries compare with: constants, and each side of a bound."""
    found: list[Any] = []
    for entry in entries:
        if entry in ("", "-"):
            continue
        source = entry.replace("?", "cell")
        for candidate in (source, "cell " + source):
            try:
                tree = ast.parse(candidate, mode="eval")
            except SyntaxError:
                continue
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and not isinstance(node.value, bool):
                    value = node.value
                    if isinstance(value, int | float):
                        found += [value - 1, value, value + 1]
                    elif value is not None:
                        found.append(value)
            break
    return found


def _fact_leaves(facts: dict) -> list[tuple[tuple, Any]]:
    """(path, value) of what may vary: top-level values, a record's facts, and for a map of
    persons (id -> facts) the first person's facts."""
    leaves = []
    for key, value in facts.items():
        if isinstance(value, dict) and value and all(isinstance(v, dict) for v in value.values()):
            first = next(iter(value))
            leaves += [((key, first, k), v) for k, v in value[first].items()]
        elif isinstance(value, dict):  # one record's facts (the unit's)
            leaves += [((key, k), v) for k, v in value.items()]
        else:
            leaves.append(((key,), value))
    return leaves


def candidates(m: ProcessMap, facts: dict, process_key: str) -> list[tuple]:
    """Single-fact changes worth trying: each fact a column of the table reads, set to the
    values that column tests (or flipped, emptied, removed)."""
    found = []
    for path, value in _fact_leaves(facts):
        name = path[-1]
        columns = [e for text, e in m.columns if f'"{name}"' in text or name in read_names(text)]
        if not columns:
            continue
        values: list[Any] = []
        if isinstance(value, bool):
            values = [not value]
        elif isinstance(value, list):
            values = [[process_key]] if not value else [[]]
        elif isinstance(value, dict):
            values = [{}] + [{k: v for k, v in value.items() if k != drop} for drop in value]
        else:
            values = [v for col in columns for v in _literals(col)] + [None]
        for v in values:
            if (v != value or type(v) is not type(value)) and (path, v) not in found:
                found.append((path, v))
    return found


def mutate(facts: dict, variant: tuple | None) -> dict:
    """The facts with the changes of `variant` ((path, value) pairs) applied."""
    if not variant:
        return facts
    facts = copy.deepcopy(facts)
    for path, value in variant:
        node = facts
        for part in path[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
            if node is None:
                break
        if isinstance(node, dict):
            node[path[-1]] = copy.deepcopy(value)
    return facts


def label(variant: tuple | None) -> str:
    if not variant:
        return "样例事实"
    return "事实 " + "，".join(f"{path[-1]}={value!r}" for path, value in variant)
