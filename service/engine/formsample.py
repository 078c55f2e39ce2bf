"""Sample data for a form, made from its JSON Schema (for `memberflow check --walk`).

A first guess fills the required fields with plausible values (a valid resident ID for
`id_number`, a mobile number for `cn-mobile`, a file id for `file-id`...); the form's own
validator then says what is still wrong (an `if`/`then` branch, an `anyOf`, a field the
chosen variant forbids) and each error is repaired in turn, until the data passes or the
repairs run out. The values chosen for some fields can be fixed beforehand (`overrides`):
the walk sets `decision` to each value of its enum this way.
"""

from __future__ import annotations

import copy
import re
from datetime import date
from typing import Any

from jsonschema import Draft202012Validator

from service.domain.validation import make_resident_id

SAMPLE_ID = make_resident_id("44030819900101151")
FILE_ID = "f" * 32
MAX_REPAIRS = 40
_COMBINATORS = ("allOf", "anyOf", "oneOf", "then", "else")
# strings tried, in order, against a `pattern` no other rule fills
_PATTERN_GUESSES = (
    "示例",
    "sample",
    SAMPLE_ID,
    "13800138000",
    "A1234567",
    "R-1",
    "1",
    "2026-01-01",
)


class SampleError(Exception):
    """No sample satisfies the form; the message says which rule could not be met."""


def _subschemas(node: Any) -> list[dict]:
    """`node` and every schema its combinators hold (for the fields they declare)."""
    if not isinstance(node, dict):
        return []
    found = [node]
    for key in _COMBINATORS:
        value = node.get(key)
        for sub in value if isinstance(value, list) else [value]:
            found += _subschemas(sub)
    return found


def _merged(nodes: list[dict]) -> dict:
    """One schema for a field from all the places that declare it; `not` branches left out."""
    merged: dict = {}
    for node in nodes:
        for sub in _subschemas(node):
            if "not" in sub:
                continue
            for key, value in sub.items():
                if key in _COMBINATORS or key == "properties":
                    continue
                merged.setdefault(key, value)
    return merged


def properties_at(schema: dict, path: list) -> dict[str, list[dict]]:
    """name -> the schemas that declare it, for the object at `path` of the data."""
    nodes = [schema]
    for part in path:
        nxt: list[dict] = []
        for node in nodes:
            for sub in _subschemas(node):
                if isinstance(part, int) or str(part).isdigit():
                    if isinstance(sub.get("items"), dict):
                        nxt.append(sub["items"])
                elif isinstance(sub.get("properties"), dict) and part in sub["properties"]:
                    nxt.append(sub["properties"][part])
        nodes = nxt
    props: dict[str, list[dict]] = {}
    for node in nodes:
        for sub in _subschemas(node):
            for name, value in (sub.get("properties") or {}).items():
                if isinstance(value, dict):
                    props.setdefault(name, []).append(value)
    return props


def _string(name: str, node: dict, today: date) -> str:
    fmt = node.get("format")
    if fmt == "date":
        return today.isoformat()
    if fmt == "date-time":
        return today.isoformat() + "T00:00:00+08:00"
    if fmt == "file-id":
        return FILE_ID
    if fmt == "cn-mobile" or name == "mobile":
        return "13800138000"
    if fmt == "email":
        return "walk@example.com"
    if name == "id_number":
        return SAMPLE_ID
    if name == "name" or name.endswith("_name"):
        return "张三"
    pattern = node.get("pattern")
    for guess in _PATTERN_GUESSES if pattern else ("示例",):
        if pattern and not re.search(pattern, guess):
            continue
        value = guess
        if len(value) < node.get("minLength", 0):
            value = value * node["minLength"]
        return value[: node.get("maxLength", len(value))] if node.get("maxLength") else value
    return "示例"


def sample_value(name: str, nodes: list[dict], today: date, schema: dict, path: list) -> Any:
    """A plausible value for the field `name` declared by `nodes`."""
    node = _merged(nodes)
    if "const" in node:
        return copy.deepcopy(node["const"])
    if node.get("enum"):
        return copy.deepcopy(next((v for v in node["enum"] if v is not None), node["enum"][0]))
    kinds = node.get("type", "string")
    kinds = [kinds] if isinstance(kinds, str) else list(kinds)
    kind = next((k for k in kinds if k != "null"), "null")
    if kind == "object":
        value: dict = {}
        _fill_required(value, schema, [*path, name] if name else path, today)
        return value
    if kind == "array":
        items = node.get("items") if isinstance(node.get("items"), dict) else {}
        count = max(node.get("minItems", 1), 1)
        inner = items.get("enum") or []
        if node.get("uniqueItems") and len(inner) >= count:
            return copy.deepcopy(inner[:count])
        return [sample_value("", [items], today, schema, [*path, name, i]) for i in range(count)]
    if kind == "integer":
        return int(node.get("minimum", 1))
    if kind == "number":
        return node.get("minimum", 1)
    if kind == "boolean":
        return False
    if kind == "null":
        return None
    return _string(name, node, today)


def _fill_required(obj: dict, schema: dict, path: list, today: date) -> None:
    """Give `obj` (the object at `path`) every field that is required wherever it is declared
    unconditionally (not under `if`/`then`: the validator asks for those)."""
    props = properties_at(schema, path)
    nodes = [schema]
    for part in path:
        nodes = [
            (sub.get("items") if isinstance(part, int) else (sub.get("properties") or {}).get(part))
            for node in nodes
            for sub in _unconditional(node)
        ]
        nodes = [n for n in nodes if isinstance(n, dict)]
    for node in nodes:
        for sub in _unconditional(node):
            for field in sub.get("required") or []:
                if field not in obj and field in props:
                    obj[field] = sample_value(field, props[field], today, schema, path)


