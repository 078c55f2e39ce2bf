"""An applicant's and a member's pages on phones held upright and sideways, in Chromium: a
portrait photo is previewed as it is (not squashed into a landscape box), the sign-in and
password pages take 16px typing (smaller makes iOS Safari zoom the page) in boxes and
buttons a thumb hits (44px), and the top bar of a landscape phone wraps rather than break
its links into single characters."""

from __future__ import annotations

import io
import re

import pytest
from browsing import sign_in, wait_until_decoded
from conftest import PASSWORD, in_db, member_headers
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import select
from test_public_pages import DECLARATION, join_code, member_with_certificate

from service.db.models import Account, Notification, ProcessInstance, StoredFile
from service.domain.validation import make_resident_id
from service.services.documents.photo import upright_rgb

pytestmark = pytest.mark.postgres
THUMB = 44  # px: the smallest box a finger hits reliably
BOX = "(e => { const r = e.getBoundingClientRect(); return [r.width, r.height]; })"
# what reaches past the right edge of a page `w` wide (a failure names it)
BEYOND = """w => [...document.querySelectorAll('body *')]
  .filter(e => e.getBoundingClientRect().right > w + 0.5 && !e.closest('.table-scroll'))
  .map(e => e.tagName + '.' + e.className)"""
TEXT_HEIGHT = """(e => { const r = document.createRange(); r.selectNodeContents(e);
                         return r.getBoundingClientRect().height; })"""


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
    wait_until_decoded(preview)
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
        # its text on one line: 首页, not 首/页 (the link itself is 44px high, a thumb's target)
        assert link.evaluate(TEXT_HEIGHT) <= line * 1.5, link.inner_text()
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


def unread_notice_for(live, username: str) -> None:
    def add(session):
        account = session.scalar(select(Account.id).where(Account.username == username))
        session.add(
            Notification(
                account_id=account,
                kind="return",
                title="表单被退回",
                body="请修改后重新提交",
                dedupe_key="phone-pages",
            )
        )
        session.commit()

    in_db(live.app, add)


def heights(locator) -> dict[str, float]:
    return {item.inner_text().strip() or "?": item.evaluate(BOX)[1] for item in locator.all()}


@pytest.mark.parametrize("width", [375, 360])
def test_what_a_finger_taps_on_a_phone_is_44px_high(live, contexts, width):
    """The top bar's links and 退出, 标为已读, the status panel's rows and the filter row of
    我的业务: each at least 44px high on a phone (they were 21-31px)."""
    id_number, _number = member_with_certificate(live)
    member_headers(live.client(), id_number)
    unread_notice_for(live, id_number)
    page = contexts(width, phone=True).new_page()
    sign_in(page, live, id_number, PASSWORD)
    bar = page.locator("header.topbar")
    tapped = heights(bar.locator("a")) | heights(bar.get_by_role("button", name="退出"))
    assert {"首页", "服务机构", "帮助", "修改密码", "退出"} <= set(tapped), tapped
    assert all(h >= THUMB for h in tapped.values()), tapped
    page.goto(f"{live.url}/notices")
    mark = page.get_by_role("button", name="标为已读：表单被退回")
    assert mark.evaluate(BOX)[1] >= THUMB
    assert page.get_by_role("button", name="全部标为已读").evaluate(BOX)[1] >= THUMB
    page.goto(f"{live.url}/forms")
    rows = heights(page.locator(".status-panel a"))
    assert rows and all(h >= THUMB for h in rows.values()), rows
    filters = page.locator("form.filter-row")
    controls = filters.locator("input:not([type=hidden]), select, button, a.button")
    boxes = heights(controls)
    assert boxes and all(h >= THUMB for h in boxes.values()), boxes
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= width, page.evaluate(BEYOND, width)


def test_a_desktop_keeps_its_compact_top_bar_and_lists(live, contexts):
    id_number, _number = member_with_certificate(live)
    member_headers(live.client(), id_number)
    page = contexts(1280).new_page()
    sign_in(page, live, id_number, PASSWORD)
    links = heights(page.locator("nav.topnav a"))
    assert links and all(h < 30 for h in links.values()), links
    assert page.get_by_role("button", name="退出").evaluate(BOX)[1] < 36
    page.goto(f"{live.url}/forms")
    assert all(h < 40 for h in heights(page.locator(".status-panel a")).values())


