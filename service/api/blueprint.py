"""The API's blueprint: flask-smorest's, with each argument schema made once."""

from __future__ import annotations

import flask_smorest
from marshmallow import Schema


class Blueprint(flask_smorest.Blueprint):
    """flask-smorest's blueprint whose `arguments` takes a schema class as an instance made
    here, at import: given the class, webargs would make a new one for every request it
    parses. A schema instance keeps nothing between loads, so one serves every thread."""

    def arguments(self, schema, **kwargs):
        if isinstance(schema, type) and issubclass(schema, Schema):
            schema = schema()
        return super().arguments(schema, **kwargs)
