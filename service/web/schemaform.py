"""Forms drawn from the JSON Schemas the API validates with, and read back from a POST.

One source of truth: a designer edits `forms/…schema.json`, and the page follows. The
schema's `title`s label the fields, enums show their `x-labels`, `readOnly` fields are text,
`format: file-id` fields are uploads and arrays of objects are tables. Two annotations of
our own steer the widget: `x-widget` (`buttons`, `textarea`) and `x-accept` (an upload's
`accept`, e.g. `image/*`). Conditional branches (`if`/`then`) apply when the values known
at drawing time satisfy their `if`; a field a branch forbids (`not: {}`) is not drawn. A
field's `default` is its value when the values give none.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from markupsafe import Markup

from service.engine.formats import FormValidator
from service.services.workflow import upload_checks

MAX_ROWS = 200
TEXTAREA_LENGTH = 200
RADIO_OPTIONS = 4
FILE_ACCEPT = "image/jpeg,image/png,application/pdf"
# text fields typed as codes (an ID number, a receipt's number): letters and digits only
CODE_KEYS = frozenset(
    {
        "id_number",
        "registration_number",
        "receipt_code",
        "receipt_number",
        "membership_receipt_code",
        "membership_receipt_number",
    }
)
# A box's `maxlength` counts UTF-16 code units, and a character outside the BMP (𠮷, U+20BB7,
# found in names and addresses) takes two of them: a box limited to a schema's `maxLength`
# would cut a name the server takes (it counts characters) as it is typed, and say nothing.
# A free-text box takes twice as many, and app.js says at the field when what was typed is
# over the limit in characters (data-max-chars); the server refuses it with the field's name.
UNITS_PER_CHARACTER = 2


def box_limit(characters: int, code: bool = False) -> int:
    """The `maxlength` of a box that takes `characters` characters: a code's letters and digits
    are one UTF-16 unit each; any other text may be two units a character."""
    return characters if code else characters * UNITS_PER_CHARACTER


def limit_attributes(characters: int | None, code: bool = False) -> Markup:
    """` maxlength="…" data-max-chars="…"` for a box taking `characters` characters (nothing
    when there is no limit): the browser never cuts short what the server would take."""
    if not characters:
        return Markup("")
    if code:
        return Markup(' maxlength="%d"') % characters
    return Markup(' maxlength="%d" data-max-chars="%d"') % (box_limit(characters), characters)


@dataclass
class Field:
    """One field of a drawn form; `name` is its dotted path (`persons.0.name`)."""

    name: str
    key: str
    title: str
    widget: str
    schema: dict
    required: bool = False
    options: list[tuple[Any, str]] = field(default_factory=list)
    value: Any = None
    error: str | None = None
    description: str | None = None
    children: list[Field] = field(default_factory=list)
    rows: list[list[Field]] = field(default_factory=list)
    row_reasons: dict[int, list[str]] = field(default_factory=dict)
    accept: str | None = None
    capture: str | None = None
    max_length: int | None = None
    nullable: bool = False
    group: int = 0  # which schema node declared it: the decision group is drawn last
    row: int | None = None  # in a table's row: the row's index (第 row + 1 行)
    # the browser's `autocomplete` token, where the person typing fills in their own details
    # (the applicant on the join page: `name`, `tel`, `street-address`); a unit or a reviewer
    # typing someone else's is never offered their own
    autocomplete: str | None = None
    # a group that may be left out whole though some of its fields are starred: 最高学历 in
    # an information change, say (the page says the stars hold only when it is filled)
    optional_group: bool = False

    @property
    def is_code(self) -> bool:
        """Typed as a code: capitals, never corrected, one UTF-16 unit a character."""
        return self.key in CODE_KEYS

    @property
    def limit(self) -> Markup:
        """The box's length attributes (`limit_attributes`)."""
        return limit_attributes(self.max_length, self.is_code)

    @property
    def label(self) -> str:
        """The value as a person reads it (an enum's label)."""
        if self.value is None or self.value == "":
            return ""
        labels = dict(self.options)
        if isinstance(self.value, list):
            return "、".join(str(labels.get(v, v)) for v in self.value)
        if isinstance(self.value, bool):
            return "是" if self.value else "否"
        return str(labels.get(self.value, self.value))


