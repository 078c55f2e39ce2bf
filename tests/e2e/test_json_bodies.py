"""A JSON operation refuses a body that is not JSON (415) and changes nothing: a form or text
body (`curl -d` without `-H`) was read as an empty one, and a PUT wiped the record. Uploads
keep taking multipart. SQLite and PostgreSQL."""

from __future__ import annotations

import json
import re

import pytest
from conftest import png_bytes, upload
from test_unit_information import QUALIFICATIONS, REGISTRATION

API = "/api/v1"
NOT_JSON = ["text/plain", "application/x-www-form-urlencoded"]


def send(client, method: str, url: str, headers: dict, body: dict, content_type: str):
    """`body` as JSON text, labelled `content_type` (a form field for a form)."""
    text = json.dumps(body, ensure_ascii=False)
    if content_type == "application/x-www-form-urlencoded":
        text = "&".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in body.items())
    return client.open(
        url, method=method, headers=headers, data=text.encode(), content_type=content_type
    )


def refused(reply) -> None:
    assert reply.status_code == 415, (reply.status_code, reply.get_json())
    assert reply.get_json()["message"].startswith(
        "请求体应为 JSON（Content-Type: application/json）"
    )


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_every_json_operation_refuses_a_body_that_is_not_json(client, login, content_type):
    spec = client.get(f"{API}/openapi.json").get_json()
    admin = login("admin")
    seen = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method == "parameters":
                continue
            if "application/json" not in op.get("requestBody", {}).get("content", {}):
                continue
            url = re.sub(r"\{[^}]+\}", "1", path)
            reply = send(client, method.upper(), url, admin, {"name": "x"}, content_type)
            assert "415" in op["responses"], f"{method} {path}"
            refused(reply)
            seen.append(f"{method} {path}")
    assert "put /api/v1/units/{unit_id}/information" in seen and len(seen) > 20


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_unit_information_sent_as_text_is_refused_and_kept(client, login, world, content_type):
    url = f"{API}/units/{world.unit_id}/information"
    unit = login("unit")
    body = {"registration": REGISTRATION, "qualifications": QUALIFICATIONS}
    assert client.put(url, headers=unit, json=body).status_code == 200
    changed = {"registration": {**REGISTRATION, "industry": "建筑业"}, "qualifications": []}
    refused(send(client, "PUT", url, unit, changed, content_type))
    kept = client.get(url, headers=unit).get_json()
    assert kept["registration"] == REGISTRATION and kept["qualifications"] == QUALIFICATIONS


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_a_specialty_sent_as_text_is_refused_and_kept(client, login, content_type):
    admin = login("admin")
    refused(send(client, "PATCH", f"{API}/specialties/14", admin, {"active": False}, content_type))
    listed = client.get(f"{API}/specialties", headers=login("unit")).get_json()["items"]
    assert len(listed) == 14


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_an_export_filter_sent_as_a_form_starts_no_job(client, login, world, content_type):
    unit = login("unit")
    url = f"{API}/units/{world.unit_id}/members/export-jobs"
    refused(send(client, "POST", url, unit, {"q": "陈"}, content_type))
    assert client.get(f"{API}/jobs", headers=unit).get_json()["total"] == 0


@pytest.mark.parametrize("content_type", NOT_JSON)
def test_feedback_and_sign_in_sent_as_text_are_refused(client, login, content_type):
    unit = login("unit")
    body = {"category": "报名条件咨询", "title": "找不到本单位人员", "content": "请协助核实。"}
    refused(send(client, "POST", f"{API}/feedback", unit, body, content_type))
    assert client.get(f"{API}/feedback", headers=login("admin")).get_json()["total"] == 0
    credentials = {"username": "admin", "password": "secret123"}
    refused(send(client, "POST", f"{API}/auth/token", {}, credentials, content_type))


def test_an_empty_body_and_uploads_are_not_refused(client, login):
    admin = login("admin")
    # nothing sent: the operation answers as it did (here: the name is missing)
    empty = client.post(f"{API}/specialties", headers=admin, content_type="text/plain")
    assert empty.status_code == 422
    # JSON labelled with a parameter or a +json type is JSON
    made = client.post(
        f"{API}/specialties",
        headers=admin,
        data=json.dumps({"name": "园林绿化工程"}),
        content_type="application/json; charset=utf-8",
    )
    assert made.status_code == 201, made.get_json()
    assert upload(client, admin, png_bytes())
    as_json = client.post(f"{API}/files", headers=admin, json={"file": "x"})
    assert as_json.status_code == 415
    assert "multipart/form-data" in as_json.get_json()["message"]


@pytest.mark.parametrize("content_type", ["application/json", None])
def test_unit_information_put_with_no_body_is_refused_and_kept(client, login, world, content_type):
    """A PUT replaces the whole record: one with nothing sent would wipe it."""
    url = f"{API}/units/{world.unit_id}/information"
    unit = login("unit")
    body = {"registration": REGISTRATION, "qualifications": QUALIFICATIONS}
    assert client.put(url, headers=unit, json=body).status_code == 200
    reply = client.put(url, headers=unit, data=b"", content_type=content_type)
    assert reply.status_code == 422, reply.get_json()
    kept = client.get(url, headers=unit).get_json()
    assert kept["registration"] == REGISTRATION and kept["qualifications"] == QUALIFICATIONS


def test_an_integer_given_a_fraction_is_refused_not_cut(client, login, world):
    """marshmallow took int(1.5): a specialty's order 1.5 was saved as 1, an export filter's
    age 1.5 ran as 1. A whole number written 2.0 is still 2."""
    admin = login("admin")
    before = client.get(f"{API}/specialties", headers=admin).get_json()["items"]
    reply = client.patch(f"{API}/specialties/1", headers=admin, json={"sort": 1.5})
    assert reply.status_code == 422 and reply.get_json()["errors"] == {"sort": "应为整数"}
    assert client.get(f"{API}/specialties", headers=admin).get_json()["items"] == before
    assert (
        client.patch(f"{API}/specialties/1", headers=admin, json={"sort": 2.0}).status_code == 200
    )
    # an order past the dictionary's range is refused: the next one added takes the last + 1,
    # which an int32 column could not hold after 2147483647
    for sort in (0, 10000, 2147483647):
        reply = client.patch(f"{API}/specialties/1", headers=admin, json={"sort": sort})
        assert reply.status_code == 422, (sort, reply.get_json())
        assert reply.get_json()["errors"] == {"sort": "排序应为1至9999之间的整数"}
    unit = login("unit")
    url = f"{API}/units/{world.unit_id}/members/export-jobs"
    refused = client.post(url, headers=unit, json={"age_min": 1.5})
    assert refused.status_code == 422 and refused.get_json()["errors"] == {"age_min": "应为整数"}
