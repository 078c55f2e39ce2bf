"""导入学习记录 in Chromium: the association downloads the import template, fills in a
person's pass, uploads it, watches the background job finish, and 学习进度 shows the person
已通过 with the form's number and unit."""

from __future__ import annotations

import re
from datetime import date, datetime

import pytest
from browsing import assert_labelled, sign_in
from conftest import in_db, start_form, step_task, token_headers, upload
from jobs_support import queue_worker
from openpyxl import load_workbook
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres
APPROVE = {"decision": "approve", "remark": "同意"}


@pytest.fixture
def learning_open(live) -> tuple[str, str]:
    """罗建平's continuing education (监理员, 24 hours) approved and paid on 2026-11-28: his
    learning is open. His ID number and the form's number."""
    ctx = live.app.extensions["memberflow"]
    saved, ctx.clock = ctx.clock, lambda: datetime(2026, 11, 28, 4, 0, 0)
    id_number = make_resident_id("44010619750909678")

    def add(s):
        certificate = CertificateSeed("监理员", "JL2024000001", date(2027, 2, 28))
        seed = MemberSeed(
            "罗建平",
            id_number,
            live.world.unit_id,
            memberships={"普通会员": date(2027, 6, 30)},
            certificates=[certificate],
        )
        add_member(s, seed)
        s.commit()

    in_db(live.app, add)
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    line = {
        "id_number": id_number,
        "name": "罗建平",
        "certificate_type": "监理员",
        "diploma": upload(client, unit),
        "social_insurance": upload(client, unit),
    }
    data = {"pledge": upload(client, unit), "persons": [line]}
    form = start_form(client, unit, "continuing_education", data)
    for who in ("agency", "association"):
        step_task(client, token_headers(client, live.world.logins[who]), form["id"], APPROVE)
    step_task(client, unit, form["id"], {"fee_voucher": upload(client, unit)})
    finance = token_headers(client, live.world.logins["finance"])
    receipt = {**APPROVE, "receipt_number": "FP2026000001", "receipt_date": "2026-11-28"}
    assert step_task(client, finance, form["id"], receipt)["status"] == "审批完成"
    yield id_number, form["business_key"]
    ctx.clock = saved


def test_the_association_imports_a_pass_and_the_list_shows_it(
    live, contexts, tmp_path, learning_open
):
    id_number, business_key = learning_open
    page = contexts().new_page()
    sign_in(page, live, live.world.logins["association"])
    page.locator("nav.sidemenu").get_by_role("link", name="导入学习记录").click()
    expect(page.get_by_role("heading", name="导入学习记录")).to_be_visible()
    assert_labelled(page)

    with page.expect_download() as info:
        page.get_by_role("link", name="下载导入模板").click()
    assert info.value.suggested_filename == "学习记录导入模板.xlsx"
    path = tmp_path / "学习记录.xlsx"
    info.value.save_as(path)
    workbook = load_workbook(path)
    workbook.worksheets[0].append([id_number, "罗建平", 24, "已通过", 1, business_key])
    workbook.save(path)

    with queue_worker(live.app):  # `memberflow worker`: procrastinate's worker
        page.get_by_label("Excel 文件（.xlsx）").set_input_files(path)
        page.get_by_role("button", name="导入").click()
        expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
        expect(page.get_by_role("heading", name="学习记录导入")).to_be_visible()
        expect(page.locator(".job-rows .badge")).to_have_text("已完成", timeout=30000)
    expect(page.locator(".job-progress")).to_contain_text("本次考试通过 1 人")
    expect(page.locator(".job-facts")).to_contain_text("学习记录.xlsx")

    page.locator("nav.sidemenu").get_by_role("link", name="学习进度").click()
    expect(page.get_by_role("heading", name="普通会员教育学习进度")).to_be_visible()
    row = page.get_by_role("row").filter(has_text="罗建平")
    expect(row).to_have_count(1)
    for cell in ("已通过", "24/24", business_key, live.world.unit_name, id_number):
        expect(row).to_contain_text(cell)
    expect(row.get_by_role("link", name=re.compile("^查看"))).to_be_visible()
    expect(page.get_by_role("complementary", name="按学习状态")).to_contain_text("已通过1")
    assert_labelled(page)
