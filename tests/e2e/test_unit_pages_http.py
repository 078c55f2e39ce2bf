"""A unit administrator's pages over HTTP (Flask's test client), on both databases: 业务办理
from the start form, field errors at their line, the fee preview, CSRF, 我的业务's filters,
the 首页 cards and scope."""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from conftest import in_db, png_bytes, start_form, token_headers, upload
from sqlalchemy import select

from service.db.models import Member, ProcessInstance
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member
from service.services.schedules.notifications import create_expiry_reminders

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
IDEMPOTENCY = re.compile(r'name="idempotency_key" value="([^"]+)"')
START = "/business/initial_education"


def text(reply) -> str:
    return reply.get_data(as_text=True)


def csrf(client, path: str = "/login") -> str:
    return TOKEN.search(text(client.get(path))).group(1)


def sign_in(client, username: str) -> None:
    reply = client.post(
        "/login", data={"username": username, "password": "secret123", "csrf_token": csrf(client)}
    )
    assert reply.status_code == 302, text(reply)[:300]


def seed(app, unit_id: int, name: str, prefix: str, until: date = date(2030, 6, 30)) -> dict:
    number = make_resident_id(prefix)

    def add(session):
        member = add_member(
            session,
            MemberSeed(
                name=name, id_number=number, unit_id=unit_id, memberships={"普通会员": until}
            ),
        )
        session.commit()
        return member.id

    return {"id": in_db(app, add), "id_number": number, "name": name}


def three_persons(app, world) -> tuple[dict, dict, dict]:
    a = seed(app, world.unit_id, "周建国", "44010619800101123")
    b = seed(app, world.unit_id, "何美玲", "44010619850505234")
    old = seed(app, world.unit_id, "冯老伯", "44010619600101345")  # over 60: not for 监理员
    return a, b, old


def png(name: str = "scan.png"):
    return (io.BytesIO(png_bytes()), name)


def lines(people: list[dict], **extra) -> dict:
    """The posted start form for these persons: each line's fields and uploads, the pledge."""
    data = {"persons__rows": str(len(people)), "pledge": png("pledge.png"), **extra}
    for i, p in enumerate(people):
        data.update(
            {
                f"persons.{i}.id_number": p["id_number"],
                f"persons.{i}.name": p["name"],
                f"persons.{i}.certificate_type": "监理员",
                f"persons.{i}.specialty_1": p.get("specialty_1", "房屋建筑工程"),
                f"persons.{i}.diploma": png(),
                f"persons.{i}.social_insurance": png(),
                f"persons.{i}.verification": png(),
            }
        )
    return data


def test_the_picker_lists_eligible_and_ineligible_persons_side_by_side(client, app, world):
    a, b, old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    asks = text(client.get(START))
    assert "请先选择报名证书类型" in asks and 'name="member"' not in asks

    page = client.get(f"{START}?certificate_type=监理员")
    assert page.status_code == 200
    body = text(page)
    eligible, ineligible = body.split("不符合条件（", 1)
    assert f'value="{a["id"]}"' in eligible and f'value="{b["id"]}"' in eligible
    assert "冯老伯" in ineligible and "60" in ineligible
    assert f'value="{old["id"]}"' not in body  # an ineligible person cannot be ticked

    found = text(client.get(f"{START}?certificate_type=监理员&q={a['id_number'][-4:]}"))
    assert "周建国" in found and "何美玲" not in found
    bad = client.get(f"{START}?certificate_type=不存在&member=x")
    assert bad.status_code == 422 and "所选人员有误" in text(bad)


