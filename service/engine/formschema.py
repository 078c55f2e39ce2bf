"""What a form schema declares: its fields (following $ref and combinators)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from referencing import Registry
from referencing.jsonschema import DRAFT202012


def properties_of(schema: dict, registry: Registry | None) -> dict[str, dict]:
    """Every top-level property a form schema knows, following $ref and combinators."""
    found: dict[str, dict] = {}
    if registry is None:
        registry = Registry()
    root = registry.resolver(base_uri=schema.get("$id", ""))

    def resolve(node: dict, resolver):
        while isinstance(node, dict) and "$ref" in node:
            extra = {k: v for k, v in node.items() if k != "$ref"}
            resolved = resolver.lookup(node["$ref"])
            node, resolver = {**resolved.contents, **extra}, resolved.resolver
        return node, resolver

    def walk(node: Any, resolver) -> None:
        if not isinstance(node, dict):
            return
        node, resolver = resolve(node, resolver)
        if "$id" in node:
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        for name, sub in (node.get("properties") or {}).items():
            if isinstance(sub, dict) and (name not in found or "title" not in found[name]):
                found[name] = resolve(sub, resolver)[0]
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key, []):
                walk(sub, resolver)
        for key in ("then", "else"):
            walk(node.get(key), resolver)

    walk(schema, root)
    return found


def file_paths_of(
    schema: dict, registry: Registry | None, accepting: str | None = None
) -> frozenset[str]:
    """Paths of every uploaded-file field, nested ones too: `fee_voucher`, `persons.*.diploma`;
    with `accepting` (e.g. `video/`), only those whose `x-accept` names such a type."""

    def wanted(node: dict) -> bool:
        accepted = accepting is None or accepting in str(node.get("x-accept") or "")
        return node.get("format") == "file-id" and accepted

    return paths_of(schema, registry, wanted)


def _one_kind(family: str, extensions: tuple[str, ...]) -> Callable[[dict], bool]:
    """Whether a field is an uploaded file whose `x-accept` names types of one family
    alone (`image/…` or those extensions)."""

    def wanted(node: dict) -> bool:
        accept = [a.strip().lower() for a in str(node.get("x-accept") or "").split(",")]
        accept = [a for a in accept if a]
        return (
            node.get("format") == "file-id"
            and bool(accept)
            and all(a.startswith(family + "/") or a in extensions for a in accept)
        )

    return wanted


def image_paths_of(schema: dict, registry: Registry | None) -> frozenset[str]:
    """Paths of every uploaded-file field that takes images alone: its `x-accept` names
    image types only (`image/*`, `image/png`, `.jpg`), a photo (个人照片, 身份证件人像面)."""
    return paths_of(schema, registry, _one_kind("image", (".jpg", ".jpeg", ".png")))


def video_only_paths_of(schema: dict, registry: Registry | None) -> frozenset[str]:
    """Paths of every uploaded-file field that takes videos alone: its `x-accept` names
    video types only (`video/*`, `video/mp4`, `.mp4`), a 视频证明."""
    return paths_of(schema, registry, _one_kind("video", (".mp4", ".mov")))


def mobile_paths_of(schema: dict, registry: Registry | None) -> frozenset[str]:
    """Paths of every mobile number field (format `cn-mobile`), nested ones too."""
    return paths_of(schema, registry, lambda node: node.get("format") == "cn-mobile")


def past_paths_of(schema: dict, registry: Registry | None) -> frozenset[str]:
    """Paths of every date field that may not be after today (`x-not-after-today`)."""
    return paths_of(schema, registry, lambda node: node.get("x-not-after-today") is True)


def birth_paths_of(schema: dict, registry: Registry | None) -> frozenset[str]:
    """Paths of every date field that may not precede its person's birth date
    (`x-not-before-birth`: a graduation)."""
    return paths_of(schema, registry, lambda node: node.get("x-not-before-birth") is True)


def paths_of(
    schema: dict, registry: Registry | None, wanted: Callable[[dict], bool]
) -> frozenset[str]:
    """Paths of every field whose schema is `wanted`, nested ones too (`persons.*.name`)."""
    if registry is None:
        registry = Registry()
    found: set[str] = set()

    def resolve(node: Any, resolver):
        while isinstance(node, dict) and "$ref" in node:
            extra = {k: v for k, v in node.items() if k != "$ref"}
            resolved = resolver.lookup(node["$ref"])
            node, resolver = {**resolved.contents, **extra}, resolved.resolver
        return node, resolver

    def walk(node: Any, resolver, path: str, depth: int) -> None:
        if not isinstance(node, dict) or depth > 12:
            return
        node, resolver = resolve(node, resolver)
        if "$id" in node:
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        if path and wanted(node):
            found.add(path)
        for name, sub in (node.get("properties") or {}).items():
            walk(sub, resolver, f"{path}.{name}" if path else name, depth + 1)
        if isinstance(node.get("items"), dict):
            walk(node["items"], resolver, f"{path}.*" if path else "*", depth + 1)
        for key in ("allOf", "anyOf", "oneOf"):
            for sub in node.get(key, []):
                walk(sub, resolver, path, depth + 1)
        for key in ("then", "else"):
            walk(node.get(key), resolver, path, depth + 1)

    walk(schema, registry.resolver(base_uri=schema.get("$id", "")), "", 0)
    return frozenset(found)


def values_at(data: Any, path: str) -> list[tuple[str, Any]]:
    """(field path as `a.0.b`, value) for every value a file path reaches in `data`."""
    results: list[tuple[str, Any]] = []

    def walk(node: Any, parts: list[str], where: list[str]) -> None:
        if not parts:
            results.append((".".join(where), node))
            return
        head, rest = parts[0], parts[1:]
        if head == "*":
            if isinstance(node, list):
                for i, item in enumerate(node):
                    walk(item, rest, [*where, str(i)])
        elif isinstance(node, dict) and head in node:
            walk(node[head], rest, [*where, head])

    walk(data, path.split("."), [])
    return results


# keywords whose value is a schema, a list of schemas, or a map of name -> schema
_SCHEMA_KEYWORDS = frozenset(
    {"items", "not", "if", "then", "else", "contains", "propertyNames"}
    | {"additionalProperties", "unevaluatedProperties", "unevaluatedItems"}
)
_SCHEMA_LISTS = frozenset({"allOf", "anyOf", "oneOf", "prefixItems"})
_SCHEMA_MAPS = frozenset({"properties", "patternProperties", "dependentSchemas"})
_DROPPED = frozenset({"$defs", "definitions", "$id", "$anchor", "$comment", "$schema"})
_ANNOTATIONS = ("title", "description", "readOnly", "writeOnly", "default", "examples")
MAX_REF_DEPTH = 32


class UnresolvableSchema(ValueError):
    """A form's $ref cannot be followed (missing target or a reference cycle)."""

    def __init__(self, message: str, ref: str | None = None):
        super().__init__(message)
        self.ref = ref  # the reference that could not be followed, when one was


