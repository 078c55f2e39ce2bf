"""单位账号密码重置 (manual FAQ 3.9(2)) over HTTP, on both databases: the public page and API
(no sign-in, every mistake at its field, an unknown name/code pair refused without saying
which, one pending request per unit), the secretariat's list, detail, the stamped form
served to it alone, 通过并重置 (the main account's one-time password, its sessions ended)
and 拒绝 (a reason); acting twice — and at once, in threads on PostgreSQL — resets once."""

from __future__ import annotations

import io
import re
from datetime import datetime, timedelta

from conftest import (
    PASSWORD,
    in_db,
    make_app,
    pdf_bytes,
    png_bytes,
    race,
    seed_world,
    token_headers,
)
from sqlalchemy import func, select

from service.db import db
from service.db.models import AuditRecord, StoredFile, UnitPasswordRequest
from service.db.uow import UnitOfWork
from service.domain.validation import make_credit_code
from service.services.membership import unit_password_requests as requests_
from service.services.workflow import files

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ONE_TIME = re.compile(r'id="one-time-password">([^<]+)<')
NUMBER = re.compile(r'id="request-number">([^<]+)<')
PAGE = "/unit-password-reset"
API = "/api/v1/unit-password-requests"
MULTIPART = "multipart/form-data"


def text(reply) -> str:
    return reply.get_data(as_text=True)


def csrf(client, path: str = "/login") -> str:
    return TOKEN.search(text(client.get(path))).group(1)


def post(client, path: str, data: dict, form: str | None = None):
    return client.post(path, data={**data, "csrf_token": csrf(client, form or path)})


def sign_in(client, username: str, password: str = PASSWORD):
    reply = post(client, "/login", {"username": username, "password": password})
    assert reply.status_code == 302, text(reply)[:300]
    return reply


def field_error(html: str, field: str) -> str:
    found = re.search(rf'id="f-{field}-error">([^<]+)<', html)
    assert found, f"no error at {field}"
    return found.group(1)


def credit_code(world_unit_name: str) -> str:
    return (
        make_credit_code("91440101190468342")
        if world_unit_name.startswith("广州")
        else make_credit_code("91440500192837465")
    )


def request_form(world, **overrides) -> dict:
    data = {
        "unit_name": world.unit_name,
        "credit_code": credit_code(world.unit_name),
        "contact_name": "李明",
        "contact_mobile": "13800138000",
        "file": (io.BytesIO(png_bytes()), "申请表.png"),
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def ask(client, world, **overrides):
    """The public page's form, sent."""
    data = request_form(world, **overrides)
    return client.post(PAGE, data={**data, "csrf_token": csrf(client, PAGE)})


def counts(app) -> tuple[int, int]:
    return in_db(
        app,
        lambda s: (
            s.scalar(select(func.count()).select_from(UnitPasswordRequest)),
            s.scalar(select(func.count()).select_from(StoredFile)),
        ),
    )


def resets(app) -> int:
    return in_db(
        app,
        lambda s: s.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "password_reset")
        ),
    )


