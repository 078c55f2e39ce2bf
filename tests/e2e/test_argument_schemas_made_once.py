"""The API's argument schemas are made once, when the views are declared: a request that
parses a body or a query string makes no schema of its own (webargs would make one per
request from a schema class), and what it parses is what a new schema would parse."""

from __future__ import annotations

from marshmallow import Schema

from service.api.blueprint import Blueprint


def test_no_schema_is_made_while_requests_parse_their_arguments(client, login, monkeypatch):
    reviewer, unit = login("association"), login("unit")  # signed in before counting
    made: list[str] = []
    original = Schema.__init__

    def counted(self, *args, **kwargs):
        made.append(type(self).__name__)
        original(self, *args, **kwargs)

    monkeypatch.setattr(Schema, "__init__", counted)
    listed = client.get("/api/v1/tasks?page_size=5", headers=reviewer)
    assert listed.status_code == 200, listed.get_json()
    refused = client.post(  # parsed, then refused by the form: no name of a person yet
        "/api/v1/processes/member_join/instances",
        headers=unit,
        json={"data": {"mobile": "13800138000"}},
    )
    assert refused.status_code == 422, refused.get_json()
    assert "name" in refused.get_json()["errors"]
    assert made == []


def test_a_shared_schema_still_refuses_what_it_refused_field_by_field(client, login):
    headers = login("association")
    for _ in range(2):  # the same instance parses each request afresh
        reply = client.get("/api/v1/tasks?page_size=0", headers=headers)
        assert reply.status_code == 422
        assert "page_size" in reply.get_json()["errors"]
    reply = client.get("/api/v1/tasks?page_size=5", headers=headers)
    assert reply.status_code == 200, reply.get_json()


def test_a_schema_class_becomes_one_instance_at_declaration():
    blp = Blueprint("probe", __name__)

    class Probe(Schema):
        pass

    @blp.route("/probe", methods=["POST"])
    @blp.arguments(Probe)
    def probe(args):
        return args

    (parameter,) = probe._apidoc["arguments"]["parameters"]
    assert isinstance(parameter["schema"], Probe)