def test_the_faq_is_linked_from_the_join_page_and_read_without_signing_in(live, contexts):
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    link = page.locator("header.public-head").get_by_role("link", name="常见问题")
    assert link.evaluate(BOX)[1] >= THUMB
    link.click()
    expect(page).to_have_url(f"{live.url}/faq")
    expect(page.get_by_role("heading", name="常见问题", exact=True)).to_be_visible()
    expect(page.locator("#materials")).to_be_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.goto(f"{live.url}/help")
    expect(page).to_have_url(f"{live.url}/faq")


def camera_photo(width: int = 4000, height: int = 3000, orientation: int | None = None) -> bytes:
    """A phone camera's photo: detail everywhere (noise), as a JPEG compresses a real one."""
    noise = Image.effect_noise((width, height), 60).convert("RGB")
    picture = Image.blend(Image.new("RGB", (width, height), "#d0b090"), noise, 0.5)
    out = io.BytesIO()
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    picture.save(out, "JPEG", quality=92, exif=exif.tobytes())
    return out.getvalue()


def test_a_phone_photo_is_scaled_down_before_it_is_sent(live, contexts):
    """A 4000×3000 photo (its EXIF saying it was taken upright) arrives at 2000px on its long
    side, upright, as a JPEG a fraction of its size; the form goes through and the documents
    field (a diploma may be a PDF whose small print matters) is never touched."""
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    portrait = camera_photo(orientation=6)  # landscape pixels, turned upright by the tag
    landscape = camera_photo()
    assert len(portrait) > 3 * 1024 * 1024, len(portrait)
    id_number = make_resident_id("44010619930101432")
    page.get_by_label("姓名").fill("钱小红")
    page.get_by_label("证件类型").select_option(label="居民身份证")
    page.get_by_label("证件号码").fill(id_number)
    page.get_by_label("手机号码").fill("13922224444")
    photo = page.get_by_label("个人照片")
    photo.set_input_files({"name": "IMG_2001.JPG", "mimeType": "image/jpeg", "buffer": portrait})
    page.get_by_label("身份证件人像面").set_input_files(
        {"name": "IMG_2002.JPG", "mimeType": "image/jpeg", "buffer": landscape}
    )
    page.get_by_label("身份证件国徽面").set_input_files(
        {"name": "IMG_2003.JPG", "mimeType": "image/jpeg", "buffer": landscape}
    )
    page.get_by_label(DECLARATION).check()
    page.get_by_role("button", name="提交").click()  # at once: the form waits for the photos
    expect(page.get_by_role("heading", name="申请已提交")).to_be_visible()
    number = page.locator(".big-number").inner_text()

    def stored(session):
        row = session.scalars(
            select(ProcessInstance).where(ProcessInstance.business_key == number)
        ).one()
        files = session.scalars(select(StoredFile).where(StoredFile.instance_id == row.id)).all()
        return {f.name: (f.size, f.content_type, f.sha256) for f in files}

    files = in_db(live.app, stored)
    assert set(files) == {"IMG_2001.jpg", "IMG_2002.jpg", "IMG_2003.jpg"}, files
    storage = live.app.extensions["memberflow"].storage
    for name, sent, upright in (
        ("IMG_2001.jpg", portrait, (1500, 2000)),
        ("IMG_2002.jpg", landscape, (2000, 1500)),
        ("IMG_2003.jpg", landscape, (2000, 1500)),
    ):
        size, kind, sha256 = files[name]
        assert kind == "image/jpeg" and size < len(sent) / 2, (name, size, len(sent))
        with Image.open(io.BytesIO(storage.read(sha256))) as arrived:
            assert arrived.size == upright, (name, arrived.size)
            assert arrived.getexif().get(0x0112, 1) == 1  # drawn upright, no tag to turn by
    # the certificate prints the photo in a one-inch frame (25×35 mm: 295×413 px at 300 dpi)
    with Image.open(io.BytesIO(storage.read(files["IMG_2001.jpg"][2]))) as arrived:
        width, height = upright_rgb(arrived).size
        assert width >= 3 * 295 and height >= 3 * 413


def test_a_documents_field_and_a_small_photo_are_sent_as_they_are(live, contexts):
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'full')}")
    diploma = page.get_by_label("最高学历证书")
    expect(diploma).not_to_have_attribute("data-shrink", re.compile(".*"))
    small = camera_photo(800, 600)
    photo = page.get_by_label("个人照片")
    photo.set_input_files({"name": "small.jpg", "mimeType": "image/jpeg", "buffer": small})
    expect(page.locator("#f-photo-preview")).to_be_visible()
    assert photo.evaluate("e => e.files[0].size") == len(small)
