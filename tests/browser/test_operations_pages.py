"""流程运行图 in Chromium: the secretariat opens it from the menu, reads where forms wait on
the diagram (shaded, with counts) and in the table, and switches process and version; moves
running forms to a new version; and repairs a step a designer's mistake stopped (流程出错:
the reviewer's page keeps what was filled, the fix deployed, the form migrated, 重试)."""

from __future__ import annotations

import re
import shutil

import pytest
from browsing import assert_labelled, sign_in
from conftest import REPO
from playwright.sync_api import expect
from test_designer_pages import add_designer, bundle, upload
from test_reviewer_pages import join_at_agency, status_of

pytestmark = pytest.mark.postgres


def test_the_secretariat_reads_the_heat_map_and_switches_process(live, contexts):
    join_at_agency(live)  # one form, waiting at 机构初审
    page = contexts().new_page()
    sign_in(page, live, "admin")
    page.get_by_role("link", name="流程运行图").click()
    page.get_by_label("业务流程").select_option(label="个人会员入会申请")
    page.get_by_role("button", name="切换流程").click()
    # each click loads a new page: wait on what the new page says, never read the old one
    # (the first process's map, which may be member_join's too)
    expect(page).to_have_url(re.compile(r"/processes/member_join/map$"))
    hot = page.locator('svg g[data-element-id="agency_review"]')
    expect(hot).to_have_attribute("data-count", "1")
    expect(hot).to_have_class(re.compile("hot-5"))
    expect(hot.locator(".badge text")).to_have_text("1")
    # the diagram is not shrunk past reading: a step's 12px label shows at 9.6px or more
    # (the frame scrolls sideways instead)
    label = hot.locator("text").first
    size = label.evaluate(
        "t => parseFloat(getComputedStyle(t).fontSize) * t.ownerSVGElement.getScreenCTM().a"
    )
    assert size >= 9.5, size
    table = page.get_by_role("table", name="各步骤在办数量")
    row = table.locator("tbody tr").first
    expect(row).to_contain_text("1")
    # a column of counts has its heading over the counts (right-aligned like them)
    heading = table.get_by_role("columnheader", name="等待办理")
    expect(heading).to_have_css("text-align", "right")
    expect(table.get_by_role("columnheader", name="步骤")).to_have_css("text-align", "left")
    right = heading.bounding_box()["x"] + heading.bounding_box()["width"]
    count = row.locator("td").nth(2).bounding_box()
    assert abs(right - (count["x"] + count["width"])) < 1
    assert_labelled(page)
    page.get_by_label("版本", exact=True).select_option(index=0)
    page.get_by_role("button", name="查看").click()
    expect(page).to_have_url(re.compile("version="))
    page.get_by_role("link", name="流程出错").click()
    expect(page.get_by_role("table", name="流程出错")).to_be_visible()
    expect(page.locator("body")).to_contain_text("没有待处理的流程出错")


def test_after_a_deploy_the_secretariat_moves_the_running_forms_from_the_pages(
    live, contexts, tmp_path
):
    case = join_at_agency(live)  # waiting at 机构初审 on version 1
    deploy = designer_deploying(live, contexts, tmp_path)
    deploy(2, lambda text: swap(text, 'value="机构初审中"', 'value="机构审核中"'))

    page = contexts().new_page()
    sign_in(page, live, "admin")
    page.goto(live.url + "/processes/member_join/map?version=1")
    assert page.locator('svg g[data-element-id="agency_review"]').get_attribute("data-count") == "1"
    page.get_by_role("link", name="迁移流程版本").click()
    page.get_by_label("原版本").select_option("1")
    page.get_by_label("目标版本").select_option("2")
    page.get_by_role("button", name="试运行").click()
    # each click loads a new page: wait on what the new page says, never read the old one
    expect(page.get_by_role("status")).to_contain_text("办理中 1 件，可迁移 1 件，不能迁移 0 件")
    assert_labelled(page)
    page.get_by_label("原版本").select_option("1")
    page.get_by_label("目标版本").select_option("2")
    page.get_by_role("button", name="执行迁移").click()
    expect(page.get_by_role("status")).to_contain_text("已迁移 1 件")
    row = page.get_by_role("table", name="各表单能否迁移").locator("tbody tr").first
    expect(row).to_contain_text("已迁移")  # the table was on the 试运行 page too
    row.get_by_role("link").click()
    page.wait_for_url("**/forms/*")
    # the form now shows version 2's label
    expect(page.locator("body")).to_contain_text("机构审核中")
    expect(page.get_by_role("region", name="审批记录")).to_contain_text("迁移流程版本")
    assert case["id"]


