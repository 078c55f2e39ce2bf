"""A login is one whatever its width: a unit's name entered by the secretariat with
full-width brackets （集团） signs in typed with half-width ones (集团) on a phone, a staff
login typed in full-width letters is the same login, and so is a name with a compatibility
ideograph (李 U+F9E1 for 李). Two accounts whose logins differ only in width each sign in
with their own spelling, and no third spelling picks one of them. Every spelling's failures
count against one login, and 单位账号密码重置 finds the unit by its name so typed."""

from __future__ import annotations

import io

import pytest
from conftest import PASSWORD, png_bytes
from test_pages_http import sign_in

from service.db import db
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_credit_code
from service.services.membership import accounts

TOKEN = "/api/v1/auth/token"
FULL = "广东华南（集团）工程监理有限公司"  # as the secretariat entered it
HALF = "广东华南(集团)工程监理有限公司"  # as a phone's keyboard types it


def add_unit(app, world, name: str, code: str) -> int:
    """A unit of the world's agency, its main account's login its name."""
    admin = Actor(1, "admin", "secretariat_admin")
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            unit = accounts.create_unit(
                uow, admin, name, make_credit_code(code), world.agency_id, True, PASSWORD
            )
        db.session.remove()
    return unit["id"]


def token(client, username: str, password: str = PASSWORD):
    return client.post(TOKEN, json={"username": username, "password": password})


def test_a_unit_name_typed_with_other_brackets_signs_in(app, client, world):
    unit_id = add_unit(app, world, FULL, "91440101190468351")
    for typed in (FULL, HALF, "广东华南（集团)工程监理有限公司", f"  {HALF} "):
        reply = token(client, typed)
        assert reply.status_code == 200, (typed, reply.get_json())
        assert reply.get_json()["user"]["unit_id"] == unit_id
    signed_in = sign_in(client, HALF)  # the page's sign-in too
    assert client.get(signed_in.headers["Location"]).status_code == 200


@pytest.mark.parametrize("typed", ["ｊｉｇｏｕ", "ＪＩＧＯＵ", "ｊigou"])
def test_a_staff_login_typed_in_full_width_letters_signs_in(client, world, typed):
    reply = token(client, typed)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["user"]["name"] == "广州初审员"


def test_a_compatibility_ideograph_is_the_ideograph(app, client, world):
    unit_id = add_unit(app, world, "李氏工程监理有限公司", "91440101190468360")
    reply = token(client, "\uf9e1氏工程监理有限公司")  # 李 as CJK compatibility U+F9E1
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["user"]["unit_id"] == unit_id


def test_two_logins_differing_only_in_width_are_never_guessed_between(app, client, world):
    full = add_unit(app, world, FULL, "91440101190468351")
    half = add_unit(app, world, HALF, "91440101190468378")
    for typed, unit_id in ((FULL, full), (HALF, half)):
        reply = token(client, typed)
        assert reply.status_code == 200, (typed, reply.get_json())
        assert reply.get_json()["user"]["unit_id"] == unit_id
    reply = token(client, "广东华南（集团)工程监理有限公司")  # both are alike: neither signs in
    assert reply.status_code == 401, reply.get_json()
    assert reply.get_json()["message"] == "账号或密码错误"


def test_failures_in_every_width_count_against_one_login(client, world):
    for typed in ("jigou", "ｊｉｇｏｕ", "ＪＩＧＯＵ", "jｉgou", "JIGOU"):  # five: the limit
        reply = token(client, typed, "wrong-password")
        assert reply.status_code == 401, reply.get_json()
    reply = token(client, "ｊigou")
    assert reply.status_code == 429, reply.get_json()
    assert "登录" in reply.get_json()["message"], reply.get_json()


def test_the_password_request_finds_the_unit_by_its_name_in_other_brackets(app, client, world):
    add_unit(app, world, FULL, "91440101190468351")
    form = {
        "unit_name": HALF,
        "credit_code": make_credit_code("91440101190468351"),
        "contact_name": "李明",
        "contact_mobile": "13800138000",
        "file": (io.BytesIO(png_bytes()), "申请表.png"),
    }
    reply = client.post(
        "/api/v1/unit-password-requests", data=form, content_type="multipart/form-data"
    )
    assert reply.status_code == 201, reply.get_json()
    assert reply.get_json()["unit_name"] == FULL, reply.get_json()


def test_an_unknown_name_in_any_width_is_refused_alike(client, world):
    for typed in ("ｎｏｂｏｄｙ", "nobody", HALF):
        reply = token(client, typed)
        assert reply.status_code == 401, reply.get_json()
        assert reply.get_json()["message"] == "账号或密码错误"
