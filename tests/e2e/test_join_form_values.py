"""What the join form accepts, over the API: each refusal a 422 naming the field, before the
engine runs (no form, no incident)."""

from __future__ import annotations

import io
import re

import pytest
from conftest import applicant_data, form_values, in_db, new_join_code, open_task, png_bytes
from sqlalchemy import func, select
from test_member_join_api import approve_to_end

from service.db.models import Incident, Member, ProcessInstance

START = "/api/v1/processes/member_join/instances"
TOMORROW = "2026-11-29"  # the pinned business day is 2026-11-28


def passport(**overrides) -> dict:
    return {
        "id_type": "passport",
        "id_number": "E12345678",
        "birth_date": "1990-05-01",
        "gender": "女",
        **overrides,
    }


def nothing_kept(app) -> bool:
    def counts(session):
        return [
            session.scalar(select(func.count()).select_from(t)) for t in (Incident, ProcessInstance)
        ]

    return in_db(app, counts) == [0, 0]


def refused(client, headers, data) -> dict:
    reply = client.post(START, headers=headers, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    return reply.get_json()["errors"]


@pytest.mark.parametrize(
    "id_type, id_number", [("passport", "E12345678"), ("hk_macau_permit", "H12345678")]
)
def test_a_birth_date_after_today_is_refused_at_the_field_for_a_document_without_one(
    app, client, login, world, pinned_clock, id_type, id_number
):
    unit = login("unit")
    data = applicant_data(
        client, unit, **passport(id_type=id_type, id_number=id_number, birth_date=TOMORROW)
    )
    assert refused(client, unit, data) == {"birth_date": "「出生日期」不能晚于今天"}
    assert nothing_kept(app)


def test_a_date_that_is_no_date_is_refused_with_an_example_not_a_pattern(app, client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit, **passport(birth_date="1990-13-01"))
    assert refused(client, unit, data) == {"birth_date": "「出生日期」应为有效日期，如 2026-12-07"}


def test_the_unit_cannot_set_a_birth_date_after_today_at_pre_review(
    app, client, login, world, pinned_clock
):
    unit = login("unit")
    reply = client.post(
        START, headers=unit, json={"data": applicant_data(client, unit, **passport())}
    )
    assert reply.status_code == 201, reply.get_json()
    instance_id = reply.get_json()["id"]
    values = form_values(client, unit, instance_id)
    task = open_task(client, unit, instance_id)
    data = {**values, "birth_date": TOMORROW, "decision": "approve", "member_level": "普通会员"}
    reply = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"birth_date": "「出生日期」不能晚于今天"}
    assert open_task(client, unit, instance_id)["id"] == task["id"]


def test_a_graduation_or_a_birth_date_after_today_is_refused_with_a_resident_id(
    app, client, login, world, pinned_clock
):
    unit = login("unit")
    data = applicant_data(client, unit, birth_date="2031-01-01")  # the ID number: 1985
    data["education"] = {**data["education"], "graduated_on": "2030-07-01"}
    assert refused(client, unit, data) == {
        "birth_date": "「出生日期」不能晚于今天",
        "education.graduated_on": "「毕业时间」不能晚于今天",
    }
    assert nothing_kept(app)


def test_a_stated_birth_date_must_be_the_one_the_resident_id_gives(app, client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit, birth_date="1990-01-01")  # the ID number: 1985-03-15
    errors = refused(client, unit, data)
    assert errors == {"birth_date": "「出生日期」与证件号码中的出生日期（1985-03-15）不一致"}
    assert nothing_kept(app)
    data["birth_date"] = "1985-03-15"
    assert client.post(START, headers=unit, json={"data": data}).status_code == 201


def test_a_stated_gender_must_be_the_one_the_resident_id_gives(app, client, login, world):
    """Reviewers read the form's 性别; the member keeps the number's."""
    unit = login("unit")
    data = applicant_data(client, unit)
    own = "男" if int(data["id_number"][16]) % 2 else "女"
    other = "女" if own == "男" else "男"
    errors = refused(client, unit, {**data, "gender": other})
    assert errors == {"gender": f"「性别」与证件号码中的性别（{own}）不一致"}
    assert nothing_kept(app)
    assert (
        client.post(START, headers=unit, json={"data": {**data, "gender": own}}).status_code == 201
    )


