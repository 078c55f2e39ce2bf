"""What an app's start-up shares or defers gives what building it afresh gives.

- The OpenAPI document (and the contract the guards read) is built by a process's first app
  and shared by the later ones: a later app's document equals one built by a fresh process.
- URL rules compile their builders at first use (`LazyRule`): every rule of the app builds
  the URL werkzeug's own rule builds, with the same values.
"""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import REPO, make_app
from werkzeug.routing import Map, Rule

FRESH = """
import json, sys
from service import create_app
from service.config import load_config
from pathlib import Path
config = load_config(database_url=sys.argv[1], instance_dir=Path(sys.argv[2]), secret_key="x")
app = create_app(config)
sys.stdout.write(json.dumps(app.test_client().get("/api/v1/openapi.json").get_json()))
"""


def test_a_later_app_serves_the_document_a_fresh_process_builds(db_url, tmp_path):
    make_app(db_url, tmp_path / "first")  # this process has built the document by now
    later = make_app(db_url, tmp_path / "later")
    served = later.test_client().get("/api/v1/openapi.json").get_json()
    fresh = subprocess.run(
        [sys.executable, "-c", FRESH, db_url, str(tmp_path / "fresh")],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
    )
    assert served == json.loads(fresh.stdout)
    assert len(served["paths"]) > 100


def test_a_later_app_s_guards_read_the_shared_contract(db_url, tmp_path):
    make_app(db_url, tmp_path / "first")
    client = make_app(db_url, tmp_path / "later").test_client()
    assert client.get("/api/v1/instances").status_code == 401  # not public: signed in first
    public = client.post("/api/v1/auth/token", json={})  # public: its arguments are read
    assert public.status_code == 422, public.get_json()
    unknown = client.post("/api/v1/auth/token?unknown=1", json={"username": "a", "password": "b"})
    assert unknown.status_code == 422 and "unknown" in unknown.get_json()["errors"]


def _value(converter) -> object:
    if hasattr(converter, "items"):  # <any(a, b):…>
        return sorted(converter.items)[0]
    return 7 if "int" in type(converter).__name__.lower() else "x1"


def test_every_rule_builds_the_url_werkzeug_s_own_rule_builds(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    plain = Map(converters=app.url_map.converters)
    rules = list(app.url_map.iter_rules())
    for rule in rules:
        plain.add(
            Rule(rule.rule, endpoint=rule.endpoint, defaults=rule.defaults, methods=rule.methods)
        )
    ours = app.url_map.bind("memberflow.example")
    theirs = plain.bind("memberflow.example")
    for rule in rules:
        values = {name: _value(conv) for name, conv in rule._converters.items()}
        method = sorted(rule.methods - {"HEAD", "OPTIONS"})[0]
        for extra in ({}, {"page": 2}):  # a value the rule does not name goes to the query
            wanted = theirs.build(rule.endpoint, {**values, **extra}, method=method)
            assert ours.build(rule.endpoint, {**values, **extra}, method=method) == wanted
    assert len(rules) > 200
