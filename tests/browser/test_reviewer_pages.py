"""The reviewers' workbench in Chromium: a day's work, the voucher, races, CSRF and scope."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from browsing import assert_labelled, sign_in, wait_until_decoded
from conftest import (
    PASSWORD,
    applicant_data,
    business_day,
    form_values,
    in_db,
    open_task,
    step_task,
    token_headers,
    upload,
)
from conftest import start_form as start
from playwright.sync_api import expect
from sqlalchemy import select

from service.db.models import AuditRecord, ProcessInstance, StoredFile, UserTask
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_resident_id
from service.services.membership import accounts
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres
APPROVE = {"decision": "approve", "remark": "同意"}


def join_at_agency(live) -> dict:
    """A join application the unit has pre-reviewed: it waits for 机构初审."""
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    view = start(client, unit, "member_join", applicant_data(client, unit))
    step_task(
        client,
        unit,
        view["id"],
        {
            **form_values(client, unit, view["id"]),
            "decision": "approve",
            "member_level": "普通会员",
        },
    )
    data = client.get(f"/api/v1/instances/{view['id']}", headers=unit).get_json()
    return {**view, "id_number": data["data"]["id_number"], "unit": unit}


def join_at_finance(live) -> dict:
    """A join application paid by the unit: it waits for 财务复核."""
    client = live.client()
    case = join_at_agency(live)
    step_task(client, token_headers(client, "jigou"), case["id"], APPROVE)
    step_task(client, token_headers(client, "xiehui"), case["id"], APPROVE)
    voucher = upload(client, case["unit"])
    step_task(client, case["unit"], case["id"], {"fee_voucher": voucher})
    return {**case, "voucher": voucher}


def status_of(live, instance_id: int) -> str:
    return in_db(live.app, lambda s: s.get(ProcessInstance, instance_id).status)


def test_a_reviewers_day_search_claim_return_then_the_chain_goes_on(live, contexts):
    case = join_at_agency(live)
    page = contexts().new_page()
    sign_in(page, live, "jigou")
    expect(page).to_have_url(re.compile(r"/workbench/todo"))
    assert_labelled(page)
    # the search box's hint says whole what it finds (it was cut off after 单号)
    hint_fits = """box => {
        const style = getComputedStyle(box);
        const ctx = document.createElement("canvas").getContext("2d");
        ctx.font = style.font;
        const padding = parseFloat(style.paddingLeft) + parseFloat(style.paddingRight);
        const inner = box.clientWidth - padding;
        return ctx.measureText(box.placeholder).width <= inner;
    }"""
    assert page.get_by_label("关键字").evaluate(hint_fits)
    # choosing a page size does not reload the page (WCAG 3.2.2): its 确定 does
    page.get_by_label("每页条数", exact=True).select_option("50")
    page.wait_for_timeout(300)
    expect(page).not_to_have_url(re.compile("page_size"))
    page.get_by_role("button", name="确定每页条数").click()
    expect(page).to_have_url(re.compile(r"page_size=50"))
    expect(page.get_by_label("每页条数", exact=True)).to_have_value("50")
    # a table's frame is a (named) Tab stop only when it scrolls sideways
    frame = page.locator(".table-scroll")
    scrolls = frame.evaluate("f => f.scrollWidth > f.clientWidth")
    assert frame.get_attribute("tabindex") == ("0" if scrolls else None)
    if scrolls:
        expect(frame).to_have_attribute("aria-label", "待办任务（可横向滚动）")
    page.get_by_label("关键字").fill(case["id_number"][-4:])
    page.get_by_role("button", name="查询").click()
    rows = page.locator("table.grid tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(case["business_key"])
    rows.first.get_by_role("button", name="认领").click()
    # the message names the form claimed, not only its step; it is announced (a status)
    expect(page.get_by_role("status")).to_contain_text(
        f"已认领：{case['business_key']}（机构初审）"
    )
    # back at the row claimed, which has the focus (not the top of the page)
    task_id = rows.first.get_attribute("id").removeprefix("task-")
    expect(page).to_have_url(re.compile(rf"#task-{task_id}$"))
    expect(rows.first).to_be_focused()
    expect(rows.first).to_contain_text("我")
    rows.first.get_by_role("link", name="办理").click()
    expect(page.locator("h1")).to_contain_text("机构初审")
    expect(page.locator("#h-application + dl")).to_contain_text("个人会员入会申请")
    expect(page.locator(".materials img")).to_have_count(5)
    # each material's size stays on one line however its card wraps the file's name
    sizes = page.locator(".material figcaption .nowrap")
    expect(sizes).to_have_count(5)
    for size in sizes.all():
        assert re.fullmatch(r"\d+ KB|\d+\.\d MB", size.inner_text()), size.inner_text()
        assert size.evaluate("e => e.getClientRects().length") == 1, size.inner_text()
    expect(page.locator("svg.bpmn-diagram g.current")).to_have_attribute(
        "data-element-id", "agency_review"
    )
    # the path taken is green, its automatic rule task too; the step waited at is in view
    # although the diagram is wider than its frame (it opens there, not at its left edge)
    expect(
        page.locator('svg.bpmn-diagram g.done[data-element-id="check_eligibility"]')
    ).to_have_count(1)
    frame, step = page.locator(".diagram"), page.locator("svg.bpmn-diagram g.current")
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")
    seen, box = frame.bounding_box(), step.bounding_box()
    assert seen["x"] <= box["x"] and box["x"] + box["width"] <= seen["x"] + seen["width"], (
        seen,
        box,
    )
    assert_labelled(page)
    page.get_by_label("审核意见").fill("学历证书照片不清晰，请重新上传")
    page.get_by_role("button", name="退回").click()
    expect(page.locator(".flash.success")).to_contain_text(f"已退回：{case['business_key']}")
    expect(page.locator(".flash.info")).to_contain_text("当前队列已没有待办任务")
    # the page's messages have the focus: a screen reader reads 已退回 on arrival
    expect(page.locator(".flashes")).to_be_focused()
    assert status_of(live, case["id"]) == "退回"

    unit_page = contexts().new_page()
    sign_in(unit_page, live, live.world.logins["unit"])
    unit_page.goto(live.url + "/forms")
    row = unit_page.locator("table.grid tbody tr", has_text=case["business_key"])
    expect(row.locator(".badge")).to_have_text("退回")
    assert_labelled(unit_page)
    # the join list (one business type picked) has the manual's columns: levels, why, agency
    unit_page.get_by_label("业务类型").select_option(label="个人会员入会申请")
    unit_page.get_by_role("button", name="查询").click()
    expect(unit_page.locator("table.grid thead")).to_contain_text(
        "申请普通会员申请专业会员退回原因初审机构"
    )
    row = unit_page.locator("table.grid tbody tr", has_text=case["business_key"])
    expect(row.locator("td.reason")).to_have_text("学历证书照片不清晰，请重新上传")
    expect(row.locator("td.center").first).to_have_text("是")
    expect(row).to_contain_text("广州市建设监理行业协会")
    row.get_by_role("link", name=case["business_key"]).click()
    expect(unit_page.locator(".timeline")).to_contain_text("学历证书照片不清晰，请重新上传")

    client = live.client()
    values = form_values(client, case["unit"], case["id"])
    step_task(client, case["unit"], case["id"], {**values, "member_level": "普通会员"})  # API
    page.goto(live.url + "/workbench/todo")
    page.get_by_role("link", name=case["business_key"]).click()
    page.get_by_role("button", name="通过").click()  # claims and completes in one step
    expect(page.locator(".flash.success")).to_contain_text("当前状态：协会初审中")

    association = contexts().new_page()
    sign_in(association, live, "xiehui")
    association.get_by_role("link", name=case["business_key"]).click()
    expect(association.locator(".timeline .remark").first).to_contain_text("学历证书照片不清晰")
    association.get_by_label("审核意见").fill("同意入会")
    association.get_by_role("button", name="通过").click()
    expect(association.locator(".flash.success")).to_contain_text("当前状态：待缴费")
    assert status_of(live, case["id"]) == "待缴费"


def test_finance_views_the_voucher_then_confirms_the_payment(live, contexts):
    case = join_at_finance(live)
    page = contexts().new_page()
    sign_in(page, live, "caiwu")
    page.get_by_role("link", name=case["business_key"]).click()
    expect(page.locator("#h-bill")).to_be_visible()
    with page.expect_popup() as opened:
        page.locator(".voucher a").click()
    viewer = opened.value
    image = viewer.get_by_role("img", name=re.compile(r"\.png$"))
    expect(image).to_be_visible()
    wait_until_decoded(image)
    viewer.close()
    # the receipt's boxes say up front when they are required (the * cannot: 退回 needs none)
    for label in ("票号", "开票日期"):
        expect(page.get_by_label(label)).to_have_accessible_description(
            re.compile("复核通过时必填")
        )
    page.get_by_role("button", name="通过").click()  # without the receipt: refused in place
    expect(page.locator(".errorbox")).to_contain_text("票号")
    # the summary has the focus, and the title says the page is an error
    expect(page.locator(".errorbox")).to_be_focused()
    expect(page).to_have_title(re.compile("^错误："))
    expect(page.get_by_label("票号")).to_have_attribute("aria-invalid", "true")
    page.get_by_label("票号").fill("GDCZ2026000001")
    page.get_by_label("开票日期").fill(business_day(live.app))  # not before the submission
    page.get_by_role("button", name="通过").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：审批完成")
    assert status_of(live, case["id"]) == "审批完成"


def second_reviewer(live) -> str:
    def add(session):
        admin = Actor(None, "admin", "secretariat_admin")
        with UnitOfWork(session) as uow:
            accounts.create_staff(
                uow, admin, "xiehui2", "协会审核员乙", PASSWORD, "association_reviewer", None
            )

    in_db(live.app, add)
    return "xiehui2"


def test_two_reviewers_race_to_claim_one_task_and_the_loser_is_told_who_won(live, contexts):
    case = join_at_agency(live)
    client = live.client()
    step_task(client, token_headers(client, "jigou"), case["id"], APPROVE)
    other = second_reviewer(live)
    pages = [contexts().new_page(), contexts().new_page()]
    for page, who in zip(pages, ("xiehui", other), strict=True):
        sign_in(page, live, who)
        expect(page.locator("table.grid tbody tr")).to_have_count(1)
    for page in pages:  # both requests in flight at once
        page.get_by_role("button", name="认领").click(no_wait_after=True)
    for page in pages:
        page.wait_for_load_state()
        expect(page.locator(".flash")).to_be_visible()
    texts = sorted(page.locator(".flash").inner_text() for page in pages)
    assert texts[0].startswith("已认领"), texts
    assert re.match(r"该任务已被协会审核员(乙)?认领", texts[1]), texts
    claims = in_db(
        live.app,
        lambda s: s.scalars(select(AuditRecord).where(AuditRecord.action == "claim")).all(),
    )
    assert len(claims) == 1
    loser = pages[0] if "已被" in pages[0].locator(".flash").inner_text() else pages[1]
    # a refusal is announced as an alert, not a status
    expect(loser.locator(".flashes [role=alert]")).to_contain_text("该任务已被")
    expect(loser.locator(".flashes [role=status]")).to_have_count(0)
    task_id = in_db(
        live.app, lambda s: s.scalar(select(UserTask.id).where(UserTask.state == "open"))
    )
    loser.goto(f"{live.url}/workbench/tasks/{task_id}")
    expect(loser.locator(".holder")).to_contain_text("认领人：协会审核员")
    expect(loser.locator("#h-decision + p")).to_contain_text("只能由认领人办理")
    expect(loser.get_by_role("button", name="通过")).to_have_count(0)


def test_two_reviewers_submitting_one_unclaimed_task_one_wins_the_other_sees_why(live, contexts):
    case = join_at_agency(live)
    client = live.client()
    step_task(client, token_headers(client, "jigou"), case["id"], APPROVE)
    pages = [contexts().new_page(), contexts().new_page()]
    for page, who in zip(pages, ("xiehui", second_reviewer(live)), strict=True):
        sign_in(page, live, who)
        page.get_by_role("link", name=case["business_key"]).click()
    for page in pages:
        page.get_by_role("button", name="通过").click(no_wait_after=True)
    flashes = []
    for page in pages:
        page.wait_for_load_state()
        flashes.append(page.locator(".flash").first.inner_text())
    assert sum(f.startswith("已通过") for f in flashes) == 1, flashes
    assert sum("已由" in f or "已被" in f for f in flashes) == 1, flashes
    done = in_db(
        live.app,
        lambda s: s.scalars(
            select(UserTask).where(
                UserTask.instance_id == case["id"], UserTask.task_name == "association_review"
            )
        ).all(),
    )
    assert [t.state for t in done] == ["completed"]
    assert status_of(live, case["id"]) == "待缴费"


def test_a_post_without_its_csrf_token_is_refused_and_changes_nothing(live, contexts):
    case = join_at_agency(live)
    page = contexts().new_page()
    sign_in(page, live, "jigou")
    task_id = in_db(
        live.app,
        lambda s: s.scalar(
            select(UserTask.id).where(UserTask.instance_id == case["id"], UserTask.state == "open")
        ),
    )
    status = page.evaluate(
        "url => fetch(url, {method: 'POST', credentials: 'same-origin'}).then(r => r.status)",
        f"/workbench/tasks/{task_id}/claim",
    )
    assert status == 400
    page.goto(live.url + "/workbench/todo")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    page.get_by_role("button", name="认领").click()
    expect(page.locator(".error-page")).to_contain_text("缺少安全令牌")
    claimed = in_db(live.app, lambda s: s.get(UserTask, task_id).claimed_by)
    assert claimed is None


def test_another_agencys_task_form_and_materials_answer_the_404_page(live, contexts):
    case = join_at_agency(live)
    task_id, file_id = in_db(
        live.app,
        lambda s: (
            s.scalar(
                select(UserTask.id).where(
                    UserTask.instance_id == case["id"], UserTask.state == "open"
                )
            ),
            s.scalar(select(StoredFile.id).where(StoredFile.instance_id == case["id"])),
        ),
    )
    page = contexts().new_page()
    sign_in(page, live, "jigou_st")  # the Shantou agency's reviewer
    for path in (
        f"/workbench/tasks/{task_id}",
        f"/forms/{case['id']}",
        f"/files/{file_id}/view",
        f"/files/{file_id}/thumb.png",
    ):
        reply = page.goto(live.url + path)
        assert reply.status == 404, path
    expect(page.locator("body")).to_contain_text("页面不存在")
    page.goto(live.url + "/workbench/todo")
    expect(page.locator("table.grid tbody")).to_contain_text("暂无待办任务")
    sign_in(page, live, "jigou")  # the right agency sees all of it
    assert page.goto(live.url + f"/workbench/tasks/{task_id}").status == 200


def education_with_a_lapsed_membership_at_finance(live) -> dict:
    """A continuing education of one person whose 普通会籍 has lapsed, paid by the unit: its
    bill of 260.00 (60.00 会员教育辅助费 + 200.00 个人会员费) waits for 财务复核."""
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    today = live.app.extensions["memberflow"].today()
    id_number = make_resident_id("44010619840404567")

    def add(s):
        cert = CertificateSeed("监理员", "JL2024000001", today + timedelta(days=90))
        memberships = {"普通会员": today - timedelta(days=60)}
        seed = MemberSeed(
            "罗建平", id_number, live.world.unit_id, memberships=memberships, certificates=[cert]
        )
        add_member(s, seed)
        s.commit()

    in_db(live.app, add)
    person = {
        "id_number": id_number,
        "name": "罗建平",
        "diploma": upload(client, unit),
        "social_insurance": upload(client, unit),
        "certificate_type": "监理员",
    }
    data = {"pledge": upload(client, unit), "persons": [person]}
    view = start(client, unit, "continuing_education", data)
    step_task(client, token_headers(client, "jigou"), view["id"], APPROVE)
    step_task(client, token_headers(client, "xiehui"), view["id"], APPROVE)
    step_task(client, unit, view["id"], {"fee_voucher": upload(client, unit)})
    return {**view, "today": today.isoformat()}


def test_finance_registers_an_invoice_and_a_fiscal_receipt_for_a_bill_with_both_fees(
    live, contexts
):
    # a box by its accessible name (a label's text grows a * once 通过 makes it required)
    def box(page, name):
        return page.get_by_role("textbox", name=name, exact=True)

    case = education_with_a_lapsed_membership_at_finance(live)
    page = contexts().new_page()
    sign_in(page, live, "caiwu")
    page.get_by_role("link", name=case["business_key"]).click()
    form = page.locator("form", has=page.get_by_role("button", name="通过"))
    expect(form).to_contain_text("其中补缴个人会员费（元）")
    expect(form).to_contain_text("200.00")
    invoice, fiscal = "电子发票票号（会员教育辅助费）", "电子财政收据票号（个人会员费）"
    for label in (invoice, "电子发票开票日期", fiscal, "电子财政收据开票日期"):
        expect(box(page, label)).to_have_accessible_description(re.compile("复核通过时必填"))
    for kind in ("电子发票", "电子财政收据"):  # 票据代码 and 票据编码: optional
        for label in (f"{kind}票据代码", f"{kind}票据编码"):
            expect(box(page, label)).to_be_visible()
    box(page, invoice).fill("FP2026000789")
    box(page, "电子发票开票日期").fill(case["today"])
    page.get_by_role("button", name="通过").click()  # the fiscal receipt missing: refused
    expect(page.locator(".errorbox")).to_contain_text(fiscal)
    expect(box(page, fiscal)).to_have_attribute("aria-invalid", "true")
    expect(box(page, invoice)).to_have_value("FP2026000789")
    box(page, fiscal).fill("0000541188")
    box(page, "电子财政收据开票日期").fill(case["today"])
    box(page, "电子财政收据票据代码").fill("44070124")
    page.get_by_role("button", name="通过").click()
    expect(page.locator(".flash.success")).to_contain_text("当前状态：审批完成")

    page.goto(live.url + "/finance/invoices")
    table = page.get_by_role("table", name="开票记录")
    expect(table.locator("thead")).to_contain_text("开票机构票据编码票据名称票据代码票号")
    rows = table.locator("tbody tr", has_text=case["business_key"])
    expect(rows).to_have_count(2)
    invoice_row = rows.filter(has_text="FP2026000789")
    expect(invoice_row).to_contain_text("电子发票")
    expect(invoice_row).to_contain_text("会员教育辅助费")
    expect(invoice_row).to_contain_text("¥60.00")
    fiscal_row = rows.filter(has_text="0000541188")
    expect(fiscal_row).to_contain_text("电子财政收据")
    expect(fiscal_row).to_contain_text("44070124")
    expect(fiscal_row).to_contain_text("个人会员费")
    expect(fiscal_row).to_contain_text("¥200.00")


def test_a_long_return_reason_keeps_to_its_cell_and_its_lines(live, contexts):
    """A reason written as numbered lines keeps them on the form's record, and one with a long
    unbroken word (a URL, a certificate number) wraps inside the join list's 退回原因 cell
    instead of running over 初审机构; the list shows its first lines, the whole on hover."""
    case = join_at_agency(live)
    client = live.client()
    word = "HTTPS://EXAMPLE.ORG/" + "ABCDEFGHIJKLMNOPQRSTUVWXYZ" * 3
    reason = f"1. 学历证明不清晰\n2. 请补充 {word}\n3. 照片背景须为白色"
    step_task(
        client, token_headers(client, "jigou"), case["id"], {"decision": "return", "remark": reason}
    )
    page = contexts(width=1366).new_page()
    sign_in(page, live, "admin")
    page.goto(live.url + "/forms?key=member_join&status=退回")
    cell = page.locator("table.grid td.reason").first
    expect(cell).to_contain_text("学历证明不清晰")
    inside = """cell => {
        const next = cell.nextElementSibling.getBoundingClientRect();
        const text = cell.querySelector('.clamp');
        return text.scrollWidth <= text.clientWidth + 1
            && text.getBoundingClientRect().right <= next.left + 1;
    }"""
    assert cell.evaluate(inside)
    assert cell.locator(".clamp").get_attribute("title") == reason
    page.goto(live.url + f"/forms/{case['id']}")
    remark = page.locator(".timeline .remark", has_text="学历证明不清晰")
    # three lines, as written (they ran into one paragraph)
    lines = remark.evaluate(
        "e => Math.round(e.getBoundingClientRect().height"
        " / parseFloat(getComputedStyle(e).lineHeight))"
    )
    assert lines >= 3, lines


def test_a_reason_typed_on_a_task_a_colleague_claimed_meanwhile_is_shown_to_copy(live, contexts):
    """Reviewer A types a return reason on an unclaimed task; B claims it first; A's 退回 is
    refused with who holds it, and what A typed is shown to copy (it was lost)."""
    case = join_at_agency(live)
    client = live.client()
    step_task(client, token_headers(client, "jigou"), case["id"], APPROVE)
    page = contexts().new_page()
    sign_in(page, live, "xiehui")
    page.get_by_role("link", name=case["business_key"]).click()
    reason = "身份证照片不清晰，请重新上传正反面"
    page.get_by_label("意见").fill(reason)
    other = second_reviewer(live)
    headers = token_headers(client, other)
    task = open_task(client, headers, case["id"])
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers)
    assert claimed.status_code == 200, claimed.get_json()
    page.get_by_role("button", name="退回").click()
    flash = page.locator(".flash.error")
    expect(flash).to_contain_text("协会审核员乙")
    expect(flash).to_contain_text(reason)
    assert status_of(live, case["id"]) == "协会初审中"