@pytest.mark.parametrize(
    "field, value, error",
    [
        ("name", "   ", "请填写「姓名」"),
        ("name", "\u3000 ", "请填写「姓名」"),  # a full-width space is a space too
        # a right-to-left override: refused in any text, before the form is read (guards)
        ("name", "张\u202e三", "不能包含文字方向控制字符（\\u202e），请删除后重新填写"),
        ("name", "张\u200b三", "「姓名」不能包含控制字符或不可见字符"),  # zero-width space
        ("name", "张三😀", "「姓名」只能包含文字、间隔号和空格"),
        ("address", "   ", "请填写「通讯地址」"),
        ("education.school", " ", "请填写「毕业院校」"),
        ("education.major", "\u3000", "请填写「所学专业」"),
    ],
)
def test_blank_text_and_a_name_that_cannot_be_printed_are_refused(
    app, client, login, world, field, value, error
):
    unit = login("unit")
    data = applicant_data(client, unit)
    if field.startswith("education."):
        data["education"] = {**data["education"], field.split(".")[1]: value}
    else:
        data[field] = value
    assert refused(client, unit, data) == {field: error}
    assert nothing_kept(app)


def test_a_name_with_a_separator_dot_is_accepted(client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit, name="阿卜杜·热合曼")
    reply = client.post(START, headers=unit, json={"data": data})
    assert reply.status_code == 201, reply.get_json()


def test_a_mobile_number_is_kept_as_its_11_digits_through_to_the_member(app, client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit, mobile="+86 139-1234-5678")
    reply = client.post(START, headers=unit, json={"data": data})
    assert reply.status_code == 201, reply.get_json()
    instance_id = reply.get_json()["id"]
    view = client.get(f"/api/v1/instances/{instance_id}", headers=login("unit")).get_json()
    assert view["data"]["mobile"] == "13912345678"
    # the unit's pre-review sends the form again, as typed
    values = {**form_values(client, unit, instance_id), "mobile": "139 1234 5678"}
    task = open_task(client, unit, instance_id)
    data = {**values, "decision": "approve", "member_level": "普通会员"}
    reply = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=unit, json={"data": data})
    assert reply.status_code == 200, reply.get_json()
    view = client.get(f"/api/v1/instances/{instance_id}", headers=login("agency")).get_json()
    assert view["data"]["mobile"] == "13912345678"
    approve_to_end(client, login, instance_id, from_task="agency_review")
    mobile = in_db(app, lambda s: s.scalar(select(Member.mobile)))
    assert mobile == "13912345678"


@pytest.mark.parametrize("empty", [None, ""])
def test_an_empty_birth_date_or_gender_where_the_document_has_none_asks_for_it(
    app, client, login, world, empty
):
    unit = login("unit")
    data = applicant_data(client, unit, **passport(birth_date=empty, gender=None))
    assert refused(client, unit, data) == {
        "birth_date": "请填写「出生日期」",
        "gender": "请选择「性别」",
    }
    del data["birth_date"], data["gender"]
    assert refused(client, unit, data) == {
        "birth_date": "请填写「出生日期」",
        "gender": "请选择「性别」",
    }
    assert nothing_kept(app)


def test_an_invalid_id_number_is_refused_at_its_field(app, client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit, id_number="440308199901101513")
    reply = client.post(START, headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"id_number": "身份证号码校验位不正确"}
    assert "校验位" in reply.get_json()["message"]
    assert nothing_kept(app)