def test_a_unit_asks_on_the_public_page_and_the_secretariat_resets_its_main_account(
    app, client, world
):
    login_page = text(client.get("/login"))
    assert f'href="{PAGE}"' in login_page and "单位账号密码重置" in login_page
    blank = client.get(PAGE)
    assert blank.status_code == 200 and "盖章的重置密码申请表" in text(blank)
    assert "平台暂未接入短信" in text(blank)

    # every mistake at once, at its field, in Chinese; nothing kept
    empty = ask(
        client, world, unit_name="", credit_code="", contact_name="", contact_mobile="", file=None
    )
    assert empty.status_code == 422
    html = text(empty)
    assert field_error(html, "unit_name") == "请填写单位名称"
    assert field_error(html, "credit_code") == "请填写统一社会信用代码"
    assert field_error(html, "contact_name") == "请填写联系人"
    assert field_error(html, "contact_mobile") == "请填写联系手机"
    assert "盖章的重置密码申请表" in field_error(html, "file")
    wrong = ask(
        client,
        world,
        credit_code="91440101190468340",
        contact_mobile="1380013800",
        file=(io.BytesIO(b"just text"), "申请表.txt"),
    )
    assert wrong.status_code == 422
    html = text(wrong)
    assert "校验" in field_error(html, "credit_code") or "代码" in field_error(html, "credit_code")
    assert "手机" in field_error(html, "contact_mobile")
    assert "PDF" in field_error(html, "file")
    assert counts(app) == (0, 0)

    # a pair that is not a registered unit: one message, whichever of the two is wrong
    other_code = credit_code(world.other_unit_name)
    for name, code in (
        (world.unit_name, other_code),
        ("广州不存在监理有限公司", credit_code(world.unit_name)),
    ):
        refused = ask(client, world, unit_name=name, credit_code=code)
        assert refused.status_code == 422 and requests_.NOT_A_UNIT in text(refused)
        assert 'id="f-unit_name-error"' not in text(refused)
        assert 'id="f-credit_code-error"' not in text(refused)
    assert counts(app) == (0, 0)

    # the unit is signed in somewhere (its old password still works until the reset)
    unit = app.test_client()
    sign_in(unit, world.unit_name)
    assert unit.get("/forms").status_code == 200

    sent = ask(client, world, file=(io.BytesIO(pdf_bytes()), "申请表.pdf"))
    assert sent.status_code == 302 and sent.headers["Location"].endswith(f"{PAGE}/done")
    done = text(client.get(f"{PAGE}/done"))
    number = NUMBER.search(done).group(1)
    assert number.startswith("CZ") and "密码重置申请已收到" in done and "接下来" in done
    again = ask(client, world)
    assert again.status_code == 409 and "正在核实中" in text(again)
    assert counts(app) == (1, 1)

    # the secretariat: 机构与账号 → 密码重置申请
    admin = app.test_client()
    sign_in(admin, "admin")
    assert 'href="/admin/password-requests"' in text(admin.get("/admin/units"))
    listed = text(admin.get("/admin/password-requests"))
    assert number in listed and world.unit_name in listed and "13800138000" in listed
    assert re.search(r"待处理<span class=\"count\">1<", listed)
    request_id = in_db(app, lambda s: s.scalar(select(UnitPasswordRequest.id)))
    file_id = in_db(app, lambda s: s.scalar(select(UnitPasswordRequest.file_id)))
    detail = text(admin.get(f"/admin/password-requests/{request_id}"))
    assert f"/files/{file_id}/view" in detail and "通过并重置" in detail and "拒绝理由" in detail
    assert admin.get(f"/files/{file_id}/view").status_code == 200
    raw = admin.get(f"/files/{file_id}")
    assert raw.status_code == 200
    raw.close()
    assert admin.get(f"/files/{file_id}/thumb.png").status_code == 200
    form = admin.get(f"/admin/password-requests/{request_id}/form")
    assert form.status_code == 200 and form.mimetype == "application/pdf"
    assert form.get_data().startswith(b"%PDF")
    form.close()
    # the form is the secretariat's alone: not the unit's, not another staff member's
    for who in (unit, _signed_in(app, "xiehui")):
        assert who.get(f"/files/{file_id}").status_code == 404
        assert who.get(f"/admin/password-requests/{request_id}/form").status_code == 404
        assert who.get(f"/admin/password-requests/{request_id}").status_code == 404

    approved = post(
        admin,
        f"/admin/password-requests/{request_id}/approve",
        {},
        f"/admin/password-requests/{request_id}",
    )
    # post/redirect/get: the password is on the page it redirects to, shown that once
    assert approved.status_code == 302 and approved.headers["Location"].startswith("/one-time/")
    assert ONE_TIME.search(text(approved)) is None
    shown = admin.get(approved.headers["Location"])
    assert shown.status_code == 200 and shown.headers["Cache-Control"] == "no-store"
    one_time = ONE_TIME.search(text(shown)).group(1)
    assert "平台暂未接入短信" in text(shown) and "李明" in text(shown)
    assert number in text(shown) and world.unit_name in text(shown)
    assert 'href="/admin/password-requests"' in text(shown)
    reloaded = admin.get(approved.headers["Location"])  # reload: not shown, not reset again
    assert reloaded.status_code == 410 and ONE_TIME.search(text(reloaded)) is None
    assert "一次性密码已显示过" in text(reloaded) and resets(app) == 1
    assert unit.get("/forms").status_code == 302  # its sessions ended at once
    assert (
        post(
            app.test_client(), "/login", {"username": world.unit_name, "password": PASSWORD}
        ).status_code
        == 401
    )
    first = post(app.test_client(), "/login", {"username": world.unit_name, "password": one_time})
    assert first.headers["Location"].startswith("/password")  # must change it now

    twice = post(
        admin,
        f"/admin/password-requests/{request_id}/approve",
        {},
        f"/admin/password-requests/{request_id}",
    )
    assert twice.status_code == 302
    assert "已处理" in text(admin.get(twice.headers["Location"]))
    assert resets(app) == 1
    listed = text(admin.get("/admin/password-requests?status=已重置"))
    assert number in listed and "秘书处管理员" in listed
    assert re.search(r"已重置<span class=\"count\">1<", listed)
    actions = in_db(app, lambda s: set(s.scalars(select(AuditRecord.action))))
    assert {"unit_pw_request", "unit_pw_approve"} <= actions


