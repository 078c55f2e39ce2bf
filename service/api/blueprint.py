"""The API's blueprint: flask-smorest's, with each argument schema made once, and strict
about the types in a JSON body."""

from __future__ import annotations

import copy

import flask_smorest
from marshmallow import Schema


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint whose `arguments` takes a schema class as an instance made
    here, at import: given the class, webargs would make a new one for every request it
    parses. A schema instance keeps nothing between loads, so one serves every thread.

    The instance that parses a JSON body is marked `strict_json` (see `planned`): JSON has
    numbers and booleans of its own, so "12" for an integer or "yes" for a boolean is a
    mistake there, while a query string's values are all text. The mark is the instance's:
    the same class parses a query string leniently elsewhere."""

    def arguments(self, schema, *, location: str = "json", **kwargs):
        if isinstance(schema, type) and issubclass(schema, Schema):
            schema = schema()
        elif location == "json":
            schema = copy.copy(schema)  # an instance given may parse a query string too
        if location == "json":
            schema.strict_json = True
        return super().arguments(schema, location=location, **kwargs)
