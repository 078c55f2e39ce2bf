"""The GET exports are bounded as the pages' export buttons are (MEMBERFLOW_JOB_SYNC_ROWS).

The API's `GET …/export.xlsx` builds the file in the request up to that many rows, and sends
it streamed from its spool with its length; over it, it answers 409 before a row is written,
naming the background export (`POST …/export-jobs`) to use instead. The pages' old export
addresses (`/unit/members/export.xlsx`, `/unit/learning/export.xlsx`,
`/finance/invoices/export.xlsx`), which no page links any more but a bookmark may, do what the
page's button does: the file at once when it is small, else a background job and its page.

The data: one initial education of two persons, approved and paid (test_exports_api's
`enrolment`): two members, two enrolment lines, two learning tasks, one invoice record.
"""

from __future__ import annotations

import io
import re
import threading

import pytest
import test_exports_api
from conftest import token_headers
from jobs_support import job_runner, wait_for_job
from openpyxl import load_workbook
from test_pages_http import sign_in

from service.services.documents import exports
from service.services.documents.excel import XLSX_MIMETYPE

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

enrolment = test_exports_api.enrolment  # the fixture, under its own name
JOB_URL = re.compile(r"/jobs/(\d+)$")


def rows_of(data: bytes) -> list[tuple]:
    """The sheet's data rows (the header row left out, and 开票记录's last row, its 合计)."""
    sheet = load_workbook(io.BytesIO(data)).worksheets[0]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    return rows[:-1] if sheet.title == "开票记录" and rows[-1][0] == "合计" else rows


@pytest.fixture
def built(monkeypatch) -> list[tuple[str, int]]:
    """Every workbook an export writes: (sheet title, the thread that wrote it)."""
    seen: list[tuple[str, int]] = []
    write = exports.write_workbook

    def spy(target, title, *args, **kwargs):
        seen.append((title, threading.get_ident()))
        return write(target, title, *args, **kwargs)

    monkeypatch.setattr(exports, "write_workbook", spy)
    return seen


def set_limit(app, rows: int) -> None:
    app.extensions["memberflow"].config.job_sync_rows = rows


def api_exports(unit_id: int) -> list[tuple[str, str, int, str]]:
    """(GET export, its sheet, its rows in the data, the POST that runs it as a job)."""
    members = f"/api/v1/units/{unit_id}/members"
    return [
        (f"{members}/export.xlsx", "单位人员档案", 2, f"{members}/export-jobs"),
        ("/api/v1/bills/export.xlsx", "开票记录", 1, "/api/v1/bills/export-jobs"),
        ("/api/v1/enrolments/export.xlsx", "报名表", 2, "/api/v1/enrolments/export-jobs"),
        ("/api/v1/learning-tasks/export.xlsx", "学习进度", 2, "/api/v1/learning-tasks/export-jobs"),
    ]


def test_an_api_export_over_the_limit_is_refused_naming_the_job_and_nothing_is_built(
    app, client, login, world, enrolment, built
):
    unit = login("unit")
    for url, _sheet, total, job_path in api_exports(world.unit_id):
        set_limit(app, total - 1)
        refused = client.get(url, headers=unit, buffered=True)
        assert refused.status_code == 409, (url, refused.status_code, refused.mimetype)
        body = refused.get_json()
        assert body["code"] == 409 and "errors" not in body, body
        message = body["message"]
        assert f"导出结果共{total}行，超过直接下载的上限（{total - 1}行），未生成文件" in message
        assert f"POST {job_path}" in message and "GET /api/v1/jobs/{id}" in message, message
        assert built == [], url  # refused on the count: no workbook was begun
    jobs = client.get("/api/v1/jobs", headers=unit).get_json()
    assert jobs["total"] == 0  # a GET starts no job

    for url, sheet, total, _job in api_exports(world.unit_id):
        set_limit(app, total)  # exactly the limit: the file at once
        reply = client.get(url, headers=unit, buffered=True)
        assert reply.status_code == 200, (url, reply.get_json())
        assert reply.mimetype == XLSX_MIMETYPE
        assert reply.headers["Content-Length"] == str(len(reply.data)), url
        assert len(rows_of(reply.data)) == total, url
        assert built[-1][0] == sheet


def test_the_openapi_document_says_when_a_get_export_is_too_large(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/units/{unit_id}/members/export.xlsx",
        "/api/v1/bills/export.xlsx",
        "/api/v1/enrolments/export.xlsx",
        "/api/v1/learning-tasks/export.xlsx",
    ):
        answers = spec["paths"][path]["get"]["responses"]
        assert "409" in answers, path
        assert "export-jobs" in answers["409"]["description"], path


def page_exports(world) -> list[tuple[str, str, str, str, int]]:
    """(who, old GET address, the job's kind, its sheet, its rows in the data)."""
    return [
        ("unit", "/unit/members/export.xlsx", "member_archive_export", "单位人员档案", 2),
        ("unit", "/unit/learning/export.xlsx?status=开课未学习", "learning_export", "学习进度", 2),
        ("finance", "/finance/invoices/export.xlsx", "bill_export", "开票记录", 1),
    ]


def test_an_old_page_export_address_gives_the_file_when_small_and_a_job_when_large(
    app, client, world, enrolment, built
):
    """As the page's button (POST /jobs/exports/…): never a long request; a wrong filter is
    refused first, whatever the size."""
    unit = app.test_client()
    sign_in(unit, world.logins["unit"])
    set_limit(app, -1)  # any export, even an empty one, would be a job
    bad = unit.get("/unit/members/export.xlsx?age_min=abc")
    assert bad.status_code == 422 and "年龄" in bad.get_data(as_text=True)
    bad = unit.get("/unit/learning/export.xlsx?status=已完成")
    assert bad.status_code == 422 and "学习状态" in bad.get_data(as_text=True)
    finance = app.test_client()
    sign_in(finance, world.logins["finance"])
    vague = finance.get("/finance/invoices/export.xlsx?unit=无此单位")
    assert vague.status_code == 422 and "无此单位" in vague.get_data(as_text=True)
    for who in ("unit", "finance"):
        jobs = client.get("/api/v1/jobs", headers=token_headers(client, world.logins[who]))
        assert jobs.get_json()["total"] == 0, who

    here = threading.get_ident()
    for who, url, kind, sheet, total in page_exports(world):
        browser = app.test_client()
        sign_in(browser, world.logins[who])
        set_limit(app, total)
        small = browser.get(url)
        assert small.status_code == 200, (url, small.status_code, small.data[:300])
        assert small.mimetype == XLSX_MIMETYPE
        assert len(rows_of(small.data)) == total, url
        assert built[-1] == (sheet, here)

        set_limit(app, total - 1)
        built.clear()
        headers = token_headers(client, world.logins[who])
        with job_runner(app):
            large = browser.get(url)
            assert large.status_code == 302, (url, large.status_code, large.mimetype)
            job_id = int(JOB_URL.search(large.headers["Location"]).group(1))
            assert (sheet, here) not in built, url  # not built in the request
            job = wait_for_job(client, headers, job_id)
        assert (job["kind"], job["status"], job["rows_total"]) == (kind, "succeeded", total)
        page = browser.get(f"/jobs/{job_id}")
        assert page.status_code == 200
        file = browser.get(f"/jobs/{job_id}/download")
        assert file.status_code == 200 and len(rows_of(file.data)) == total, url
