"""问题反馈 on the pages: a unit submits through the form (with a screenshot), the
secretariat finds it, replies and closes it, and the unit reads the reply and its 系统通知.
Bad fields are shown on the form; other roles and units get the 404 page."""

from __future__ import annotations

import io
import re

from conftest import png_bytes
from test_account_pages_http import csrf, sign_in, text

NEW = "/feedback/new"


def submit_page(page, data: dict, files=()):
    body = {"csrf_token": csrf(page, NEW), **data}
    if files:
        body["files"] = [(io.BytesIO(content), name) for content, name in files]
    return page.post(NEW, data=body, content_type="multipart/form-data")


def test_a_unit_submits_the_secretariat_replies_and_the_unit_reads_it(app, world):
    unit = app.test_client()
    sign_in(unit, world.unit_name)
    home = text(unit.get("/feedback"))
    assert "我的反馈" in home and "系统问题" in home and 'href="/feedback/new"' in home
    form = text(unit.get(NEW + "?category=报名条件咨询"))
    assert '<option value="报名条件咨询" selected>' in form

    sent = submit_page(
        unit,
        {
            "category": "报名条件咨询",
            "title": "找不到陈志强",
            "content": "陈志强符合初始教育条件。",
        },
        [(png_bytes(), "截图.png")],
    )
    assert sent.status_code == 302, text(sent)
    detail_url = sent.headers["Location"]
    shown = text(unit.get(detail_url))
    assert "问题反馈已提交" in shown and "找不到陈志强" in shown and "截图.png" in shown
    assert "协会尚未回复" in shown and "回复内容" not in shown
    feedback_id = int(re.search(r"/feedback/(\d+)", detail_url).group(1))

    # another unit and the agency's reviewer get the 404 page
    other = app.test_client()
    sign_in(other, world.other_unit_name)
    assert other.get(detail_url).status_code == 404
    assert "找不到陈志强" not in text(other.get("/feedback"))
    agency = app.test_client()
    sign_in(agency, "jigou")
    assert agency.get("/feedback").status_code == 404

    # the secretariat lists it, filters it, opens it and replies
    admin = app.test_client()
    sign_in(admin, "admin")
    listed = text(admin.get("/feedback?status=待处理&q=珠江"))
    assert "找不到陈志强" in listed and world.unit_name in listed
    assert "找不到陈志强" not in text(admin.get("/feedback?category=系统问题"))
    opened = text(admin.get(detail_url))
    assert "回复内容" in opened and "关闭反馈" in opened
    with admin.get(f"/feedback/{feedback_id}/files/{_file_id(opened)}") as got:
        assert got.status_code == 200 and got.data == png_bytes()
    empty = admin.post(
        f"/feedback/{feedback_id}/reply", data={"body": " ", "csrf_token": csrf(admin, detail_url)}
    )
    assert empty.status_code == 422 and "请填写回复内容" in text(empty)
    answered = admin.post(
        f"/feedback/{feedback_id}/reply",
        data={"body": "已核实，请重新查询。", "csrf_token": csrf(admin, detail_url)},
    )
    assert answered.status_code == 302
    assert "已回复" in text(admin.get(detail_url))
    # Back and 回复 again (or a double click): kept once, said so
    again = admin.post(
        f"/feedback/{feedback_id}/reply",
        data={"body": "已核实，请重新查询。", "csrf_token": csrf(admin, detail_url)},
    )
    assert again.status_code == 302
    shown = text(admin.get(detail_url))
    assert "这条回复已于" in shown and "未重复发送" in shown
    assert shown.count("已核实，请重新查询。") == 1
    closed = admin.post(
        f"/feedback/{feedback_id}/close", data={"csrf_token": csrf(admin, detail_url)}
    )
    assert closed.status_code == 302
    after = text(admin.get(detail_url))
    assert "已关闭" in after and "回复内容" not in after

    # the unit sees the reply and the notice
    mine = text(unit.get(detail_url))
    assert "已核实，请重新查询。" in mine and "已关闭" in mine
    notices = text(unit.get("/notices"))
    assert "问题反馈已回复：找不到陈志强" in notices
    # a reply comes from the secretariat (消息发起人), not from 系统
    row = notices[notices.rindex("<tr", 0, notices.index("问题反馈已回复")) :]
    assert '<td class="nowrap">协会秘书处</td>' in row[: row.index("</tr>")]
    # the unit may not reply or close
    refused = unit.post(
        f"/feedback/{feedback_id}/close", data={"csrf_token": csrf(unit, detail_url)}
    )
    assert refused.status_code == 404


