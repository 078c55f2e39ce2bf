"""问题反馈 in Chromium: a unit follows the menu's 系统问题 → 问题反馈, submits with a
screenshot, the secretariat replies and closes, and the unit reads the reply and its notice."""

from __future__ import annotations

import pytest
from browsing import assert_labelled, sign_in
from conftest import png_bytes
from playwright.sync_api import expect

pytestmark = pytest.mark.postgres

TITLE = "初始教育报名找不到陈志强"


def test_a_unit_submits_the_secretariat_replies_and_the_unit_reads_it(live, contexts):
    unit = contexts().new_page()
    sign_in(unit, live, live.world.logins["unit"])
    menu = unit.get_by_role("navigation", name="功能菜单")
    menu.get_by_role("link", name="问题反馈").click()
    expect(unit.get_by_role("heading", name="提交反馈")).to_be_visible()
    assert_labelled(unit)
    unit.get_by_label("问题类型").select_option("报名条件咨询")
    unit.get_by_label("标题").fill(TITLE)
    unit.get_by_role("button", name="提交反馈").click()
    expect(unit.locator("#f-content-error")).to_have_text("请填写问题描述")
    unit.get_by_label("问题描述").fill("陈志强已取得中级职称，应符合初始教育报名条件。")
    unit.get_by_label("截图或文件").set_input_files(
        files=[{"name": "截图.png", "mimeType": "image/png", "buffer": png_bytes()}]
    )
    unit.get_by_role("button", name="提交反馈").click()
    expect(unit.locator(".flash.success")).to_contain_text("问题反馈已提交")
    expect(unit.get_by_role("link", name="截图.png")).to_be_visible()

    admin = contexts().new_page()
    sign_in(admin, live, "admin")
    admin.get_by_role("navigation", name="功能菜单").get_by_role("link", name="问题反馈").click()
    admin.get_by_label("状态").select_option("待处理")
    admin.get_by_role("button", name="查询").click()
    admin.get_by_role("link", name=f"处理：{TITLE}").click()
    admin.get_by_label("回复内容").fill("经核实，陈志强的职称尚未录入，请先补充后再报名。")
    admin.get_by_role("button", name="回复").click()
    expect(admin.locator(".flash.success")).to_contain_text("已回复")
    admin.once("dialog", lambda dialog: dialog.accept())
    admin.get_by_role("button", name="关闭反馈").click()
    expect(admin.locator(".flash.success")).to_contain_text("问题反馈已关闭")

    unit.get_by_role("navigation", name="功能菜单").get_by_role("link", name="我的反馈").click()
    row = unit.locator("table.grid tbody tr", has_text=TITLE)
    expect(row).to_contain_text("已关闭")
    row.get_by_role("link").click()
    expect(unit.locator(".reply")).to_contain_text("陈志强的职称尚未录入")
    unit.get_by_role("navigation", name="功能菜单").get_by_role("link", name="系统通知").click()
    expect(unit.locator("table.notices")).to_contain_text(f"问题反馈已回复：{TITLE}")


def test_attachments_kept_after_a_mistake_can_be_let_go(live, contexts):
    """Two files kept after a refused 单号 took two of the three places: choosing two again
    was refused on every try. Each kept file is a box to untick."""
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.goto(live.url + "/feedback/new")
    page.get_by_label("问题类型").select_option("报名条件咨询")
    page.get_by_label("标题").fill("附件测试")
    page.get_by_label("问题描述").fill("附件可以取消保留。")
    page.get_by_label("相关业务单号").fill("RH-20990101000001")
    shots = [
        {"name": f"截图{i}.png", "mimeType": "image/png", "buffer": png_bytes(f"#00{i}0{i}0")}
        for i in range(1, 5)
    ]
    page.get_by_label("截图或文件").set_input_files(files=shots[:2])
    page.get_by_role("button", name="提交反馈").click()
    expect(page.locator("#f-business_key-error")).to_be_visible()
    kept = page.locator("fieldset.kept-files input[type=checkbox]")
    expect(kept).to_have_count(2)
    page.get_by_label("相关业务单号").fill("")
    page.get_by_label("截图或文件").set_input_files(files=shots[2:])
    page.get_by_role("button", name="提交反馈").click()
    expect(page.locator("#f-files-error")).to_contain_text("已上传2个，又选择了2个")
    page.get_by_label("已上传的附件1").uncheck()
    page.get_by_label("截图或文件").set_input_files(files=shots[2:])
    page.get_by_role("button", name="提交反馈").click()
    expect(page.locator(".flash.success")).to_contain_text("问题反馈已提交")
    for name in ("截图2.png", "截图3.png", "截图4.png"):
        expect(page.get_by_role("link", name=name)).to_be_visible()
    expect(page.get_by_role("link", name="截图1.png")).to_have_count(0)
