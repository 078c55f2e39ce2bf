"""The OpenAPI document a client generator reads: an operationId for every operation, the
error schema on every 4xx, public operations marked as such, ISO 8601 dates."""

from __future__ import annotations

import json
import shutil
from datetime import date, datetime

import pytest
from conftest import make_app

ERROR = "#/components/schemas/Error"


@pytest.fixture(scope="module")
def document(tmp_path_factory, sqlite_template):
    tmp = tmp_path_factory.mktemp("openapi")
    shutil.copy(sqlite_template, tmp / "db.sqlite3")
    app = make_app(f"sqlite:///{tmp / 'db.sqlite3'}", tmp)
    return app, app.test_client().get("/api/v1/openapi.json").get_json()


def operations(spec):
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method != "parameters":
                yield f"{method.upper()} {path}", op


def test_every_operation_has_its_own_operation_id(document):
    _app, spec = document
    ids = {name: op.get("operationId") for name, op in operations(spec)}
    assert all(ids.values()), [name for name, i in ids.items() if not i]
    assert len(set(ids.values())) == len(ids)


def test_every_4xx_answer_carries_the_error_schema(document):
    _app, spec = document
    responses = spec["components"]["responses"]
    missing = []
    for name, op in operations(spec):
        codes = set(op["responses"])
        wanted = {"404", "422"} | ({"401", "403"} if op.get("security") != [] else set())
        if not wanted <= codes:
            missing.append(f"{name}: {sorted(wanted - codes)}")
        for code, response in op["responses"].items():
            if not code.startswith("4"):
                continue
            if "$ref" in response:
                response = responses[response["$ref"].rsplit("/", 1)[-1]]
            schema = response.get("content", {}).get("application/json", {}).get("schema")
            if schema != {"$ref": ERROR}:
                missing.append(f"{name} {code}")
    assert not missing, missing
    error = spec["components"]["schemas"]["Error"]
    assert set(error["required"]) == {"code", "status", "message"}
    assert set(error["properties"]) == {"code", "status", "message", "errors"}


def test_exactly_the_public_operations_are_documented_without_a_bearer_token(document):
    _app, spec = document
    public = {name for name, op in operations(spec) if op.get("security") == []}
    said = {
        name
        for name, op in operations(spec)
        if op.get("summary", "").startswith("（公开") or op.get("operationId") == "auth_token"
    }
    assert public == said
    assert "POST /api/v1/join-codes/{code}/applications" in public


def test_dates_and_times_in_free_form_data_are_written_in_iso_8601(document):
    app, _spec = document
    with app.app_context():
        text = app.json.dumps({"at": datetime(2026, 11, 28, 4, 5, 6), "on": date(2026, 11, 28)})
    assert json.loads(text) == {"at": "2026-11-28T04:05:06+00:00", "on": "2026-11-28"}