def test_the_join_page_shows_an_invalid_id_number_under_its_field(app):
    client, code = app.test_client(), new_join_code(app)
    page = client.get(f"/join/{code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    files = ("photo", "id_front", "id_back", "diploma", "diploma_verification")
    reply = client.post(
        f"/join/{code}",
        data={
            "csrf_token": token,
            "name": "陈志强",
            "id_type": "resident_id",
            "id_number": "440308199901101513",
            "mobile": "13802511234",
            "address": "广州市天河区体育西路100号",
            "education.level": "本科",
            "education.school": "华南理工大学",
            "education.major": "土木工程",
            "education.graduated_on": "2008-07-01",
            "title": "中级",
            "declaration": "on",
            "declaration__present": "1",
            **{k: (io.BytesIO(png_bytes()), f"{k}.png") for k in files},
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    assert '<p class="error" id="f-id_number-error">身份证号码校验位不正确</p>' in html
    assert nothing_kept(app)


def test_the_join_page_says_every_mistake_at_once_when_an_upload_fails(app):
    """A bad file was said alone; the missing name and the wrong ID number only on the next
    send, and the next: three or four sends to learn what one could say."""
    client, code = app.test_client(), new_join_code(app)
    page = client.get(f"/join/{code}").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
    reply = client.post(
        f"/join/{code}",
        data={
            "csrf_token": token,
            "id_type": "resident_id",
            "id_number": "440308199901101513",
            "mobile": "13802511234",
            "photo": (io.BytesIO(b"not an image"), "photo.png"),
        },
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422
    html = reply.get_data(as_text=True)
    errors = dict(re.findall(r'<p class="error" id="f-([\w.]+)-error">([^<]+)</p>', html))
    assert "photo" in errors and "请上传" not in errors["photo"]  # the file's own fault
    assert errors["id_number"] == "身份证号码校验位不正确"
    assert errors["name"].startswith("请填写")
    assert nothing_kept(app)


def test_the_api_says_a_missing_name_and_a_wrong_id_number_in_one_reply(app, client, login, world):
    unit = login("unit")
    data = applicant_data(client, unit, id_number="440308199901101513")
    del data["name"]
    errors = refused(client, unit, data)
    assert errors["id_number"] == "身份证号码校验位不正确" and "name" in errors
    assert nothing_kept(app)


def test_the_join_page_s_date_boxes_that_may_not_pass_today_stop_at_today(app, pinned_clock):
    """The browser's date picker offers no day after today for a birth date or a graduation
    (the server refuses one either way)."""
    client, code = app.test_client(), new_join_code(app)
    html = client.get(f"/join/{code}").get_data(as_text=True)
    boxes = dict(re.findall(r'<input type="date" id="([^"]+)"([^>]*)>', html))
    for box in ("f-birth_date", "f-education-graduated_on"):
        assert 'max="2026-11-28"' in boxes[box], boxes  # the pinned business day


def _join_fields(id_number: str) -> dict:
    files = ("photo", "id_front", "id_back", "diploma", "diploma_verification")
    return {
        "name": "陈志强",
        "id_type": "resident_id",
        "id_number": id_number,
        "mobile": "13802511234",
        "address": "广州市天河区体育西路100号",
        "education.level": "本科",
        "education.school": "华南理工大学",
        "education.major": "土木工程",
        "education.graduated_on": "2008-07-01",
        "title": "中级",
        "declaration": "on",
        "declaration__present": "1",
        **{k: (io.BytesIO(png_bytes()), f"{k}.png") for k in files},
    }


def test_the_join_page_sent_again_after_going_back_names_the_own_application(app):
    """Back (a new page, a new attempt token) and send again: the browser that applied is
    told its own form number; another browser sending the same ID number learns nothing."""
    from service.domain.validation import make_resident_id

    code = new_join_code(app)
    number = make_resident_id("44030819900110151")

    def send(client):
        page = client.get(f"/join/{code}").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page)[1]
        return client.post(
            f"/join/{code}",
            data={"csrf_token": token, **_join_fields(number)},
            content_type="multipart/form-data",
        )

    applicant = app.test_client()
    first = send(applicant)
    assert first.status_code == 302, first.get_data(as_text=True)
    done = applicant.get(first.headers["Location"]).get_data(as_text=True)
    business_key = re.search(r'class="big-number">([^<]+)<', done)[1]
    again = send(applicant)
    assert again.status_code == 302 and again.headers["Location"].endswith("again=1")
    shown = applicant.get(again.headers["Location"]).get_data(as_text=True)
    assert f"您已提交过申请，单号 {business_key}" in shown
    assert "本次填写的内容未保存" in shown  # a corrected name sent again is not taken silently
    stranger = send(app.test_client())
    assert stranger.status_code == 422
    html = stranger.get_data(as_text=True)
    assert "该证件号码目前不能申请入会" in html and business_key not in html
    # said at the ID number's field, which is marked, not only above the form
    at_field = re.search(r'<p class="error" id="f-id_number-error">([^<]*)</p>', html)
    assert at_field and "该证件号码目前不能申请入会" in at_field[1], html
    assert re.search(r'name="id_number"[^>]*aria-invalid="true"', html)
    assert in_db(app, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance))) == 1


def test_finance_approving_without_a_receipt_date_is_asked_for_it_without_a_pattern(
    app, client, login, world
):
    from test_member_join_api import FINANCE_APPROVE, complete, start_join

    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"], stop_at="finance_review")
    task = open_task(client, login("finance"), inst["id"])
    data = {**FINANCE_APPROVE, "receipt_date": None}  # the page's empty box
    body = complete(client, login("finance"), task["id"], data, expect=422)
    assert body["errors"]["receipt_date"] == "复核通过时必须填写开票日期"
