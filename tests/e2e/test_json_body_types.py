"""A JSON body takes JSON's own types: an integer field a number (not "12"), a boolean field
true or false (not "yes", 1 or "on"); each wrong field is named with 应为整数 / 应为 true 或
false and nothing changes. marshmallow read them leniently, so "0" disabled nothing and
"yes" switched a filter on. A query string's values are all text: the same schema reads
"true" and "40" there. (Lists of ids, `member_ids`, were strict already; nested objects and
lists are checked alike: tests/unit/test_strict_json_bodies.py.) SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

API = "/api/v1"
INTEGER, BOOLEAN = "应为整数", "应为 true 或 false"


def refused(reply, errors: dict) -> None:
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == errors


@pytest.mark.parametrize("active", ["yes", "false", "0", 1, 0, "on"])
def test_a_boolean_in_a_body_is_true_or_false_only(client, login, active):
    admin = login("admin")
    before = client.get(f"{API}/specialties", headers=admin).get_json()["items"]
    reply = client.patch(f"{API}/specialties/1", headers=admin, json={"active": active})
    refused(reply, {"active": BOOLEAN})
    assert client.get(f"{API}/specialties", headers=admin).get_json()["items"] == before
    stopped = client.patch(f"{API}/specialties/1", headers=admin, json={"active": False})
    assert stopped.status_code == 200 and stopped.get_json()["active"] is False


@pytest.mark.parametrize("sort", ["12", " 7 "])
def test_an_integer_in_a_body_is_a_number_only(client, login, sort):
    admin = login("admin")
    refused(
        client.patch(f"{API}/specialties/1", headers=admin, json={"sort": sort}), {"sort": INTEGER}
    )
    moved = client.patch(f"{API}/specialties/1", headers=admin, json={"sort": 12})
    assert moved.status_code == 200 and moved.get_json()["sort"] == 12


def test_every_wrong_field_is_named_and_its_chinese_name_said(client, login, world):
    unit = login("unit")
    url = f"{API}/units/{world.unit_id}/members/export-jobs"
    reply = client.post(
        url, headers=unit, json={"membership_expired": "yes", "age_min": "40", "age_max": 50}
    )
    refused(reply, {"membership_expired": BOOLEAN, "age_min": INTEGER})
    message = reply.get_json()["message"]
    assert "「会籍已过期」应为 true 或 false" in message and "「年龄（起）」应为整数" in message
    assert client.get(f"{API}/jobs", headers=unit).get_json()["total"] == 0


def test_the_same_filters_read_leniently_from_a_query_string_and_strictly_from_a_body(
    client, login, world
):
    unit = login("unit")
    query = "membership_expired=true&has_certificates=false&age_min=20&age_max=70"
    sheet = client.get(f"{API}/units/{world.unit_id}/members/export.xlsx?{query}", headers=unit)
    assert sheet.status_code == 200, sheet.get_json()
    sheet.close()  # a streamed file: closed once read, as a WSGI server closes it
    url = f"{API}/units/{world.unit_id}/members/export-jobs"
    texts = {"membership_expired": "true", "has_certificates": "false", "age_min": "20"}
    refused(
        client.post(url, headers=unit, json=texts),
        {"membership_expired": BOOLEAN, "has_certificates": BOOLEAN, "age_min": INTEGER},
    )
    typed = {"membership_expired": True, "has_certificates": False, "age_min": 20, "age_max": 70}
    started = client.post(url, headers=unit, json=typed)
    assert started.status_code == 202, started.get_json()
    # one schema class (BillExportQuery) behind both: the query string's unit_id is text
    finance = login("finance")
    bills = client.get(f"{API}/bills/export.xlsx?unit_id={world.unit_id}", headers=finance)
    assert bills.status_code == 200, bills.get_json()
    bills.close()
    reply = client.post(
        f"{API}/bills/export-jobs", headers=finance, json={"unit_id": str(world.unit_id)}
    )
    refused(reply, {"unit_id": INTEGER})


def test_a_whole_number_written_with_a_point_and_null_where_allowed_stay_accepted(
    client, login, world
):
    admin = login("admin")
    reply = client.patch(f"{API}/specialties/1", headers=admin, json={"sort": 7.0})
    assert reply.status_code == 200 and reply.get_json()["sort"] == 7
    made = client.post(
        f"{API}/staff",
        headers=admin,
        json={
            "username": "caiwu2",
            "name": "协会财务二",
            "password": "Caiwu2-2026",
            "role": "finance_reviewer",
            "agency_id": None,
        },
    )
    assert made.status_code == 201, made.get_json()
    wrong = client.post(
        f"{API}/units",
        headers=admin,
        json={
            "name": "某某监理有限公司",
            "credit_code": "x",
            "agency_id": str(world.agency_id),
            "member_unit": "1",
            "password": "x",
        },
    )
    refused(wrong, {"agency_id": INTEGER, "member_unit": BOOLEAN})
