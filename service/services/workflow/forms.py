"""Validate form data against a task's JSON Schema and say what is wrong, in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import jsonschema_rs
from jsonschema import Draft202012Validator

from service.domain.dates import DATE_EXAMPLE
from service.domain.errors import FormInvalid
from service.domain.validation import (
    InvalidValue,
    mobile_problem,
    name_problem,
    normalize_mobile,
    shows_nothing,
)
from service.engine.formats import PATTERN_TIMEOUT, quickly_valid
from service.engine.formschema import properties_of, values_at

_TYPE_NAMES = {
    "string": "文本",
    "integer": "整数",
    "number": "数字",
    "object": "对象",
    "array": "列表",
    "boolean": "是/否",
    "null": "空",
}


def _resolve(node, resolver):
    while isinstance(node, dict) and "$ref" in node and resolver is not None:
        extra = {k: v for k, v in node.items() if k != "$ref"}
        resolved = resolver.lookup(node["$ref"])
        node, resolver = {**resolved.contents, **extra}, resolved.resolver
    return node, resolver


def _merged(node, resolver) -> tuple[dict, object]:
    """A schema node with the properties and items of its allOf branches merged in."""
    node, resolver = _resolve(node, resolver)
    if not isinstance(node, dict):
        return {}, resolver
    props = dict(node.get("properties") or {})
    items = node.get("items")
    for sub in node.get("allOf") or []:
        sub, _ = _resolve(sub, resolver)
        if isinstance(sub, dict):
            props.update(sub.get("properties") or {})
            items = items or sub.get("items")
    return {**node, "properties": props, "items": items}, resolver


def _node(props: dict[str, dict], path: list, root=None, registry=None) -> dict:
    """The schema of the field at `path`, stepping into objects and array items."""
    resolver = None
    if root is not None and registry is not None:
        resolver = registry.resolver(base_uri=root.get("$id", ""))
    node: dict = {"properties": props}
    for part in path:
        node, resolver = _merged(node, resolver)
        sub = (node.get("properties") or {}).get(part)
        if sub is None and str(part).isdigit() and isinstance(node.get("items"), dict):
            sub = node["items"]
        node, resolver = _resolve(sub or {}, resolver)
    merged, _ = _merged(node, resolver)
    return merged


def _title(props: dict[str, dict], path: list, root=None, registry=None) -> str:
    node = _node(props, path, root, registry)
    title = node.get("title") or ".".join(map(str, path))
    if len(path) >= 2 and str(path[-2]).isdigit():  # a field of one line of a list
        return f"第{int(path[-2]) + 1}行「{title}」"
    return f"「{title}」"


def _message(err, props, registry, root) -> tuple[str, str]:
    path = [str(p) for p in err.absolute_path]
    schema = err.schema if isinstance(err.schema, dict) else {}
    field = ".".join(path) or schema.get("x-error-field", "_form")
    if err.validator == "pattern" and err.message == PATTERN_TIMEOUT:  # not its x-error
        title = _title(props, path, root, registry) if path else "表单"
        return field, f"{title}的内容过于复杂，无法核对格式，请简化后重新填写"
    if schema.get("x-error"):
        return schema.get("x-error-field", field), schema["x-error"]
    title = _title(props, path, root, registry) if path else "表单"
    if path and err.validator in ("type", "format") and err.instance in (None, ""):
        # left empty (null, or "" from a blank box) where a value is required: as if not given
        return field, _missing(props, path, root, registry)
    if err.validator in ("additionalProperties", "unevaluatedProperties"):
        known = set(props if not path else (_node(props, path, root, registry)["properties"]))
        known |= set(schema.get("properties") or {})
        extra = sorted(set(err.instance) - set(known))
        if not extra:  # only properties of a failing branch: the branch's error says why
            return "", ""
        name = ".".join(path + [extra[0]])
        return name, f"表单中不允许出现字段「{extra[0]}」"
    if err.validator == "enum":
        labels = schema.get("x-labels") or {}
        # the values to send, each with the label a person sees: approve（通过）
        allowed = "、".join(
            f"{v}（{labels[v]}）" if v in labels else str(v)
            for v in err.validator_value
            if v is not None
        )
        return field, f"{title}须为以下之一：{allowed}"
    if err.validator == "const":
        return field, f"{title}的值不正确"
    if err.validator == "format":
        if err.validator_value == "cn-mobile":
            return field, mobile_problem(str(err.instance)) or f"{title}格式不正确"
        if err.validator_value == "person-name":
            return field, f"{title}{name_problem(str(err.instance)) or '填写有误'}"
        if err.validator_value == "date":
            return field, f"{title}应为有效日期，如 {DATE_EXAMPLE}"
        if err.validator_value == "file-id":
            return field, f"{title}应为上传文件后得到的文件编号"
        return field, f"{title}格式不正确"
    if err.validator == "type":
        expected = err.validator_value
        names = "或".join(
            _TYPE_NAMES.get(t, t) for t in (expected if isinstance(expected, list) else [expected])
        )
        return field, f"{title}应为{names}"
    blank = isinstance(err.instance, str) and (
        not err.instance.strip() or shows_nothing(err.instance)
    )
    if err.validator == "minLength" or (err.validator == "pattern" and blank):
        return field, f"请填写{title}"
    if err.validator == "maxLength":
        return field, f"{title}不能超过{err.validator_value}个字"
    if err.validator in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
        return field, f"{title}超出允许范围"
    if err.validator == "anyOf":
        return field, f"{title}未满足任一可选要求"
    return field, f"{title}填写有误"


def _is_file(node: dict) -> bool:
    """A field filled by uploading a file (or a list of them), not by typing."""
    items = node.get("items") if node.get("type") == "array" else None
    return node.get("format") == "file-id" or (
        isinstance(items, dict) and items.get("format") == "file-id"
    )


def _missing(props: dict[str, dict], path: list, root=None, registry=None) -> str:
    """What to say of a required field that was not given: 请上传 a file, 请选择 one of a
    list of values (a select or radio buttons on the page), 请勾选 a box that must be ticked
    (its `x-error` when it has one), 请填写 the rest."""
    node = _node(props, path, root, registry)
    if node.get("type") == "object" and (said := _empty_group(node)):
        return said  # a group of which any one field will do: 请至少填写一项要变更的信息
    if node.get("type") == "boolean" and node.get("const") is True:
        # a box to tick (入会声明): the same words whether it came unticked or not at all
        return node.get("x-error") or f"请勾选{_title(props, path, root, registry)}"
    verb = "请上传" if _is_file(node) else "请选择" if "enum" in node else "请填写"
    return f"{verb}{_title(props, path, root, registry)}"


def _empty_group(node: dict) -> str | None:
    """What a group of fields that needs at least one of them filled (`minProperties` with
    its `x-error`) says when none is: the same whether the group came empty or not at all."""
    for part in (node, *(node.get("allOf") or [])):
        if isinstance(part, dict) and part.get("minProperties") and part.get("x-error"):
            return part["x-error"]
    return None


def _required_leaves(props: dict[str, dict], path: list, validator, registry) -> list[list]:
    """The fields to name for a missing required field at `path`: the field itself, or, for
    a group of fields (an object with required fields of its own, 最高学历 say), each of
    those, so that a page marks the boxes to fill and not the group's frame."""
    node = _node(props, path, validator.schema, registry)
    inner = [str(name) for name in node.get("required") or []]
    if node.get("type") != "object" or not inner:
        return [path]
    return [
        leaf
        for name in inner
        for leaf in _required_leaves(props, [*path, name], validator, registry)
    ]