def _signed_in(app, username: str):
    other = app.test_client()
    sign_in(other, username)
    return other


def test_the_secretariat_refuses_with_a_reason_and_the_unit_may_ask_again(app, client, world):
    assert ask(client, world).status_code == 302
    request_id = in_db(app, lambda s: s.scalar(select(UnitPasswordRequest.id)))
    admin = _signed_in(app, "admin")
    page = f"/admin/password-requests/{request_id}"
    missing = post(admin, f"{page}/refuse", {"reason": "  "}, page)
    assert missing.status_code == 422 and field_error(text(missing), "reason") == "请填写拒绝理由"
    refused = post(admin, f"{page}/refuse", {"reason": "申请表未加盖公章"}, page)
    assert refused.status_code == 302
    shown = text(admin.get(page))
    assert "已拒绝" in shown and "申请表未加盖公章" in shown and "通过并重置" not in shown
    late = post(admin, f"{page}/approve", {}, "/admin/password-requests")
    assert late.status_code == 302 and resets(app) == 0
    assert (
        post(
            app.test_client(), "/login", {"username": world.unit_name, "password": PASSWORD}
        ).status_code
        == 302
    )
    assert ask(client, world).status_code == 302  # a new request once the last is settled


def test_the_api_takes_a_public_request_and_the_secretariat_settles_it(app, client, world):
    assert client.post(API, json={}).status_code == 415  # multipart only
    empty = client.post(API, data={"unit_name": ""}, content_type=MULTIPART)
    assert empty.status_code == 422
    assert set(empty.get_json()["errors"]) == {
        "unit_name",
        "credit_code",
        "contact_name",
        "contact_mobile",
        "file",
    }
    bad = client.post(
        API, content_type=MULTIPART, data=request_form(world, contact_mobile="12345", file=None)
    )
    assert bad.status_code == 422
    errors = bad.get_json()["errors"]
    assert set(errors) == {"contact_mobile", "file"}
    wrong_pair = client.post(
        API, data=request_form(world, credit_code=credit_code(world.other_unit_name))
    )
    assert wrong_pair.status_code == 422
    assert wrong_pair.get_json()["message"] == requests_.NOT_A_UNIT
    made = client.post(API, content_type=MULTIPART, data=request_form(world))
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["status"] == "待处理" and body["number"].startswith("CZ")
    assert client.post(API, content_type=MULTIPART, data=request_form(world)).status_code == 409

    unit = token_headers(client, world.unit_name)
    assert client.get(API, headers=unit).status_code == 403
    assert client.get(API).status_code == 401
    admin = token_headers(client, "admin")
    listing = client.get(API, headers=admin).get_json()
    assert listing["total"] == 1 and listing["counts"] == {"待处理": 1, "已重置": 0, "已拒绝": 0}
    one = client.get(f"{API}/{body['id']}", headers=admin).get_json()
    assert one["unit_name"] == world.unit_name and one["file"]["content_type"] == "image/png"
    assert one["account"]["username"] == world.unit_name
    form = client.get(f"{API}/{body['id']}/form", headers=admin)
    assert form.mimetype == "image/png" and form.get_data() == png_bytes()
    form.close()
    assert client.get(f"/api/v1/files/{one['file']['id']}", headers=unit).status_code == 404
    assert client.post(f"{API}/{body['id']}/approve", headers=unit).status_code == 403

    approved = client.post(f"{API}/{body['id']}/approve", headers=admin)
    assert approved.status_code == 200 and approved.headers["Cache-Control"] == "no-store"
    reset = approved.get_json()
    assert reset["status"] == "已重置" and reset["sms_sent"] is False and reset["password"]
    assert reset["handled_by_name"] and reset["handled_at"]
    assert client.post(f"{API}/{body['id']}/approve", headers=admin).status_code == 409
    refused = client.post(f"{API}/{body['id']}/refuse", headers=admin, json={"reason": "迟了"})
    assert refused.status_code == 409
    assert resets(app) == 1
    assert token_headers(client, world.unit_name, reset["password"])

    other = client.post(API, content_type=MULTIPART, data=request_form(world))
    assert other.status_code == 201
    no_reason = client.post(f"{API}/{other.get_json()['id']}/refuse", headers=admin, json={})
    assert no_reason.status_code == 422
    done = client.post(
        f"{API}/{other.get_json()['id']}/refuse", headers=admin, json={"reason": "公章不清晰"}
    )
    assert done.status_code == 200 and done.get_json()["reason"] == "公章不清晰"
    listing = client.get(f"{API}?status=已拒绝", headers=admin).get_json()
    assert [i["status"] for i in listing["items"]] == ["已拒绝"]
    assert listing["counts"] == {"待处理": 0, "已重置": 1, "已拒绝": 1}


