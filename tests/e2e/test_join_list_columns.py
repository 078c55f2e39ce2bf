"""The join list's own columns (UI.md, the manual's screenshots): 申请普通会员, 申请专业会员,
退回原因 and 初审机构, in GET /instances and on the 业务查询 page, on SQLite and PostgreSQL.
The list reads them from the instance row and the audit trail, never the engine state."""

from __future__ import annotations

import re
from datetime import date, timedelta

import sqlalchemy as sa
from conftest import form_values, open_task
from test_member_join_api import approve_to_end, complete, start_join, step
from test_pages_http import sign_in

from service.db import db
from service.domain.validation import make_resident_id

AGENCY = "广州市建设监理行业协会"


def listed(client, headers, **params) -> dict[int, dict]:
    reply = client.get("/api/v1/instances", headers=headers, query_string=params)
    assert reply.status_code == 200, reply.get_json()
    return {item["id"]: item for item in reply.get_json()["items"]}


def test_a_join_lists_its_levels_its_agency_and_why_it_was_returned(app, client, login, world):
    waiting = start_join(client, login, id_number=make_resident_id("44010619850315231"))
    ordinary = start_join(client, login, id_number=make_resident_id("44010619860412102"))
    pro = start_join(client, login, id_number=make_resident_id("44010619870523303"))
    # `waiting` is not pre-reviewed: no level chosen yet
    approve_to_end(client, login, ordinary["id"], stop_at="agency_review")
    approve_to_end(client, login, pro["id"], level="专业会员", stop_at="agency_review")

    rows = listed(client, login("association"), key="member_join")
    assert rows[waiting["id"]]["member_levels"] == []
    assert rows[ordinary["id"]]["member_levels"] == ["普通会员"]
    assert rows[pro["id"]]["member_levels"] == ["专业会员"]
    assert {r["agency_name"] for r in rows.values()} == {AGENCY}
    assert all(r["returned_reason"] is None for r in rows.values())

    # the agency returns one with its reason: the list says why, until the unit resubmits
    task = open_task(client, login("agency"), ordinary["id"])
    complete(
        client, login("agency"), task["id"], {"decision": "return", "remark": "学历证明不清晰"}
    )
    rows = listed(client, login("unit"), key="member_join")
    assert rows[ordinary["id"]]["status"] == "退回"
    assert rows[ordinary["id"]]["returned_reason"] == "学历证明不清晰"
    assert rows[pro["id"]]["returned_reason"] is None

    # resubmitted for both levels at once (manual §3.2): the reason goes, the levels follow
    resubmitted = step(
        client,
        login,
        ordinary["id"],
        "unit",
        {
            **form_values(client, login("unit"), ordinary["id"]),
            "member_level": "普通会员",
            "member_levels": ["普通会员", "专业会员"],
        },
        "unit_resubmit",
    )
    assert resubmitted["status"] == "机构初审中"
    row = listed(client, login("agency"), key="member_join")[ordinary["id"]]
    assert row["returned_reason"] is None
    assert row["member_levels"] == ["普通会员", "专业会员"]

    # the row holds what the list shows; a business without levels lists none
    with app.app_context():
        kept = dict(
            db.session.execute(sa.text("SELECT id, member_levels FROM process_instances")).all()
        )
    assert kept == {
        waiting["id"]: None,
        ordinary["id"]: "普通会员、专业会员",
        pro["id"]: "专业会员",
    }


def test_the_join_list_page_has_the_manuals_columns(client, login, world):
    returned = start_join(client, login)
    approve_to_end(client, login, returned["id"], stop_at="agency_review")
    task = open_task(client, login("agency"), returned["id"])
    complete(client, login("agency"), task["id"], {"decision": "return", "remark": "照片模糊"})
    sign_in(client, world.logins["association"])

    page = client.get("/forms?key=member_join").get_data(as_text=True)
    heads = re.findall(r"<th>([^<]+)</th>", page)
    assert heads[:7] == [
        "序号",
        "状态",
        "申请普通会员",
        "申请专业会员",
        "退回原因",
        "初审机构",
        "姓名",
    ]
    body = page[page.index("<tbody>") : page.index("</tbody>")]
    assert "照片模糊" in body and AGENCY in body and ">是<" in body

    other = client.get("/forms").get_data(as_text=True)  # all businesses: the usual columns
    assert "申请普通会员" not in other and "报名人数" in other


def panel(page: str) -> list[str]:
    """The status panel's labels, in order (全部 first)."""
    aside = page[page.index('<aside class="status-panel"') : page.index("</aside>")]
    return re.findall(r"<span>([^<]+)</span><span class=\"n\">", aside)


def test_the_status_panel_offers_the_business_own_steps_in_the_chains_order(client, login, world):
    """A business's list offers only the statuses its diagram can show; a status the usual
    chain does not name (单位会员入会's 协会审核中) is offered there, with the steps, before
    the outcomes."""
    sign_in(client, world.logins["association"])
    join = panel(client.get("/forms?key=member_join").get_data(as_text=True))
    assert join[:7] == [
        "全部",
        "单位预审中",
        "机构初审中",
        "协会初审中",
        "待缴费",
        "财务复核中",
        "审批完成",
    ]
    assert "协会复核中" not in join and "协会审核中" not in join
    unit_join = panel(client.get("/forms?key=unit_membership_join").get_data(as_text=True))
    assert "协会初审中" not in unit_join and "单位预审中" not in unit_join
    # where its diagram puts it: before the payment that follows it, each status once
    assert unit_join[:4] == ["全部", "协会审核中", "待缴费", "财务复核中"], unit_join
    for shown in (join, unit_join):
        assert len(shown) == len(set(shown)), shown  # two end events may share a label
    every = panel(client.get("/forms").get_data(as_text=True))  # the usual chain's
    assert every.index("协会复核中") < every.index("审批完成") < every.index("退回")
    # a refused query lists nothing, yet the panel counts what there is
    refused = client.get("/forms?key=member_join&submitted_from=2026-13-01")
    assert refused.status_code == 422 and panel(refused.get_data(as_text=True))[0] == "全部"


def test_an_unpaid_bill_says_by_when_it_must_be_paid(app, client, login, world):
    """A bill waiting for its voucher shows its deadline (the 缴费期限 timer: the policy's 30
    days), after which the form closes; once paid the deadline is no longer shown."""
    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"], stop_at="unit_pay")
    sign_in(client, world.logins["unit"])
    page = client.get(f"/forms/{inst['id']}").get_data(as_text=True)
    due = re.search(
        r"<th>缴费期限</th><td colspan=\"3\"><strong>(\d{4}-\d\d-\d\d) \d\d:\d\d</strong>", page
    )
    assert due, page[page.index('id="h-bill"') :][:1500]
    with app.app_context():
        today = app.extensions["memberflow"].today()
    assert date.fromisoformat(due.group(1)) == today + timedelta(days=30)
    assert "逾期未缴费的，表单将关闭" in page
    approve_to_end(client, login, inst["id"], from_task="unit_pay", stop_at="finance_review")
    assert "<th>缴费期限</th>" not in client.get(f"/forms/{inst['id']}").get_data(as_text=True)