def test_an_enrolment_is_previewed_with_its_fee_then_refused_at_the_field_then_started(
    client, app, world
):
    a, b, old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    form = client.get(
        f"{START}/form?certificate_type=监理员&member={a['id']}&member={b['id']}&member={old['id']}"
    )
    assert form.status_code == 200
    page = text(form)
    assert "第3行 冯老伯 不符合办理条件" in page and "60" in page
    assert '<option value="房屋建筑工程">' in page  # the specialty dictionary, suggested
    token = TOKEN.search(page).group(1)
    key = IDEMPOTENCY.search(page).group(1)

    # 预览: each line's check and fee; the ineligible line is said at its row, with no total
    preview = client.post(
        f"{START}/form",
        data={**lines([a, b, old]), "csrf_token": token, "action": "preview"},
        content_type="multipart/form-data",
    )
    assert preview.status_code == 200, text(preview)[:2000]
    assert "第3行 冯老伯 不符合办理条件" in text(preview)
    assert "请先移除不符合条件的人员" in text(preview)

    # 移除 the third line, 预览 again: both eligible, 60.00 each, 金额总计 120.00
    dropped = client.post(
        f"{START}/form",
        data={
            **lines([a, b, old]),
            "persons.2.__drop": "1",
            "csrf_token": token,
            "action": "preview",
        },
        content_type="multipart/form-data",
    )
    body = text(dropped)
    assert dropped.status_code == 200 and "冯老伯" not in body
    assert "金额总计：<strong>¥120.00</strong>" in body
    assert body.count("符合条件</span>") == 2

    # a specialty not in the dictionary: 422, said at its line and field; nothing saved
    wrong = client.post(
        f"{START}/form",
        data={
            **lines([a, {**b, "specialty_1": "造船工程"}]),
            "csrf_token": token,
            "action": "submit",
            "idempotency_key": key,
        },
        content_type="multipart/form-data",
    )
    assert wrong.status_code == 422
    assert re.search(
        r'id="f-persons-1-specialty_1-error">专业“造船工程”不在专业字典中', text(wrong)
    )
    assert 'href="#f-persons-1-specialty_1"' in text(wrong)  # the summary links to the field
    assert in_db(app, lambda s: s.scalar(select(ProcessInstance.id))) is None

    # a file that is no image beside a field left empty: both said in the one reply (the
    # file was said alone, the empty field on the next send)
    posted = lines([a, {**b, "specialty_1": ""}])
    posted["persons.0.diploma"] = (io.BytesIO(b"not an image"), "diploma.png")
    both = client.post(
        f"{START}/form",
        data={**posted, "csrf_token": token, "action": "submit", "idempotency_key": key},
        content_type="multipart/form-data",
    )
    assert both.status_code == 422
    assert 'id="f-persons-0-diploma-error"' in text(both)
    assert re.search(r'id="f-persons-1-specialty_1-error">请填写', text(both))
    # and a specialty not in the dictionary beside it, as the start says it (it came only
    # after every file was right)
    posted = lines([a, {**b, "specialty_1": "造船工程"}])
    posted["persons.0.diploma"] = (io.BytesIO(b"not an image"), "diploma.png")
    both = client.post(
        f"{START}/form",
        data={**posted, "csrf_token": token, "action": "submit", "idempotency_key": key},
        content_type="multipart/form-data",
    )
    assert both.status_code == 422 and 'id="f-persons-0-diploma-error"' in text(both)
    assert 'id="f-persons-1-specialty_1-error">专业“造船工程”不在专业字典中' in text(both)

    done = client.post(
        f"{START}/form",
        data={**lines([a, b]), "csrf_token": token, "action": "submit", "idempotency_key": key},
        content_type="multipart/form-data",
    )
    assert done.status_code == 302, text(done)[:2000]
    detail = text(client.get(done.headers["Location"]))
    assert "已提交：JY-" in detail and "机构初审中" in detail and "周建国" in detail
    again = client.post(  # the same form sent twice (a double click): one form only
        f"{START}/form",
        data={**lines([a, b]), "csrf_token": token, "action": "submit", "idempotency_key": key},
        content_type="multipart/form-data",
    )
    assert again.headers["Location"] == done.headers["Location"]
    assert in_db(app, lambda s: len(s.scalars(select(ProcessInstance.id)).all())) == 1


