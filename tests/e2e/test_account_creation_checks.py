"""Creating units and staff checks the same fields the same way through the API and the
pages, every wrong field named at once; staff logins are letters, digits, underscores or
Chinese, unique whatever their letter case, and never of a shape kept for members' and
sub-accounts' logins; a join whose ID number another account signs in with is refused at
approval rather than finishing without a member account. On both databases."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, in_db
from sqlalchemy import select

from service.db.models import Account, Member, Unit
from service.domain.validation import make_credit_code, make_resident_id
from service.services.membership.credentials import hash_password

pytestmark = pytest.mark.usefixtures("pinned_clock")

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def errors_of(reply) -> dict:
    assert reply.status_code == 422, reply.get_json()
    return reply.get_json()["errors"]


def unit_body(world, **fields) -> dict:
    return {
        "name": "梅州市某监理公司",
        "credit_code": make_credit_code("91441400123456789"),
        "agency_id": world.agency_id,
        "password": PASSWORD,
        **fields,
    }


def test_the_api_names_every_wrong_unit_field_at_once_and_refuses_blank_names(
    app, client, world, login
):
    admin = login("admin")
    blank = client.post("/api/v1/units", headers=admin, json=unit_body(world, name="   "))
    assert errors_of(blank) == {"name": "请填写单位名称"}
    several = client.post(
        "/api/v1/units",
        headers=admin,
        json=unit_body(world, name="   ", credit_code="91350100M000100Y4Z", agency_id=99999),
    )
    assert set(errors_of(several)) == {"name", "credit_code", "agency_id"}
    taken = in_db(app, lambda s: s.get(Unit, world.unit_id).credit_code)
    body = unit_body(world, credit_code=taken)
    duplicate = client.post("/api/v1/units", headers=admin, json=body)
    assert errors_of(duplicate) == {"credit_code": "该统一社会信用代码已注册"}
    assert in_db(app, lambda s: s.scalar(select(Unit.id).where(Unit.name == ""))) is None
    # a name that becomes a login and is printed on certificates: as a 单位名称变更 checks it
    emoji = client.post("/api/v1/units", headers=admin, json=unit_body(world, name="珠江😀监理"))
    assert errors_of(emoji)["name"].startswith("单位名称只能包含")
    for digits in ("13900000005", "44010619900101118X"):  # a login a mobile or ID would own
        shaped = client.post("/api/v1/units", headers=admin, json=unit_body(world, name=digits))
        assert errors_of(shaped)["name"].startswith("单位名称不能只由数字组成"), digits
    made = client.post("/api/v1/units", headers=admin, json=unit_body(world))
    assert made.status_code == 201, made.get_json()


def test_the_api_names_every_wrong_staff_field_at_once(client, world, login):
    admin = login("admin")
    reply = client.post(
        "/api/v1/staff",
        headers=admin,
        json={"username": "a b<script>", "name": "   ", "password": "1", "role": "agency_reviewer"},
    )
    assert set(errors_of(reply)) == {"username", "name", "password", "agency_id"}
    assert "字母、数字、下划线或中文" in errors_of(reply)["username"]
    assert errors_of(reply)["agency_id"] == "会员服务机构人员必须选择所属机构"
    nowhere = {"username": "jigou9", "name": "张三", "password": "Jigou9-2026", "agency_id": 99999}
    reply = client.post("/api/v1/staff", headers=admin, json={**nowhere, "role": "agency_reviewer"})
    assert errors_of(reply) == {  # an agency was chosen: it does not exist
        "agency_id": "所属机构不存在（编号 99999），请从会员服务机构列表中选择"
    }


@pytest.mark.parametrize(
    "username",
    [
        "445202197907305171",  # a resident ID number
        "11010519491231002x",
        "H12345678",  # 回乡证
        "12345678",  # 台胞证
        "13800138000",  # a sub-account's mobile
    ],
)
def test_a_staff_login_may_not_have_a_members_or_sub_accounts_login_shape(
    client, world, login, username
):
    reply = client.post(
        "/api/v1/staff",
        headers=login("admin"),
        json={"username": username, "name": "设计员", "password": PASSWORD, "role": "designer"},
    )
    assert "工作人员登录名不能使用" in errors_of(reply)["username"]


def test_staff_logins_are_unique_whatever_their_letter_case(app, client, world, login):
    page = app.test_client()
    token = TOKEN.search(page.get("/login").get_data(as_text=True)).group(1)
    page.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    token = TOKEN.search(page.get("/admin/staff/new").get_data(as_text=True)).group(1)
    form = {"username": "JIGOU", "name": "重名", "role": "designer", "csrf_token": token}
    reply = page.post("/admin/staff/new", data=form)
    assert reply.status_code == 422
    assert "该登录名已被使用（登录名不区分大小写）" in reply.get_data(as_text=True)
    api = client.post(
        "/api/v1/staff",
        headers=login("admin"),
        json={"username": "Xiehui", "name": "重名", "password": PASSWORD, "role": "designer"},
    )
    assert errors_of(api) == {"username": "该登录名已被使用（登录名不区分大小写）"}


def test_a_missing_role_is_asked_for_and_a_wrong_one_names_the_allowed_ids(app, client, login):
    """The page's empty choice reads 请选择角色 (no role ids shown to a person); a program
    sending a role no page offers is told the ids it may send."""
    page = app.test_client()
    token = TOKEN.search(page.get("/login").get_data(as_text=True)).group(1)
    page.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    token = TOKEN.search(page.get("/admin/staff/new").get_data(as_text=True)).group(1)
    form = {"username": "xinren", "name": "新人", "role": "", "csrf_token": token}
    reply = page.post("/admin/staff/new", data=form)
    assert reply.status_code == 422
    shown = reply.get_data(as_text=True)
    assert "请选择角色" in shown and "请选择角色：" not in shown
    assert "agency_reviewer（" not in shown
    api = client.post(
        "/api/v1/staff",
        headers=login("admin"),
        json={"username": "xinren", "name": "新人", "password": PASSWORD, "role": "boss"},
    )
    assert errors_of(api)["role"].startswith("角色应为以下之一：agency_reviewer（会员服务机构）、")


def test_a_join_whose_id_number_is_another_accounts_login_is_refused_at_approval(
    app, client, world, login
):
    """A staff login made before such logins were refused: the approval answers 409 with
    the reason and changes nothing, instead of finishing with no member account."""
    from test_member_join_api import approve_to_end, start_join  # the join's walk

    number = make_resident_id("44520219790730517")

    def squat(s):
        s.add(
            Account(
                username=number, name="旧账号", role="designer", password_hash=hash_password("x")
            )
        )
        s.commit()

    in_db(app, squat)
    inst = start_join(client, login, id_number=number)
    approve_to_end(client, login, inst["id"], stop_at="finance_review")
    task = client.get(f"/api/v1/instances/{inst['id']}", headers=login("finance")).get_json()
    task_id = task["open_tasks"][0]["id"]
    reply = client.post(
        f"/api/v1/tasks/{task_id}/complete",
        headers=login("finance"),
        json={
            "data": {
                "decision": "approve",
                "receipt_number": "GD-CZ-2026-000123",
                "receipt_date": "2026-11-28",
            }
        },
    )
    assert reply.status_code == 409, reply.get_json()
    assert "无法为其开通个人会员账号" in reply.get_json()["message"]
    member = select(Member.id).where(Member.id_number == number)
    assert in_db(app, lambda s: s.scalar(member)) is None
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=login("finance")).get_json()
    assert view["status"] == "财务复核中"
