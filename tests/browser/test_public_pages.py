"""What a QR code opens on a phone, the certificate lookup and the API docs, in Chromium."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from browsing import accessibility_problems, assert_labelled, sign_in
from conftest import (
    PASSWORD,
    in_db,
    member_headers,
    mp4_bytes,
    pdf_bytes,
    png_bytes,
    token_headers,
)
from playwright.sync_api import expect
from sqlalchemy import func, select, update

from service.db.models import JoinCode, Member, ProcessInstance
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres
PHONE = 375
DECLARATION = "申请人拥护本会章程、有自愿加入本会意愿、遵守职业道德，从事工程建设监理及相关服务业务"


def join_code(live, variant: str = "short") -> str:
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    reply = client.post(
        f"/api/v1/units/{live.world.unit_id}/join-codes", headers=unit, json={"variant": variant}
    )
    return reply.get_json()["code"]


def image(name: str = "photo.png", size: int | None = None) -> dict:
    content = png_bytes() if size is None else png_bytes() + b"\0" * size
    return {"name": name, "mimeType": "image/png", "buffer": content}


def test_an_applicant_on_a_phone_applies_with_photos_and_gets_a_form_number(live, contexts):
    code = join_code(live, "short")
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/join/{code}")
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE  # no sideways scroll
    expect(page.locator("html")).to_have_attribute("lang", "zh-CN")
    expect(page.locator(".card").first).to_contain_text(live.world.unit_name)
    expect(page.locator(".card").first).to_contain_text("简码版")
    # the steps are a list that says which one this page is
    expect(page.locator("ol.steps > li")).to_have_count(3)
    expect(page.locator('ol.steps > li[aria-current="step"]')).to_have_text("③ 填写资料并提交")
    expect(page.get_by_label("通讯地址")).to_have_count(0)  # the unit fills it in later
    assert_labelled(page)
    assert accessibility_problems(page) == []  # WCAG 2 A/AA by axe-core
    photo = page.get_by_label("个人照片")
    expect(photo).to_have_attribute("accept", "image/*")
    expect(photo).to_have_attribute("capture", "user")
    # checked on the phone before anything is sent
    photo.set_input_files(image(size=10 * 1024 * 1024))
    expect(page.locator("#f-photo-check")).to_contain_text("超过了 10MB")
    expect(photo).to_have_js_property("value", "")
    photo.set_input_files({"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"})
    expect(page.locator("#f-photo-check")).to_contain_text("不是允许的格式")
    id_number = make_resident_id("44010619920315432")
    page.get_by_label("姓名").fill("赵小梅")
    page.get_by_label("证件类型").select_option(label="居民身份证")
    page.get_by_label("证件号码").fill(id_number)
    page.get_by_label("手机号码").fill("13922223333")
    photo.set_input_files(image("photo.png"))
    expect(page.locator("#f-photo-preview")).to_be_visible()
    page.get_by_label("身份证件人像面").set_input_files(image("front.png"))
    page.get_by_label("身份证件国徽面").set_input_files(image("back.png"))
    page.get_by_label(DECLARATION).check()  # 入会声明, the manual's 2.1.1 in its words
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="申请已提交")).to_be_visible()
    number = page.locator(".big-number").inner_text()
    assert re.fullmatch(r"RH-\d{14}", number)
    row = in_db(
        live.app,
        lambda s: s.scalars(
            select(ProcessInstance).where(ProcessInstance.business_key == number)
        ).one(),
    )
    assert (row.subject_id_number, row.status) == (id_number, "单位预审中")
    page.go_back()  # a second submit of the same page does not make a second application
    count = in_db(
        live.app,
        lambda s: len(
            s.scalars(
                select(ProcessInstance).where(ProcessInstance.subject_id_number == id_number)
            ).all()
        ),
    )
    assert count == 1


def test_a_join_form_with_mistakes_says_what_and_where_and_keeps_the_uploads(live, contexts):
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'full')}")
    page.get_by_label("个人照片").set_input_files(image())
    # a document may be a scanned PDF: the page's own check lets it through (a photo may not)
    diploma = page.get_by_label("最高学历证书")
    diploma.set_input_files(
        {"name": "证书.pdf", "mimeType": "application/pdf", "buffer": pdf_bytes()}
    )
    expect(diploma).not_to_have_js_property("value", "")
    expect(page.locator("#f-diploma-check")).not_to_contain_text("不是允许的格式")
    page.get_by_label("手机号码").fill("12345")
    assert_labelled(page)
    page.get_by_role("button", name="提交").click()
    summary = page.locator(".errorbox")
    expect(summary).to_contain_text("姓名")
    # the summary has the focus (a screen reader reads it) and the title says 错误
    expect(summary).to_be_focused()
    expect(page).to_have_title(re.compile("^错误："))
    # each of its links leads to a field, a group of choices too (职称), which takes the focus
    targets = summary.locator("a").evaluate_all(
        "links => links.map(a => a.getAttribute('href').slice(1))"
    )
    assert "f-title" in targets, targets
    for target in targets:
        expect(page.locator(f"#{target}")).to_have_count(1)
    summary.get_by_role("link", name=re.compile("职称")).click()
    expect(page.locator("fieldset#f-title")).to_be_focused()
    expect(page.get_by_label("手机号码")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#f-mobile-error")).to_be_visible()
    expect(page.locator("#f-photo ~ .current-file")).to_contain_text("已上传")
    assert accessibility_problems(page) == []  # the full form, with its errors shown


def test_the_join_form_says_the_age_refusal_once_the_id_number_is_typed(live, contexts):
    """Before any photo or material is chosen: the join rules judge the number as it is
    typed (rules/member_join_eligibility.dmn: older than 18, at most 65), said at the field."""
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'full')}")
    page.get_by_label("证件类型").select_option(label="居民身份证")
    number = page.get_by_label("证件号码")
    number.fill(make_resident_id("44010619500101123"))  # whole at 18 characters: asked then
    said = page.locator("#f-id_number-check")
    expect(said).to_contain_text("不符合入会条件：申请人年龄不得超过65周岁")
    expect(number).to_have_attribute("aria-invalid", "true")
    assert "f-id_number-check" in number.get_attribute("aria-describedby")
    assert page.get_by_label("个人照片").evaluate("e => e.files.length") == 0  # nothing yet
    assert accessibility_problems(page) == []

    # a number cut short is said to be one once the field is left; a whole one of a person
    # old enough takes the refusal away
    number.fill(make_resident_id("44010619850315123")[:17])
    number.press("Tab")
    expect(said).to_contain_text("不符合入会条件：证件号码无效")
    number.fill(make_resident_id("44010619850315123"))
    page.get_by_label("手机号码").focus()
    expect(said).to_have_count(0)
    assert number.get_attribute("aria-invalid") is None
    # a passport's holder: judged once the birth date is entered
    page.get_by_label("证件类型").select_option(label="护照")
    number.fill("E12345678")
    page.get_by_label("出生日期").fill(f"{date.today().year - 17}-01-01")
    page.get_by_label("手机号码").focus()
    expect(said).to_contain_text("申请人提交申请当日年龄须大于18周岁（现为")
    count = select(func.count()).select_from(ProcessInstance)
    assert in_db(live.app, lambda s: s.scalar(count)) == 0  # nothing was sent


def test_an_applicant_without_a_diploma_report_sends_a_video_instead(live, contexts):
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'full')}")
    video = page.get_by_label("视频证明")
    expect(video).to_have_attribute("accept", "video/mp4,video/quicktime")
    expect(page.locator(".form .hint").last).to_contain_text("视频证明支持 MP4、MOV 视频")
    video.set_input_files(image("still.png"))  # a photo is not the video asked for
    expect(page.locator("#f-video_proof-check")).to_contain_text("MP4 或 MOV 视频")
    expect(video).to_have_js_property("value", "")
    clip = {"name": "VID_0001.mp4", "mimeType": "video/mp4", "buffer": mp4_bytes()}
    video.set_input_files(clip)
    expect(video).not_to_have_js_property("value", "")
    expect(page.locator("#f-video_proof-check")).to_have_text("")
    id_number = make_resident_id("44010619900101234")
    page.get_by_label("姓名").fill("钱小军")
    page.get_by_label("证件类型").select_option(label="居民身份证")
    page.get_by_label("证件号码").fill(id_number)
    page.get_by_label("手机号码").fill("13922224444")
    page.get_by_label("通讯地址").fill("广州市天河区体育西路100号")
    page.locator("#f-education-level").select_option("本科")
    page.get_by_label("毕业院校").fill("华南理工大学")
    page.get_by_label("所学专业").fill("土木工程")
    page.get_by_label("毕业时间").fill("2012-07-01")
    page.get_by_role("radio", name="中级").check()
    for label in ("个人照片", "身份证件人像面", "身份证件国徽面", "最高学历证书"):
        page.get_by_label(label).set_input_files(image())
    page.get_by_label(DECLARATION).check()
    page.get_by_role("button", name="提交").click()
    expect(page.get_by_role("heading", name="申请已提交")).to_be_visible()
    data = in_db(
        live.app,
        lambda s: s.scalars(
            select(ProcessInstance).where(ProcessInstance.subject_id_number == id_number)
        ).one(),
    )
    assert data.status == "单位预审中"


def test_an_expired_or_unknown_join_code_shows_a_page_saying_what_to_do(live, contexts):
    code = join_code(live)

    def expire(session):
        session.execute(update(JoinCode).values(expires_at=JoinCode.created_at))
        session.commit()

    in_db(live.app, expire)
    page = contexts(PHONE, phone=True).new_page()
    reply = page.goto(f"{live.url}/join/{code}")
    assert reply.status == 410
    expect(page.get_by_role("heading", name="二维码已失效")).to_be_visible()
    expect(page.locator(".error-page")).to_contain_text("请向单位索取新的二维码")
    expect(page.locator(".error-page")).not_to_contain_text("重新获取二维码")  # said once
    assert page.goto(f"{live.url}/join/forged-code").status == 404
    expect(page.locator(".error-page")).to_contain_text("申请码无效")
    # the phone pages have no menu to go back to: the advice says what a scanner can do
    expect(page.locator(".error-page")).to_contain_text("请核对扫描的二维码")
    expect(page.locator(".error-page")).not_to_contain_text("菜单")
    expect(page.locator(".error-page .code")).to_have_count(0)  # no bare 404 to a phone


def member_with_certificate(live) -> tuple[str, str]:
    id_number = make_resident_id("44010619880808123")

    def add(session):
        add_member(
            session,
            MemberSeed(
                "孙立新",
                id_number,
                live.world.unit_id,
                mobile="13800001111",
                memberships={"普通会员": date.today() + timedelta(days=400)},
                certificates=[
                    CertificateSeed("监理员", "JL2025000777", date.today() + timedelta(days=500))
                ],
            ),
        )
        session.commit()

    in_db(live.app, add)
    return id_number, "JL2025000777"


def test_a_member_signs_in_on_the_phone_and_confirms_a_resignation_once(live, contexts):
    id_number, _number = member_with_certificate(live)
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    member_id = in_db(
        live.app, lambda s: s.scalar(select(Member.id).where(Member.id_number == id_number))
    )
    code = client.post(
        f"/api/v1/units/{live.world.unit_id}/members/{member_id}/resignation-codes", headers=unit
    ).get_json()["code"]
    member_headers(client, id_number)  # the member has set their own password (PASSWORD)
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/confirm/{code}")
    expect(page.locator(".card").first).to_contain_text("孙*")
    expect(page.locator(".card").first).to_contain_text("*" * 14 + id_number[-4:])
    assert_labelled(page)
    page.get_by_label("账号（身份证号）").fill(id_number)
    page.get_by_label("密码").fill(PASSWORD)
    page.get_by_role("button", name="登录").click()
    expect(page.locator(".card.form")).to_contain_text("当前登录：孙立新")
    page.get_by_role("button", name="确认").click()
    expect(page.get_by_role("heading", name=re.compile("已确认"))).to_be_visible()
    expect(page.locator("body")).to_contain_text(f"已从“{live.world.unit_name}”离职")
    assert page.goto(f"{live.url}/confirm/{code}").status == 410
    expect(page.locator(".error-page")).to_contain_text("已使用")


@pytest.fixture
def live_settings() -> dict:
    return {"lookup_rate": "3 per minute"}


def test_the_lookup_finds_a_certificate_and_explains_its_rate_limit(live, contexts):
    id_number, number = member_with_certificate(live)
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/lookup")
    assert_labelled(page)
    page.get_by_label("证书编号").fill(number)
    page.get_by_role("button", name="查询").click()
    result = page.get_by_role("region", name="查询结果")
    expect(result).to_contain_text("监理员")
    expect(result).to_contain_text("*" * 14 + id_number[-4:])
    expect(result).not_to_contain_text(id_number)
    page.get_by_label("证书编号").fill("NOPE")
    page.get_by_role("button", name="查询").click()
    expect(page.locator(".errorbox")).to_contain_text("未查到证书")
    page.goto(f"{live.url}/lookup?number=NOPE")  # the third within the minute: allowed
    reply = page.goto(f"{live.url}/lookup?number=NOPE")  # the fourth
    assert reply.status == 429
    expect(page.locator(".error-page")).to_contain_text("证书查询过于频繁")
    expect(page.locator(".error-page")).to_contain_text("秒后再试")
    expect(page.locator(".error-page")).not_to_contain_text("一分钟")  # said once, exactly
    page.get_by_role("link", name="返回证书查询").click()
    expect(page).to_have_url(f"{live.url}/lookup")


def test_a_person_looks_up_by_id_number_and_downloads_the_e_certificate(live, contexts):
    id_number, number = member_with_certificate(live)
    page = contexts(PHONE, phone=True).new_page()
    page.goto(f"{live.url}/lookup")
    page.get_by_label("身份证号").fill(id_number)
    page.get_by_role("button", name="查询").click()
    result = page.get_by_role("region", name="查询结果")
    expect(result).to_contain_text(number)
    with page.expect_download() as download:
        result.get_by_role("link", name="下载电子证").click()
    saved = download.value.path()
    assert download.value.suggested_filename.endswith(".pdf")
    assert Path(saved).read_bytes()[:4] == b"%PDF"


def test_the_api_docs_work_offline(live, contexts):
    page = contexts().new_page()
    elsewhere = []
    page.on(
        "request",
        lambda r: None if r.url.startswith(live.url) else elsewhere.append(r.url),
    )
    page.goto(f"{live.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("memberflow")
    expect(page.locator(".opblock-tag").first).to_be_visible()
    assert elsewhere == []


def test_signing_out_ends_the_session(live, contexts):
    page = contexts().new_page()
    sign_in(page, live, "jigou")
    page.get_by_role("button", name="退出").click()
    expect(page.locator(".flash.info")).to_contain_text("已安全退出")
    page.goto(f"{live.url}/workbench/todo")
    expect(page).to_have_url(re.compile(r"/login\?next=/workbench/todo"))
    cookie = next(c for c in page.context.cookies() if c["name"] == "memberflow_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax"
