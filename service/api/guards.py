"""Request guards: what every request must satisfy before a view parses or uses its input.

Run before any view, in this order, so the answer depends on the request and not on which
view it reached:

1. a path holding a NUL byte names nothing (404);
2. an API operation that needs a signed-in caller gets 401 before any input is checked;
3. an API operation takes only the query parameters it documents (422 names the others),
   and a body only of a media type it documents (415: a form or text sent to a JSON
   operation would otherwise be read as an empty body, and a PUT would wipe the record);
4. text (query, form fields, file names, the Idempotency-Key header) holds no NUL byte,
   which no database column can store, and query and form fields no other control
   character but tab, line feed and carriage return: none is typed, and an xlsx export, a
   PDF or an XML file cannot hold one (422 naming the field);
5. a JSON body is at most `MAX_JSON_BYTES` (413); nested at most `MAX_JSON_DEPTH` deep;
   its strings and keys hold no NUL byte or other control character (as in 4.) and no lone
   surrogate (not UTF-8); its numbers are finite and its integers fit the database's
   integer columns (422 naming the field, as the form's own errors do: `name`,
   `persons.0.id_number` inside `{"data": …}`).

Integer path segments are bounded by `PathInt` (beyond the database's integer range the
URL does not exist: 404); integer query parameters by their schemas (`common.Int32`).
"""

from __future__ import annotations

import json
import math
import re

from flask import Flask, request
from werkzeug.routing import IntegerConverter

from service.api.common import actor, invalid_message
from service.domain.errors import FormInvalid, NotFound, TooLarge, UnsupportedMediaType

