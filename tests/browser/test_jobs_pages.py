"""A long export, in Chromium: a unit exports the archive of 5,000 members, watches the
progress bar of the background job reach 100 % and downloads the workbook."""

from __future__ import annotations

import re
import time

import pytest
from browsing import assert_labelled, sign_in
from jobs_support import queue_worker, seed_members
from openpyxl import load_workbook
from playwright.sync_api import expect

pytestmark = pytest.mark.postgres
MEMBERS = 5000


def test_a_unit_watches_the_archive_export_reach_100_percent_then_downloads_it(
    live, contexts, tmp_path
):
    began = time.monotonic()
    seed_members(live.app, live.world.unit_id, MEMBERS)
    page = contexts().new_page()
    with queue_worker(live.app):  # `memberflow worker`: procrastinate's worker
        sign_in(page, live, live.world.logins["unit"])
        page.goto(live.url + "/unit/members")
        expect(page.locator("main")).to_contain_text(f"{MEMBERS}")
        page.locator("form.export").get_by_role("button", name="导出").click()

        expect(page).to_have_url(re.compile(r"/jobs/\d+$"))
        expect(page.get_by_role("heading", name="单位人员档案导出")).to_be_visible()
        bar = page.get_by_role("progressbar", name="单位人员档案导出进度")
        seen = []
        while True:  # the bar as the person sees it, until the job is done
            value = int(bar.get_attribute("value"))
            seen.append(value)
            if value == 100:
                break
            assert time.monotonic() - began < 25, seen
            page.wait_for_timeout(100)
    assert seen[0] < 100 and seen == sorted(seen), seen  # seen moving, only ever forward
    expect(page.locator(".job-percent")).to_have_text("100%")
    expect(page.locator(".job-rows")).to_contain_text(f"已处理 {MEMBERS} / {MEMBERS} 行")
    expect(page.locator(".job-rows .badge")).to_have_text("已完成")
    assert_labelled(page)

    link = page.get_by_role("link", name="下载 单位人员档案导出表.xlsx")
    with page.expect_download() as info:
        link.click()
    download = info.value
    assert download.suggested_filename == "单位人员档案导出表.xlsx"
    path = tmp_path / "archive.xlsx"
    download.save_as(path)
    workbook = load_workbook(path, read_only=True)
    rows = list(workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    assert rows[0][:4] == ("序号", "普通会员", "专业会员", "姓名")
    assert len(rows) == MEMBERS + 1 and rows[-1][0] == MEMBERS

    page.goto(live.url + "/jobs")  # the person's jobs list keeps it for a day
    expect(page.locator(".job").first).to_contain_text("单位人员档案导出")
    expect(page.locator(".job").first).to_contain_text("已完成")
    assert time.monotonic() - began < 30