@dataclass
class Form:
    """A drawn form: body fields, and the decision group drawn with the submit buttons."""

    fields: list[Field]
    actions: list[Field]
    title: str | None = None
    description: str | None = None
    errors: list[str] = field(default_factory=list)  # errors no field on the page owns
    # a table row's own errors (a rule's reasons for one person): (the row's name, message
    # naming the row), listed above the form as well as at the row
    row_errors: list[tuple[str, str]] = field(default_factory=list)

    @property
    def buttons(self) -> Field | None:
        return next((f for f in self.actions if f.widget == "buttons"), None)

    def all_fields(self) -> Iterable[Field]:
        yield from self.fields
        yield from self.actions

    @property
    def summary(self) -> list[tuple[str | None, str]]:
        """What to fix, for the box above the form: (field name to link to, message), each
        message naming its field and, in a table, its row (“第1行「专业2」：…”), as the
        message beside the field need not."""
        items: list[tuple[str | None, str]] = [(None, message) for message in self.errors]
        items += self.row_errors
        for f in _walk(self.all_fields()):
            if f.error:
                items.append((f.name, _said_above(f)))
        return items


def _said_above(f: Field) -> str:
    """A field's error as the summary says it: with the field's title, and its row's number
    in a table, unless the message names them already."""
    if f.row is None:
        return f.error if f.title in f.error else f"{f.title}：{f.error}"
    line = f"第{f.row + 1}行"
    if line in f.error:
        return f.error
    return f"{line}：{f.error}" if f.title in f.error else f"{line}「{f.title}」：{f.error}"


def _types(schema: dict) -> list[str]:
    kind = schema.get("type")
    return kind if isinstance(kind, list) else [kind] if kind else []


def _holds(condition: Any, values: dict) -> bool:
    if not isinstance(condition, dict):
        return bool(condition)
    return FormValidator(condition).is_valid(values)


def _merge(old: dict, new: dict) -> dict:
    """Two declarations of one property: the first one's annotations win, constraints add."""
    merged = {**new, **old}
    for key in ("properties",):
        if key in old and key in new:
            merged[key] = {**new[key], **old[key]}
    if "items" in old and "items" in new and isinstance(old["items"], dict):
        merged["items"] = _merge(old["items"], new["items"])
    if new.get("not") == {} or old.get("not") == {}:
        merged["not"] = {}
    return merged


class _Collector:
    """Every property of a schema node with its branches, in drawing order."""

    def __init__(self, values: dict):
        self.values = values
        self.props: dict[str, dict] = {}
        self.required: set[str] = set()
        self.groups: dict[str, int] = {}
        self._group = 0

    def walk(self, node: Any, conditional: bool = False) -> None:
        if not isinstance(node, dict):
            return
        self._group += 1
        group = self._group
        for name, sub in (node.get("properties") or {}).items():
            if not isinstance(sub, dict):
                sub = {} if sub else {"not": {}}
            self.props[name] = _merge(self.props[name], sub) if name in self.props else sub
            self.groups.setdefault(name, group)
        self.required.update(node.get("required") or [])
        for key in ("allOf",):
            for sub in node.get(key) or []:
                self.walk(sub, conditional)
        if "if" in node and _holds(node["if"], self.values):
            self.walk(node.get("then"), True)
        elif "if" in node:
            self.walk(node.get("else"), True)


def collect(schemas: dict | list[dict], values: dict) -> tuple[dict, set, dict]:
    """(properties, required names, declaring group) of one schema, or of several merged."""
    collector = _Collector(values)
    for schema in schemas if isinstance(schemas, list) else [schemas]:
        collector.walk(schema)
    return collector.props, collector.required, collector.groups


