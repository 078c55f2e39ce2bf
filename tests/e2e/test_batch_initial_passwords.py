"""批量生成初始密码: a unit (or the secretariat) issues one-time passwords to many of its
members at once, in one transaction: all or none, each audited as one reset; and the unit's
pages (tick in the archive → confirm → one page, shown once, never cached)."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, in_db, member_headers
from sqlalchemy import delete, func, select
from test_pages_http import csrf, sign_in, text

from service.db import db
from service.db.models import Account, AuditRecord, Member
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.validation import make_resident_id
from service.limits import signin_guard
from service.services.membership import passwords
from service.services.membership.roster import MemberSeed, add_member

API = "/api/v1"
ROW = re.compile(
    r"<td class=\"nowrap\">([^<]+)</td>\s*<td class=\"nowrap\">([^<]+)</td>\s*"
    r"<td class=\"nowrap\"><span class=\"password\">([^<]+)</span>"
)


def seed(app, unit_id: int, name: str, prefix: str) -> int:
    """A member of the unit, with a member account; its id."""

    def add(s):
        member = add_member(s, MemberSeed(name, make_resident_id(prefix), unit_id))
        s.commit()
        return member.id

    return in_db(app, add)


def without_account(app, member_id: int) -> None:
    def drop(s):
        s.execute(delete(Account).where(Account.member_id == member_id))
        s.commit()

    in_db(app, drop)


def accounts_of(app, member_ids) -> dict[int, tuple]:
    """Each member's account as it stands: (username, password hash, must change, version)."""
    return in_db(
        app,
        lambda s: {
            a.member_id: (a.username, a.password_hash, a.must_change_password, a.auth_version)
            for a in s.scalars(select(Account).where(Account.member_id.in_(member_ids)))
        },
    )


def resets(app) -> int:
    return in_db(
        app,
        lambda s: s.scalar(select(func.count()).where(AuditRecord.action == "password_reset")),
    )


def batch(app, actor: Actor, unit_id: int, member_ids: list[int]) -> list[dict]:
    """The use case in its own unit of work, as a request runs it."""
    with app.test_request_context():
        with UnitOfWork(db.session) as uow:
            return passwords.reset_member_passwords(uow, actor, unit_id, member_ids, signin_guard())


def unit_actor(app, world) -> Actor:
    main = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == world.unit_name))
    )
    return Actor(main, world.unit_name, "unit_admin", unit_id=world.unit_id)


def id_number(app, member_id: int) -> str:
    return in_db(app, lambda s: s.get(Member, member_id).id_number)


def test_a_batch_resets_every_account_in_one_go_each_to_change_at_first_sign_in(app, client, world):
    u = world.unit_id
    ids = [seed(app, u, "周建国", "44010619800101123"), seed(app, u, "何美玲", "44010619850505234")]
    numbers = [id_number(app, i) for i in ids]
    signed_in = [member_headers(client, n) for n in numbers]  # both have a password, signed in
    before, audited = accounts_of(app, ids), resets(app)

    issued = batch(app, unit_actor(app, world), u, ids + [ids[0]])  # a repeat counts once

    assert [(i["member_id"], i["name"], i["username"]) for i in issued] == [
        (ids[0], "周建国", numbers[0]),
        (ids[1], "何美玲", numbers[1]),
    ]
    assert all(i["must_change_password"] and len(i["password"]) >= 8 for i in issued)
    after = accounts_of(app, ids)
    for member_id in ids:
        assert after[member_id][1] != before[member_id][1]  # a new password
        assert after[member_id][2] is True  # to be changed at the next sign-in
        assert after[member_id][3] > before[member_id][3]  # every session ended
    assert resets(app) == audited + 2  # each account's reset audited, as one reset is
    for headers in signed_in:
        assert client.get(f"{API}/auth/me", headers=headers).status_code == 401
    for i, number in zip(issued, numbers, strict=True):
        old = client.post(f"{API}/auth/token", json={"username": number, "password": PASSWORD})
        assert old.status_code == 401
        new = client.post(f"{API}/auth/token", json={"username": number, "password": i["password"]})
        assert new.status_code == 200
        me = client.get(
            f"{API}/auth/me", headers={"Authorization": f"Bearer {new.get_json()['access_token']}"}
        )
        assert me.get_json()["must_change_password"] is True


def test_a_refused_batch_names_the_people_and_changes_nothing(app, world):
    u = world.unit_id
    ready = seed(app, u, "周建国", "44010619800101123")
    pending = seed(app, u, "何美玲", "44010619850505234")
    without_account(app, pending)
    stranger = seed(app, world.other_unit_id, "林小梅", "44010619830303345")
    before, audited = accounts_of(app, [ready, stranger]), resets(app)
    actor = unit_actor(app, world)

    with pytest.raises(FormInvalid) as refused:
        batch(app, actor, u, [ready, pending])
    assert "何美玲" in refused.value.message and "还没有会员账号" in refused.value.message
    assert "周建国" not in refused.value.message
    with pytest.raises(FormInvalid) as refused:
        batch(app, actor, u, [ready, stranger])
    assert "1人不存在或已不是本单位人员" in refused.value.message
    assert "林小梅" not in refused.value.message  # another unit's person is never named
    with pytest.raises(FormInvalid) as refused:
        batch(app, actor, u, list(range(1, passwords.MAX_BATCH + 2)))
    assert f"每次最多为{passwords.MAX_BATCH}人" in refused.value.message
    with pytest.raises(FormInvalid):
        batch(app, actor, u, [])
    with pytest.raises(NotFound):  # another unit's administrator: the unit is not found
        other = Actor(None, world.other_unit_name, "unit_admin", unit_id=world.other_unit_id)
        batch(app, other, u, [ready])

    assert accounts_of(app, [ready, stranger]) == before  # nothing changed, nothing audited
    assert resets(app) == audited


