"""The pages over HTTP (Flask's test client), on both databases: sign-in, CSRF, errors, scope."""

from __future__ import annotations

import io
import re
import uuid
from datetime import date, timedelta

import pytest
from conftest import (
    PASSWORD,
    applicant_data,
    form_values,
    in_db,
    make_app,
    member_headers,
    png_bytes,
    step_task,
    token_headers,
    upload,
)
from conftest import start_form as start
from pypdf import PdfWriter
from sqlalchemy import select

from service.db.models import Account, AuditRecord, Member, UserTask
from service.domain.validation import age_on, make_resident_id
from service.services.membership.roster import MemberSeed, add_member

FAR_AWAY = date(2030, 6, 30)
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf(client, path: str = "/login") -> str:
    return TOKEN.search(client.get(path).get_data(as_text=True)).group(1)


def sign_in(client, username: str, password: str = PASSWORD, expect: int = 302):
    reply = client.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf(client)},
    )
    assert reply.status_code == expect, reply.get_data(as_text=True)[:500]
    return reply


def text(reply) -> str:
    return reply.get_data(as_text=True)


def test_pages_ask_to_sign_in_and_return_to_where_the_person_was_going(client, world):
    reply = client.get("/workbench/todo?q=1234")
    assert reply.status_code == 302
    assert reply.headers["Location"] == "/login?next=/workbench/todo?q%3D1234"
    landing = client.post(
        "/login",
        data={
            "username": "jigou",
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": "/workbench/todo?q=1234",
        },
    )
    assert landing.headers["Location"] == "/workbench/todo?q=1234"


@pytest.mark.parametrize("target", ["//evil.example/x", "https://evil.example/", "javascript:x"])
def test_sign_in_never_sends_a_person_to_another_site(client, world, target):
    reply = client.post(
        "/login",
        data={
            "username": "jigou",
            "password": PASSWORD,
            "csrf_token": csrf(client),
            "next": target,
        },
    )
    assert reply.headers["Location"] == "/workbench/todo"


def test_a_wrong_password_is_told_in_chinese_and_sets_no_session(client, world):
    reply = sign_in(client, "jigou", "wrong-password", expect=401)
    assert "账号或密码错误" in text(reply)
    assert client.get("/workbench/todo").status_code == 302


def test_the_top_bar_names_the_account_and_its_role_without_a_gap(client, world):
    sign_in(client, world.logins["unit"])
    html = text(client.get("/help"))
    assert f'{world.unit_name}<span class="role">（单位管理员）</span>' in html


def test_the_session_cookie_is_httponly_lax_and_secure_only_when_configured(
    db_url, tmp_path, world, client
):
    reply = sign_in(client, "jigou")
    cookie = next(h for h in reply.headers.getlist("Set-Cookie") if "memberflow_session" in h)
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Secure" not in cookie
    secure = make_app(db_url, tmp_path, secure_cookies=True).test_client()
    reply = sign_in(secure, "jigou")
    cookie = next(h for h in reply.headers.getlist("Set-Cookie") if "memberflow_session" in h)
    assert "Secure" in cookie


def test_a_post_without_a_csrf_token_is_refused_with_a_page(client, world):
    sign_in(client, "jigou")
    reply = client.post("/logout")
    assert reply.status_code == 400
    assert "缺少安全令牌" in text(reply)
    assert client.get("/workbench/todo").status_code == 200  # still signed in
    api = client.post("/api/v1/auth/token", json={"username": "jigou", "password": PASSWORD})
    assert api.status_code == 200  # the API keeps its bearer tokens, no CSRF


def test_unknown_pages_are_a_chinese_404_page_and_the_api_stays_json(client):
    page = client.get("/no/such/page")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert '<html lang="zh-CN">' in text(page) and "页面不存在" in text(page)
    api = client.get("/api/v1/no/such")
    assert api.status_code == 404 and api.get_json()["message"] == "请求的资源不存在"


