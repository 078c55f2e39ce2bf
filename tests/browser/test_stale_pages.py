"""Pages left open in one tab while another acts (Chromium, the tester's round trips): a
draft saved in another tab is not overwritten unseen, and a form sent after signing out in
another tab is refused, says so, and gets its values back once signed in again."""

from __future__ import annotations

import pytest
from browsing import sign_in
from playwright.sync_api import expect

pytestmark = pytest.mark.postgres
FORM = "/business/member_join/form"


def test_the_same_draft_in_two_tabs_is_never_overwritten_unseen(live, contexts):
    context = contexts()
    one = context.new_page()
    sign_in(one, live, live.world.logins["unit"])
    one.goto(live.url + FORM)
    one.locator('input[name="name"]').fill("陈志强")
    one.get_by_role("button", name="留存").click()
    one.get_by_role("link", name="继续填写").first.click()
    two = context.new_page()
    two.goto(one.url)
    two.locator('input[name="name"]').fill("第二个标签页")
    two.get_by_role("button", name="留存").click()
    expect(two.locator(".flashes")).to_contain_text("已留存")

    one.locator('input[name="name"]').fill("第一个标签页")
    one.get_by_role("button", name="留存").click()
    expect(one.locator("#stale-draft")).to_contain_text("再次留存")
    expect(one.locator('input[name="name"]')).to_have_value("第一个标签页")
    one.get_by_role("button", name="另存为新的暂存表单").click()
    expect(one.locator("table")).to_contain_text("第一个标签页")
    expect(one.locator("table")).to_contain_text("第二个标签页")


def test_a_form_sent_after_signing_out_elsewhere_gets_its_values_back(live, contexts):
    context = contexts()
    form = context.new_page()
    sign_in(form, live, live.world.logins["unit"])
    form.goto(live.url + FORM)
    form.locator('input[name="name"]').fill("冯佩珊")
    other = context.new_page()
    other.goto(live.url + "/business")
    other.get_by_role("button", name="退出").click()

    form.get_by_role("button", name="留存").click()
    expect(form.locator(".error-page")).to_contain_text("登录已超时或已在其他页面退出")
    form.get_by_role("link", name="重新登录").click()
    expect(form.locator("#signed-out")).to_be_visible()
    form.get_by_label("账号").fill(live.world.logins["unit"])
    form.get_by_label("密码").fill("secret123")
    form.get_by_role("button", name="登录").click()
    assert form.url == live.url + FORM
    expect(form.locator("#restored-form")).to_be_visible()
    expect(form.locator('input[name="name"]')).to_have_value("冯佩珊")
