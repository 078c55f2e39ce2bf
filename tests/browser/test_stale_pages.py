"""Pages left open in one tab while another acts (Chromium, the tester's round trips): a
draft saved in another tab is not overwritten unseen, and a form sent after signing out in
another tab is refused, says so, and gets its values back once signed in again."""

from __future__ import annotations

import base64
import re

import pytest
from browsing import sign_in
from conftest import in_db
from playwright.sync_api import expect

pytestmark = pytest.mark.postgres
FORM = "/business/member_join/form"
DRAFT = re.compile(r"/business/drafts/\d+$")  # a draft's page, opened by 继续填写


def test_the_same_draft_in_two_tabs_is_never_overwritten_unseen(live, contexts):
    context = contexts()
    one = context.new_page()
    sign_in(one, live, live.world.logins["unit"])
    one.goto(live.url + FORM)
    one.locator('input[name="name"]').fill("陈志强")
    one.get_by_role("button", name="留存").click()
    expect(one.locator(".flashes")).to_contain_text("已留存")  # the drafts list, loaded
    one.get_by_role("link", name="继续填写").first.click()
    expect(one).to_have_url(DRAFT)  # its address, not the drafts list's it leaves
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
    expect(form).to_have_url(live.url + FORM)
    expect(form.locator("#restored-form")).to_be_visible()
    expect(form.locator('input[name="name"]')).to_have_value("冯佩珊")


def test_a_tab_open_on_a_deleted_draft_never_saves_over_a_newer_one(live, contexts):
    context = contexts()
    one = context.new_page()
    sign_in(one, live, live.world.logins["unit"])
    one.goto(live.url + FORM)
    one.locator('input[name="name"]').fill("冯佩珊")
    one.get_by_role("button", name="留存").click()
    one.get_by_role("link", name="继续填写").first.click()
    expect(one).to_have_url(DRAFT)  # the draft opened before the other tab deletes it
    two = context.new_page()
    two.goto(live.url + "/business/drafts")
    two.once("dialog", lambda dialog: dialog.accept())
    two.get_by_role("button", name="删除").first.click()
    expect(two.locator(".flashes")).to_contain_text("已删除暂存表单")
    two.goto(live.url + FORM)
    two.locator('input[name="name"]').fill("邓丽华")
    two.get_by_role("button", name="留存").click()

    one.get_by_role("button", name="留存").click()
    expect(one.locator("#stale-draft")).to_contain_text("该暂存表单已被删除或已提交")
    expect(one.locator('input[name="name"]')).to_have_value("冯佩珊")
    one.goto(live.url + "/business/drafts")
    expect(one.locator("table")).to_contain_text("邓丽华")
    expect(one.locator("table")).not_to_contain_text("冯佩珊")


def test_a_join_sent_again_after_going_back_names_the_own_form(live, contexts):
    from test_public_pages import DECLARATION, image, join_code

    from service.domain.validation import make_resident_id

    code, number = join_code(live, "short"), make_resident_id("44010619920315432")
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{code}")

    def fill_and_send():
        page.get_by_label("姓名").fill("赵小梅")
        page.get_by_label("证件类型").select_option(label="居民身份证")
        page.get_by_label("证件号码").fill(number)
        page.get_by_label("手机号码").fill("13922223333")
        page.get_by_label("个人照片").set_input_files(image("photo.png"))
        page.get_by_label("身份证件人像面").set_input_files(image("front.png"))
        page.get_by_label("身份证件国徽面").set_input_files(image("back.png"))
        page.get_by_label(DECLARATION).check()
        page.get_by_role("button", name="提交").click()

    fill_and_send()
    form_number = page.locator(".big-number").inner_text()
    page.go_back()
    page.reload()  # a fresh page: a new attempt token
    fill_and_send()
    expect(page.locator("#applied-before")).to_contain_text(f"您已提交过申请，单号 {form_number}")


def test_留存_pressed_while_a_photo_is_scaled_down_saves_a_draft_and_submits_nothing(
    live, contexts
):
    """The page holds a send until the photo is smaller, then sends it again: it sent it as
    a 提交 whichever button had been pressed (a form made where a draft was wanted)."""
    from test_phone_pages import camera_photo

    from service.db.models import Draft, ProcessInstance

    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.goto(live.url + FORM)
    page.locator('input[name="name"]').fill("陈志强")
    # chosen and 留存 pressed in one turn of the page's script: the photo is still shrinking
    held = page.evaluate(
        """(b64) => {
            const bytes = Uint8Array.from(atob(b64), c => c.charCodeAt(0));
            const list = new DataTransfer();
            list.items.add(new File([bytes], 'IMG_3001.jpg', {type: 'image/jpeg'}));
            const photo = document.querySelector('input[name=photo]');
            photo.files = list.files;
            photo.dispatchEvent(new Event('change', {bubbles: true}));
            const busy = photo.hasAttribute('data-shrinking');
            const buttons = [...document.querySelectorAll('button')];
            buttons.find(b => b.textContent.trim() === '留存').click();
            return busy;
        }""",
        base64.b64encode(camera_photo()).decode(),
    )
    assert held, "the photo was scaled down before 留存 was pressed: nothing was held"
    expect(page.locator(".flashes")).to_contain_text("已留存")

    def counted(session):
        return session.query(Draft).count(), session.query(ProcessInstance).count()

    assert in_db(live.app, counted) == (1, 0)
