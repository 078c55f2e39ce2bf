"""A new member's first sign-in on a phone, in Chromium: the one-time password (from the
unit or from the QR page), the forced change, and on to the page the person came for."""

from __future__ import annotations

import re

import pytest
from browsing import assert_labelled
from conftest import in_db, token_headers
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

pytestmark = pytest.mark.postgres
PHONE = 375
NEW_PASSWORD = "Zhujiang-2026"


def new_member(live) -> tuple[str, int, dict]:
    """A member of the live unit without a password yet: ID number, member id, unit headers."""
    number = make_resident_id("44010619880808123")

    def add(session):
        member_id = add_member(session, MemberSeed("孙立新", number, live.world.unit_id)).id
        session.commit()
        return member_id

    unit = token_headers(live.client(), live.world.logins["unit"])
    return number, in_db(live.app, add), unit


def change_password(page, current: str) -> None:
    expect(page.get_by_role("heading", name="修改密码")).to_be_visible()
    expect(page.locator("main")).to_contain_text("一次性密码")
    assert_labelled(page)
    page.get_by_label("当前密码", exact=True).fill(current)
    page.get_by_label("新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("再次输入新密码", exact=True).fill(NEW_PASSWORD)
    page.get_by_role("button", name="保存新密码").click()


def test_a_new_member_changes_the_one_time_password_then_lands_on_the_confirmation(live, contexts):
    number, member_id, unit = new_member(live)
    client = live.client()
    base = f"/api/v1/units/{live.world.unit_id}/members/{member_id}"
    one_time = client.post(f"{base}/password-reset", headers=unit).get_json()["password"]
    code = client.post(f"{base}/resignation-codes", headers=unit).get_json()["code"]
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/confirm/{code}")
    page.get_by_label("账号（身份证号）").fill(number)
    page.get_by_label("密码").fill(one_time)
    page.get_by_role("button", name="登录").click()
    expect(page).to_have_url(re.compile(r"/password\?next="))
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE
    change_password(page, one_time)
    expect(page).to_have_url(f"{live.url}/confirm/{code}")
    expect(page.locator(".card.form")).to_contain_text("当前登录：孙立新")
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_role("heading", name=re.compile("已确认"))).to_be_visible()


def test_a_member_takes_the_initial_password_from_the_qr_page_and_signs_in_with_it(live, contexts):
    number, member_id, unit = new_member(live)
    code = (
        live.client()
        .post(
            f"/api/v1/units/{live.world.unit_id}/members/{member_id}/password-codes",
            headers=unit,
        )
        .get_json()["code"]
    )
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/initial-password/{code}")
    expect(page.locator(".card").first).to_contain_text("孙*")
    assert_labelled(page)
    page.get_by_label("本人身份证号").fill(number)
    page.get_by_role("button", name="领取初始密码").click()
    one_time = page.locator("#one-time-password").inner_text()
    assert len(one_time) == 10
    page.get_by_role("link", name="去登录").click()
    page.get_by_label("账号").fill(number)
    page.get_by_label("密码").fill(one_time)
    page.get_by_role("button", name="登录").click()
    change_password(page, one_time)
    expect(page.locator(".flash.info")).to_contain_text("密码已修改")
    assert page.goto(f"{live.url}/initial-password/{code}").status == 410  # shown once


def test_a_refused_sign_in_puts_the_focus_on_what_went_wrong(live, contexts):
    page = contexts().new_page()
    page.goto(live.url + "/login")
    expect(page.get_by_label("账号")).to_be_focused()  # autofocus, when nothing went wrong
    page.get_by_label("账号").fill(live.world.logins["unit"])
    page.get_by_label("密码").fill("not-the-password")
    page.get_by_role("button", name="登录").click()
    box = page.locator(".errorbox")
    expect(box).to_have_attribute("role", "alert")
    expect(box).to_be_focused()
    expect(page).to_have_title(re.compile("^错误：登录"))
