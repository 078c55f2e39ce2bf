"""A planned dump writes what marshmallow writes, for every schema of the API."""

from __future__ import annotations

import importlib
import pkgutil
import random
from datetime import UTC, date, datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from marshmallow import fields, post_dump

import service.api
from service.api import planned
from service.api.planned import Schema


def every_schema() -> list[type[Schema]]:
    for module in pkgutil.iter_modules(service.api.__path__):
        importlib.import_module(f"service.api.{module.name}")
    found, todo = [], [Schema]
    while todo:
        for sub in todo.pop().__subclasses__():
            found.append(sub)
            todo.append(sub)
    return sorted(set(found), key=lambda s: (s.__module__, s.__qualname__))


SCHEMAS = every_schema()

SAMPLES = {
    fields.String: [None, "广州市建设监理服务机构", "", 12, Decimal("1.50")],
    fields.Integer: [None, 0, 7, True, "7", 3.0, 2**40],
    fields.Float: [None, 1.5, 2, "2.25"],
    fields.Decimal: [None, Decimal("12.30"), 5],
    fields.Boolean: [None, True, False, 1, 0, "yes"],
    fields.DateTime: [
        None,
        datetime(2026, 4, 2, 9, 30, 5, 123456),
        datetime(2026, 4, 2, 1, 0, tzinfo=UTC),
    ],
    fields.Date: [None, date(2026, 12, 4)],
    fields.Dict: [None, {}, {"persons.0.id_number": "身份证号码有误", "eligibility": ["年龄"]}],
    fields.Raw: [None, 1, "文本", [1, 2], {"a": None}],
}


def value_for(field: fields.Field, rng: random.Random, depth: int):
    """A value a use case could hand `field`, or something stranger."""
    if isinstance(field, fields.Nested):
        if depth > 3 or rng.random() < 0.15:
            return None
        schema = field.schema
        one = lambda: made(schema, rng, depth + 1)  # noqa: E731
        return [one() for _ in range(rng.randint(0, 3))] if schema.many or field.many else one()
    if isinstance(field, fields.List):
        if rng.random() < 0.15:
            return None
        return [value_for(field.inner, rng, depth + 1) for _ in range(rng.randint(0, 3))]
    for kind in type(field).__mro__:
        if kind in SAMPLES:
            return rng.choice(SAMPLES[kind])
    return None


def made(schema: Schema, rng: random.Random, depth: int = 0):
    """A dict for `schema` (some keys left out), now and then an object instead."""
    data = {
        (field.attribute or name): value_for(field, rng, depth)
        for name, field in schema.dump_fields.items()
        if rng.random() > 0.1
    }
    return SimpleNamespace(**data) if rng.random() < 0.05 else data


def marshmallows(schema: Schema, obj, monkeypatch, **kwargs) -> object:
    with monkeypatch.context() as m:
        m.setattr(planned, "PLANNED", False)
        return schema.dump(obj, **kwargs)


def outcome(dump, *args, **kwargs):
    """What a dump gave: its value, or the kind of error it raised (a page dict without its
    items dumps a dict's own `items` method, and both fail alike)."""
    try:
        return dump(*args, **kwargs)
    except Exception as error:  # noqa: BLE001
        return type(error)


def test_the_api_s_schemas_are_planned():
    # every reply schema is found, and none falls back to marshmallow's own dump
    names = {s.__name__ for s in SCHEMAS}
    assert {"InstancePageSchema", "TaskPageSchema", "InstanceDetailSchema"} <= names
    assert len(SCHEMAS) > 60
    assert [s.__name__ for s in SCHEMAS if s()._steps() is None] == []


@pytest.mark.parametrize("schema_class", SCHEMAS, ids=lambda s: s.__name__)
def test_a_planned_dump_is_marshmallow_s(schema_class, monkeypatch):
    rng = random.Random(schema_class.__name__)
    schema = schema_class()
    for _ in range(40):
        obj = made(schema, rng)
        assert outcome(schema.dump, obj) == outcome(marshmallows, schema, obj, monkeypatch)
    many = [made(schema, rng) for _ in range(3)]
    assert outcome(schema.dump, many, many=True) == outcome(
        marshmallows, schema, many, monkeypatch, many=True
    )


def test_a_planned_dump_does_not_ask_each_field_for_its_value(monkeypatch):
    from service.api import schemas

    asked = []
    original = fields.Field.serialize

    def counted(self, *args, **kwargs):
        asked.append(self)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(fields.Field, "serialize", counted)
    page = schemas.InstancePageSchema()
    obj = made(page, random.Random(1))
    obj.update(items=[made(schemas.InstanceSchema(), random.Random(i)) for i in range(5)])
    page.dump(obj)
    assert asked == []  # no field went through marshmallow's lookup
    marshmallows(page, obj, monkeypatch)
    assert len(asked) > 5 * 10  # …where marshmallow's own dump does


class Odd(Schema):
    """What the API's schemas do not use today, but a schema may."""

    renamed = fields.String(data_key="name")
    sourced = fields.Integer(attribute="source_id")
    defaulted = fields.String(dump_default="无")
    computed = fields.Integer(dump_default=lambda: 3)
    secret = fields.String(load_only=True)
    items = fields.Integer()  # a dict's own method, when the key is absent


class Hooked(Schema):
    a = fields.Integer()

    @post_dump
    def add(self, data, **_kwargs):
        return {**data, "hooked": True}


class Dotted(Schema):
    city = fields.String(attribute="unit.city")


@pytest.mark.parametrize(
    "obj",
    [
        {"renamed": "张三", "source_id": 4, "secret": "x", "items": 2},
        {"renamed": None},
        {},
        {"defaulted": "有", "computed": 9},
    ],
)
def test_names_sources_defaults_and_write_only_fields_dump_as_marshmallow_s(obj, monkeypatch):
    schema = Odd()
    assert schema._steps() is not None
    dumped = outcome(schema.dump, obj)
    assert dumped == outcome(marshmallows, schema, obj, monkeypatch)
    if "items" in obj:
        assert dumped["name"] == obj["renamed"] and "secret" not in dumped
    else:  # a dict's own method, in both
        assert dumped is TypeError


def test_hooks_and_dotted_sources_are_marshmallow_s_own(monkeypatch):
    assert Hooked()._steps() is None and Dotted()._steps() is None
    assert Hooked().dump({"a": 1}) == {"a": 1, "hooked": True}
    assert Dotted().dump({"unit": {"city": "广州"}}) == {"city": "广州"}
