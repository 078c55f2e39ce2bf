"""A staff account of a role other than 会员服务机构 given an agency is refused at the agency's
field, through the API and on the 新增工作人员 page, with every other wrong field; it was made
with the agency silently dropped. The page's empty choice (请选择) sends no agency and still
makes the account. On both databases."""

from __future__ import annotations

import re

from conftest import PASSWORD, in_db
from sqlalchemy import func, select

from service.db.models import Account

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
SAID = "角色为“协会财务”时所属机构请留空（只有会员服务机构人员属于某个机构）"


def staff_count(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(Account)))


def test_the_api_refuses_an_agency_for_another_role_with_the_other_wrong_fields(
    app, client, world, login
):
    before = staff_count(app)
    body = {"username": "caiwu2", "name": "  ", "password": PASSWORD, "role": "finance_reviewer"}
    reply = client.post(
        "/api/v1/staff", headers=login("admin"), json={**body, "agency_id": world.agency_id}
    )
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"name": "请填写姓名", "agency_id": SAID}
    assert staff_count(app) == before


def test_the_page_refuses_a_chosen_agency_and_makes_the_account_without_one(app, world):
    page = app.test_client()
    token = TOKEN.search(page.get("/login").get_data(as_text=True)).group(1)
    page.post("/login", data={"username": "admin", "password": PASSWORD, "csrf_token": token})
    token = TOKEN.search(page.get("/admin/staff/new").get_data(as_text=True)).group(1)
    form = {"username": "caiwu2", "name": "协会财务二", "role": "finance_reviewer"}
    chosen = page.post(
        "/admin/staff/new", data={**form, "agency_id": str(world.agency_id), "csrf_token": token}
    )
    assert chosen.status_code == 422
    assert SAID in chosen.get_data(as_text=True)
    left_empty = page.post("/admin/staff/new", data={**form, "agency_id": "", "csrf_token": token})
    assert left_empty.status_code == 302  # to the one-time password, shown once
    made = in_db(app, lambda s: s.scalar(select(Account).where(Account.username == "caiwu2")))
    assert made.role == "finance_reviewer" and made.agency_id is None