def _leaves(errors):
    for err in errors:
        if err.context and err.validator not in ("anyOf", "oneOf"):
            yield from _leaves(err.context)
        else:
            yield err


def validate_form(
    validator: Draft202012Validator,
    data: dict,
    registry=None,
    props: dict[str, dict] | None = None,
    quick: jsonschema_rs.Validator | None = None,
) -> None:
    """Raise FormInvalid mapping each failing field to a Chinese message.

    `quick`, the form's quick check (Definition.quick), answers for a valid form; any
    other is checked by `validator`, whose errors are reported (see engine/formats.py).
    """
    if not isinstance(data, dict):
        raise FormInvalid({"_form": "表单数据应为 JSON 对象"})
    if quickly_valid(quick, data):
        return
    props = props if props is not None else properties_of(validator.schema, registry)
    errors: dict[str, str] = {}
    for err in sorted(_leaves(validator.iter_errors(data)), key=lambda e: list(e.path)):
        if err.validator == "required":
            base = [str(p) for p in err.absolute_path]
            for missing in err.validator_value:
                if isinstance(err.instance, dict) and missing not in err.instance:
                    for path in _required_leaves(props, base + [missing], validator, registry):
                        errors.setdefault(
                            ".".join(path), _missing(props, path, validator.schema, registry)
                        )
            continue
        field, message = _message(err, props, registry, validator.schema)
        if field:
            errors.setdefault(field, message)
    if errors:
        raise FormInvalid(errors)


