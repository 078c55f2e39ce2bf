"""单位账号密码重置 in Chromium: a unit's contact asks on a phone, from the sign-in page,
and the secretariat opens the request, sees the stamped form and approves it."""

from __future__ import annotations

import re

import pytest
from browsing import accessibility_problems, assert_labelled, sign_in
from conftest import pdf_bytes
from playwright.sync_api import expect

from service.domain.validation import make_credit_code

pytestmark = pytest.mark.postgres
PHONE = 375


def test_a_contact_asks_on_a_phone_and_the_secretariat_approves(live, contexts):
    phone = contexts(PHONE, phone=True).new_page()
    phone.goto(live.url + "/login")
    phone.get_by_role("link", name="单位账号密码重置").click()
    expect(phone.get_by_role("heading", name="单位账号密码重置")).to_be_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE  # no sideways scroll
    assert_labelled(phone)
    assert accessibility_problems(phone) == []
    phone.get_by_role("button", name="提交申请").click()  # nothing filled in
    expect(phone.locator("#f-unit_name-error")).to_have_text("请填写单位名称")
    expect(phone.locator("#f-file-error")).to_contain_text("盖章的重置密码申请表")
    phone.get_by_label("单位名称").fill(live.world.unit_name)
    phone.get_by_label("统一社会信用代码").fill(make_credit_code("91440101190468342"))
    phone.get_by_label("联系人").fill("李明")
    phone.get_by_label("联系手机").fill("13800138000")
    phone.get_by_label("盖章的重置密码申请表").set_input_files(
        {"name": "申请表.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    phone.get_by_role("button", name="提交申请").click()
    expect(phone.get_by_role("heading", name="密码重置申请已收到")).to_be_visible()
    number = phone.locator("#request-number").inner_text()
    assert re.fullmatch(r"CZ\d{13}", number)
    assert phone.evaluate("document.documentElement.scrollWidth") <= PHONE

    admin = contexts().new_page()
    sign_in(admin, live, "admin")
    admin.get_by_role("link", name="密码重置申请").click()
    expect(admin.get_by_role("link", name=re.compile("待处理"))).to_contain_text("1")
    admin.get_by_role("link", name=f"处理：{number}").click()
    expect(admin.get_by_role("img", name="重置密码申请表")).to_be_visible()
    admin.once("dialog", lambda dialog: dialog.accept())  # 通过并重置 asks first
    admin.get_by_role("button", name="通过并重置").click()
    password = admin.locator("#one-time-password").inner_text()
    assert len(password) >= 8
    expect(admin.locator("main")).to_contain_text("平台暂未接入短信")
    expect(admin).to_have_url(re.compile(r"/one-time/"))  # post/redirect/get
    admin.reload()  # shown once: a reload neither shows it again nor resets it again
    expect(admin.locator("#one-time-gone")).to_contain_text("一次性密码已显示过")
    expect(admin.locator("#one-time-password")).to_have_count(0)

    unit = contexts().new_page()
    sign_in(unit, live, live.world.unit_name, password)
    expect(unit).to_have_url(re.compile(r"/password"))  # must change the one-time password
