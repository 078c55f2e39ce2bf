"""marshmallow's Schema, whose `dump` follows a plan made once per schema.

A list's reply dumps some 600 fields (20 rows, each with its form and tasks), and
marshmallow looks every value up through `Field.serialize` → `get_value` → `utils.get_value`
before it formats it: 2.0 ms of a 12 ms page. The plan reads each field's attribute
straight from the dict the use cases return, and formats it with the field's own
`_serialize` — a str for a `String` and an int for an `Integer` are kept as they are,
which is what marshmallow makes of them — so the reply is marshmallow's, value for value
(`tests/unit/test_planned_dump.py` compares the two for every reply schema).

A schema with dump hooks or its own `get_attribute`, and a value that is not a dict, are
dumped by marshmallow itself. Loading is marshmallow's, but for checks before it: an
Integer field given a number with a fraction (1.5) is refused, where marshmallow would take
int(1.5), that is 1; and a JSON body's schema (`strict_json`, set by the API's blueprint)
takes only JSON's own types: an Integer a number (not "12", not true), a Boolean true or
false (not "yes", 1 or "on"), in nested objects and lists too. A query string's values are
all text, so the same schema class stays lenient there.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import marshmallow
from marshmallow import fields
from marshmallow.decorators import POST_DUMP, PRE_DUMP
from marshmallow.utils import missing

# False: every dump is marshmallow's own (the tests' reference)
PLANNED = True

Step = tuple[str, str, Callable[[Any, str, Any], Any], fields.Field]


def _formatter(field: fields.Field) -> Callable[[Any, str, Any], Any]:
    """How a value of `field` is written: the field's own `_serialize`, except that a str
    in a plain String and an int in a plain Integer are written as they are (marshmallow
    writes `str(value)` and `int(value)`: the same values)."""
    own = field._serialize
    kind = type(field)
    if kind is fields.String:
        return lambda value, attr, obj: value if type(value) is str else own(value, attr, obj)
    if kind is fields.Integer and not field.as_string:
        return lambda value, attr, obj: value if type(value) is int else own(value, attr, obj)
    return own


INTEGER = "应为整数"
BOOLEAN = "应为 true 或 false"


def _wrong_value(field: fields.Field, value: Any, strict: bool) -> Any:
    """What is wrong with `value` for `field` (a message, or a dict of them for a nested
    object or a list), None when nothing is; `strict`: the value came in a JSON body."""
    if value is None:
        return None  # marshmallow's: allowed or 不能为空
    if isinstance(field, fields.Integer):
        if isinstance(value, float):
            return None if value.is_integer() else INTEGER
        if strict and (isinstance(value, bool) or not isinstance(value, int)):
            return INTEGER
        return None
    if not strict:
        return None
    if isinstance(field, fields.Boolean):
        return None if isinstance(value, bool) else BOOLEAN
    if isinstance(field, fields.List) and isinstance(value, list):
        return _wrong_items(value, lambda item: _wrong_value(field.inner, item, strict))
    if isinstance(field, fields.Nested):
        if not field.many:
            return _wrong_fields(field.schema, value, strict)
        if isinstance(value, list):
            return _wrong_items(value, lambda item: _wrong_fields(field.schema, item, strict))
    return None


def _wrong_items(items: list, wrong_with: Callable[[Any], Any]) -> dict:
    """index → what is wrong with that item of a list, for the items something is."""
    return {index: said for index, item in enumerate(items) if (said := wrong_with(item))}


def _wrong_fields(schema: marshmallow.Schema, data: Any, strict: bool) -> dict:
    """field key → what is wrong with its value, for the fields of `schema` in `data`."""
    if not isinstance(data, dict):
        return {}  # not an object: marshmallow says so
    wrong = {}
    for name, field in schema.load_fields.items():
        key = field.data_key or name
        if key in data:
            said = _wrong_value(field, data[key], strict)
            if said:
                wrong[key] = said
    return wrong


class Schema(marshmallow.Schema):
    """A reply's schema: marshmallow's, with a planned `dump` (see the module)."""

    # True on the instance that parses a JSON body (the API's blueprint sets it): its
    # numbers and booleans must be JSON's own; a query string's are text, parsed leniently
    strict_json = False

    @marshmallow.pre_load
    def _json_types(self, data, **_kwargs):
        """An Integer field given 1.5 is refused ("1" from a query string and 2.0 stay); in a
        JSON body an Integer takes only a number and a Boolean only true or false."""
        wrong = _wrong_fields(self, data, self.strict_json)
        if wrong:
            raise marshmallow.ValidationError(wrong)
        return data

    def _steps(self) -> list[Step] | None:
        """(key, attribute, formatter, field) of each dumped field; None: not plannable."""
        steps = self.__dict__.get("_planned_steps", missing)
        if steps is not missing:
            return steps
        steps = None
        plain = type(self).get_attribute is marshmallow.Schema.get_attribute
        if plain and not self._hooks[PRE_DUMP] and not self._hooks[POST_DUMP]:
            steps = []
            for name, field in self.dump_fields.items():
                attr = name if field.attribute is None else field.attribute
                if "." in attr or not field._CHECK_ATTRIBUTE:
                    steps = None  # a dotted path, a field without a value: marshmallow's
                    break
                key = name if field.data_key is None else field.data_key
                steps.append((key, attr, _formatter(field), field))
        self.__dict__["_planned_steps"] = steps
        return steps

    def dump(self, obj: Any, *, many: bool | None = None):
        steps = self._steps() if PLANNED else None
        if steps is None:
            return super().dump(obj, many=many)
        many = self.many if many is None else bool(many)
        if many and obj is not None:
            return [self._one(steps, each) for each in obj]
        return self._one(steps, obj)

    def _one(self, steps: list[Step], obj: Any) -> dict:
        if type(obj) is not dict:
            return super()._serialize(obj, many=False)
        out = {}
        for key, attr, write, field in steps:
            # as utils.get_value: a dict's key, else its attribute (a dict's own methods)
            value = obj[attr] if attr in obj else getattr(obj, attr, missing)
            if value is missing:
                default = field.dump_default
                value = default() if callable(default) else default
                if value is missing:
                    continue
            out[key] = write(value, attr, obj)
        return out
