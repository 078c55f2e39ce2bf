"""Accounts over the API (issue 10): random one-time member passwords, the forced change,
resets by the unit and the secretariat, disabling, logout, and the sign-in limiter.

Each test runs on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json

from conftest import (
    PASSWORD,
    applicant_data,
    business_day,
    form_values,
    in_db,
    member_headers,
    start_form,
    step_task,
    token_headers,
    upload,
)
from sqlalchemy import select

from service.db.models import Account, AuditRecord, Member
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

API = "/api/v1"
NEW_PASSWORD = "Zhujiang-2026"


def sign_in(client, username: str, password: str):
    return client.post(f"{API}/auth/token", json={"username": username, "password": password})


def bearer(reply) -> dict:
    assert reply.status_code == 200, reply.get_json()
    return {"Authorization": f"Bearer {reply.get_json()['access_token']}"}


def roster_member(app, unit_id: int, name: str = "孙立新", prefix="44010619880808123"):
    """A member carried over into `unit_id`: (member id, account id, ID number)."""
    number = make_resident_id(prefix)

    def add(session):
        member = add_member(session, MemberSeed(name, number, unit_id))
        session.commit()
        account = session.scalar(select(Account.id).where(Account.member_id == member.id))
        return member.id, account, number

    return in_db(app, add)


def audits(app, action: str) -> list[AuditRecord]:
    def read(session):
        rows = session.scalars(select(AuditRecord).where(AuditRecord.action == action)).all()
        session.expunge_all()
        return rows

    return in_db(app, read)


def reset_member(client, login, unit_id, member_id, who="unit"):
    return client.post(
        f"{API}/units/{unit_id}/members/{member_id}/password-reset", headers=login(who)
    )


def test_an_approved_member_signs_in_only_with_a_random_password_the_unit_issued(
    app, client, login, world
):
    number = make_resident_id("44010619850315231")
    data = applicant_data(client, login("unit"), id_number=number)
    instance = start_form(client, login("unit"), "member_join", data)["id"]
    step_task(
        client,
        login("unit"),
        instance,
        {
            **form_values(client, login("unit"), instance),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    step_task(client, login("agency"), instance, {"decision": "approve"})
    step_task(client, login("association"), instance, {"decision": "approve"})
    step_task(client, login("unit"), instance, {"fee_voucher": upload(client, login("unit"))})
    finance = {"decision": "approve", "receipt_number": "GDCZ1", "receipt_date": business_day(app)}
    step_task(client, login("finance"), instance, finance)
    member_id = in_db(app, lambda s: s.scalar(select(Member.id).where(Member.id_number == number)))
    stored = in_db(
        app, lambda s: s.scalar(select(Account.password_hash).where(Account.username == number))
    )
    assert not stored.startswith("initial$") and number[-6:] not in stored

    assert sign_in(client, number, number[-6:]).status_code == 401  # the old guessable one
    first = reset_member(client, login, world.unit_id, member_id)
    assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
    issued = first.get_json()
    assert issued["username"] == number and issued["must_change_password"] is True
    assert len(issued["password"]) == 10 and issued["password"] not in number
    second = reset_member(client, login, world.unit_id, member_id).get_json()["password"]
    assert second != issued["password"]
    assert sign_in(client, number, issued["password"]).status_code == 401  # replaced
    reply = sign_in(client, number, second)
    assert reply.status_code == 200 and reply.get_json()["must_change_password"] is True


def test_a_one_time_password_is_good_only_for_changing_it(app, client, login, world):
    member_id, _account, number = roster_member(app, world.unit_id)
    one_time = reset_member(client, login, world.unit_id, member_id).get_json()["password"]
    first = bearer(sign_in(client, number, one_time))
    refused = client.get(f"{API}/instances", headers=first)
    assert refused.status_code == 403 and "修改初始密码" in refused.get_json()["message"]
    me = client.get(f"{API}/auth/me", headers=first).get_json()
    assert me["member_id"] == member_id and me["must_change_password"] is True

    def change(new, current=one_time):
        body = {"current_password": current, "new_password": new}
        return client.post(f"{API}/auth/password", headers=first, json=body)

    for new, field, rule in (
        ("short1", "new_password", "至少8位"),
        (number, "new_password", "登录账号"),
        (number[:-1], "new_password", "身份证号"),
        ("88888888", "new_password", "同一个字符"),
        (one_time, "new_password", "不能与当前密码相同"),
    ):
        reply = change(new)
        assert reply.status_code == 422, new
        assert rule in reply.get_json()["errors"][field], reply.get_json()
    wrong = change(NEW_PASSWORD, current="not-the-password")
    assert wrong.status_code == 422 and "current_password" in wrong.get_json()["errors"]

    changed = change(NEW_PASSWORD)
    assert changed.status_code == 200 and changed.get_json()["must_change_password"] is False
    assert client.get(f"{API}/auth/me", headers=first).status_code == 401  # ended at once
    fresh = bearer(changed)
    assert client.get(f"{API}/instances", headers=fresh).status_code == 200
    assert sign_in(client, number, one_time).status_code == 401
    assert sign_in(client, number, NEW_PASSWORD).get_json()["must_change_password"] is False
    [record] = audits(app, "password_change")
    assert record.actor_id == me["id"] and record.detail["username"] == number


def test_a_unit_resets_its_members_and_sub_accounts_but_not_its_main_account(
    app, client, login, world
):
    member_id, account_id, number = roster_member(app, world.unit_id)
    other_member, _, _ = roster_member(app, world.other_unit_id, "周文斌", "44010419880712043")
    sub = client.post(
        f"{API}/units/{world.unit_id}/accounts",
        headers=login("unit"),
        json={"name": "张敏", "mobile": "13800138000", "password": PASSWORD},
    ).get_json()
    main_id = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == world.unit_name))
    )
    # out of scope: another unit's member, the other unit's route, a reviewer: 404
    assert reset_member(client, login, world.unit_id, other_member).status_code == 404
    assert reset_member(client, login, world.other_unit_id, other_member).status_code == 404
    assert reset_member(client, login, world.unit_id, member_id, "other_unit").status_code == 404
    assert reset_member(client, login, world.unit_id, member_id, "agency").status_code == 404
    sub_before = token_headers(client, "13800138000")
    reset_sub = client.post(
        f"{API}/units/{world.unit_id}/accounts/{sub['id']}/password-reset", headers=login("unit")
    )
    assert reset_sub.status_code == 200 and reset_sub.get_json()["username"] == "13800138000"
    assert client.get(f"{API}/instances", headers=sub_before).status_code == 401
    sub_now = bearer(sign_in(client, "13800138000", reset_sub.get_json()["password"]))
    assert client.get(f"{API}/auth/me", headers=sub_now).get_json()["must_change_password"]
    main = client.post(
        f"{API}/units/{world.unit_id}/accounts/{main_id}/password-reset",
        headers=login("unit"),
    )
    assert main.status_code == 403 and "秘书处" in main.get_json()["message"]
    assert (
        client.post(
            f"{API}/units/{world.other_unit_id}/accounts/{sub['id']}/password-reset",
            headers=login("other_unit"),
        ).status_code
        == 404
    )
    issued = reset_member(client, login, world.unit_id, member_id).get_json()["password"]
    records = audits(app, "password_reset")
    mine = [r for r in records if r.detail["account_id"] == account_id]
    assert len(mine) == 1 and mine[0].actor_name == world.unit_name
    assert all(issued not in json.dumps(r.detail) + (r.remark or "") for r in records)
    assert number[-6:] != issued


def test_the_secretariat_resets_a_main_account_and_disables_and_enables_any_account(
    app, client, login, world
):
    main_id = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == world.unit_name))
    )
    unit_before = login("unit")
    admin = login("admin")
    url = f"{API}/accounts/{main_id}"
    assert client.post(f"{url}/password-reset", headers=login("association")).status_code == 403
    assert client.post(f"{API}/accounts/999999/password-reset", headers=admin).status_code == 404
    reset = client.post(f"{url}/password-reset", headers=admin)
    assert reset.status_code == 200 and reset.get_json()["username"] == world.unit_name
    assert client.get(f"{API}/instances", headers=unit_before).status_code == 401
    assert sign_in(client, world.unit_name, PASSWORD).status_code == 401
    one_time = reset.get_json()["password"]
    unit = bearer(sign_in(client, world.unit_name, one_time))
    body = {"current_password": one_time, "new_password": NEW_PASSWORD}
    unit = bearer(client.post(f"{API}/auth/password", headers=unit, json=body))
    assert client.get(f"{API}/instances", headers=unit).status_code == 200

    disabled = client.post(f"{url}/disable", headers=admin)
    assert disabled.status_code == 200 and disabled.get_json()["active"] is False
    assert client.get(f"{API}/instances", headers=unit).status_code == 401  # at once
    refused = sign_in(client, world.unit_name, NEW_PASSWORD)
    assert refused.status_code == 401 and "停用" in refused.get_json()["message"]
    assert sign_in(client, world.unit_name, "wrong-password").get_json()["message"] == (
        "账号或密码错误"
    )
    assert client.post(f"{url}/enable", headers=admin).get_json()["active"] is True
    assert client.get(f"{API}/instances", headers=unit).status_code == 401  # stays ended
    assert sign_in(client, world.unit_name, NEW_PASSWORD).status_code == 200
    admin_id = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "admin")))
    selfish = client.post(f"{API}/accounts/{admin_id}/disable", headers=admin)
    assert selfish.status_code == 409
    assert client.post(f"{url}/disable", headers=login("agency")).status_code == 403
    actions = [r.action for r in audits(app, "account_disable") + audits(app, "account_enable")]
    assert actions == ["account_disable", "account_enable"]


def test_logout_ends_that_token_and_logout_all_ends_every_token(client, world):
    first = bearer(sign_in(client, "jigou", PASSWORD))
    second = bearer(sign_in(client, "jigou", PASSWORD))
    third = bearer(sign_in(client, "jigou", PASSWORD))
    assert client.post(f"{API}/auth/logout", headers=first).status_code == 204
    assert client.get(f"{API}/tasks", headers=first).status_code == 401
    assert client.post(f"{API}/auth/logout", headers=first).status_code == 401
    assert client.get(f"{API}/tasks", headers=second).status_code == 200  # other devices stay
    assert client.post(f"{API}/auth/logout-all", headers=second).status_code == 204
    for ended in (second, third):
        reply = client.get(f"{API}/tasks", headers=ended)
        assert reply.status_code == 401 and "重新登录" in reply.get_json()["message"]
    again = bearer(sign_in(client, "jigou", PASSWORD))
    assert client.get(f"{API}/tasks", headers=again).status_code == 200


def test_a_password_change_ends_every_earlier_token(client, world):
    first = bearer(sign_in(client, "jigou", PASSWORD))
    second = bearer(sign_in(client, "jigou", PASSWORD))
    body = {"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    changed = client.post(f"{API}/auth/password", headers=first, json=body)
    assert changed.status_code == 200
    assert client.get(f"{API}/tasks", headers=second).status_code == 401
    assert client.get(f"{API}/tasks", headers=bearer(changed)).status_code == 200
    assert sign_in(client, "jigou", PASSWORD).status_code == 401


def test_wrong_passwords_lock_the_name_known_or_not_with_retry_after(client, world):
    for name in ("jigou", "no-such-user"):
        for _ in range(5):
            reply = sign_in(client, name, "wrong-password")
            assert reply.status_code == 401 and reply.get_json()["message"] == "账号或密码错误"
        locked = sign_in(client, name, PASSWORD)  # even the right password now waits
        assert locked.status_code == 429, locked.get_json()
        assert 0 < int(locked.headers["Retry-After"]) <= 900
        assert "已暂时锁定" in locked.get_json()["message"]
        assert "分钟后" in locked.get_json()["message"]
    # both were answered alike: nothing tells whether a name exists
    assert sign_in(client, "xiehui", PASSWORD).status_code == 200  # others are not affected


def lock_out(client, name: str) -> None:
    """Five wrong passwords for `name`, from an address of its own (each address may fail
    only 30 times in ten minutes, over all names)."""
    body = {"username": name, "password": "wrong-password"}
    address = {"REMOTE_ADDR": f"198.51.100.{sum(map(ord, name)) % 250 + 1}"}
    for status in (401,) * 5 + (429,):
        reply = client.post(f"{API}/auth/token", json=body, environ_base=address)
        assert reply.status_code == status, reply.get_json()


def test_a_new_password_issued_by_a_reset_signs_a_locked_out_person_in_at_once(
    app, client, login, world
):
    """Locked out, the person asks whoever may reset: the new password works at once, not
    after the lock runs out (the unit for its member and sub-account, the secretariat for a
    main account or staff)."""
    member_id, _account, number = roster_member(app, world.unit_id)
    sub = client.post(
        f"{API}/units/{world.unit_id}/accounts",
        headers=login("unit"),
        json={"name": "张敏", "mobile": "13800138000", "password": PASSWORD},
    ).get_json()
    main_id = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == world.unit_name))
    )
    staff_id = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou")))
    unit, admin = login("unit"), login("admin")
    # the member's own claim of a password code (proven by the full ID number) does too
    lock_out(client, number)
    made = client.post(
        f"{API}/units/{world.unit_id}/members/{member_id}/password-codes", headers=unit
    )
    assert made.status_code == 201, made.get_json()
    code = made.get_json()["code"]
    claimed = client.post(f"{API}/confirmations/{code}/password", json={"id_number": number})
    assert claimed.status_code == 200, claimed.get_json()
    assert sign_in(client, number, claimed.get_json()["password"]).status_code == 200
    resets = {
        number: f"{API}/units/{world.unit_id}/members/{member_id}/password-reset",
        "13800138000": f"{API}/units/{world.unit_id}/accounts/{sub['id']}/password-reset",
        world.unit_name: f"{API}/accounts/{main_id}/password-reset",
        "jigou": f"{API}/accounts/{staff_id}/password-reset",
    }
    for name, url in resets.items():
        lock_out(client, name)
        reply = client.post(url, headers=admin if url.startswith(f"{API}/accounts") else unit)
        assert reply.status_code == 200, reply.get_json()
        signed = sign_in(client, name, reply.get_json()["password"])
        assert signed.status_code == 200, (name, signed.get_json())
    # a reset lifts the lock of the account reset, not of another name
    lock_out(client, "xiehui")
    client.post(f"{API}/accounts/{staff_id}/password-reset", headers=admin)
    assert sign_in(client, "xiehui", PASSWORD).status_code == 429


def test_a_success_forgets_earlier_failures(client, world):
    for _ in range(3):
        for _ in range(4):
            assert sign_in(client, "jigou", "wrong-password").status_code == 401
        assert sign_in(client, "jigou", PASSWORD).status_code == 200


def test_failures_from_one_address_are_limited_over_all_names(client, world):
    for i in range(6):
        for _ in range(5):
            assert sign_in(client, f"guess{i}", "wrong-password").status_code == 401
    refused = sign_in(client, "xiehui", PASSWORD)
    assert refused.status_code == 429 and "网络地址" in refused.get_json()["message"]
    assert int(refused.headers["Retry-After"]) > 0


def test_the_initial_password_qr_shows_a_new_password_once_to_whoever_knows_the_id_number(
    app, client, login, world
):
    member_id, account_id, number = roster_member(app, world.unit_id)
    made = client.post(
        f"{API}/units/{world.unit_id}/members/{member_id}/password-codes", headers=login("unit")
    )
    assert made.status_code == 201, made.get_json()
    code = made.get_json()
    assert code["kind"] == "password" and code["url"].endswith(f"/initial-password/{code['code']}")
    public = client.get(f"{API}/confirmations/{code['code']}").get_json()
    assert public["person_id_number"] == "*" * 14 + number[-4:]
    url = f"{API}/confirmations/{code['code']}/password"
    wrong = client.post(url, json={"id_number": make_resident_id("44010619880808124")})
    assert wrong.status_code == 422 and "id_number" in wrong.get_json()["errors"]
    signed_in = member_headers(client, number)  # a member who has a password already
    confirm = client.post(f"{API}/confirmations/{code['code']}/confirm", headers=signed_in)
    assert confirm.status_code == 409 and "领取初始密码" in confirm.get_json()["message"]
    claimed = client.post(url, json={"id_number": number.lower()})
    assert claimed.status_code == 200 and claimed.headers["Cache-Control"] == "no-store"
    issued = claimed.get_json()
    assert issued["username"] == number and len(issued["password"]) == 10
    again = client.post(url, json={"id_number": number})
    assert again.status_code == 410  # shown once
    assert client.get(f"{API}/auth/me", headers=signed_in).status_code == 401
    reply = sign_in(client, number, issued["password"])
    assert reply.status_code == 200 and reply.get_json()["must_change_password"] is True
    [record] = audits(app, "password_claim")
    assert record.detail["account_id"] == account_id and issued["password"] not in json.dumps(
        record.detail
    )


def test_wrong_id_numbers_on_a_password_code_are_limited(app, client, login, world):
    member_id, _account, number = roster_member(app, world.unit_id)
    code = client.post(
        f"{API}/units/{world.unit_id}/members/{member_id}/password-codes", headers=login("unit")
    ).get_json()["code"]
    url = f"{API}/confirmations/{code}/password"
    for i in range(5):
        guess = make_resident_id(f"4401061977070712{i}")
        assert client.post(url, json={"id_number": guess}).status_code == 422
    locked = client.post(url, json={"id_number": number})
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # said of the code: the member's own sign-in is not locked
    assert "该二维码已暂时锁定" in locked.get_json()["message"]
    assert "账号" not in locked.get_json()["message"]