def test_each_role_sees_only_its_own_pages(client, world):
    sign_in(client, world.logins["unit"])
    assert client.get("/workbench/claimed").status_code == 404
    assert client.get("/workbench/todo").status_code == 200
    sign_in(client, "admin")
    assert client.get("/workbench/todo").status_code == 404
    assert client.get("/workbench/claimed").status_code == 200


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("colour=red", "colour"),
        ("key=no_such_process", "key"),
        ("task_name=no_such_task", "task_name"),
        ("submitted_from=2026-13-01", "submitted_from"),
        ("sort=sideways", "sort"),
        ("page=0", "page"),
        ("agency_id=x", "agency_id"),
    ],
)
def test_an_unknown_filter_is_a_clear_422_not_an_empty_list(client, world, query, field):
    sign_in(client, "xiehui")
    reply = client.get(f"/workbench/todo?{query}")
    assert reply.status_code == 422
    assert "查询条件有误" in text(reply)
    assert f'id="{field}" ' not in text(reply) or 'aria-invalid="true"' in text(reply)
    # the list says nothing was looked for, not that nothing was found
    assert "未执行查询" in text(reply) and "没有符合条件" not in text(reply)


@pytest.mark.parametrize(
    ("who", "path"),
    [
        ("xiehui", "/forms?key=no_such_process"),
        ("caiwu", "/finance/invoices?receipt_from=2026-12-01&receipt_to=2026-01-01"),
        ("caiwu", "/finance/bills?state=sideways"),
        ("admin", "/admin/units?state=sideways"),
        ("admin", "/admin/staff?role=nobody"),
    ],
)
def test_a_refused_query_is_not_shown_as_an_empty_result(client, world, who, path):
    sign_in(client, who)
    reply = client.get(path)
    assert reply.status_code == 422, path
    assert "未执行查询" in text(reply), path
    assert "没有符合条件" not in text(reply) and "没有开票记录" not in text(reply), path


def test_an_unknown_status_is_422_on_the_page_and_the_api(client, world, login):
    sign_in(client, world.logins["unit"])
    reply = client.get("/forms?status=不存在的状态")
    assert reply.status_code == 422 and "没有“不存在的状态”这个状态" in text(reply)
    api = client.get("/api/v1/instances?status=不存在的状态", headers=login("unit"))
    assert api.status_code == 422 and "status" in api.get_json()["errors"]
    assert client.get("/forms?status=退回").status_code == 200


def test_the_api_serves_forms_self_contained(client, world, login):
    unit = login("unit")
    process = client.get("/api/v1/processes/member_join", headers=unit).get_json()
    assert "$ref" not in str(process["start_form"])
    assert process["start_form"]["properties"]["variant"]["x-labels"]["short"] == "简码版"
    view = start(client, unit, "member_join", applicant_data(client, unit))
    task_id = view["open_tasks"][0]["id"]
    task = client.get(f"/api/v1/tasks/{task_id}", headers=unit).get_json()
    assert "$ref" not in str(task["form"]) and "$defs" not in str(task["form"])


def test_the_api_docs_load_swagger_ui_from_this_server(client):
    page = text(client.get("/api/v1/docs"))
    assets = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert assets and all(a.startswith("/api/v1/docs/assets/") for a in assets)
    for asset in assets:
        with client.get(asset) as reply:
            assert reply.status_code == 200, asset


