"""A unit's main account or a staff account the secretariat makes through the API has a
password someone other than its owner chose: as on the pages (a one-time password), the owner
replaces it at the first sign-in, unless the request says `"must_change_password": false`.
The account made through the API could be used with the secretariat's password for ever.
On both databases."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, in_db, token_headers
from sqlalchemy import select

from service.db.models import Account, AuditRecord
from service.domain.validation import make_credit_code

FIRST = "请先修改初始密码（POST /api/v1/auth/password），再进行其他操作"


def unit_body(world, **fields) -> dict:
    return {
        "name": "梅州市嘉应监理有限公司",
        "credit_code": make_credit_code("91441400123456789"),
        "agency_id": world.agency_id,
        "password": PASSWORD,
        **fields,
    }


def staff_body(**fields) -> dict:
    return {
        "username": "xiehui7",
        "name": "协会审核员七",
        "password": PASSWORD,
        "role": "association_reviewer",
        **fields,
    }


def signed_in_as(client, login: str) -> tuple[dict, bool]:
    """The account's bearer headers and whether another call than the password change is
    refused until it changes its password."""
    headers = token_headers(client, login)
    me = client.get("/api/v1/auth/me", headers=headers).get_json()
    listed = client.get("/api/v1/instances", headers=headers)
    held = listed.status_code == 403
    if held:
        assert listed.get_json()["message"] == FIRST
    assert me["must_change_password"] is held
    return headers, held


def recorded(app, action: str, login: str) -> bool:
    def read(s):
        records = s.scalars(select(AuditRecord).where(AuditRecord.action == action)).all()
        (record,) = [r for r in records if r.detail.get("username") == login]
        return record.detail["must_change_password"]

    return in_db(app, read)


def test_a_unit_made_through_the_api_changes_its_password_at_the_first_sign_in(
    app, client, world, login
):
    admin = login("admin")
    made = client.post("/api/v1/units", headers=admin, json=unit_body(world))
    assert made.status_code == 201, made.get_json()
    _, held = signed_in_as(client, "梅州市嘉应监理有限公司")
    assert held and recorded(app, "unit_create", "梅州市嘉应监理有限公司") is True
    changed = client.post(
        "/api/v1/auth/password",
        headers=token_headers(client, "梅州市嘉应监理有限公司"),
        json={"current_password": PASSWORD, "new_password": "Jiaying2026!"},
    )
    assert changed.status_code in (200, 204), changed.get_json()
    headers = token_headers(client, "梅州市嘉应监理有限公司", "Jiaying2026!")
    assert client.get("/api/v1/instances", headers=headers).status_code == 200


def test_a_unit_made_with_must_change_password_false_signs_in_ready(app, client, world, login):
    body = unit_body(world, must_change_password=False)
    made = client.post("/api/v1/units", headers=login("admin"), json=body)
    assert made.status_code == 201, made.get_json()
    _, held = signed_in_as(client, "梅州市嘉应监理有限公司")
    assert not held and recorded(app, "unit_create", "梅州市嘉应监理有限公司") is False


@pytest.mark.parametrize("chosen, held", [(None, True), (True, True), (False, False)])
def test_a_staff_account_made_through_the_api_follows_must_change_password(
    app, client, world, login, chosen, held
):
    body = staff_body() if chosen is None else staff_body(must_change_password=chosen)
    made = client.post("/api/v1/staff", headers=login("admin"), json=body)
    assert made.status_code == 201, made.get_json()
    assert signed_in_as(client, "xiehui7")[1] is held
    assert recorded(app, "staff_create", "xiehui7") is held
    account = in_db(app, lambda s: s.scalar(select(Account).where(Account.username == "xiehui7")))
    assert account.must_change_password is held


def test_must_change_password_is_true_or_false_and_documented(client, world, login):
    admin = login("admin")
    for wrong in ("no", 0, "false"):
        reply = client.post(
            "/api/v1/staff", headers=admin, json=staff_body(must_change_password=wrong)
        )
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["errors"] == {"must_change_password": "应为 true 或 false"}
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/api/v1/units", "/api/v1/staff"):
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        name = body["schema"]["$ref"].rpartition("/")[2]
        field = spec["components"]["schemas"][name]["properties"]["must_change_password"]
        assert field["default"] is True and "首次登录" in field["description"]
