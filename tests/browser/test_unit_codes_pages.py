"""A unit administrator's codes and sub-accounts, in Chromium: the join code's print view
carries a QR that a phone can read, and a sub-account lives from creation to disabling."""

from __future__ import annotations

import io
import re
from urllib.parse import urlsplit

import pytest
import zxingcpp
from browsing import assert_labelled, sign_in, wait_until_decoded
from PIL import Image
from playwright.sync_api import expect

pytestmark = pytest.mark.postgres


def test_a_join_code_print_view_shows_a_qr_that_decodes_to_the_join_page(live, contexts):
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.get_by_role("navigation", name="功能菜单").get_by_role("link", name="入会二维码").click()
    expect(page.get_by_role("heading", name="获取个人会员申请码")).to_be_visible()
    page.get_by_role("button", name="生成完整版申请码").click()
    expect(page.get_by_role("heading", name="个人会员申请码（完整版）").first).to_be_visible()
    code = page.url.rstrip("/").rsplit("/", 1)[1]
    page.get_by_role("link", name="打印").click()
    sheet = page.locator(".print-sheet")
    expect(sheet).to_contain_text(live.world.unit_name)
    expect(sheet).to_contain_text("有效期至")
    qr = sheet.locator("img.qr")
    expect(qr).to_be_visible()
    wait_until_decoded(qr)  # visible is laid out, not yet decoded
    # what a phone's camera sees: the printed page, decoded
    shot = Image.open(io.BytesIO(page.screenshot(full_page=True))).convert("L")
    decoded = [found.text for found in zxingcpp.read_barcodes(shot)]
    public = live.app.extensions["memberflow"].config.public_base_url.rstrip("/")
    assert decoded == [f"{public}/join/{code}"]
    # and the address it carries opens the applicant's form of this unit
    phone = contexts(375, phone=True).new_page()
    phone.goto(live.url + urlsplit(decoded[0]).path)
    expect(phone.locator(".card").first).to_contain_text(live.world.unit_name)
    expect(phone.locator(".card").first).to_contain_text("完整版")


def test_a_sub_account_is_added_reset_once_and_disabled(live, contexts):
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.get_by_role("navigation", name="功能菜单").get_by_role("link", name="子账号管理").click()
    page.wait_for_url("**/unit/accounts")  # loaded, before reading its inputs
    assert_labelled(page)
    page.get_by_label("姓名").fill("张敏")
    page.get_by_label("手机号（登录账号）").fill("13800138000")
    page.get_by_label("登录密码").fill("Zhangmin2026")
    page.get_by_label("再次输入密码").fill("Zhangmin2026")
    page.get_by_role("button", name="新增子账号").click()
    expect(page.locator(".flash.success")).to_contain_text("已新增子账号")
    row = page.locator("table.grid tbody tr", has_text="13800138000")
    expect(row).to_contain_text("正常")
    asked = []

    def accept(dialog):  # each of these asks first: it cannot be taken back
        asked.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="重置密码").click()
    password = page.locator("#one-time-password").inner_text()
    assert asked == ["重置后张敏的原密码立即失效，新的一次性密码只显示一次。确定重置？"]
    assert len(password) >= 8
    page.reload()  # shown once: a reload neither shows it again nor resets it again
    expect(page.locator("#one-time-gone")).to_contain_text("一次性密码已显示过")
    assert password not in page.content()
    page.get_by_role("link", name="返回").click()
    expect(page.get_by_role("heading", name="子账号管理")).to_be_visible()
    assert password not in page.content()
    # the sub-account signs in with it and must change it first
    other = contexts().new_page()
    sign_in(other, live, "13800138000", password)
    expect(other.get_by_role("heading", name="修改密码")).to_be_visible()
    # disabled: that sign-in ends at its next page load
    page.once("dialog", accept)
    row.get_by_role("button", name="停用").click()
    expect(page.locator("table.grid tbody tr", has_text="13800138000")).to_contain_text("已停用")
    assert asked[-1] == "停用后张敏立即退出、不能再登录，直到重新启用。确定停用？"
    other.reload()
    expect(other).to_have_url(re.compile(r"/login\?next="))


def test_the_unit_lists_label_every_filter_and_fit_a_phone(live, contexts):
    page = contexts(375, phone=True).new_page()
    sign_in(page, live, live.world.logins["unit"])
    for path in ("/unit/members", "/unit/certificates", "/unit/learning", "/unit/codes"):
        page.goto(live.url + path)
        assert_labelled(page)
        # wide tables scroll inside their box; the page itself does not scroll sideways
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, path