def test_the_secretariat_may_issue_a_units_batch(app, world):
    u = world.unit_id
    ids = [seed(app, u, "周建国", "44010619800101123"), seed(app, u, "何美玲", "44010619850505234")]
    admin = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "admin")))
    issued = batch(app, Actor(admin, "admin", "secretariat_admin"), u, ids)
    assert [i["member_id"] for i in issued] == ids


# --- the unit's pages -------------------------------------------------------------------------


def test_the_archive_ticks_confirms_and_shows_the_passwords_once(app, client, world):
    u = world.unit_id
    ids = [seed(app, u, "周建国", "44010619800101123"), seed(app, u, "何美玲", "44010619850505234")]
    pending = seed(app, u, "林小梅", "44010619830303345")
    without_account(app, pending)
    sign_in(client, world.logins["unit"])

    archive = text(client.get("/unit/members"))
    for member_id in ids:  # those with an account can be ticked, the others not
        assert f'name="member_ids" value="{member_id}"' in archive
    assert f'name="member_ids" value="{pending}"' not in archive

    token = csrf(client, "/unit/members")
    form = {"csrf_token": token, "member_ids": [str(i) for i in ids], "next": "/unit/members"}
    confirm = client.post("/unit/members/initial-passwords/confirm", data=form)
    assert confirm.status_code == 200 and confirm.headers["Cache-Control"] == "no-store"
    page = text(confirm)
    assert "周建国" in page and "何美玲" in page and "确认生成" in page
    assert resets(app) == 0  # the confirmation changes nothing
    confirmation = re.search(r'name="token" value="([^"]+)"', page).group(1)

    done = client.post("/unit/members/initial-passwords", data={**form, "token": confirmation})
    assert done.status_code == 200 and done.headers["Cache-Control"] == "no-store"
    shown = ROW.findall(text(done))
    assert [(name, login) for name, login, _ in shown] == [
        ("周建国", id_number(app, ids[0])),
        ("何美玲", id_number(app, ids[1])),
    ]
    assert "只显示这一次" in text(done) and "首次登录后须修改" in text(done)
    assert resets(app) == 2

    # sent again (a reload): nothing reset again, no password shown
    again = client.post("/unit/members/initial-passwords", data={**form, "token": confirmation})
    assert again.status_code == 302 and resets(app) == 2
    assert all(password not in text(client.get("/unit/members")) for _, _, password in shown)


def test_the_archive_refuses_a_batch_with_someone_without_an_account(app, client, world):
    u = world.unit_id
    ready = seed(app, u, "周建国", "44010619800101123")
    pending = seed(app, u, "林小梅", "44010619830303345")
    without_account(app, pending)
    sign_in(client, world.logins["unit"])
    token = csrf(client, "/unit/members")
    form = {"csrf_token": token, "member_ids": [str(ready), str(pending)], "next": "/unit/members"}
    refused = client.post("/unit/members/initial-passwords/confirm", data=form)
    assert refused.status_code == 302 and refused.headers["Location"] == "/unit/members"
    page = text(client.get("/unit/members"))
    assert "林小梅" in page and "还没有会员账号" in page and "未生成任何密码" in page
    nothing = client.post("/unit/members/initial-passwords/confirm", data={"csrf_token": token})
    assert nothing.status_code == 302
    assert "请先勾选要生成初始密码的人员" in text(client.get("/unit/members"))
    assert resets(app) == 0


# --- the API ----------------------------------------------------------------------------------


def test_the_api_issues_a_batch_once_and_refuses_one_wrong_id_whole(app, client, login, world):
    u = world.unit_id
    ids = [seed(app, u, "周建国", "44010619800101123"), seed(app, u, "何美玲", "44010619850505234")]
    stranger = seed(app, world.other_unit_id, "林小梅", "44010619830303345")
    url = f"{API}/units/{u}/members/password-resets"
    before, audited = accounts_of(app, ids), resets(app)

    refused = client.post(url, headers=login("unit"), json={"member_ids": [ids[0], stranger]})
    assert refused.status_code == 422, refused.get_json()
    assert "1人不存在或已不是本单位人员" in refused.get_json()["message"]
    for wrong in ({"member_ids": []}, {"member_ids": ["12"]}, {"member_ids": [0]}, {}):
        assert client.post(url, headers=login("unit"), json=wrong).status_code == 422, wrong
    other = client.post(
        f"{API}/units/{u}/members/password-resets",
        headers=login("other_unit"),
        json={"member_ids": ids},
    )
    assert other.status_code == 404
    assert accounts_of(app, ids) == before and resets(app) == audited  # nothing changed

    issued = client.post(url, headers=login("unit"), json={"member_ids": ids})
    assert issued.status_code == 200, issued.get_json()
    assert issued.headers["Cache-Control"] == "no-store"
    items = issued.get_json()["items"]
    assert [(i["member_id"], i["name"]) for i in items] == [(ids[0], "周建国"), (ids[1], "何美玲")]
    for item in items:
        new = client.post(
            f"{API}/auth/token", json={"username": item["username"], "password": item["password"]}
        )
        assert new.status_code == 200
    assert resets(app) == audited + 2
