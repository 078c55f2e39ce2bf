"""问题反馈 over HTTP: a unit or a member submits, the association's handlers list, open,
reply (the submitter gets a 系统通知) and close; nobody else sees it; every wrong field is
named; an account's day is limited. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from conftest import applicant_data, in_db, member_headers, png_bytes, upload
from conftest import start_form as start
from sqlalchemy import select

from service.db import db
from service.db.models import StoredFile
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_resident_id
from service.services.membership import feedback
from service.services.membership.roster import MemberSeed, add_member
from service.services.workflow import files, scope

API = "/api/v1/feedback"
pytestmark = pytest.mark.usefixtures("pinned_clock")


def submit(client, headers, expect=201, **fields) -> dict:
    body = {"category": "报名条件咨询", "title": "找不到本单位人员", "content": "请协助核实。"}
    body.update(fields)
    reply = client.post(API, headers=headers, json=body)
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def seed_member(app, unit_id, name="林婉清", prefix="44010619880808234") -> str:
    id_number = make_resident_id(prefix)

    def add(s):
        add_member(
            s, MemberSeed(name, id_number, unit_id, memberships={"普通会员": date(2027, 6, 30)})
        )
        s.commit()

    in_db(app, add)
    return id_number


def test_a_unit_submits_and_the_association_replies_and_closes(client, login, world):
    unit = login("unit")
    form = start(client, unit, "member_join", applicant_data(client, unit))
    shot = upload(client, unit, png_bytes(), "截图.png")
    made = submit(
        client,
        unit,
        category="证书信息有误",
        title="  证书编号有误  ",
        content="陈志强的证书编号与纸质证书不一致。",
        business_key=form["business_key"].lower(),
        file_ids=[shot],
    )
    assert (made["status"], made["title"], made["category"]) == (
        "待处理",
        "证书编号有误",
        "证书信息有误",
    )
    assert made["business_key"] == form["business_key"] and made["instance_id"] == form["id"]
    assert made["unit_name"] == world.unit_name and made["replies"] == []
    assert [f["id"] for f in made["files"]] == [shot] and made["files"][0]["name"] == "截图.png"
    assert made["may_reply"] is False

    # the association's reviewer and the secretariat see it; finance and the agency do not
    for who in ("association", "admin"):
        listed = client.get(API, headers=login(who)).get_json()
        assert [i["id"] for i in listed["items"]] == [made["id"]], who
        assert listed["items"][0]["unit_name"] == world.unit_name
    for who in ("finance", "agency"):
        assert client.get(API, headers=login(who)).status_code == 403
        assert client.get(f"{API}/{made['id']}", headers=login(who)).status_code == 404
    other = login("other_unit")
    assert client.get(API, headers=other).get_json()["total"] == 0
    assert client.get(f"{API}/{made['id']}", headers=other).status_code == 404
    assert (
        client.post(f"{API}/{made['id']}/reply", headers=other, json={"body": "x"}).status_code
        == 404
    )
    assert client.get(f"{API}/{made['id']}/files/{shot}", headers=other).status_code == 404

    # the association's reviewer opens it, downloads the screenshot and answers
    assoc = login("association")
    opened = client.get(f"{API}/{made['id']}", headers=assoc).get_json()
    assert opened["content"] == "陈志强的证书编号与纸质证书不一致。" and opened["may_reply"] is True
    with client.get(f"{API}/{made['id']}/files/{shot}", headers=assoc) as got:
        assert got.status_code == 200 and got.data == png_bytes()
    answered = client.post(
        f"{API}/{made['id']}/reply", headers=assoc, json={"body": "已核实，证书编号已更正。"}
    )
    assert answered.status_code == 200, answered.get_json()
    view = answered.get_json()
    assert view["status"] == "已回复" and view["reply_count"] == 1
    assert view["replies"][0]["author_name"] == "协会审核员"
    assert view["replies"][0]["created_at"] == "2026-11-28T04:00:00+00:00"

    # the unit reads the reply and its system notice
    mine = client.get(f"{API}/{made['id']}", headers=unit).get_json()
    assert mine["replies"][0]["body"] == "已核实，证书编号已更正。"
    notices = client.get("/api/v1/notifications", headers=unit).get_json()["items"]
    told = [n for n in notices if n["kind"] == "feedback_reply"]
    assert len(told) == 1 and told[0]["title"] == "问题反馈已回复：证书编号有误"
    assert "已核实，证书编号已更正。" in told[0]["body"] and told[0]["read"] is False

    # the submitter may not reply or close; the secretariat closes; then nothing more
    assert (
        client.post(f"{API}/{made['id']}/reply", headers=unit, json={"body": "谢谢"}).status_code
        == 403
    )
    assert client.post(f"{API}/{made['id']}/close", headers=unit).status_code == 403
    closed = client.post(f"{API}/{made['id']}/close", headers=login("admin"))
    assert closed.status_code == 200 and closed.get_json()["status"] == "已关闭"
    assert closed.get_json()["closed_by_name"] == "秘书处管理员"
    late = client.post(f"{API}/{made['id']}/reply", headers=assoc, json={"body": "补充"})
    assert late.status_code == 409 and "已关闭" in late.get_json()["message"]
    assert client.post(f"{API}/{made['id']}/close", headers=assoc).status_code == 409
    assert client.get(f"{API}?status=已关闭", headers=unit).get_json()["total"] == 1
    assert client.get(f"{API}?status=待处理", headers=unit).get_json()["total"] == 0


def test_a_member_sees_only_the_own_feedback(app, client, login, world):
    number = seed_member(app, world.unit_id)
    member = member_headers(client, number)
    own = submit(client, member, category="系统问题", title="无法上传照片")
    assert own["unit_id"] is None and own["submitter_name"] == "林婉清"
    unit_own = submit(client, login("unit"), title="单位的反馈")
    listed = client.get(API, headers=member).get_json()
    assert [i["id"] for i in listed["items"]] == [own["id"]]
    assert client.get(f"{API}/{unit_own['id']}", headers=member).status_code == 404
    # the unit does not see its member's own feedback either
    assert client.get(f"{API}/{own['id']}", headers=login("unit")).status_code == 404
    # a member names only a form it may see
    form = start(client, login("unit"), "member_join", applicant_data(client, login("unit")))
    hidden = submit(client, member, expect=422, business_key=form["business_key"])
    assert "不是本账号可查看的业务" in hidden["errors"]["business_key"]
    # staff may not submit
    assert submit(client, login("association"), expect=403)["message"].startswith("只有单位管理员")


def test_the_handlers_filter_search_and_page(client, login, world):
    unit, other = login("unit"), login("other_unit")
    submit(client, unit, title="第一条", category="其他")
    submit(client, unit, title="第二条 50%折扣", category="系统问题")
    submit(client, other, title="汕头的问题", category="其他")
    admin = login("admin")
    assert client.get(API, headers=admin).get_json()["total"] == 3
    by_category = client.get(f"{API}?category=其他", headers=admin).get_json()
    assert {i["title"] for i in by_category["items"]} == {"第一条", "汕头的问题"}
    by_unit = client.get(f"{API}?q=潮海", headers=admin).get_json()
    assert [i["title"] for i in by_unit["items"]] == ["汕头的问题"]
    wildcard = client.get(f"{API}?q=50%", headers=admin).get_json()
    assert [i["title"] for i in wildcard["items"]] == ["第二条 50%折扣"]
    paged = client.get(f"{API}?page=2&page_size=2", headers=admin).get_json()
    assert (paged["total"], len(paged["items"]), paged["items"][0]["title"]) == (3, 1, "第一条")
    for query, field in (
        ("status=未知", "status"),
        ("category=投诉", "category"),
        ("page=0", "page"),
    ):
        bad = client.get(f"{API}?{query}", headers=admin)
        assert bad.status_code == 422 and field in bad.get_json()["errors"], query


@pytest.mark.parametrize(
    ("fields", "field", "words"),
    [
        ({"category": "投诉"}, "category", "请选择问题类型"),
        ({"category": None}, "category", "不能为空"),
        ({"title": "   "}, "title", "请填写标题"),
        ({"title": "长" * 51}, "title", "标题不能超过50个字"),
        ({"content": ""}, "content", "请填写问题描述"),
        ({"content": "字" * 2001}, "content", "问题描述不能超过2000个字"),
        ({"business_key": "JY-20990101999999"}, "business_key", "不存在"),
        ({"business_key": "X" * 41}, "business_key", "不能超过40个字符"),
        ({"file_ids": ["a", "b", "c", "d"]}, "file_ids", "附件最多3个"),
        ({"file_ids": ["0" * 32]}, "file_ids.0", "文件不存在或无权使用"),
        ({"file_ids": "abc"}, "file_ids", "应为列表"),
        ({"colour": "red"}, "colour", "不允许的字段"),
    ],
)
def test_each_bad_field_is_named_in_chinese(client, login, world, fields, field, words):
    bad = submit(client, login("unit"), expect=422, **fields)
    assert words in bad["errors"][field], bad
    assert client.get(API, headers=login("unit")).get_json()["total"] == 0


def test_bad_replies_and_missing_feedback(client, login, world):
    made = submit(client, login("unit"))
    assoc = login("association")
    for body, words in (
        ({"body": "  "}, "请填写回复内容"),
        ({"body": "回" * 2001}, "不能超过2000个字"),
        ({}, "必填项"),
    ):
        bad = client.post(f"{API}/{made['id']}/reply", headers=assoc, json=body)
        assert bad.status_code == 422 and words in bad.get_json()["errors"]["body"], body
    assert client.get(f"{API}/{made['id']}", headers=assoc).get_json()["status"] == "待处理"
    assert client.get(f"{API}/999999", headers=assoc).status_code == 404
    assert client.post(f"{API}/999999/close", headers=assoc).status_code == 404


FIRST_REPLY = "已核实。 证书编号已更正，请重新查询 A1。"


@pytest.mark.parametrize(
    "again",
    [
        "已核实。 证书编号\u200b已更正，请重新查询 A1。",  # a zero-width space
        "\ufeff已核实。 证书编号已更正\u200c，请重新\u200d查询 A1。\u2060",
        "已核实。\u3000\u3000证书编号已更正，请重新查询 A1。\n",  # other spaces, more of them
        "已核实。\t证书编号已更正，请重新查询\u00a0Ａ１。",  # a tab, a no-break space, full width
    ],
)
def test_a_reply_looking_the_same_as_the_last_is_not_sent_twice(client, login, world, again):
    made = submit(client, login("unit"))
    assoc = login("association")
    url = f"{API}/{made['id']}/reply"
    assert client.post(url, headers=assoc, json={"body": FIRST_REPLY}).status_code == 200
    repeated = client.post(url, headers=assoc, json={"body": again})
    assert repeated.status_code == 409, repeated.get_json()
    assert "未重复发送" in repeated.get_json()["message"]
    view = client.get(f"{API}/{made['id']}", headers=assoc).get_json()
    assert [r["body"] for r in view["replies"]] == [FIRST_REPLY]
    told = client.get("/api/v1/notifications", headers=login("unit")).get_json()["items"]
    assert len([n for n in told if n["kind"] == "feedback_reply"]) == 1
    # a reply that reads differently is a new one
    other = client.post(
        url, headers=assoc, json={"body": "已核实。证书编号已更正，请重新查询 A2。"}
    )
    assert other.status_code == 200 and other.get_json()["reply_count"] == 2


def test_another_units_upload_cannot_be_attached(client, login, world):
    theirs = upload(client, login("other_unit"))
    bad = submit(client, login("unit"), expect=422, file_ids=[theirs])
    assert "文件不存在或无权使用" in bad["errors"]["file_ids.0"]


def test_an_account_submits_at_most_the_daily_limit(app, client, login, world):
    unit = login("unit")
    for i in range(feedback.DAILY_LIMIT):
        submit(client, unit, title=f"反馈{i}")
    over = client.post(
        API, headers=unit, json={"category": "其他", "title": "再一条", "content": "x"}
    )
    assert over.status_code == 429, over.get_json()
    assert "24小时内最多提交20条问题反馈" in over.get_json()["message"]
    assert 0 < int(over.headers["Retry-After"]) <= 86400
    # another account is not limited; a day later the unit may submit again
    submit(client, login("other_unit"))
    app.extensions["memberflow"].clock = lambda: datetime(2026, 11, 29, 4, 0, 1)
    submit(client, unit, title="第二天")


def test_attachments_survive_the_clean_up_of_unused_uploads(app, client, login, world):
    unit = login("unit")
    used, unused = upload(client, unit), upload(client, unit, png_bytes("#00c000"))
    submit(client, unit, file_ids=[used])
    ctx = app.extensions["memberflow"]
    ctx.clock = lambda: datetime(2026, 11, 28, 4, 0, 0) + timedelta(days=2)
    with app.app_context():
        try:
            files.delete_unused_uploads(ctx, UnitOfWork(db.session))
        finally:
            db.session.remove()
    left = in_db(app, lambda s: set(s.scalars(select(StoredFile.id))))
    assert used in left and unused not in left


def test_the_feedback_capabilities_role_by_role():
    roles = ("member", "unit_admin", "agency_reviewer", "association_reviewer")
    roles += ("finance_reviewer", "secretariat_admin", "applicant", "designer")

    def answers(check):
        return tuple(
            int(check(Actor(7, "某人", r, unit_id=3, agency_id=5, member_id=9))) for r in roles
        )

    assert scope.FEEDBACK_HANDLERS == {"association_reviewer", "secretariat_admin"}
    assert answers(scope.handles_feedback) == (0, 0, 0, 1, 0, 1, 0, 0)
    assert answers(scope.may_submit_feedback) == (1, 1, 0, 0, 0, 0, 0, 0)
    assert answers(lambda a: scope.feedback_in_scope(a, "u", "m") is not None) == (
        1,
        1,
        0,
        1,
        0,
        1,
        0,
        0,
    )