def _widget(schema: dict) -> str:
    types = _types(schema)
    if schema.get("readOnly"):
        return "readonly"
    if schema.get("x-widget"):
        return schema["x-widget"]
    if schema.get("format") == "file-id":
        return "file"
    items = schema.get("items")
    if "array" in types or isinstance(items, dict):
        if isinstance(items, dict) and (items.get("properties") or items.get("allOf")):
            return "table"
        return "checkboxes"
    if "object" in types or "properties" in schema:
        return "object"
    if "enum" in schema:
        choices = [v for v in schema["enum"] if v is not None]
        return "radio" if len(choices) <= RADIO_OPTIONS else "select"
    if schema.get("format") == "date":
        return "date"
    if schema.get("format") == "cn-mobile":
        return "tel"
    if "integer" in types or "number" in types:
        return "number"
    if "boolean" in types:
        return "checkbox"
    if (schema.get("maxLength") or 0) >= TEXTAREA_LENGTH:
        return "textarea"
    return "text"


def _options(schema: dict) -> list[tuple[Any, str]]:
    source = schema.get("items") if isinstance(schema.get("items"), dict) else schema
    labels = source.get("x-labels") or {}
    return [(v, str(labels.get(v, v))) for v in source.get("enum") or [] if v is not None]


def _accept(schema: dict) -> str:
    return schema.get("x-accept") or FILE_ACCEPT


def build_fields(
    schemas: dict | list[dict],
    values: dict | None,
    errors: dict | None = None,
    prefix: str = "",
    fixed: dict | None = None,
    only_known: bool = False,
) -> list[Field]:
    """The fields of one object schema (several merged) with their values and errors.

    `fixed` values are drawn as text and never read back; `only_known` keeps only fields
    that have a value (a read-only view of an application).
    """
    values = values if isinstance(values, dict) else {}
    errors = errors or {}
    fixed = fixed or {}
    known = {**values, **fixed}
    props, required, groups = collect(schemas, known)
    # a field the values leave out starts at its schema's `default` (a form drawn afresh):
    # the branches its value selects decide what is drawn and required
    defaults = {
        k: s["default"]
        for k, s in props.items()
        if "default" in s and k not in known and not only_known
    }
    if defaults:
        values = {**values, **defaults}
        known = {**values, **fixed}
        props, required, groups = collect(schemas, known)
    result = []
    for key, schema in props.items():
        if schema.get("not") == {}:
            continue  # forbidden under the values given (e.g. a short join form's fields)
        name = f"{prefix}{key}"
        value = fixed.get(key, values.get(key))
        if only_known and value in (None, "", [], {}):
            continue
        widget = "readonly" if key in fixed else _widget(schema)
        if only_known and widget not in ("object", "table", "file"):
            widget = "readonly"
        item = Field(
            name=name,
            key=key,
            title=schema.get("title") or key,
            widget=widget,
            schema=schema,
            required=key in required and widget != "readonly",
            options=_options(schema),
            value=value,
            error=errors.get(name),
            description=schema.get("description") if widget != "file" else None,
            max_length=schema.get("maxLength"),
            nullable="null" in _types(schema),
            group=groups.get(key, 0),
        )
        if widget == "file":
            item.accept, item.capture = _accept(schema), schema.get("x-capture")
        elif widget == "object":
            item.children = build_fields(
                schema, value, errors, prefix=f"{name}.", only_known=only_known
            )
            item.optional_group = not item.required and any(c.required for c in item.children)
        elif widget == "table":
            item.children = build_fields(schema["items"], {}, None, prefix=f"{name}.#.")
            lines = value if isinstance(value, list) else []
            item.rows = [
                build_fields(
                    schema["items"], line, errors, prefix=f"{name}.{i}.", only_known=only_known
                )
                for i, line in enumerate(lines)
            ]
            for i, row in enumerate(item.rows):
                for f in _walk(row):
                    f.row = i if f.row is None else f.row  # (an inner table's rows keep theirs)
        result.append(item)
    return result


