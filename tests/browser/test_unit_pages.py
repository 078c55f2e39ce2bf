"""A unit administrator's pages in Chromium: an enrolment's round trip, and scope."""

from __future__ import annotations

from datetime import date

import pytest
from browsing import assert_labelled, sign_in
from conftest import business_day, in_db, png_bytes, step_task, token_headers, upload
from conftest import start_form as start
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres
APPROVE = {"decision": "approve", "remark": "同意"}
FINANCE_APPROVE = {
    "decision": "approve",
    "receipt_number": "FP2026000123",
}  # dated at its use: the business day (not before the form's submission, nor after today)


def member(live, unit_id: int, name: str, prefix: str) -> str:
    """A member of the unit with a valid 普通会员 membership (initial education needs one)."""
    number = make_resident_id(prefix)

    def add(session):
        seed = MemberSeed(name, number, unit_id, memberships={"普通会员": date(2030, 6, 30)})
        add_member(session, seed)
        session.commit()

    in_db(live.app, add)
    return number


def scan(name: str) -> dict:
    return {"name": name, "mimeType": "image/png", "buffer": png_bytes()}


def test_a_units_round_trip_enrol_return_resubmit_pay_and_learn(live, contexts):
    unit_id = live.world.unit_id
    member(live, unit_id, "周建国", "44010619800101123")
    member(live, unit_id, "何美玲", "44010619850505234")
    member(live, unit_id, "冯老伯", "44010619600101345")  # 66: too old for 监理员
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])

    # 业务办理 → 普通会员初始教育: the persons side by side, the ineligible one with its reason
    page.get_by_role("link", name="业务办理").first.click()
    page.get_by_role("link", name="普通会员初始教育").click()
    page.get_by_label("报名证书类型").select_option("监理员")
    page.get_by_role("button", name="查询").click()
    ineligible = page.locator(".pick-col.ineligible")
    expect(ineligible).to_contain_text("不符合条件（1人）")
    expect(ineligible.locator(".person", has_text="冯老伯")).to_contain_text("60")
    expect(ineligible.get_by_role("checkbox")).to_have_count(0)
    assert_labelled(page)
    page.get_by_label("周建国").check()
    page.get_by_label("何美玲").check()
    page.get_by_role("button", name="添加所选人员").click()

    # the form: two lines, their materials, the fee before submitting
    expect(page.locator(".person-lines legend")).to_contain_text("报名人员（2人）")
    assert_labelled(page)
    # the table of persons is wider than the page: 移除, which the hint below names, stays
    # in sight at its right edge rather than past it
    frame = page.locator(".lines-scroll").bounding_box()
    drop = page.get_by_label("移除第1行").locator("xpath=ancestor::td").bounding_box()
    assert page.locator(".lines-scroll").evaluate("e => e.scrollWidth > e.clientWidth")
    assert drop["x"] + drop["width"] <= frame["x"] + frame["width"] + 1, (drop, frame)
    for line in (1, 2):
        page.get_by_label(f"第{line}行 专业1").fill("房屋建筑工程")
        for title in ("最高学历证书", "本单位社保证明", "学历/职称验证材料"):
            page.get_by_label(f"第{line}行 {title}").set_input_files(scan(f"{title}{line}.png"))
    page.get_by_label("单位承诺书").set_input_files(scan("承诺书.png"))
    page.get_by_role("button", name="预览/计算费用").click()
    expect(page.locator(".fee-total")).to_contain_text("金额总计：¥120.00")
    expect(page.locator(".person-lines .badge", has_text="符合条件")).to_have_count(2)
    expect(page.locator(".current-file")).to_have_count(7)  # the uploads are kept
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：机构初审中")
    business_key = page.locator("h1").inner_text().split("·")[-1].strip()
    instance_id = int(page.url.rstrip("/").rsplit("/", 1)[-1])

    # the agency returns it (through the API, as the workbench page does)
    client = live.client()
    agency = token_headers(client, "jigou")
    step_task(client, agency, instance_id, {"decision": "return", "remark": "请补充专业2"})

    # 我的业务: 退回 → 修改并重新提交 → back to 机构初审中
    page.get_by_role("link", name="我的业务").click()
    row = page.locator("table.grid tbody tr", has_text=business_key)
    expect(row.locator(".badge")).to_have_text("退回")
    # the unit's name is read a line or two, and a wide list scrolls in its frame, the
    # page itself never wider than the screen
    assert row.locator("td.unit-name").bounding_box()["height"] < 3 * 20
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    row.get_by_role("link", name=business_key).click()
    expect(page.locator(".timeline")).to_contain_text("请补充专业2")
    page.get_by_role("link", name="修改并重新提交").click()
    page.get_by_label("第1行 专业2").fill("市政公用工程")
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：机构初审中")
    expect(page.locator(".page-head .badge")).to_have_text("机构初审中")

    step_task(client, agency, instance_id, APPROVE)
    step_task(client, token_headers(client, "xiehui"), instance_id, APPROVE)

    # 待缴费: the bill, the voucher, 财务复核中
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("待缴费")
    expect(page.locator("table.bill")).to_contain_text("¥120.00")
    page.get_by_role("link", name="上传缴费凭证").click()
    page.locator("input[type=file][name=fee_voucher]").set_input_files(scan("凭证.png"))
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".page-head .badge")).to_have_text("财务复核中")
    expect(page.locator(".voucher img")).to_be_visible()

    receipt = {**FINANCE_APPROVE, "receipt_date": business_day(live.app)}
    step_task(client, token_headers(client, "caiwu"), instance_id, receipt)
    page.reload()
    expect(page.locator(".page-head .badge")).to_have_text("审批完成")
    learning = page.locator("section", has=page.locator("#h-learning"))
    expect(learning).to_contain_text("学习任务（2）")
    expect(learning.locator("tbody tr")).to_have_count(2)
    expect(learning).to_contain_text("开课未学习")
    expect(page.locator(".todo-card")).to_have_count(0)


