"""Hostile input answers 4xx, never 500, and is refused before it costs anything: integers past
the database's range, NUL bytes, lone surrogates, deep or oversized JSON; the order of checks."""

from __future__ import annotations

import json
import re

import pytest
from conftest import applicant_data

MAX_JSON_BYTES = 1024 * 1024  # as documented in the OpenAPI description: 1MB
MAX_JSON_DEPTH = 32


def join_code(client, login, world) -> str:
    reply = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=login("unit"), json={"variant": "full"}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["code"]


def post_raw(client, url, text: str, headers=None):
    return client.post(url, data=text, headers=headers or {}, content_type="application/json")


def test_ids_and_page_numbers_past_the_integer_range_answer_404_and_422(client, login):
    unit = login("unit")
    for url in ("/api/v1/instances/2147483648", "/api/v1/tasks/99999999999/claim"):
        method = client.post if url.endswith("claim") else client.get
        assert method(url, headers=unit).status_code == 404, url
    reply = client.get("/api/v1/instances?page=9999999999999999999", headers=unit)
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"page"}
    reply = client.get("/api/v1/tasks?agency_id=99999999999", headers=login("association"))
    assert reply.status_code == 422, reply.get_json()


def test_a_nul_byte_in_any_text_answers_422_naming_the_field(client, login):
    reply = client.get("/api/v1/public/certificates?number=JL%00")
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"number"}
    reply = client.post("/api/v1/auth/token", json={"username": "admin\x00", "password": "x"})
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"username"}
    reply = client.get("/api/v1/instances?q=%E5%BC%A0%00", headers=login("unit"))
    assert reply.status_code == 422, reply.get_json()


def test_a_lone_surrogate_in_a_name_answers_422_and_nothing_is_saved(client, login):
    unit = login("unit")
    data = applicant_data(client, unit, name="\ud800张三")
    text = json.dumps({"data": data})  # ensure_ascii: the surrogate travels as \ud800
    reply = post_raw(client, "/api/v1/processes/member_join/instances", text, unit)
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"name"}  # as the form's own errors name it
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == 0


def test_json_nested_a_thousand_deep_is_refused_on_the_public_application(client, login, world):
    code = join_code(client, login, world)
    text = '{"data": {"name": ' + "[" * 1000 + "]" * 1000 + "}}"
    reply = post_raw(client, f"/api/v1/join-codes/{code}/applications", text)
    assert reply.status_code == 422, reply.get_json()
    assert f"{MAX_JSON_DEPTH}层" in reply.get_json()["message"]


def test_an_integer_of_thousands_of_digits_answers_422_naming_the_field(client, login, world):
    """Python refuses to read an integer of more than 4,300 digits (a ValueError that is not
    a JSON syntax error): a 422 naming the field, signed in or not, never a 500."""
    digits = "9" * 5000
    body = '{"username": "admin", "password": "x", "attempt": ' + digits + "}"
    reply = post_raw(client, "/api/v1/auth/token", body)
    assert reply.status_code == 422, reply.get_data(as_text=True)[:300]
    assert reply.get_json()["errors"] == {"attempt": "数值位数过多"}
    code = join_code(client, login, world)
    body = '{"data": {"name": "张三", "mobile": ' + digits + "}}"
    reply = post_raw(client, f"/api/v1/join-codes/{code}/applications", body)
    assert reply.status_code == 422, reply.get_data(as_text=True)[:300]
    assert reply.get_json()["errors"] == {"mobile": "数值位数过多"}
    body = '{"data": {"persons": [{"id_number": 1' + "0" * 4400 + "}]}}"
    reply = post_raw(client, "/api/v1/processes/member_join/instances", body, login("unit"))
    assert reply.status_code == 422, reply.get_data(as_text=True)[:300]
    assert reply.get_json()["errors"] == {"persons.0.id_number": "数值位数过多"}