def build_form(
    schema: dict,
    values: dict | None = None,
    errors: dict | None = None,
    fixed: dict | None = None,
) -> Form:
    """A form to fill: the body, the decision group (drawn with the buttons), stray errors."""
    fields = build_fields(schema, values, errors, fixed=fixed)
    buttons = next((f for f in fields if f.widget == "buttons"), None)
    decision_group = buttons.group if buttons else None
    body = [f for f in fields if f.group != decision_group or decision_group is None]
    actions = [f for f in fields if decision_group is not None and f.group == decision_group]
    form = Form(body, actions, schema.get("title"), schema.get("description"))
    owned = set(_names(form.all_fields()))
    tables = {f.name: f for f in _walk(form.all_fields()) if f.widget == "table"}
    listed = isinstance((errors or {}).get("eligibility"), list)
    for name, message in (errors or {}).items():
        if name in owned:
            continue
        table, _, row = name.rpartition(".")
        if table in tables and row.isdigit() and isinstance(message, str):
            # a rule's reasons for one person (`persons.0`): kept with the row; the top of the
            # form lists them already when `eligibility` names every person's reasons
            tables[table].row_reasons[int(row)] = message.split("；")
            if not listed:
                form.row_errors.append((name, f"{_row_label(tables[table], int(row))}：{message}"))
            continue
        if isinstance(message, str):
            form.errors.append(message)
        elif isinstance(message, list):  # a rule's reasons
            form.errors.extend(m for m in message if isinstance(m, str))
    return form


def _row_label(table: Field, row: int) -> str:
    """“第2行 何美玲”: a table row's number, and its person's name when it has one."""
    cells = table.rows[row] if row < len(table.rows) else []
    name = next((c.value for c in cells if c.key == "name" and isinstance(c.value, str)), "")
    return f"第{row + 1}行 {name}".rstrip()


OWN_DETAILS = {"name": "name", "mobile": "tel", "address": "street-address"}


def fill_own_details(form: Form) -> Form:
    """Marks the top-level fields a person fills about themself (the applicant's name, mobile
    and address) for the browser's autofill."""
    for f in form.fields:
        if f.key in OWN_DETAILS and f.name == f.key:
            f.autocomplete = OWN_DETAILS[f.key]
    return form


def _walk(fields: Iterable[Field]) -> Iterable[Field]:
    for f in fields:
        yield f
        if f.widget != "table":
            yield from _walk(f.children)
        for row in f.rows:
            yield from _walk(row)


def _names(fields: Iterable[Field]) -> Iterable[str]:
    return (f.name for f in _walk(fields))


def borrow_labels(form: Form, schemas: list[dict]) -> None:
    """Give a field that declares no enum the labels another schema of the process gives it
    (a task's read-only `variant` shows 完整版 as the start form names it)."""
    props, _, _ = collect(schemas, {})
    for f in form.all_fields():
        if not f.options and props.get(f.key, {}).get("enum"):
            f.options = _options(props[f.key])


def view_fields(schemas: list[dict], values: dict) -> list[Field]:
    """The fields of an application that have values, read-only, titled by its schemas."""
    return build_fields(schemas, values, only_known=True)


# --- reading a POST back ----------------------------------------------------------------------

StoreFile = Callable[[str, Any], str]  # (field name, uploaded file) -> file id