def test_a_unit_opening_another_units_form_gets_the_404_page(live, contexts):
    client = live.client()
    other = token_headers(client, live.world.logins["other_unit"])
    number = member(live, live.world.other_unit_id, "林汕头", "44050619820303456")
    theirs = start(
        client,
        other,
        "initial_education",
        {
            "pledge": upload(client, other),
            "persons": [
                {
                    "id_number": number,
                    "name": "林汕头",
                    "certificate_type": "监理员",
                    "specialty_1": "房屋建筑工程",
                    **{
                        k: upload(client, other)
                        for k in ("diploma", "social_insurance", "verification")
                    },
                }
            ],
        },
    )
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    reply = page.goto(f"{live.url}/forms/{theirs['id']}")
    assert reply.status == 404
    expect(page.locator("body")).to_contain_text("页面不存在")
    expect(page.locator("body")).not_to_contain_text("林汕头")
    page.goto(live.url + "/forms")
    expect(page.locator("table.grid tbody")).not_to_contain_text(theirs["business_key"])


def test_a_returned_cancellation_is_resubmitted_with_its_certificate_types_ticked(live, contexts):
    """A returned 证书注销: 修改并重新提交 draws each line's 注销的证书类型 as boxes to tick (it
    was a text box holding "['监理员']", refused as sent), and goes back to the association."""
    number = make_resident_id("44010619790101123")

    def add(session):
        certificate = CertificateSeed("监理员", "JL2024000777", date(2028, 6, 30))
        seed = MemberSeed("冯佩珊", number, live.world.unit_id, certificates=[certificate])
        add_member(session, seed)
        session.commit()

    in_db(live.app, add)
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    data = {
        "cancellation_application": upload(client, unit),
        "persons": [{"id_number": number, "name": "冯佩珊", "certificate_types": ["监理员"]}],
    }
    instance = start(client, unit, "certificate_cancellation", data)
    step_task(
        client,
        token_headers(client, "xiehui"),
        instance["id"],
        {
            "decision": "return",
            "remark": "注销申请表未盖章",
        },
    )
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.goto(f"{live.url}/forms/{instance['id']}")
    page.get_by_role("link", name="修改并重新提交").click()
    boxes = page.locator("input[type=checkbox][name='persons.0.certificate_types']")
    expect(boxes).to_have_count(3)
    expect(page.get_by_role("checkbox", name="监理员", exact=True)).to_be_checked()
    expect(page.get_by_role("checkbox", name="安全监理员")).not_to_be_checked()
    page.locator("input[type=file][name=cancellation_application]").set_input_files(
        scan("注销申请表（盖章）.png")
    )
    page.get_by_role("button", name="提交").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：协会复核中")