INT32_MAX = 2**31 - 1
MAX_JSON_BYTES = 1024 * 1024  # 1 MiB: a form of 200 persons is about 100 KB
MAX_JSON_DEPTH = 32
IDEMPOTENCY_KEY_LENGTH = 100  # the column's width
SURROGATE = re.compile("[\ud800-\udfff]")
NUL_MESSAGE = "不能包含空字符（\\u0000）"
# the C0 control characters but tab, line feed and carriage return (XML 1.0 refuses them),
# DEL and the C1 controls (U+0080–U+009F: a NEL, a CSI, invisible and printed as nothing)
CONTROL = re.compile("[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# the bidirectional embeddings, overrides and isolates: a U+202E shows the text after it
# backwards (an agency's name, an address), and no Chinese business text needs one
BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


class PathInt(IntegerConverter):
    """`<int:…>` path segments: only values the database's integer columns can hold."""

    def __init__(self, url_map, fixed_digits=0, min=None, max=None, signed=False):
        super().__init__(url_map, fixed_digits, min, INT32_MAX if max is None else max, signed)


def _control_problem(value: str) -> str | None:
    """What is wrong with a text holding a NUL byte or another control character, if any."""
    if "\x00" in value:
        return NUL_MESSAGE
    found = CONTROL.search(value)
    if found:
        return f"不能包含控制字符（\\u{ord(found.group()):04x}），请删除后重新填写"
    found = BIDI.search(value)
    if found:
        return f"不能包含文字方向控制字符（\\u{ord(found.group()):04x}），请删除后重新填写"
    return None


def _text_problem(value: str) -> str | None:
    problem = _control_problem(value)
    if problem:
        return problem
    if SURROGATE.search(value):
        return "含有无效的字符（单独的代理项 \\ud800–\\udfff），请使用 UTF-8 文本"
    return None


def _check_path() -> None:
    if "\x00" in request.path or any(
        isinstance(v, str) and "\x00" in v for v in (request.view_args or {}).values()
    ):
        raise NotFound("请求的资源不存在")


def _check_fields() -> None:
    """Query parameters, form fields, uploaded files' names and the Idempotency-Key."""
    errors: dict[str, str] = {}
    form = request.mimetype in ("multipart/form-data", "application/x-www-form-urlencoded")
    for source in (request.args, request.form) if form else (request.args,):
        for name, value in source.items(multi=True):
            if problem := _control_problem(name):
                errors["_request"] = "参数名" + problem
            elif problem := _control_problem(value):
                errors[name] = problem
    if form:
        for name, upload in request.files.items(multi=True):
            if "\x00" in (upload.filename or ""):
                errors[name] = "文件名" + NUL_MESSAGE
    key = request.headers.get("Idempotency-Key")
    if key is not None:
        if "\x00" in key:
            errors["Idempotency-Key"] = NUL_MESSAGE
        elif len(key) > IDEMPOTENCY_KEY_LENGTH:
            errors["Idempotency-Key"] = f"不能超过{IDEMPOTENCY_KEY_LENGTH}个字符"
    if errors:
        raise FormInvalid(errors, invalid_message(errors))


class _LongInteger:
    """An integer of more digits than Python reads (its limit: 4,300), kept as a marker for
    `_walk_json` to name its field: refused like any integer out of range, not a 500."""


_LONG_INTEGER = _LongInteger()
_MAX_DIGITS = 4000  # of an integer read at all (out of range long before)


def _integer(text: str):
    return _LONG_INTEGER if len(text) > _MAX_DIGITS else int(text)


class _DuplicateKey(ValueError):
    """A JSON object naming one key twice: which value was meant is not for us to guess
    (Python keeps the last, other parsers the first)."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, object]]) -> dict:
    found = dict(pairs)
    if len(found) != len(pairs):
        seen: set[str] = set()
        raise _DuplicateKey(next(k for k, _ in pairs if k in seen or seen.add(k)))
    return found


def _walk_json(document) -> dict[str, str]:
    """Field errors in a parsed JSON body: depth, text, integers (iteratively: no recursion)."""
    errors: dict[str, str] = {}
    stack = [(document, "", 1)]
    while stack and len(errors) < 20:
        value, path, depth = stack.pop()
        where = path or "_request"
        if depth > MAX_JSON_DEPTH:
            errors[where] = f"嵌套层数超过{MAX_JSON_DEPTH}层"
            continue
        if isinstance(value, dict):
            for key, item in value.items():
                name = f"{path}.{key}" if path else str(key)
                problem = _text_problem(key)
                if problem:
                    errors[where] = "字段名" + problem
                else:
                    stack.append((item, name, depth + 1))
        elif isinstance(value, list):
            stack.extend(
                (item, f"{path}.{i}" if path else str(i), depth + 1) for i, item in enumerate(value)
            )
        elif isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                errors[where] = problem
        elif isinstance(value, int) and not isinstance(value, bool):
            if not -INT32_MAX - 1 <= value <= INT32_MAX:
                errors[where] = f"数值超出范围（{-INT32_MAX - 1}～{INT32_MAX}）"
        elif isinstance(value, float) and not math.isfinite(value):
            errors[where] = "应为有限的数字"
        elif value is _LONG_INTEGER:
            errors[where] = "数值位数过多"
    return errors


def _form_path(path: str) -> str:
    """A field inside `{"data": …}` is named as the form names it (`data.name` → `name`)."""
    return path.removeprefix("data.")


def _check_json() -> None:
    if not request.is_json or request.method in ("GET", "HEAD", "OPTIONS"):
        return
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise TooLarge(f"请求体过大：JSON 请求体不能超过{MAX_JSON_BYTES // 1024 // 1024}MB")
    request.max_content_length = MAX_JSON_BYTES  # a body sent without its length, read capped
    raw = request.get_data(cache=True)
    try:
        document = json.loads(raw, parse_int=_integer, object_pairs_hook=_object)
    except _DuplicateKey as exc:
        said = "（含无效字符）" if _text_problem(exc.key) else f"「{exc.key[:50]}」"
        raise FormInvalid(
            {"_request": f"同一对象中字段{said}出现了两次"},
            f"请求体有误：同一对象中字段{said}出现了两次，请只保留一个",
        ) from exc
    except RecursionError as exc:
        raise FormInvalid(
            {"_request": f"嵌套层数超过{MAX_JSON_DEPTH}层"}, f"请求体嵌套层数超过{MAX_JSON_DEPTH}层"
        ) from exc
    except ValueError:
        return  # not JSON: the view's parser answers 400 with its own message
    errors = {_form_path(k): v for k, v in _walk_json(document).items()}
    if errors:
        raise FormInvalid(errors, invalid_message(errors))


def _check_signed_in(contract) -> None:
    """An operation for signed-in callers authenticates first: 401 before any 422."""
    endpoint = request.endpoint or ""
    if request.method == "OPTIONS":  # answered by Flask itself: which methods the path takes
        return
    if contract.documents(endpoint) and not contract.is_public(endpoint):
        actor()


def _check_query_names(contract) -> None:
    allowed = contract.query_names(request.endpoint or "", request.method)
    if allowed is None:
        return
    # every documented parameter takes one value: ?page=1&page=2 is not read as page=1
    repeated = sorted(k for k in request.args if len(request.args.getlist(k)) > 1)
    if repeated:
        errors = {name: "查询参数只能给出一次" for name in repeated}
        raise FormInvalid(errors, "请求参数有误：查询参数重复 " + "、".join(repeated))
    unknown = sorted(set(request.args) - allowed)
    if unknown:
        hint = "、".join(sorted(allowed)) if allowed else "无"
        errors = {name: f"不支持的查询参数（可用：{hint}）" for name in unknown}
        raise FormInvalid(errors, "请求参数有误：不支持的查询参数 " + "、".join(unknown))


BODY_MESSAGES = {
    "application/json": "请求体应为 JSON（Content-Type: application/json）",
    "multipart/form-data": "请求体应为上传的文件（Content-Type: multipart/form-data）",
}


def _has_body() -> bool:
    length = request.content_length
    if length is None:  # sent in chunks: no length up front
        return "chunked" in request.headers.get("Transfer-Encoding", "").lower()
    return length > 0


def _check_body_type(contract) -> None:
    """A body the operation cannot read is refused, not taken for an empty one."""
    allowed = contract.body_types(request.endpoint or "", request.method)
    if not allowed or not _has_body():
        return
    if request.mimetype in allowed or ("application/json" in allowed and request.is_json):
        return
    kind = min(allowed)
    wanted = BODY_MESSAGES.get(kind, f"请求体的类型应为 {kind}")
    raise UnsupportedMediaType(f"{wanted}，本次请求未做任何更改")


def bound_path_integers(app: Flask) -> None:
    """`<int:…>` in every route added from now on is a `PathInt` (call before adding routes)."""
    app.url_map.converters["int"] = PathInt


def register_guards(app: Flask, contract) -> None:
    """Run the guards before every request (the API's and the pages')."""

    @app.before_request
    def _guard():
        _check_path()
        if request.path.startswith("/api/"):
            _check_signed_in(contract)
            _check_query_names(contract)
            _check_body_type(contract)
        _check_fields()
        _check_json()