def dereference(schema: dict, registry: Registry | None) -> dict:
    """The schema with every $ref replaced by its target: self-contained, as clients get it.

    A $ref with sibling keywords becomes the target merged with them; where both constrain
    the same keyword, `allOf` keeps both (the same meaning as draft 2020-12's $ref).
    """
    if registry is None:
        registry = Registry()
    if schema.get("$id"):  # so that a form's refs to itself resolve even when unregistered
        registry = registry.with_resource(schema["$id"], DRAFT202012.create_resource(schema))
    root = registry.resolver(base_uri=schema.get("$id", ""))

    def walk(node: Any, resolver, depth: int) -> Any:
        if not isinstance(node, dict):
            return node
        if depth > MAX_REF_DEPTH:
            raise UnresolvableSchema("表单的 $ref 引用层数过多（可能循环引用）")
        if "$id" in node:
            resolver = resolver.in_subresource(DRAFT202012.create_resource(node))
        out: dict = {}
        for key, value in node.items():
            if key in _DROPPED or key == "$ref":
                continue
            if key in _SCHEMA_KEYWORDS:
                out[key] = walk(value, resolver, depth + 1)
            elif key in _SCHEMA_LISTS and isinstance(value, list):
                out[key] = [walk(v, resolver, depth + 1) for v in value]
            elif key in _SCHEMA_MAPS and isinstance(value, dict):
                out[key] = {k: walk(v, resolver, depth + 1) for k, v in value.items()}
            else:
                out[key] = value
        if "$ref" not in node:
            return out
        try:
            resolved = resolver.lookup(node["$ref"])
        except Exception as exc:  # noqa: BLE001 - referencing raises several kinds
            raise UnresolvableSchema(f"表单引用 {node['$ref']} 找不到", node["$ref"]) from exc
        target = walk(resolved.contents, resolved.resolver, depth + 1)
        if not isinstance(target, dict):  # a boolean schema
            return {"allOf": [target], **out} if out else target
        clash = set(target) & set(out) - set(_ANNOTATIONS) - {k for k in out if k[:2] == "x-"}
        if clash:
            return {"allOf": [target], **out}
        return {**target, **out}

    result = walk(schema, root, 0)
    if "$schema" in schema:
        result["$schema"] = schema["$schema"]
    return result