def test_a_designers_mistake_stops_a_step_and_is_repaired_from_the_pages(live, contexts, tmp_path):
    case = join_at_agency(live)  # waiting at 机构初审 on version 1
    deploy = designer_deploying(live, contexts, tmp_path)
    # a condition comparing the remark (text) with a number: passes the deploy's checks,
    # fails when an approval reaches it
    deploy(2, lambda text: swap(text, RETURN, RETURN + " or remark > 100"))
    admin = contexts().new_page()
    sign_in(admin, live, "admin")
    migrate(admin, live, 1, 2)

    # the agency's approval fails on version 2: an incident number, the form unchanged
    reviewer = contexts().new_page()
    sign_in(reviewer, live, "jigou")
    reviewer.get_by_role("link", name=case["business_key"]).click()
    reviewer.get_by_label("审核意见").fill("材料齐全，同意入会")
    reviewer.get_by_role("button", name="通过").click()
    said = reviewer.locator(".flash.error")
    expect(said).to_contain_text("流程执行出错，本次提交未保存")
    number = re.search(r"INC-\d{8}-\d{4}", said.inner_text()).group(0)
    # still on the review page, as it was filled
    expect(reviewer.get_by_label("审核意见")).to_have_value("材料齐全，同意入会")
    expect(reviewer.get_by_role("button", name="通过")).to_be_visible()
    assert status_of(live, case["id"]) == "机构初审中"

    # the secretariat reads it on 流程出错: the form, the step by its name, the cause
    admin.get_by_role("navigation", name="功能菜单").get_by_role("link", name="流程出错").click()
    row = admin.get_by_role("table", name="流程出错").locator("tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text(number)
    expect(row).to_contain_text("机构初审")
    expect(row).to_contain_text("agency_review")
    expect(row).to_contain_text("remark > 100")
    expect(row.get_by_role("link", name=case["business_key"])).to_be_visible()
    retry = row.get_by_role("button", name=f"重试 {number}")
    box, table = retry.bounding_box(), admin.locator("main").bounding_box()
    assert box["x"] + box["width"] <= table["x"] + table["width"], "重试 is cut off"
    assert_labelled(admin)

    # the designer deploys the fix, the secretariat moves the form onto it and retries
    deploy(3, lambda text: swap(text, RETURN, "decision == 'return'"))
    migrate(admin, live, 2, 3)
    admin.goto(live.url + "/incidents")
    admin.get_by_role("button", name=f"重试 {number}").click()
    expect(admin.locator(".flash")).to_contain_text("已重试，出错的步骤已完成")
    expect(admin.get_by_role("table", name="流程出错")).to_contain_text("没有待处理的流程出错")
    admin.get_by_label("状态").select_option(label="已处理")
    admin.get_by_role("button", name="查询").click()
    expect(admin.get_by_role("table", name="流程出错")).to_contain_text("重试成功（版本 3）")
    assert status_of(live, case["id"]) == "协会初审中"


RETURN = 'decision == "return"'  # the agency gateway's condition of 退回


def swap(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new)


def designer_deploying(live, contexts, tmp_path):
    """A designer signed in, and `deploy(version, edit)`: deploy the design with its
    member_join.bpmn rewritten by `edit(text)` from the repository's, which becomes member_join's
    version `version`."""
    add_designer(live)
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    original = (REPO / "processes" / "member_join.bpmn").read_text(encoding="utf-8")
    designer = contexts().new_page()
    sign_in(designer, live, "sheji")

    def deploy(version: int, edit) -> None:
        (design / "processes" / "member_join.bpmn").write_text(edit(original), encoding="utf-8")
        designer.goto(live.url + "/processes/deploy")
        upload(designer, bundle(design))
        deployed = designer.get_by_role("table", name="部署后的版本")
        expect(deployed).to_contain_text(f"第 {version} 版")

    return deploy


def migrate(page, live, source: int, target: int) -> None:
    """Move member_join's running forms from version `source` to `target` on 迁移流程版本."""
    page.goto(live.url + "/processes/member_join/migrations")
    page.get_by_label("原版本").select_option(str(source))
    page.get_by_label("目标版本").select_option(str(target))
    page.get_by_role("button", name="执行迁移").click()
    expect(page.get_by_role("status")).to_contain_text("已迁移 1 件")
