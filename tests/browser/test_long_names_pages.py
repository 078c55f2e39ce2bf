"""A name at the server's limit, with characters outside the BMP (𠮷 is two UTF-16 units),
is kept whole by the page's boxes: what is over the limit is said at the field, never cut."""

from __future__ import annotations

import pytest
from conftest import in_db
from playwright.sync_api import expect
from sqlalchemy import select
from test_public_pages import DECLARATION, PHONE, image, join_code

from service.db.models import ProcessInstance
from service.domain.validation import make_resident_id

pytestmark = pytest.mark.postgres

# 50 characters, 12 of them outside the BMP: 62 UTF-16 units (a box of maxlength 50 kept 38)
NAME = ("阿卜杜热合曼" + "𠮷𪚥𬌗" * 4 + "·" + "库尔班吐尔逊买买提艾力江" * 3)[:50]
CODE_POINTS = "e => Array.from(e.value).length"


def test_a_long_name_with_rare_characters_is_typed_whole_and_sent_whole(live, contexts):
    assert (len(NAME), len(NAME.encode("utf-16-le")) // 2) == (50, 62)
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    name = page.get_by_label("姓名")
    name.focus()
    page.keyboard.insert_text(NAME)  # what an IME's commit or a paste does
    assert name.evaluate(CODE_POINTS) == 50
    expect(name).to_have_value(NAME)
    said = page.locator("#f-name-length")
    expect(said).to_have_count(0)

    # one character more: kept in the box, and said at the field as it is typed
    page.keyboard.insert_text("𠮷")
    expect(name).to_have_value(NAME + "𠮷")
    expect(said).to_have_text("最多 50 个字，已输入 51 个")
    expect(name).to_have_attribute("aria-invalid", "true")
    assert "f-name-length" in name.get_attribute("aria-describedby")
    page.keyboard.press("Backspace")  # one code point back: the message goes
    expect(name).to_have_value(NAME)
    expect(said).to_have_count(0)
    assert name.get_attribute("aria-invalid") is None

    id_number = make_resident_id("44010619920315432")
    page.get_by_label("证件类型").select_option(label="居民身份证")
    page.get_by_label("证件号码").fill(id_number)
    page.get_by_label("手机号码").fill("13922223333")
    page.get_by_label("个人照片").set_input_files(image("photo.png"))
    page.get_by_label("身份证件人像面").set_input_files(image("front.png"))
    page.get_by_label("身份证件国徽面").set_input_files(image("back.png"))
    page.get_by_label(DECLARATION).check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="申请已提交")).to_be_visible()
    number = page.locator(".big-number").inner_text()
    row = in_db(
        live.app,
        lambda s: s.scalars(
            select(ProcessInstance).where(ProcessInstance.business_key == number)
        ).one(),
    )
    assert row.subject_name == NAME


def test_a_name_over_the_limit_is_refused_by_the_server_and_kept_whole_in_the_box(live, contexts):
    """The server decides (it counts characters): 51 are refused at the field, and the page
    drawn again holds all 51 for the person to shorten."""
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    name = page.get_by_label("姓名")
    name.focus()
    page.keyboard.insert_text(NAME + "𠮷")
    expect(page.locator("#f-name-length")).to_have_text("最多 50 个字，已输入 51 个")
    page.get_by_role("button", name="提交").click()
    expect(page.locator("#f-name-error")).to_contain_text("不能超过50个字")
    name = page.get_by_label("姓名")
    assert name.evaluate(CODE_POINTS) == 51
    expect(name).to_have_attribute("data-max-chars", "50")
    expect(name).to_have_attribute("maxlength", "100")
