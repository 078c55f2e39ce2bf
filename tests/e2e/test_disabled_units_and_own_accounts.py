"""What a unit's 停用 and the secretariat's own account may and may not do (SQLite,
PostgreSQL):
- 启用 turns back on what the unit's 停用 turned off, not a sub-account disabled on its own;
- a disabled unit takes nobody in by its transfer code, as its join codes take no applicant;
- a member of a disabled unit cannot start a form its unit would have to pre-review, nor a
  member's form for somebody else;
- the secretariat cannot reset its own password without the current one."""

from __future__ import annotations

from datetime import date

from conftest import PASSWORD, in_db, member_headers, token_headers, upload
from sqlalchemy import func, select

from service.db.models import Account, ProcessInstance
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_resident_id
from service.services.membership import directory
from service.services.membership.roster import MemberSeed, add_member
from service.services.workflow.instances import MEMBER_UNIT_DISABLED

API = "/api/v1"


def _set_active(app, unit_id: int, active: bool) -> None:
    def change(session):
        with UnitOfWork(session) as uow:
            directory.set_unit_active(uow, Actor(1, "admin", "secretariat_admin"), unit_id, active)

    in_db(app, change)


def _active(app, username: str) -> bool:
    return in_db(
        app, lambda s: s.scalar(select(Account.active).where(Account.username == username))
    )


def _member(app, unit_id: int, name: str, prefix: str) -> str:
    number = make_resident_id(prefix)
    seed = MemberSeed(name, number, unit_id, memberships={"普通会员": date(2030, 6, 30)})
    in_db(app, lambda s: (add_member(s, seed), s.commit()))
    return number


def test_enabling_a_unit_leaves_a_sub_account_disabled_on_its_own_off(app, client, login, world):
    unit = login("unit")
    for name, mobile in (("张敏", "13800138000"), ("李强", "13800138001")):
        body = {"name": name, "mobile": mobile, "password": PASSWORD}
        reply = client.post(f"{API}/units/{world.unit_id}/accounts", headers=unit, json=body)
        assert reply.status_code == 201, reply.get_json()
    off = in_db(
        app, lambda s: s.scalar(select(Account.id).where(Account.username == "13800138000"))
    )
    assert client.post(f"{API}/accounts/{off}/disable", headers=login("admin")).status_code == 200

    _set_active(app, world.unit_id, False)
    assert not _active(app, world.unit_name) and not _active(app, "13800138001")
    _set_active(app, world.unit_id, True)
    assert _active(app, world.unit_name) and _active(app, "13800138001")
    assert not _active(app, "13800138000")  # disabled before the unit was, and still


def test_a_disabled_unit_takes_nobody_in_by_its_transfer_code(app, client, login, world):
    number = _member(app, world.other_unit_id, "周文斌", "44010419880712043")
    code = client.post(f"{API}/units/{world.unit_id}/transfer-codes", headers=login("unit"))
    assert code.status_code == 201, code.get_json()
    _set_active(app, world.unit_id, False)
    member = member_headers(client, number)
    reply = client.post(f"{API}/confirmations/{code.get_json()['code']}/confirm", headers=member)
    assert reply.status_code == 409, reply.get_json()
    assert "账号已停用，暂不能调入该单位" in reply.get_json()["message"]
    me = client.get(f"{API}/auth/me", headers=member).get_json()
    assert me["unit_id"] == world.other_unit_id


def test_a_member_of_a_disabled_unit_or_for_another_person_starts_nothing(
    app, client, login, world
):
    number = _member(app, world.unit_id, "林婉清", "44010619880808234")
    other = _member(app, world.unit_id, "杨志刚", "44010619800101123")
    member = member_headers(client, number)
    changes = {"changes": {"mobile": "13922334455"}, "diploma_scan": upload(client, member)}
    url = f"{API}/processes/member_info_change/instances"

    someone_else = {**changes, "id_number": other, "name": "杨志刚"}
    reply = client.post(url, headers=member, json={"data": someone_else})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"id_number": "个人会员只能为本人办理，证件号码应为本人的"}

    _set_active(app, world.unit_id, False)
    reply = client.post(url, headers=member, json={"data": changes})
    assert reply.status_code == 409 and reply.get_json()["message"] == MEMBER_UNIT_DISABLED
    count = select(func.count()).select_from(ProcessInstance)
    assert in_db(app, lambda s: s.scalar(count)) == 0

    _set_active(app, world.unit_id, True)  # its own form, as before
    reply = client.post(url, headers=member, json={"data": {**changes, "id_number": number}})
    assert reply.status_code == 201, reply.get_json()


def test_the_secretariat_resets_others_passwords_but_not_its_own(app, client, login, world):
    admin = login("admin")
    me = client.get(f"{API}/auth/me", headers=admin).get_json()["id"]
    reply = client.post(f"{API}/accounts/{me}/password-reset", headers=admin)
    assert reply.status_code == 409, reply.get_json()
    assert "不能重置当前登录账号的密码" in reply.get_json()["message"]
    assert client.get(f"{API}/auth/me", headers=token_headers(client, "admin")).status_code == 200
    jigou = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou")))
    assert client.post(f"{API}/accounts/{jigou}/password-reset", headers=admin).status_code == 200