def test_approving_one_request_at_once_in_threads_resets_once(pg_app):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    assert client.post(API, content_type=MULTIPART, data=request_form(world)).status_code == 201
    request_id = in_db(pg_app, lambda s: s.scalar(select(UnitPasswordRequest.id)))
    admin = token_headers(client, "admin")

    def act(i: int) -> int:
        path = f"{API}/{request_id}/" + ("approve" if i % 2 == 0 else "refuse")
        return pg_app.test_client().post(path, headers=admin, json={"reason": "重复"}).status_code

    codes = race(6, act)
    assert sorted(codes).count(200) == 1 and all(c in (200, 409) for c in codes), codes
    status = in_db(pg_app, lambda s: s.scalar(select(UnitPasswordRequest.status)))
    assert resets(pg_app) == (1 if status == "已重置" else 0)


def test_two_requests_of_one_unit_at_once_keep_one_pending(pg_app):
    world = seed_world(pg_app)
    codes = race(
        4,
        lambda i: (
            pg_app.test_client()
            .post(API, content_type=MULTIPART, data=request_form(world))
            .status_code
        ),
    )
    assert sorted(codes) == [201, 409, 409, 409], codes
    pending = in_db(
        pg_app,
        lambda s: s.scalar(
            select(func.count())
            .select_from(UnitPasswordRequest)
            .where(UnitPasswordRequest.status == "待处理")
        ),
    )
    assert pending == 1


def test_the_stamped_form_survives_the_clean_up_of_unused_uploads(app, client, world):
    assert client.post(API, content_type=MULTIPART, data=request_form(world)).status_code == 201
    ctx = app.extensions["memberflow"]
    ctx.clock = lambda: datetime.now() + timedelta(days=3)
    with app.app_context():
        try:
            files.delete_unused_uploads(ctx, UnitOfWork(db.session))
        finally:
            db.session.remove()
    form = in_db(app, lambda s: s.scalar(select(UnitPasswordRequest.file_id)))
    assert form in in_db(app, lambda s: set(s.scalars(select(StoredFile.id))))


def test_the_sends_are_limited_per_client_address_apart_from_the_lookup(db_url, tmp_path):
    app = make_app(db_url, tmp_path, lookup_rate="2 per minute")
    world = seed_world(app)
    client = app.test_client()
    wrong = {"unit_name": "某某公司", "credit_code": "x"}
    for _ in range(2):
        reply = client.post(API, content_type=MULTIPART, data=wrong)
        assert reply.status_code == 422
    assert client.post(API, content_type=MULTIPART, data=wrong).status_code == 429
    assert ask(client, world).status_code == 429  # the page counts with the API
    assert client.get(PAGE).status_code == 200  # the form itself is not counted
    assert client.get("/lookup?number=JL0000").status_code == 404  # the lookup's own counter


def test_a_request_s_number_carries_the_shanghai_day(app, client, world):
    """Sent at 01:30 in Shanghai (17:30 the day before in UTC), its number says the Shanghai
    day, as a form's number does (CZ20261207…, not CZ20261206…)."""
    app.extensions["memberflow"].clock = lambda: datetime(2026, 12, 6, 17, 30)
    sent = ask(client, world, file=(io.BytesIO(pdf_bytes()), "申请表.pdf"))
    assert sent.status_code == 302, text(sent)[:300]
    number = NUMBER.search(text(client.get(f"{PAGE}/done"))).group(1)
    assert number.startswith("CZ20261207"), number
