"""The API's blueprint makes the schema instance that parses a JSON body strict about JSON's
types, and leaves the one of the same class that parses a query string lenient; a strict
schema checks nested objects and lists too, naming each wrong value by its path."""

from __future__ import annotations

import marshmallow
import pytest
from marshmallow import fields

from service.api.blueprint import Blueprint
from service.api.common import Int32
from service.api.planned import Schema


class Row(Schema):
    count = fields.Integer()
    done = fields.Boolean()


class Probe(Schema):
    count = Int32()
    done = fields.Boolean()
    ids = fields.List(fields.Integer())
    row = fields.Nested(Row)
    rows = fields.List(fields.Nested(Row))
    many = fields.Nested(Row, many=True)
    note = fields.String()


TEXTS = {
    "count": "3",
    "done": "yes",
    "ids": [1, "2", False],
    "row": {"count": True, "done": 1},
    "rows": [{"count": 1}, {"done": "on"}],
    "many": [{"count": "4"}],
    "note": "text",
}


def schemas_declared(location: str, schema=Probe) -> list:
    blp = Blueprint(f"probe_{location}", __name__)

    @blp.route("/probe", methods=["POST"])
    @blp.arguments(schema, location=location)
    def probe(args):
        return args

    return [p["schema"] for p in probe._apidoc["arguments"]["parameters"]]


def test_the_instance_for_a_json_body_is_strict_and_for_a_query_string_lenient():
    (body,) = schemas_declared("json")
    (query,) = schemas_declared("query")
    assert type(body) is type(query) is Probe
    assert body.strict_json and not query.strict_json
    assert query.load({"count": "3", "done": "yes"}) == {"count": 3, "done": True}
    with pytest.raises(marshmallow.ValidationError) as refused:
        body.load({"count": "3", "done": "yes"})
    assert refused.value.messages == {"count": "应为整数", "done": "应为 true 或 false"}


def test_an_instance_given_for_a_body_is_copied_not_made_strict_where_it_is_shared():
    shared = Probe()
    (body,) = schemas_declared("json", shared)
    assert body is not shared and body.strict_json and not shared.strict_json
    assert shared.load({"count": "3"}) == {"count": 3}


def test_a_strict_schema_names_each_wrong_value_in_nested_objects_and_lists():
    strict = Probe()
    strict.strict_json = True
    with pytest.raises(marshmallow.ValidationError) as refused:
        strict.load(TEXTS)
    assert refused.value.messages == {
        "count": "应为整数",
        "done": "应为 true 或 false",
        "ids": {1: "应为整数", 2: "应为整数"},
        "row": {"count": "应为整数", "done": "应为 true 或 false"},
        "rows": {1: {"done": "应为 true 或 false"}},
        "many": {0: {"count": "应为整数"}},
    }
    typed = {
        "count": 3,
        "done": False,
        "ids": [1, 2.0],
        "row": {"count": 1, "done": True},
        "rows": [{"count": 1}],
        "many": [{"done": False}],
    }
    assert strict.load(typed)["ids"] == [1, 2]