def test_the_apis_preview_gives_the_same_fee_the_page_shows(client, app, world):
    a, b, old = three_persons(app, world)
    unit = token_headers(client, world.logins["unit"])

    def preview(people):
        data = {
            "persons": [
                {
                    **{k: p[k] for k in ("id_number", "name")},
                    "certificate_type": "监理员",
                    "specialty_1": "房屋建筑工程",
                }
                for p in people
            ]
        }
        reply = client.post(
            "/api/v1/processes/initial_education/preview", headers=unit, json={"data": data}
        )
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()

    both = preview([a, b])
    assert [x["support_fee"] for x in both["items"]] == ["60.00", "60.00"]
    assert both["fee_total"] == "120.00"
    mixed = preview([a, old])
    assert "support_fee" not in mixed["items"][1] and mixed["fee_total"] is None
    free = client.post(
        "/api/v1/processes/certificate_cancellation/preview",
        headers=unit,
        json={
            "data": {
                "persons": [
                    {
                        "id_number": a["id_number"],
                        "name": a["name"],
                        "certificate_types": ["监理员"],
                    }
                ]
            }
        },
    ).get_json()
    assert "fee_total" not in free  # a business without a fee says nothing of one


def test_every_start_page_refuses_a_post_without_its_csrf_token(client, app, world):
    a, _b, _old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    reply = client.post(
        f"{START}/form", data={**lines([a]), "action": "submit"}, content_type="multipart/form-data"
    )
    assert reply.status_code == 400 and "缺少安全令牌" in text(reply)
    assert in_db(app, lambda s: s.scalar(select(ProcessInstance.id))) is None
    assert client.post("/notices/read-all").status_code == 400