def _unconditional(node: Any) -> list[dict]:
    if not isinstance(node, dict):
        return []
    found = [node]
    for sub in node.get("allOf") or []:
        found += _unconditional(sub)
    return found


def _set(data: dict, where: str, value: Any) -> None:
    """Set the field at a dotted path (`changes.member_level`, `persons.0.certificate_type`),
    making the objects and list lines on the way."""
    parts: list = [int(p) if p.isdigit() else p for p in where.split(".")]
    node: Any = data
    for part, after in zip(parts, parts[1:], strict=False):
        empty: Any = [] if isinstance(after, int) else {}
        if isinstance(node, list):
            while len(node) <= part:
                node.append(copy.deepcopy(empty))
            node = node[part]
        else:
            if not isinstance(node.get(part), list | dict):
                node[part] = empty
            node = node[part]
    if isinstance(node, list):
        while len(node) <= parts[-1]:
            node.append(None)
    node[parts[-1]] = copy.deepcopy(value)


def _at(data: Any, path: list) -> Any:
    for part in path:
        data = data[part]
    return data


def _repair(data: dict, err, schema: dict, today: date) -> bool:
    """Change `data` so that the error `err` goes away; False if it cannot be repaired."""
    path = list(err.absolute_path)
    validator = err.validator
    if validator == "anyOf" or validator == "oneOf":
        firsts = [e for e in err.context if e.schema_path and e.schema_path[0] == 0]
        return bool(firsts) and all(_repair(data, e, schema, today) for e in firsts[:1])
    if validator == "required":
        obj = _at(data, path)
        props = properties_at(schema, path)
        missing = [n for n in err.validator_value if n not in obj]
        for name in missing:
            obj[name] = sample_value(name, props.get(name, [{}]), today, schema, path)
        return bool(missing)
    if not path:
        if validator in ("unevaluatedProperties", "additionalProperties"):
            known = properties_at(schema, [])
            extra = [k for k in data if k not in known]
            for k in extra:
                del data[k]
            return bool(extra)
        return False
    parent, last = _at(data, path[:-1]), path[-1]
    if validator == "not":
        del parent[last]
        return True
    if validator in ("unevaluatedProperties", "additionalProperties"):
        obj = parent[last]
        known = properties_at(schema, path)
        extra = [k for k in obj if k not in known]
        for k in extra:
            del obj[k]
        return bool(extra)
    if validator == "minProperties":
        obj, props = parent[last], properties_at(schema, path)
        spare = [n for n in props if n not in obj]
        if not spare:
            return False
        obj[spare[0]] = sample_value(spare[0], props[spare[0]], today, schema, path)
        return True
    if validator == "enum":
        parent[last] = copy.deepcopy(next(iter(err.validator_value), None))
        return True
    if validator == "const":
        parent[last] = copy.deepcopy(err.validator_value)
        return True
    if validator == "minItems" and isinstance(parent[last], list):
        props_items = err.schema.get("items") if isinstance(err.schema.get("items"), dict) else {}
        parent[last].append(sample_value("", [props_items], today, schema, path + [0]))
        return True
    name = last if isinstance(last, str) else ""
    nodes = [err.schema] + properties_at(schema, path[:-1]).get(name, [])
    value = sample_value(name, nodes, today, schema, path[:-1])
    if value == parent[last]:
        return False
    parent[last] = value
    return True


def sample_form(
    schema: dict,
    validator: Draft202012Validator,
    today: date,
    overrides: dict | None = None,
    shown: dict | None = None,
) -> dict:
    """Data that passes `validator`, with `overrides` (dotted path -> value) kept;
    SampleError names what fails.

    `shown` are read-only values the form displays from the instance: validated with the
    data, never part of it (the service refuses them in a submission).
    """
    overrides = dict(overrides or {})
    shown = dict(shown or {})
    data: dict = {}
    for where, value in overrides.items():
        _set(data, where, value)
    _fill_required(data, schema, [], today)
    read_only = {
        k for k, nodes in properties_at(schema, []).items() if _merged(nodes).get("readOnly")
    }
    for _ in range(MAX_REPAIRS):
        for k in read_only:
            data.pop(k, None)
        whole = {**{k: v for k, v in shown.items() if k in read_only}, **data}
        errors = sorted(validator.iter_errors(whole), key=lambda e: -len(e.absolute_path))
        errors = [e for e in errors if not (e.absolute_path and e.absolute_path[0] in read_only)]
        if not errors:
            return data
        if not any(_repair(data, e, schema, today) for e in errors[:1]):
            break
        for where, value in overrides.items():  # a repair never undoes a chosen value
            _set(data, where, value)
    whole = {**{k: v for k, v in shown.items() if k in read_only}, **data}
    errors = list(validator.iter_errors(whole))
    if not errors:
        return data
    err = errors[0]
    where = ".".join(map(str, err.absolute_path)) or "表单"
    raise SampleError(f"无法生成满足表单的样例数据（{where}：{err.message}）")


def unsatisfiable_forms(definitions: dict, today: date) -> list[tuple[str, str, str]]:
    """(form file, task id, why) for each form of the definitions that no data satisfies:
    `memberflow check` reports them, since such a task could never be completed."""
    found = []
    for key, defn in sorted(definitions.items()):
        forms = {"start": defn.start_form, **{t: info.form for t, info in defn.user_tasks.items()}}
        for task_id, schema in forms.items():
            validator = defn.validators.get(task_id)
            if validator is None or not schema:
                continue
            try:
                sample_form(schema, validator, today)
            except SampleError as exc:
                found.append((f"forms/{key}/{task_id}.schema.json", task_id, str(exc)))
    return found
