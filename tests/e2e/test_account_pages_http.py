"""The account pages over HTTP (issue 10): the forced change of a one-time password, 修改密码,
signing out that really ends the session, the sign-in lockout and the initial-password QR page.

Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import re

from conftest import PASSWORD, in_db
from sqlalchemy import select

from service.db.models import Account
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

API = "/api/v1"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
NEW_PASSWORD = "Zhujiang-2026"


def csrf(client, path: str = "/login") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def post(client, path: str, data: dict, form: str | None = None):
    return client.post(path, data={**data, "csrf_token": csrf(client, form or path)})


def sign_in(client, username: str, password: str = PASSWORD, **extra):
    return post(client, "/login", {"username": username, "password": password, **extra})


def text(reply) -> str:
    return reply.get_data(as_text=True)


def member_with_one_time_password(app, client, login, world) -> tuple[str, str, int]:
    number = make_resident_id("44010619880808123")

    def add(session):
        member_id = add_member(session, MemberSeed("孙立新", number, world.unit_id)).id
        session.commit()
        return member_id

    member_id = in_db(app, add)
    reply = client.post(
        f"{API}/units/{world.unit_id}/members/{member_id}/password-reset", headers=login("unit")
    )
    return number, reply.get_json()["password"], member_id


def test_a_one_time_password_is_changed_first_then_the_person_goes_where_they_were_going(
    app, client, login, world
):
    number, one_time, member_id = member_with_one_time_password(app, client, login, world)
    code = client.post(
        f"{API}/units/{world.unit_id}/members/{member_id}/resignation-codes", headers=login("unit")
    ).get_json()["code"]
    signed = sign_in(client, number, one_time, next=f"/confirm/{code}")
    assert signed.status_code == 302
    assert signed.headers["Location"] == f"/password?next=/confirm/{code}"
    elsewhere = client.get("/forms")
    assert elsewhere.status_code == 302 and elsewhere.headers["Location"].startswith("/password")
    page = client.get(f"/password?next=/confirm/{code}")
    assert page.status_code == 200 and "一次性密码" in text(page)
    form = f"/password?next=/confirm/{code}"

    def change(current, new, again=None):
        data = {"current_password": current, "new_password": new, "new_password2": again or new}
        return post(client, "/password", {**data, "next": f"/confirm/{code}"}, form)

    mismatch = change(one_time, NEW_PASSWORD, "Zhujiang-2027")
    assert mismatch.status_code == 422 and "两次输入的新密码不一致" in text(mismatch)
    assert "当前密码不正确" in text(change("wrong-password", NEW_PASSWORD))
    nothing = text(change("", ""))  # each empty box is asked for, not called wrong
    assert "请填写当前密码" in nothing and "请填写新密码" in nothing
    assert "当前密码不正确" not in nothing
    assert "身份证号" in text(change(one_time, number[:-1]))
    done = change(one_time, NEW_PASSWORD)
    assert done.status_code == 302 and done.headers["Location"] == f"/confirm/{code}"
    confirm = client.get(f"/confirm/{code}")
    assert confirm.status_code == 200 and "当前登录：<strong>孙立新</strong>" in text(confirm)


def test_everyone_signed_in_can_change_their_password_from_the_top_bar(client, world):
    sign_in(client, "jigou")
    assert 'href="/password"' in text(client.get("/workbench/todo"))
    data = {"current_password": PASSWORD, "new_password": "short", "new_password2": "short"}
    refused = post(client, "/password", data)
    assert refused.status_code == 422 and "密码至少8位" in text(refused)
    data = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    done = post(client, "/password", {**data, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done.headers["Location"] == "/workbench/todo"
    assert "其他设备上的登录已失效" in text(client.get("/workbench/todo"))
    other = client.application.test_client()
    assert sign_in(other, "jigou").status_code == 401
    assert sign_in(other, "jigou", NEW_PASSWORD).status_code == 302


def test_signing_out_ends_the_session_even_for_a_copy_of_its_cookie(client, world):
    sign_in(client, "jigou")
    copied = client.get_cookie("memberflow_session").value
    assert post(client, "/logout", {}, "/workbench/todo").status_code == 302
    client.set_cookie("memberflow_session", copied)
    reply = client.get("/workbench/todo")
    assert reply.status_code == 302 and reply.headers["Location"].startswith("/login")


def test_a_reset_or_disabling_ends_a_page_session_at_once(app, client, login, world):
    sign_in(client, world.unit_name)
    assert client.get("/forms").status_code == 200
    unit_id = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == world.unit_name))
    )
    client.post(f"{API}/accounts/{unit_id}/password-reset", headers=login("admin"))
    assert client.get("/forms").status_code == 302
    sign_in(client, "jigou")
    jigou = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou")))
    client.post(f"{API}/accounts/{jigou}/disable", headers=login("admin"))
    assert client.get("/workbench/todo").status_code == 302


def test_the_sign_in_page_locks_a_name_after_five_failures(client, world):
    for _ in range(5):
        assert sign_in(client, "jigou", "wrong-password").status_code == 401
    locked = sign_in(client, "jigou")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    assert "已暂时锁定" in text(locked) and "分钟后" in text(locked)


def test_the_initial_password_page_shows_the_password_once(app, client, login, world):
    number = make_resident_id("44010619880808123")

    def add(session):
        member_id = add_member(session, MemberSeed("孙立新", number, world.unit_id)).id
        session.commit()
        return member_id

    member_id = in_db(app, add)
    code = client.post(
        f"{API}/units/{world.unit_id}/members/{member_id}/password-codes", headers=login("unit")
    ).get_json()["code"]
    page = client.get(f"/initial-password/{code}")
    assert page.status_code == 200 and "本人身份证号" in text(page) and "孙*" in text(page)
    path = f"/initial-password/{code}"
    wrong = post(client, path, {"id_number": make_resident_id("44010619770707123")})
    assert wrong.status_code == 422 and "不符" in text(wrong)
    claimed = post(client, path, {"id_number": number})
    # post/redirect/get: the password is on the page it redirects to, shown that once
    assert claimed.status_code == 302 and claimed.headers["Location"].startswith("/one-time/")
    shown = client.get(claimed.headers["Location"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    password = re.search(r'id="one-time-password">([^<]+)<', text(shown)).group(1)
    assert len(password) == 10 and "孙*" in text(shown) and 'href="/login"' in text(shown)
    again = client.get(claimed.headers["Location"])  # reload: not shown, no sign-in asked
    assert again.status_code == 410 and "one-time-password" not in text(again)
    assert "重新生成" in text(again)
    assert client.get(path).status_code == 410
    assert sign_in(client, number, password).headers["Location"].startswith("/password")