def _file_id(html: str) -> str:
    return re.search(r"/files/([0-9a-f]{32})", html).group(1)


def test_bad_fields_are_shown_on_the_form(app, world):
    unit = app.test_client()
    sign_in(unit, world.unit_name)
    bad = submit_page(
        unit,
        {"category": "投诉", "title": "长" * 51, "content": "", "business_key": "JY-X"},
    )
    assert bad.status_code == 422
    page = text(bad)
    for words in ("请选择问题类型", "标题不能超过50个字", "请填写问题描述", "业务单号“JY-X”不存在"):
        assert words in page, words
    assert 'id="f-title-error"' in page and 'aria-invalid="true"' in page
    too_many = submit_page(
        unit,
        {"category": "其他", "title": "t", "content": "c"},
        [(png_bytes(), f"{i}.png") for i in range(4)],
    )
    assert too_many.status_code == 422 and "附件最多3个" in text(too_many)
    not_image = submit_page(
        unit, {"category": "其他", "title": "t", "content": "c"}, [(b"hello", "a.txt")]
    )
    assert not_image.status_code == 422 and "a.txt" in text(not_image)
    assert "暂无问题反馈" in text(unit.get("/feedback"))


def test_the_eligibility_list_points_to_the_feedback_form(app, world):
    unit = app.test_client()
    sign_in(unit, world.unit_name)
    pick = text(unit.get("/business/membership_renewal"))
    assert "不符合条件的人员不能加入表单" in pick
    assert 'href="/feedback/new?category=' in pick and ">问题反馈</a>提交申请" in pick


def test_the_menus_of_each_role(app, client, world):
    from datetime import date

    from conftest import in_db, member_headers

    from service.domain.validation import make_resident_id
    from service.services.membership.roster import MemberSeed, add_member

    number = make_resident_id("44010619880808234")

    def add(s):
        add_member(
            s,
            MemberSeed(
                "林婉清", number, world.unit_id, memberships={"普通会员": date(2027, 6, 30)}
            ),
        )
        s.commit()

    in_db(app, add)
    member_headers(client, number)  # the member's own password is now PASSWORD
    for login, sees_form in (
        (number, True),
        (world.unit_name, True),
        ("xiehui", False),
        ("admin", False),
    ):
        page = app.test_client()
        sign_in(page, login)
        menu = text(page.get("/feedback"))
        assert "系统问题" in menu and ('href="/feedback/new"' in menu) == sees_form, login
        assert page.get(NEW).status_code == (200 if sees_form else 404), login
    for login in ("caiwu", "jigou"):
        page = app.test_client()
        sign_in(page, login)
        assert page.get("/feedback").status_code == 404
        assert 'href="/feedback"' not in text(page.get("/notices")), login


def test_the_same_feedback_page_sent_twice_is_one_feedback(app, world):
    """Back and 提交反馈 again (the same page's token): the first feedback is shown, no second
    one is made, its screenshot not stored again."""
    from conftest import in_db
    from sqlalchemy import func, select

    from service.db.models import Feedback, StoredFile

    unit = app.test_client()
    sign_in(unit, world.unit_name)
    form = text(unit.get(NEW))
    token = re.search(r'name="idempotency_key" value="([^"]+)"', form).group(1)
    fields = {"category": "报名条件咨询", "title": "重复提交", "content": "同一页面提交两次。"}
    first = submit_page(unit, {**fields, "idempotency_key": token}, [(png_bytes(), "截图.png")])
    assert first.status_code == 302
    files = in_db(app, lambda s: s.scalar(select(func.count()).select_from(StoredFile)))
    again = submit_page(unit, {**fields, "idempotency_key": token}, [(png_bytes(), "截图.png")])
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert "该问题反馈已提交过" in text(unit.get(again.headers["Location"]))
    count = in_db(app, lambda s: s.scalar(select(func.count()).select_from(Feedback)))
    assert count == 1
    assert in_db(app, lambda s: s.scalar(select(func.count()).select_from(StoredFile))) == files
    other = submit_page(unit, {**fields, "title": "另一条"})  # a new page: a new feedback
    assert other.status_code == 302 and other.headers["Location"] != first.headers["Location"]