def test_a_json_body_over_the_documented_size_answers_413_before_it_is_read(client, login):
    unit = login("unit")
    text = json.dumps({"data": {"name": "张" * (MAX_JSON_BYTES // 3 + 10)}})
    assert len(text.encode()) > MAX_JSON_BYTES
    reply = post_raw(client, "/api/v1/processes/member_join/instances", text, unit)
    assert reply.status_code == 413, reply.get_json()
    assert "1MB" in reply.get_json()["message"]
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "1MB" in spec["info"]["description"]


def test_an_anonymous_caller_gets_401_before_any_check_of_the_body(client):
    url = "/api/v1/processes/member_join/instances"
    assert post_raw(client, url, "{not json").status_code == 401
    assert client.post(url, json={"unexpected": 1}).status_code == 401
    assert client.get("/api/v1/instances?page=0&nonsense=1").status_code == 401


def test_a_method_the_path_does_not_take_answers_405_with_allow(client, login):
    reply = client.delete("/api/v1/instances", headers=login("unit"))
    assert reply.status_code == 405
    assert "GET" in reply.headers["Allow"]
    assert reply.get_json()["code"] == 405


@pytest.mark.parametrize("control", ["\x07", "\x1b", "\x0b", "\x1f", "\x7f", "\x85", "\x9b"])
def test_a_control_character_in_any_text_answers_422_naming_the_field_and_saves_nothing(
    client, login, world, control
):
    """A BEL pasted into 毕业院校 would be stored, then break every xlsx export of the unit."""
    code = join_code(client, login, world)
    data = applicant_data(client, login("unit"))
    data["education"]["school"] = f"广东工业大学{control}"
    reply = client.post(f"/api/v1/join-codes/{code}/applications", json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"education.school"}
    assert f"\\u{ord(control):04x}" in reply.get_json()["message"]
    assert client.get("/api/v1/instances", headers=login("unit")).get_json()["total"] == 0
    reply = client.get(f"/api/v1/instances?q=张{control}", headers=login("unit"))
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"q"}


def test_tab_line_feed_and_carriage_return_are_still_text(client, login):
    unit = login("unit")
    data = applicant_data(client, unit)
    data["address"] = "广州市越秀区\r\n东风中路1号\t3楼"
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()


def test_a_page_form_with_a_control_character_answers_a_422_page_and_saves_nothing(client, world):
    token = re.compile(r'name="csrf_token" value="([^"]+)"')
    page = client.get("/login").get_data(as_text=True)
    client.post(
        "/login",
        data={
            "username": world.logins["unit"],
            "password": "secret123",
            "csrf_token": token.search(page).group(1),
        },
    )
    page = client.get("/feedback/new").get_data(as_text=True)
    reply = client.post(
        "/feedback/new",
        data={
            "csrf_token": token.search(page).group(1),
            "category": "其他",
            "title": "打印测试\x07反馈",
            "content": "问题描述",
        },
    )
    assert reply.status_code == 422
    assert "不能包含控制字符（\\u0007）" in reply.get_data(as_text=True)
    listed = client.get("/feedback").get_data(as_text=True)
    assert "打印测试" not in listed


def test_a_key_given_twice_in_one_object_answers_422_and_nothing_is_saved(client, login):
    """Python keeps the last of two values for one key, another parser the first: which one
    was meant is not guessed."""
    admin = login("admin")
    before = client.get("/api/v1/agencies", headers=admin).get_json()
    body = '{"name": "测试机构B", "name": "测试机构C", "city": "广州"}'
    reply = post_raw(client, "/api/v1/agencies", body, admin)
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"_request": "同一对象中字段「name」出现了两次"}
    assert client.get("/api/v1/agencies", headers=admin).get_json() == before
    # nested, in a form's data, too
    unit = login("unit")
    text = json.dumps({"data": applicant_data(client, unit)})[:-2] + ', "mobile": "13800138000"}}'
    reply = post_raw(client, "/api/v1/processes/member_join/instances", text, unit)
    assert reply.status_code == 422 and "「mobile」出现了两次" in reply.get_json()["message"]
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == 0


@pytest.mark.parametrize("mark", ["\u202e", "\u202a", "\u2067"])
def test_a_text_direction_override_answers_422_naming_the_field_and_saves_nothing(
    client, login, mark
):
    """A U+202E in an agency's name showed every list the rest of it backwards."""
    admin = login("admin")
    before = client.get("/api/v1/agencies", headers=admin).get_json()
    body = {"name": f"测试{mark}机构", "city": "广州"}
    reply = client.post("/api/v1/agencies", headers=admin, json=body)
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"name"}
    assert f"文字方向控制字符（\\u{ord(mark):04x}）" in reply.get_json()["message"]
    assert client.get("/api/v1/agencies", headers=admin).get_json() == before


@pytest.mark.parametrize("unseen", ["\u200b", "\ufeff \u2060", "\u3164"])
def test_a_text_of_invisible_characters_alone_is_as_blank_as_spaces(client, login, unseen):
    """A U+200B looks like an empty box but passed a "not blank" pattern: an application
    went on with no address, finance confirmed a bill with no 票号, feedback had no title."""
    unit = login("unit")
    data = applicant_data(client, unit)
    data["address"] = unseen
    data["education"]["school"] = unseen
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {
        "address": "请填写「通讯地址」",
        "education.school": "请填写「毕业院校」",
    }
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == 0
    # a text that shows something besides keeps its invisible character
    data["address"], data["education"]["school"] = f"广州{unseen}天河", f"{unseen}中山大学"
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    body = {"category": "其他", "title": unseen, "content": unseen}
    reply = client.post("/api/v1/feedback", headers=unit, json=body)
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"title", "content"}


def test_a_body_that_is_not_an_object_is_named_as_the_request_not_by_the_parser_s_key(
    client, login, world
):
    reply = client.post(f"/api/v1/units/{world.unit_id}/join-codes", headers=login("unit"), json=[])
    assert reply.status_code == 422, reply.get_json()
    assert set(reply.get_json()["errors"]) == {"_request"}
    assert "_schema" not in reply.get_json()["message"]
