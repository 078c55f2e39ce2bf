"""An applicant's and a member's pages on phones held upright and sideways, in Chromium: a
portrait photo is previewed as it is (not squashed into a landscape box), the sign-in and
password pages take 16px typing (smaller makes iOS Safari zoom the page) in boxes and
buttons a thumb hits (44px), and the top bar of a landscape phone wraps rather than break
its links into single characters."""

from __future__ import annotations

import io

import pytest
from browsing import sign_in
from conftest import PASSWORD, member_headers
from PIL import Image
from playwright.sync_api import expect
from test_public_pages import join_code, member_with_certificate

pytestmark = [pytest.mark.postgres, pytest.mark.alone]
THUMB = 44  # px: the smallest box a finger hits reliably
BOX = "(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"


def portrait_photo() -> dict:
    out = io.BytesIO()
    Image.new("RGB", (300, 400), "#3060c0").save(out, "JPEG")
    return {"name": "IMG_0001.jpg", "mimeType": "image/jpeg", "buffer": out.getvalue()}


def test_a_portrait_photo_is_previewed_in_its_own_shape(live, contexts):
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    page.get_by_label("个人照片").set_input_files(portrait_photo())
    preview = page.locator("#f-photo-preview")
    expect(preview).to_be_visible()
    page.wait_for_function("document.querySelector('#f-photo-preview').naturalWidth > 0")
    width, height = preview.evaluate(BOX)
    assert height <= 122 and width <= 162  # within its 160×120 frame (and a 1px border)
    assert abs(width / height - 300 / 400) < 0.05, (width, height)  # 3:4, as taken


@pytest.mark.parametrize("width", [375, 360])
def test_the_sign_in_and_password_pages_fit_a_thumb_and_need_no_zoom(live, contexts, width):
    id_number, _number = member_with_certificate(live)
    member_headers(live.client(), id_number)  # the member has set their own password
    page = contexts(width, phone=True).new_page()
    page.goto(f"{live.url}/login")
    for control in (page.get_by_label("账号"), page.get_by_label("密码")):
        assert control.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16
        assert control.evaluate(BOX)[1] >= THUMB
    assert page.get_by_role("button", name="登录").evaluate(BOX)[1] >= THUMB
    sign_in(page, live, id_number, PASSWORD)
    page.goto(f"{live.url}/password")
    for label in ("当前密码", "新密码", "再次输入新密码"):
        box = page.get_by_label(label, exact=True)
        assert box.evaluate("e => parseFloat(getComputedStyle(e).fontSize)") >= 16, label
        assert box.evaluate(BOX)[1] >= THUMB, label
    assert page.get_by_role("button", name="保存新密码").evaluate(BOX)[1] >= THUMB


def test_the_join_forms_file_pickers_are_a_thumbs_height(live, contexts):
    page = contexts(360, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    for label in ("个人照片", "身份证件人像面", "身份证件国徽面"):
        assert page.get_by_label(label).evaluate(BOX)[1] >= THUMB, label


def test_a_landscape_phone_keeps_the_top_bar_links_whole(live, contexts):
    id_number, _number = member_with_certificate(live)
    member_headers(live.client(), id_number)
    page = contexts(667, phone=True).new_page()
    page.set_viewport_size({"width": 667, "height": 375})
    sign_in(page, live, id_number, PASSWORD)
    expect(page).to_have_url(f"{live.url}/me")
    links = page.locator("nav.topnav a")
    expect(links.first).to_be_visible()
    line = links.first.evaluate("e => parseFloat(getComputedStyle(e).lineHeight) || 24")
    for link in links.all():
        assert link.evaluate(BOX)[1] <= line * 1.5, link.inner_text()  # one line: 首页, not 首/页
    assert page.evaluate("document.documentElement.scrollWidth") <= 667


def test_a_heic_photo_is_refused_on_the_phone_saying_what_to_do(live, contexts):
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    photo = page.get_by_label("个人照片")
    photo.set_input_files(
        {"name": "IMG_0001.HEIC", "mimeType": "image/heic", "buffer": b"\0\0\0\x18ftypheic"}
    )
    check = page.locator("#f-photo-check")
    expect(check).to_contain_text("HEIC")
    expect(check).to_contain_text("兼容性最佳")
    expect(photo).to_have_js_property("value", "")
    # a phone that names no type: told by the name
    photo.set_input_files({"name": "IMG_0002.heif", "mimeType": "", "buffer": b"\0"})
    expect(check).to_contain_text("HEIC/HEIF")
    # anything else keeps the plain message
    photo.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    expect(check).to_contain_text("不是允许的格式")
