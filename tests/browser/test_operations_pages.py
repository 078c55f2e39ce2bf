"""流程运行图 in Chromium: the secretariat opens it from the menu, reads where forms wait on
the diagram (shaded, with counts) and in the table, and switches process and version."""

from __future__ import annotations

import pytest
from browsing import assert_labelled, sign_in
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