def a_pdf() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def test_materials_show_as_thumbnails_and_pdf_pages_only_to_those_in_scope(client, world, login):
    unit = login("unit")
    data = applicant_data(client, unit)
    data["diploma_verification"] = upload(client, unit, a_pdf(), "verification.pdf")
    view = start(client, unit, "member_join", data)
    step_task(
        client,
        unit,
        view["id"],
        {
            **form_values(client, unit, view["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    sign_in(client, "jigou")
    photo, pdf = data["photo"], data["diploma_verification"]
    thumb = client.get(f"/files/{photo}/thumb.png")
    assert thumb.status_code == 200 and thumb.data[:8] == b"\x89PNG\r\n\x1a\n"
    assert client.get(f"/files/{pdf}/thumb.png").data[:8] == b"\x89PNG\r\n\x1a\n"
    viewer = text(client.get(f"/files/{pdf}/view"))
    assert "第 1 / 2 页" in viewer and "第 2 / 2 页" in viewer
    assert client.get(f"/files/{pdf}/pages/2.png").status_code == 200
    assert client.get(f"/files/{pdf}/pages/3.png").status_code == 404
    with client.get(f"/files/{pdf}") as download:
        assert download.headers["Content-Disposition"].startswith("attachment")
        assert download.headers["X-Content-Type-Options"] == "nosniff"
    with client.get(f"/files/{photo}") as image:
        assert image.mimetype == "image/png"
    sign_in(client, "jigou_st")
    for path in (f"/files/{photo}/thumb.png", f"/files/{pdf}/view", f"/files/{pdf}/pages/1.png"):
        assert client.get(path).status_code == 404, path


def test_the_review_page_draws_the_task_form_from_its_schema(client, world, login):
    unit = login("unit")
    view = start(client, unit, "member_join", applicant_data(client, unit))
    step_task(
        client,
        unit,
        view["id"],
        {
            **form_values(client, unit, view["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    task_id = in_db(
        client.application,
        lambda s: s.scalar(select(UserTask.id).where(UserTask.state == "open")),
    )
    sign_in(client, "jigou")
    page = text(client.get(f"/workbench/tasks/{task_id}"))
    assert '<label for="f-remark">审核意见</label>' in page
    assert 'name="decision" value="approve"' in page and ">通过</button>" in page
    assert 'name="decision" value="return"' in page and ">退回</button>" in page
    assert "陈志强" in page and 'data-element-id="agency_review"' in page
    reply = client.post(
        f"/workbench/tasks/{task_id}",
        data={"decision": "return", "remark": "", "csrf_token": csrf(client, "/workbench/todo")},
    )
    assert reply.status_code == 422
    assert "退回时必须填写退回原因" in text(reply)
    other = token_headers(client, "jigou")
    assert client.get(f"/api/v1/tasks/{task_id}", headers=other).get_json()["state"] == "open"


def test_a_refused_queue_query_still_counts_what_waits(client, world, login):
    """The panel and the tabs of a refused query count the whole queue: 0 there read as an
    empty queue while a form waited. No pager says 共 0 条 under a list that was not read."""
    unit = login("unit")
    view = start(client, unit, "member_join", applicant_data(client, unit))
    values = {**form_values(client, unit, view["id"]), "decision": "approve"}
    step_task(client, unit, view["id"], {**values, "member_level": "普通会员"})
    sign_in(client, "jigou")
    reply = client.get("/workbench/todo?colour=red")
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert re.search(r'<span>全部</span><span class="n">1</span>', html), html
    assert re.search(r'待办任务<span class="count">1</span>', html)
    assert "共 0 条" not in text(reply) and "未执行查询" in text(reply)
    # a search that finds nothing: the panel counts what it found, the tab what waits
    found_none = text(client.get("/workbench/todo?q=246X"))
    assert re.search(r'<span>全部</span><span class="n">0</span>', found_none), found_none
    assert re.search(r'待办任务<span class="count">1</span>', found_none)


def test_after_a_decision_the_reviewer_goes_on_to_the_next_task_of_the_same_queue(
    client, world, login
):
    unit = login("unit")
    first, second = (
        start(client, unit, "member_join", applicant_data(client, unit, id_number=number))
        for number in (make_resident_id("44010619850315231"), make_resident_id("44010619900620432"))
    )
    for view in (first, second):
        step_task(
            client,
            unit,
            view["id"],
            {
                **form_values(client, unit, view["id"]),
                "decision": "approve",
                "member_level": "普通会员",
            },
        )
    tasks = in_db(
        client.application,
        lambda s: s.scalars(
            select(UserTask.id).where(UserTask.state == "open").order_by(UserTask.id)
        ).all(),
    )
    sign_in(client, "jigou")
    client.get("/workbench/todo")  # the queue the reviewer works from
    token = csrf(client, "/workbench/todo")
    reply = client.post(
        f"/workbench/tasks/{tasks[0]}", data={"decision": "approve", "csrf_token": token}
    )
    assert reply.status_code == 302
    assert reply.headers["Location"] == f"/workbench/tasks/{tasks[1]}"
    page = text(client.get(reply.headers["Location"]))
    assert f"已通过：{first['business_key']}，当前状态：协会初审中" in page
    reply = client.post(
        f"/workbench/tasks/{tasks[1]}", data={"decision": "approve", "csrf_token": token}
    )
    assert reply.headers["Location"] == "/workbench/todo"
    assert "当前队列已没有待办任务" in text(client.get("/workbench/todo"))


def test_from_my_claimed_tasks_the_next_task_is_my_next_claimed_one(client, world, login):
    """Working 我的认领, a decision opens the reviewer's next claimed task, not the longest
    waiting task of 待办 (which someone may be about to claim), and the way back says 我的认领."""
    unit = login("unit")
    views = [
        start(client, unit, "member_join", applicant_data(client, unit, id_number=number))
        for number in (
            make_resident_id("44010619850315231"),
            make_resident_id("44010619900620432"),
            make_resident_id("44010619920808123"),
        )
    ]
    for view in views:
        values = {**form_values(client, unit, view["id"]), "decision": "approve"}
        step_task(client, unit, view["id"], {**values, "member_level": "普通会员"})
    tasks = in_db(
        client.application,
        lambda s: s.scalars(
            select(UserTask.id).where(UserTask.state == "open").order_by(UserTask.id)
        ).all(),
    )
    agency = login("agency")
    for task_id in tasks[1:]:  # the first, the longest waiting, stays unclaimed
        assert client.post(f"/api/v1/tasks/{task_id}/claim", headers=agency).status_code == 200
    sign_in(client, "jigou")
    client.get("/workbench/mine")
    page = client.get(f"/workbench/tasks/{tasks[1]}")
    assert "← 返回我的认领" in text(page) and 'href="/workbench/mine"' in page.get_data(True)
    token = csrf(client, "/workbench/mine")
    reply = client.post(
        f"/workbench/tasks/{tasks[1]}", data={"decision": "approve", "csrf_token": token}
    )
    assert reply.headers["Location"] == f"/workbench/tasks/{tasks[2]}"
    reply = client.post(
        f"/workbench/tasks/{tasks[2]}", data={"decision": "approve", "csrf_token": token}
    )
    assert reply.headers["Location"] == "/workbench/mine"
    assert "我的认领中已没有任务" in text(client.get("/workbench/mine"))


def test_the_step_filter_gives_a_step_one_name_across_businesses(client, world):
    """association_review is 协会初审 in the join and 协会复核 or 协会审核 elsewhere: without a
    business picked its one choice has one readable name (it lists them all); with one
    picked, the choices are that business's steps by their own titles."""
    sign_in(client, "xiehui")
    html = client.get("/workbench/todo").get_data(as_text=True)
    choices = re.findall(r'<option value="association_review"[^>]*>([^<]+)</option>', html)
    assert choices == ["协会审核（初审/复核）"]
    html = client.get("/workbench/todo?key=member_join").get_data(as_text=True)
    choice = re.search(r'<option value="association_review"[^>]*>([^<]+)</option>', html)[1]
    assert choice == "协会初审"


def test_the_secretariat_releases_and_reassigns_a_claimed_task_from_its_pages(
    app, client, world, login
):
    unit = login("unit")
    view = start(client, unit, "member_join", applicant_data(client, unit))
    step_task(
        client,
        unit,
        view["id"],
        {
            **form_values(client, unit, view["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    task_id = in_db(app, lambda s: s.scalar(select(UserTask.id).where(UserTask.state == "open")))
    client.post(f"/api/v1/tasks/{task_id}/claim", headers=login("agency"))
    in_db(app, lambda s: _second_agency_reviewer(s, world))
    in_db(app, lambda s: _claimed_before(s, task_id, 200))  # its page is read by its id
    sign_in(client, "admin")
    listing = text(client.get("/workbench/claimed"))
    assert view["business_key"] in listing and "广州初审员" in listing
    form = text(client.get(f"/workbench/tasks/{task_id}/reassign"))
    assert "广州初审员乙（jigou2）" in form and "汕头初审员" not in form
    assert view["business_key"] in form and "机构初审" in form
    token = csrf(client, "/workbench/claimed")
    refused = client.post(
        f"/workbench/tasks/{task_id}/reassign", data={"account_id": "x", "csrf_token": token}
    )
    assert refused.status_code == 422 and "请选择改派给谁" in text(refused)
    other = in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == "jigou2")))
    done = client.post(
        f"/workbench/tasks/{task_id}/reassign", data={"account_id": other, "csrf_token": token}
    )
    assert done.headers["Location"] == "/workbench/claimed"
    assert "已改派" in text(client.get("/workbench/claimed"))
    assert in_db(app, lambda s: s.get(UserTask, task_id).claimed_by) == other
    client.post(f"/workbench/tasks/{task_id}/release-any", data={"csrf_token": token})
    assert in_db(app, lambda s: s.get(UserTask, task_id).claimed_by) is None
    released = text(client.get("/workbench/claimed"))
    assert f"已释放：{view['business_key']}（机构初审）" in released
    gone = client.get(f"/workbench/tasks/{task_id}/reassign")
    assert gone.status_code == 404 and "已不在认领中" in text(gone)
    actions = in_db(
        app,
        lambda s: s.scalars(
            select(AuditRecord.action).where(AuditRecord.user_task_id == task_id)
        ).all(),
    )
    assert actions[-2:] == ["reassign", "release"]


def _claimed_before(session, task_id: int, count: int) -> None:
    """`count` copies of a claimed task, each claimed earlier: a long 已认领 list before it."""
    task = session.get(UserTask, task_id)
    columns = [c.key for c in UserTask.__table__.columns if c.key not in ("id", "engine_task_id")]
    for n in range(count):
        copy = UserTask(**{c: getattr(task, c) for c in columns})
        copy.engine_task_id = str(uuid.uuid4())
        copy.created_at = task.created_at - timedelta(minutes=n + 1)
        session.add(copy)
    session.commit()


def _second_agency_reviewer(session, world) -> None:
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.services.membership import accounts

    with UnitOfWork(session) as uow:
        accounts.create_staff(
            uow,
            Actor(None, "admin", "secretariat_admin"),
            "jigou2",
            "广州初审员乙",
            PASSWORD,
            "agency_reviewer",
            world.agency_id,
        )


def _enrol(client, unit, numbers: dict[str, str]) -> dict:
    """An 初始教育 form listing these persons (name -> ID number), each for 监理员."""
    people = [
        {
            "id_number": number,
            "name": name,
            "certificate_type": "监理员",
            "specialty_1": "房屋建筑工程",
            "diploma": upload(client, unit),
            "social_insurance": upload(client, unit),
            "verification": upload(client, unit),
        }
        for name, number in numbers.items()
    ]
    data = {"persons": people, "pledge": upload(client, unit)}
    return start(client, unit, "initial_education", data)


def _person_rows(page: str, title: str = "报名人员") -> dict[str, list[str]]:
    """The person table's header, and each row's cells by the person's name."""
    table = page[page.index(f"{title}（") :]
    table = table[: table.index("</table>")]
    header = re.findall(r"<th>(.*?)</th>", table)
    named = header.index("姓名")
    rows = {}
    for row in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>") :], re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        rows[cells[named]] = cells
    return {"header": header, **rows}


def test_a_form_listing_several_persons_shows_them_as_a_table(app, client, world, login):
    unit = login("unit")
    numbers = {
        "周建国": make_resident_id("44010619800101123"),  # a man (odd 17th digit)
        "何美玲": make_resident_id("44010619850505234"),
    }
    education = {"周建国": {"level": "本科", "school": "华南理工大学"}, "何美玲": {"level": "大专"}}
    for name, number in numbers.items():
        seed = MemberSeed(
            name,
            number,
            world.unit_id,
            education=education[name],
            memberships={"普通会员": FAR_AWAY},
        )
        in_db(app, lambda s, seed=seed: (add_member(s, seed), s.commit()))
    view = _enrol(client, unit, numbers)
    sign_in(client, "jigou")
    page = text(client.get(f"/workbench/tasks/{view['open_tasks'][0]['id']}"))
    assert "报名人员（2人）" in page
    assert "<th>报名证书类型</th>" in page and "何美玲" in page and "周建国" in page
    assert "第2行 何美玲 最高学历证书" in page  # each person's materials, titled and named
    # beside each ID number what the archive says (UI.md "Person tables")
    rows = _person_rows(page)
    at = rows["header"].index("姓名")  # the archive's columns follow the name
    assert rows["header"][at - 1 : at + 5] == [
        "证件号码",
        "姓名",
        "性别",
        "年龄",
        "最高学历",
        "是否首次",
    ]
    today = date.today()
    ages = {
        name: {age_on(born, today - timedelta(days=1)), age_on(born, today + timedelta(days=1))}
        for name, born in (("周建国", date(1980, 1, 1)), ("何美玲", date(1985, 5, 5)))
    }
    for name, gender, level in (("周建国", "男", "本科"), ("何美玲", "女", "大专")):
        cells = rows[name]
        assert cells[at - 1] == numbers[name]
        assert cells[at + 1] == gender and int(cells[at + 2]) in ages[name]
        assert cells[at + 3 : at + 5] == [level, "是"]

    # returned, withdrawn and enrolled again: the later form is not the person's first
    step_task(client, login("agency"), view["id"], {"decision": "return", "remark": "材料不全"})
    reply = client.post(f"/api/v1/instances/{view['id']}/withdraw", headers=unit, json={})
    assert reply.status_code == 200, reply.get_json()
    again = _enrol(client, unit, {"周建国": numbers["周建国"]})
    rows = _person_rows(text(client.get(f"/workbench/tasks/{again['open_tasks'][0]['id']}")))
    assert rows["周建国"][at + 4] == "否"
    sign_in(client, world.logins["unit"])  # the withdrawn form, as its unit reads it
    first = _person_rows(text(client.get(f"/forms/{view['id']}")))
    assert first["周建国"][at + 4] == "是"


def test_a_business_that_gives_no_certificate_has_no_first_time_column(app, client, world, login):
    unit = login("unit")
    number = make_resident_id("44010619800101123")
    seed = MemberSeed("周建国", number, world.unit_id, memberships={"普通会员": FAR_AWAY})
    in_db(app, lambda s: (add_member(s, seed), s.commit()))
    line = {"id_number": number, "name": "周建国", "member_level": "普通会员"}
    view = start(client, unit, "membership_renewal", {"persons": [line]})
    sign_in(client, world.logins["unit"])
    rows = _person_rows(text(client.get(f"/forms/{view['id']}")), "缴费人员")
    at = rows["header"].index("姓名")
    assert rows["header"][at + 1 : at + 4] == ["性别", "年龄", "最高学历"]
    assert "是否首次" not in rows["header"]
    assert rows["周建国"][at + 1] == "男" and rows["周建国"][at + 3] == "本科"


def test_a_member_supplies_id_photos_through_the_confirm_page(app, client, world, login):
    number = make_resident_id("44010619880808123")
    member_id = in_db(
        app,
        lambda s: (add_member(s, MemberSeed("孙立新", number, world.unit_id)).id, s.commit())[0],
    )
    code = client.post(
        f"/api/v1/units/{world.unit_id}/members/{member_id}/id-photo-codes", headers=login("unit")
    ).get_json()["code"]
    page = text(client.get(f"/confirm/{code}"))
    assert "补充身份证照片" in page and "请本人登录后确认" in page
    member_headers(client, number)  # the member's own password is now PASSWORD
    sign_in(client, number)
    # each side is named as the join form names it: its id_front is the 人像面 too
    form = client.get(f"/confirm/{code}").get_data(as_text=True)
    assert '<label for="f-id_front_file_id">身份证件人像面照片' in form
    assert '<label for="f-id_back_file_id">身份证件国徽面照片' in form
    token = csrf(client, f"/confirm/{code}")
    photo = png_bytes()
    wrong = client.post(
        f"/confirm/{code}",
        data={
            "csrf_token": token,
            "mobile": "123",
            "id_front_file_id": (io.BytesIO(photo), "f.png"),
        },
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422
    assert "手机号" in text(wrong) and "请上传身份证件国徽面照片" in text(wrong)
    reply = client.post(
        f"/confirm/{code}",
        data={
            "csrf_token": token,
            "mobile": "139 2222 3333",
            "id_front_file_id": (io.BytesIO(photo), "front.png"),
            "id_back_file_id": (io.BytesIO(png_bytes("#00aa00")), "back.png"),
        },
        content_type="multipart/form-data",
    )
    assert reply.headers["Location"] == "/confirm/done"
    assert "身份证照片和手机号码已更新" in text(client.get("/confirm/done"))
    member = in_db(app, lambda s: s.get(Member, member_id))
    assert member.mobile == "13922223333" and member.id_front_file_id and member.id_back_file_id
    assert client.get(f"/confirm/{code}").status_code == 410


def test_a_page_past_the_end_of_a_list_says_so(client, world, login):
    """Not 没有符合条件的业务表单 beside 共 1 条: the forms are there, on an earlier page."""
    unit = login("unit")
    start(client, unit, "member_join", applicant_data(client, unit))
    sign_in(client, world.logins["unit"])
    page = text(client.get("/forms?page=99"))
    assert "第 99 页已超出列表末尾（共 1 条），请翻回前面的页" in page
    assert "没有符合条件的业务表单" not in page
    assert "没有符合条件的业务表单" in text(client.get("/forms?q=无此人"))
    # the pager does not say 第 99 / 1 页: how many pages there are, 〈 to the last one
    pager = page[page.index('<nav class="pager"') :]
    assert "第 99 / 1 页" not in pager and "<span>共 1 页</span>" in pager
    assert 'href="?page=1&amp;page_size=20" aria-label="最后一页"' in pager
    assert 'name="page" min="1" max="1" value="1"' in pager


def test_a_page_size_the_box_does_not_offer_is_shown_as_it_is(client, world, login):
    """page_size=7 in the address lists 7 a page: the box says 7条/页, not 10条/页."""
    unit = login("unit")
    start(client, unit, "member_join", applicant_data(client, unit))
    sign_in(client, world.logins["unit"])
    pager = text(client.get("/forms?page_size=7"))
    pager = pager[pager.index('<nav class="pager"') :]
    assert '<option value="7" selected>7条/页</option>' in pager
    assert pager.count(" selected>") == 1


def test_the_top_search_box_is_offered_to_those_who_read_forms(client, world):
    """It searches 业务查询: a designer, who reads no forms, found nothing with it ever."""
    from test_deploy_api import designer_headers

    designer_headers(client)
    sign_in(client, "sheji")
    assert 'class="topsearch"' not in text(client.get("/processes/catalogue"))
    client.post("/logout", data={"csrf_token": csrf(client, "/processes/catalogue")})
    sign_in(client, world.logins["unit"])
    assert 'class="topsearch"' in text(client.get("/home"))


def test_process_keys_are_shown_to_designers_and_the_secretariat_only(app, client, world):
    """A reviewer reads the catalogue by the processes' names; who deploys and migrates also
    reads their keys. A version recorded at a server's start is deployed by the system."""
    from test_deploy_api import designer_headers

    designer_headers(client)
    for who, shown in (("sheji", True), ("admin", True), (world.logins["association"], False)):
        page = app.test_client()
        sign_in(page, who)
        catalogue = text(page.get("/processes/catalogue"))
        assert "证书注销" in catalogue
        assert ("<code>certificate_cancellation</code>" in catalogue) is shown, who
        assert ("流程标识" in catalogue) is shown, who
        listed = text(page.get("/processes/certificate_cancellation/versions"))
        assert ("<code>certificate_cancellation</code>" in listed) is shown, who
        assert (
            "系统（服务器启动时）" in listed and '<td class="nowrap">服务器启动</td>' not in listed
        )
