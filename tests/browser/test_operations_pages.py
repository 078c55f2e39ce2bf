"""流程运行图 in Chromium: the secretariat opens it from the menu, reads where forms wait on
the diagram (shaded, with counts) and in the table, and switches process and version."""

from __future__ import annotations

import shutil

import pytest
from browsing import assert_labelled, sign_in
from conftest import REPO
from test_designer_pages import add_designer, bundle, upload
from test_reviewer_pages import join_at_agency

pytestmark = pytest.mark.postgres


def test_the_secretariat_reads_the_heat_map_and_switches_process(live, contexts):
    join_at_agency(live)  # one form, waiting at 机构初审
    page = contexts().new_page()
    sign_in(page, live, "admin")
    page.get_by_role("link", name="流程运行图").click()
    page.get_by_label("业务流程").select_option(label="个人会员入会申请")
    page.get_by_role("button", name="切换流程").click()
    assert page.url.endswith("/processes/member_join/map")
    hot = page.locator('svg g[data-element-id="agency_review"]')
    assert hot.get_attribute("data-count") == "1"
    assert "hot-5" in hot.get_attribute("class")
    assert hot.locator(".badge text").text_content() == "1"
    row = page.get_by_role("table", name="各步骤在办数量").locator("tbody tr").first
    assert "1" in row.inner_text()
    assert_labelled(page)
    page.get_by_label("版本", exact=True).select_option(index=0)
    page.get_by_role("button", name="查看").click()
    assert "version=" in page.url
    page.get_by_role("link", name="流程出错").click()
    assert page.get_by_role("table", name="流程出错").is_visible()
    assert "没有待处理的流程出错" in page.content()


def test_after_a_deploy_the_secretariat_moves_the_running_forms_from_the_pages(
    live, contexts, tmp_path
):
    case = join_at_agency(live)  # waiting at 机构初审 on version 1
    add_designer(live)
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    bpmn = design / "processes" / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    assert 'value="机构初审中"' in text
    bpmn.write_text(text.replace('value="机构初审中"', 'value="机构审核中"'), encoding="utf-8")
    designer = contexts().new_page()
    sign_in(designer, live, "sheji")
    designer.goto(live.url + "/processes/deploy")
    upload(designer, bundle(design))
    assert "第 2 版" in designer.get_by_role("table", name="部署后的版本").inner_text()

    page = contexts().new_page()
    sign_in(page, live, "admin")
    page.goto(live.url + "/processes/member_join/map?version=1")
    assert page.locator('svg g[data-element-id="agency_review"]').get_attribute("data-count") == "1"
    page.get_by_role("link", name="迁移流程版本").click()
    page.get_by_label("原版本").select_option("1")
    page.get_by_label("目标版本").select_option("2")
    page.get_by_role("button", name="试运行").click()
    status = page.get_by_role("status")
    assert "办理中 1 件，可迁移 1 件，不能迁移 0 件" in status.inner_text()
    assert_labelled(page)
    page.get_by_label("原版本").select_option("1")
    page.get_by_label("目标版本").select_option("2")
    page.get_by_role("button", name="执行迁移").click()
    assert "已迁移 1 件" in page.get_by_role("status").inner_text()
    row = page.get_by_role("table", name="各表单能否迁移").locator("tbody tr").first
    assert "已迁移" in row.inner_text()
    row.get_by_role("link").click()
    assert "机构审核中" in page.content()  # the form now shows version 2's label
    assert "迁移流程版本" in page.get_by_role("region", name="审批记录").inner_text()
    assert case["id"]