def refuse_future_dates(data: dict, paths: frozenset, props: dict[str, dict], today: date) -> None:
    """Raise FormInvalid naming each date after `today` in a field that may not be (its
    schema says `x-not-after-today`: a birth date, a graduation); `paths` are those fields'
    (Definition.start_past_fields, UserTaskInfo.past_fields), `data` passed its schema."""
    errors: dict[str, str] = {}
    for path in sorted(paths):
        for field, value in values_at(data, path):
            try:
                late = isinstance(value, str) and date.fromisoformat(value) > today
            except ValueError:
                continue
            if late:
                errors[field] = f"{_title(props, field.split('.'))}不能晚于今天"
    if errors:
        raise FormInvalid(errors)


def refuse_dates_before_birth(
    data: dict,
    paths: frozenset,
    props: dict[str, dict],
    born: Callable[[dict], date | None],
    root: dict | None = None,
) -> None:
    """Raise FormInvalid naming each date before the birth date of the person it belongs to,
    in a field that may not precede it (its schema says `x-not-before-birth`: a graduation);
    `paths` are those fields' (Definition.start_birth_fields, UserTaskInfo.birth_fields).
    The person is the nearest object around the field naming an `id_number` (a line of a
    persons list), else the form itself — `root` when given (a task's form read with the
    application's data: its ID number); `born(person)` reads their birth date, None when
    it cannot be known (then nothing is refused)."""
    errors: dict[str, str] = {}
    for path in sorted(paths):
        for field, value in values_at(data, path):
            try:
                day = date.fromisoformat(value) if isinstance(value, str) else None
            except ValueError:
                continue  # the schema's format check says so
            if day is None:
                continue
            parts = field.split(".")
            owner = _person_around(data, parts[:-1])
            birth = born(root if owner is data and root is not None else owner)
            if birth is not None and day < birth:
                errors[field] = f"{_title(props, parts)}不能早于出生日期（{birth.isoformat()}）"
    if errors:
        raise FormInvalid(errors)


def _person_around(data: dict, parts: list[str]) -> dict:
    """The innermost object on the way to a field that names an `id_number`, else `data`."""
    node, found = data, data
    for part in parts:
        node = node[int(part)] if isinstance(node, list) else node[part]
        if isinstance(node, dict) and "id_number" in node:
            found = node
    return found


def normalized_mobiles(data: dict, paths: frozenset) -> dict:
    """`data` with each mobile number in it as its 11 digits ("+86 139-1234-5678" is kept as
    "13912345678"); `paths`: the form's mobile fields (Definition.start_mobile_fields,
    UserTaskInfo.mobile_fields). `data` itself is not changed."""

    def normalized(node, parts: list[str]):
        if not parts:
            try:
                return normalize_mobile(node) if isinstance(node, str) else node
            except InvalidValue:  # the form's check says why
                return node
        head, rest = parts[0], parts[1:]
        if head == "*" and isinstance(node, list):
            return [normalized(item, rest) for item in node]
        if isinstance(node, dict) and head in node:
            return {**node, head: normalized(node[head], rest)}
        return node

    for path in paths:
        data = normalized(data, path.split("."))
    return data