def test_each_business_opens_its_start_form_and_only_for_units(client, app, world):
    person = seed(app, world.unit_id, "周建国", "44010619800101123")
    sign_in(client, world.logins["unit"])
    # a one-person form: the picked person is shown, not typed; the rest is the schema's
    change = client.get(f"/business/member_info_change/form?member={person['id']}")
    page = text(change)
    assert change.status_code == 200 and "周建国" in page
    assert f'<input type="hidden" name="id_number" value="{person["id_number"]}">' in page
    refused = client.post(
        "/business/member_info_change/form",
        data={
            "csrf_token": TOKEN.search(page).group(1),
            "id_number": person["id_number"],
            "name": "周建国",
            "changes.mobile": "12345",
            "action": "submit",
        },
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422
    assert re.search(r'id="f-changes-mobile-error">[^<]*手机', text(refused)), text(refused)[-3000:]
    started = client.post(
        "/business/member_info_change/form",
        data={
            "csrf_token": TOKEN.search(page).group(1),
            "id_number": person["id_number"],
            "name": "周建国",
            "changes.mobile": "13912345678",
            "diploma_scan": png(),
            "action": "submit",
        },
        content_type="multipart/form-data",
    )
    assert started.status_code == 302, text(started)[-3000:]
    assert "个人会员信息变更" in text(client.get(started.headers["Location"]))
    index = text(client.get("/business"))
    for name in (
        "普通会员初始教育",
        "员升师",
        "证书注销",
        "专业会员（注师）继教",
        "个人会员入会申请",
    ):
        assert name in index
    join = client.get("/business/member_join")
    assert join.status_code == 302 and join.headers["Location"] == "/business/member_join/form"
    assert 'name="id_number"' in text(client.get("/business/member_join/form"))
    for key in ("certificate_cancellation", "specialty_change", "member_info_change"):
        assert "周建国" in text(client.get(f"/business/{key}")), key
    assert client.get("/business/no_such_business").status_code == 404
    # a form with nobody picked goes back to the picker and says why
    back = client.get(f"{START}/form?certificate_type=监理员")
    assert back.status_code == 302 and back.headers["Location"].startswith(START)
    assert "请先选择要办理的人员" in text(client.get(back.headers["Location"]))

    client.post("/logout", data={"csrf_token": csrf(client, "/business")})
    sign_in(client, "jigou")
    assert client.get("/business").status_code == 404
    assert client.get(f"{START}?certificate_type=监理员").status_code == 404


def test_my_business_filters_and_another_units_form_is_a_404(client, app, world):
    a, b, _old = three_persons(app, world)
    unit = token_headers(client, world.logins["unit"])

    def person(p):
        return {
            "id_number": p["id_number"],
            "name": p["name"],
            "certificate_type": "监理员",
            "specialty_1": "房屋建筑工程",
            **{k: upload(client, unit) for k in ("diploma", "social_insurance", "verification")},
        }

    first = start_form(
        client,
        unit,
        "initial_education",
        {"pledge": upload(client, unit), "persons": [person(a)]},
    )
    second = start_form(
        client,
        unit,
        "initial_education",
        {"pledge": upload(client, unit), "persons": [person(b)]},
    )
    sign_in(client, world.logins["unit"])
    listing = text(client.get("/forms"))
    for column in ("序号", "单据状态", "提交时间", "单号", "单位名称", "报名人数", "金额总计"):
        assert f"<th>{column}</th>" in listing
    assert first["business_key"] in listing and second["business_key"] in listing
    by_name = text(client.get("/forms?q=何美玲"))
    assert second["business_key"] in by_name and first["business_key"] not in by_name
    by_number = text(client.get(f"/forms?q={first['business_key']}"))
    assert first["business_key"] in by_number and second["business_key"] not in by_number
    by_id = text(client.get(f"/forms?q={a['id_number']}"))
    assert first["business_key"] in by_id and second["business_key"] not in by_id
    today = date.today()
    later = (today + timedelta(days=3)).isoformat()
    assert "没有符合条件的业务表单" in text(client.get(f"/forms?submitted_from={later}"))
    dated = text(
        client.get(f"/forms?submitted_from={today - timedelta(days=1)}&submitted_to={later}")
    )
    assert first["business_key"] in dated
    bad = client.get("/forms?submitted_from=2026-13-01")
    assert bad.status_code == 422 and "请输入有效日期，如 2026-12-07" in text(bad)
    assert "机构初审中" in text(client.get("/forms?status=机构初审中"))

    other = in_db(
        app,
        lambda s: s.scalar(select(Member.id).where(Member.id_number == a["id_number"])),
    )
    assert other
    theirs = seed(app, world.other_unit_id, "林汕头", "44050619820303456")
    other_unit = token_headers(client, world.logins["other_unit"])
    foreign = start_form(
        client,
        other_unit,
        "initial_education",
        {
            "pledge": upload(client, other_unit),
            "persons": [
                {
                    "id_number": theirs["id_number"],
                    "name": theirs["name"],
                    "certificate_type": "监理员",
                    "specialty_1": "房屋建筑工程",
                    **{
                        k: upload(client, other_unit)
                        for k in ("diploma", "social_insurance", "verification")
                    },
                }
            ],
        },
    )
    missing = client.get(f"/forms/{foreign['id']}")
    assert missing.status_code == 404 and "页面不存在" in text(missing)
    # another unit's person cannot be put on a form through the picker's URL either
    sneaked = client.get(f"{START}/form?certificate_type=监理员&member={theirs['id']}")
    assert sneaked.status_code == 302
    assert "所选人员不在本单位" in text(client.get(sneaked.headers["Location"]))


def test_the_units_home_counts_its_forms_and_shows_its_notices(client, app, world):
    a, _b, _old = three_persons(app, world)
    seed(app, world.unit_id, "快到期", "44010619880808567", until=date.today() + timedelta(days=10))
    in_db(app, lambda s: create_expiry_reminders(app.extensions["memberflow"], UnitOfWork(s)))
    unit = token_headers(client, world.logins["unit"])
    start_form(
        client,
        unit,
        "initial_education",
        {
            "pledge": upload(client, unit),
            "persons": [
                {
                    "id_number": a["id_number"],
                    "name": a["name"],
                    "certificate_type": "监理员",
                    "specialty_1": "房屋建筑工程",
                    **{
                        k: upload(client, unit)
                        for k in ("diploma", "social_insurance", "verification")
                    },
                }
            ],
        },
    )
    sign_in(client, world.logins["unit"])
    home = text(client.get("/home"))
    assert "各业务单据状态" in home
    row = re.search(r"<th scope=\"row\">普通会员初始教育</th>(.*?)</tr>", home, re.S).group(1)
    assert "status=%E6%9C%BA%E6%9E%84%E5%88%9D%E5%AE%A1%E4%B8%AD" in row  # 机构初审中, linked
    # the expiry reminder and the 业务消息 of the form just submitted
    assert "未读 2" in home and "会籍即将到期" in home and "快到期" in home
    assert "业务已提交" in home
    assert "退回待修改" in home and "待缴费" in home and "个人会员申请预审" in home
    assert "证书类型" in home  # the statistics cards stay
    # each statistics table is named by its card's heading; no header cell is empty
    for heading in ("h-by-type", "h-types", "h-years", "h-holders", "h-ages"):
        assert re.search(f'<table[^>]* aria-labelledby="{heading}"', home), heading
    assert "<th></th>" not in home and "<th>类别</th><th>人数</th>" in home
    links = re.findall(r'href="(/(?:forms|workbench/todo)\?[^"]+)"', home)
    assert len(links) >= 5 and any("task_name=unit_pre_review" in x for x in links), links
    for link in links:
        assert client.get(link.replace("&amp;", "&")).status_code == 200, link
    token = TOKEN.search(home).group(1)
    read = client.post("/notices/read-all", data={"csrf_token": token, "next": "/home"})
    assert read.status_code == 302 and read.headers["Location"] == "/home"
    assert "未读 0" in text(client.get("/home"))


CURRENT = re.compile(r'<a href="[^"]*" aria-current="page">([^<]+)</a>')


def test_the_menu_marks_the_one_item_of_the_page(client, app, world):
    """A page below another item's path is its own item's alone (暂存表单 lives under
    业务办理's /business, 提交反馈 under 我的反馈's /feedback); a queue with a business's
    filter is that business's item, without one the queue's."""
    sign_in(client, world.logins["unit"])
    for path, item in [
        ("/business", "业务办理"),
        ("/business/drafts", "暂存表单"),
        (START, "初始教育"),
        ("/feedback/new", "问题反馈"),
        ("/feedback", "我的反馈"),
        ("/workbench/todo", "待办任务"),
        ("/workbench/todo?task_name=unit_pre_review", "个人会员申请预审"),
    ]:
        reply = client.get(path)
        assert reply.status_code == 200, path
        # the side menu (its folded copy on narrow screens marks the same item)
        side = text(reply).split('<nav class="sidemenu"', 1)[1].split("</nav>", 1)[0]
        assert CURRENT.findall(side) == [item], path
        fold = text(reply).split('<details class="menufold">', 1)[1].split("</details>", 1)[0]
        assert CURRENT.findall(fold) == [item], path


def test_the_join_form_opens_as_the_full_form_with_its_required_fields_marked(client, world):
    """A unit's join form starts at 完整版 (the schema's default): the fields that version
    requires carry their * before anything is typed, and the rule the stars cannot show
    (a diploma report, or a video when there is none) is said at the top."""
    sign_in(client, world.logins["unit"])
    html = client.get("/business/member_join/form").get_data(as_text=True)
    assert re.search(r'name="variant" value="full"[^>]*checked', html)
    starred = set(
        re.findall(r'<(?:label for="f-|legend id="f-)([\w.-]+)[^>]*>[^<]*<span class="req"', html)
    )
    assert {"address", "diploma", "photo", "mobile"} <= starred, starred
    assert "须上传学历验证报告（无法提供时上传视频证明）" in text(
        client.get("/business/member_join/form")
    )
    assert "证件为通行证或护照时必填" in html


def test_a_member_unit_is_not_offered_to_join_as_a_unit_again(client, app, world):
    """单位会员入会 is for a unit that is not a member: a member unit's 业务办理 and home page
    leave it out (the menu did already); once the unit is not a member, both offer it."""
    from service.db.models import Unit

    sign_in(client, world.logins["unit"])
    assert "单位会员入会" not in text(client.get("/business"))
    assert "单位会员入会" not in text(client.get("/home"))

    def leave(s):
        s.get(Unit, world.unit_id).member_unit = False
        s.commit()

    in_db(app, leave)
    assert "单位会员入会" in text(client.get("/business"))
    assert re.search(r"尚未办理：[^<]*单位会员入会", text(client.get("/home")))


def test_the_specialty_hint_shows_only_on_a_form_with_a_specialty_column(client, app, world):
    person = seed(app, world.unit_id, "周建国", "44010619800101123")
    sign_in(client, world.logins["unit"])
    hint = "专业从协会专业字典中选择"
    with_column = text(client.get(f"{START}/form?certificate_type=监理员&member={person['id']}"))
    assert 'list="specialty-names"' in with_column and hint in with_column
    without = text(
        client.get(
            f"/business/continuing_education/form?certificate_type=监理员&member={person['id']}"
        )
    )
    assert "周建国" in without and 'list="specialty-names"' not in without
    assert hint not in without and "重新选择人员" in without


def test_a_file_given_once_serves_every_person_without_their_own(client, app, world):
    """所有人员共用的材料: one 本单位社保证明 uploaded once is each person's who has none of
    their own (a row's own file stays), stored once; a refused shared file is said above
    the form and nothing starts."""
    from conftest import in_db as read

    from service.db.models import StoredFile

    a, b, _old = three_persons(app, world)
    sign_in(client, world.logins["unit"])
    opened = text(
        client.get(f"{START}/form?certificate_type=监理员&member={a['id']}&member={b['id']}")
    )
    assert 'name="persons.all.social_insurance"' in opened and "所有人员共用的材料" in opened
    assert 'name="persons.all.id_number"' not in opened  # files only
    single = text(client.get(f"{START}/form?certificate_type=监理员&member={a['id']}"))
    assert "所有人员共用的材料" not in single  # one person: nothing to share

    posted = lines([a, b])
    del posted["persons.0.social_insurance"], posted["persons.1.social_insurance"]
    own = (io.BytesIO(png_bytes()), "own.png")
    posted["persons.1.social_insurance"] = own  # b has their own
    bad = {**posted, "persons.all.social_insurance": (io.BytesIO(b"not an image"), "all.png")}
    token = TOKEN.search(opened).group(1)
    refused = client.post(
        f"{START}/form",
        data={**bad, "csrf_token": token, "action": "submit"},
        content_type="multipart/form-data",
    )
    assert refused.status_code == 422 and "所有人员共用的文件：" in text(refused)
    assert read(app, lambda s: s.scalar(select(ProcessInstance.id))) is None

    posted = lines([a, b])
    del posted["persons.0.social_insurance"], posted["persons.1.social_insurance"]
    posted["persons.1.social_insurance"] = (io.BytesIO(png_bytes()), "own.png")
    posted["persons.all.social_insurance"] = (io.BytesIO(png_bytes()), "shared.png")
    done = client.post(
        f"{START}/form",
        data={
            **posted,
            "csrf_token": TOKEN.search(opened).group(1),
            "action": "submit",
            "idempotency_key": IDEMPOTENCY.search(opened).group(1),
        },
        content_type="multipart/form-data",
    )
    assert done.status_code == 302, text(done)[:2000]
    made = int(done.headers["Location"].rsplit("/", 1)[1])
    unit = token_headers(client, world.logins["unit"])
    data = client.get(f"/api/v1/instances/{made}", headers=unit).get_json()["data"]
    files = [p["social_insurance"] for p in data["persons"]]
    names = read(
        app,
        lambda s: {
            f.id: f.name for f in s.scalars(select(StoredFile).where(StoredFile.id.in_(files)))
        },
    )
    assert [names[f] for f in files] == ["shared.png", "own.png"]