class _Reader:
    def __init__(self, form, files, store: StoreFile | None):
        self.form, self.files, self.store = form, files, store
        self.errors: dict[str, str] = {}

    def text(self, f: Field) -> Any:
        raw = self.form.get(f.name)
        if raw is None:
            return _MISSING
        raw = raw.strip()
        if raw == "":
            return None if f.nullable else _MISSING
        if f.widget == "number":
            try:
                return int(raw) if "integer" in _types(f.schema) else float(raw)
            except ValueError:
                return raw  # the schema says what is wrong with it
        if f.options:  # an enum: give back the value's own type (e.g. integers)
            for value, _label in f.options:
                if str(value) == raw:
                    return value
        return raw

    def file(self, f: Field) -> Any:
        upload = self.files.get(f.name) if self.files is not None else None
        if upload is not None and upload.filename and self.store is not None:
            try:
                return self.store(f.name, upload)
            except UploadRefused as exc:
                self.errors[f.name] = exc.said_at(f)
        current = (self.form.get(f"{f.name}__current") or "").strip()
        return current or _MISSING

    def value(self, f: Field) -> Any:
        if f.widget == "readonly":
            return _MISSING
        if f.widget == "file":
            return self.file(f)
        if f.widget == "checkbox":
            return f.name in self.form if f"{f.name}__present" in self.form else _MISSING
        if f.widget == "checkboxes":
            chosen = self.form.getlist(f.name)
            if not chosen and f"{f.name}__present" not in self.form:
                return _MISSING
            lookup = {str(v): v for v, _ in f.options}
            return [lookup.get(c, c) for c in chosen]
        if f.widget == "object":
            obj = self.fields(f.children)
            return obj or _MISSING
        if f.widget == "table":
            return self.table(f)
        return self.text(f)

    def table(self, f: Field) -> Any:
        try:
            count = min(int(self.form.get(f"{f.name}__rows", "0")), MAX_ROWS)
        except ValueError:
            count = 0
        shared = self.shared_files(f)
        lines = []
        for i in range(max(count, 0)):
            columns = [_renamed(c, f"{f.name}.#.", f"{f.name}.{i}.") for c in f.children]
            line = self.fields(columns)
            if line:
                # a file given once for the whole column, where the row has none of its own
                lines.append({**shared, **line} if shared else line)
        return lines if lines or count else _MISSING

    def shared_files(self, f: Field) -> dict:
        """The files uploaded for every row of table `f` at once (`<table>.all.<column>`,
        e.g. one 本单位社保证明 for 24 persons), stored once each: {column: file id}."""
        shared = {}
        for c in f.children:
            if c.widget != "file":
                continue
            column = replace(c, name=shared_name(f.name, c.key))
            value = self.file(column)
            if column.name in self.errors:  # said above the form: name it as for everyone
                self.errors[column.name] = f"所有人员共用的文件：{self.errors[column.name]}"
            if value is not _MISSING:
                shared[c.key] = value
        return shared

    def fields(self, fields: list[Field]) -> dict:
        data = {}
        for f in fields:
            value = self.value(f)
            if value is not _MISSING:
                data[f.key] = value
        return data


class _Missing:
    pass


_MISSING = _Missing()


class UploadRefused(Exception):
    """An upload the service refused; `message` says why, for the field. Raised from the
    service's refusal (`raise UploadRefused(…) from exc`), which `said_at` rewords for the
    field the file was chosen for."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def said_at(self, f: Field) -> str:
        """Why, at field `f`: a file of a type the platform takes none of is told the types
        this field takes (its `accept`, which the page's file input offers), not the
        platform's (a photo field takes no PDF nor video)."""
        cause = self.__cause__
        if isinstance(cause, upload_checks.WrongType) and f.accept:
            return cause.said_for(upload_checks.accepted_types(f.accept))
        return self.message


def shared_name(table: str, column: str) -> str:
    """The field of a file given once for every row of a table's column."""
    return f"{table}.all.{column}"


def _renamed(f: Field, old: str, new: str) -> Field:
    name = new + f.name[len(old) :] if f.name.startswith(old) else f.name
    return replace(f, name=name, children=[_renamed(c, old, new) for c in f.children])


def read_form(
    form: Form | list[Field], posted, files=None, store: StoreFile | None = None
) -> tuple[dict, dict[str, str]]:
    """The data a person submitted, typed as the schema says; upload errors by field."""
    fields = list(form.all_fields()) if isinstance(form, Form) else form
    reader = _Reader(posted, files, store)
    return reader.fields(fields), reader.errors
