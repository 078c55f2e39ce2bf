"""The pages' exports over HTTP on both databases: a small export downloads at once, a large
one becomes a background job whose page shows its progress and then the file; the job
page works without JavaScript (a meta refresh), belongs to its owner only, and says when
the file has expired (410)."""

from __future__ import annotations

import io
import re
from datetime import timedelta

from conftest import token_headers
from jobs_support import job_runner, seed_members, wait_for_job
from openpyxl import load_workbook

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
JOB_URL = re.compile(r"/jobs/(\d+)$")


def text(reply) -> str:
    return reply.get_data(as_text=True)


def csrf(client, path: str = "/login") -> str:
    return TOKEN.search(text(client.get(path))).group(1)


def sign_in(client, username: str) -> None:
    reply = client.post(
        "/login", data={"username": username, "password": "secret123", "csrf_token": csrf(client)}
    )
    assert reply.status_code == 302, text(reply)[:300]


def export(client, **filters):
    token = csrf(client, "/unit/members")
    return client.post("/jobs/exports/archive", data={"csrf_token": token, **filters})


def test_a_small_export_downloads_at_once_and_a_large_one_becomes_a_job(app, client, world):
    app.extensions["memberflow"].config.job_sync_rows = 50
    seed_members(app, world.unit_id, 60)
    sign_in(client, world.logins["unit"])
    page = text(client.get("/unit/members"))
    assert 'action="/jobs/exports/archive"' in page  # the archive's export button

    small = export(client, q="王建国")
    assert small.status_code == 200
    assert small.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(io.BytesIO(small.data)).worksheets[0].iter_rows(values_only=True))
    assert len(rows) > 1 and all(r[3] == "王建国" for r in rows[1:])

    with job_runner(app):
        large = export(client)
        assert large.status_code == 302, text(large)[:300]
        job_id = int(JOB_URL.search(large.headers["Location"]).group(1))
        first = client.get(f"/jobs/{job_id}")
        assert first.status_code == 200 and first.headers["Cache-Control"] == "no-store"
        html = text(first)
        assert "单位人员档案导出" in html and '<progress id="job-' in html
        if 'data-finished="0"' in html:  # still running: the page reloads itself without JS
            assert '<noscript><meta http-equiv="refresh" content="2"></noscript>' in html
        unit = token_headers(client, world.logins["unit"])
        assert wait_for_job(client, unit, job_id)["status"] == "succeeded"
    done = text(client.get(f"/jobs/{job_id}"))
    assert 'value="100"' in done and "已处理 <strong>60</strong> / 60 行" in done
    assert "http-equiv" not in done and "下载 单位人员档案导出表.xlsx" in done
    partial = text(client.get(f"/jobs/{job_id}/progress"))
    assert partial.lstrip().startswith('<div class="job-progress s-succeeded"')
    assert 'data-finished="1"' in partial
    listed = text(client.get("/jobs"))
    assert f'href="/jobs/{job_id}"' in listed and "已完成" in listed

    file = client.get(f"/jobs/{job_id}/download")
    assert file.status_code == 200
    assert len(list(load_workbook(io.BytesIO(file.data)).worksheets[0].iter_rows())) == 61

    ctx = app.extensions["memberflow"]
    saved, later = ctx.clock, ctx.now() + timedelta(days=1, minutes=1)
    ctx.clock = lambda: later
    try:
        gone = client.get(f"/jobs/{job_id}/download")
        assert gone.status_code == 410
        assert "结果文件只保留一天，已过期，请重新导出" in text(gone)
        assert "已过期" in text(client.get(f"/jobs/{job_id}"))
    finally:
        ctx.clock = saved

    other = app.test_client()
    sign_in(other, world.logins["other_unit"])
    for path in (f"/jobs/{job_id}", f"/jobs/{job_id}/progress", f"/jobs/{job_id}/download"):
        assert other.get(path).status_code == 404, path
    assert f"/jobs/{job_id}" not in text(other.get("/jobs"))


def test_export_forms_need_their_csrf_token_and_good_filters(app, client, world):
    sign_in(client, world.logins["unit"])
    assert client.post("/jobs/exports/archive", data={}).status_code == 400
    bad = export(client, age_min="abc")
    assert bad.status_code == 422 and "年龄" in text(bad)
    reviewer = app.test_client()
    sign_in(reviewer, world.logins["agency"])
    token = csrf(reviewer, "/jobs")
    refused = reviewer.post("/jobs/exports/archive", data={"csrf_token": token})
    assert refused.status_code == 404


def test_a_failed_job_page_says_why_and_offers_to_run_it_again(app, client, world):
    association = token_headers(client, world.logins["association"])
    with job_runner(app):
        started = client.post(
            "/api/v1/learning-records/import-jobs",
            headers=association,
            data={"file": (io.BytesIO(b"not a workbook"), "学习记录.xlsx")},
        )
        job_id = started.get_json()["id"]
        assert wait_for_job(client, association, job_id)["status"] == "failed"
        sign_in(client, world.logins["association"])
        html = text(client.get(f"/jobs/{job_id}"))
        assert "任务失败：" in html and "不是有效的 Excel 文件（.xlsx），未导入任何记录" in html
        assert "上传的文件" in html and "学习记录.xlsx" in html
        # the upload's field is named as the page names it; a failed job says just 失败
        assert (
            "<li>上传的文件：不是有效的 Excel 文件（.xlsx）</li>" in html and "file：" not in html
        )
        assert "正在准备" not in html
        assert f'action="/jobs/{job_id}/retry"' in html and "http-equiv" not in html
        token = TOKEN.search(html).group(1)
        again = client.post(f"/jobs/{job_id}/retry", data={"csrf_token": token})
        assert again.status_code == 302 and again.headers["Location"].endswith(f"/jobs/{job_id}")
        assert wait_for_job(client, association, job_id)["attempts"] == 2
    admin = app.test_client()
    sign_in(admin, world.logins["admin"])
    seen = text(admin.get(f"/jobs/{job_id}"))  # the secretariat sees it, may not run it
    assert "任务失败：" in seen and "/retry" not in seen


def test_the_invoice_learning_and_certificate_buttons_start_jobs_too(app, client, world):
    app.extensions["memberflow"].config.job_sync_rows = -1  # every export is a job, even empty
    sign_in(client, world.logins["finance"])
    page = text(client.get("/finance/invoices"))
    assert 'action="/jobs/exports/invoices"' in page
    token = TOKEN.search(page).group(1)
    vague = client.post("/jobs/exports/invoices", data={"csrf_token": token, "unit": "不存在"})
    assert vague.status_code == 422 and "没有名称包含“不存在”的单位" in text(vague)
    finance = token_headers(client, world.logins["finance"])
    with job_runner(app):
        started = client.post(
            "/jobs/exports/invoices", data={"csrf_token": token, "receipt_from": "2026-01-01"}
        )
        assert started.status_code == 302, text(started)[:300]
        job_id = int(JOB_URL.search(started.headers["Location"]).group(1))
        job = wait_for_job(client, finance, job_id)
        assert job["kind"] == "bill_export" and job["status"] == "succeeded"

        unit_client = app.test_client()
        sign_in(unit_client, world.logins["unit"])
        learning = text(unit_client.get("/unit/learning"))
        assert 'action="/jobs/exports/learning"' in learning
        token = TOKEN.search(learning).group(1)
        started = unit_client.post(
            "/jobs/exports/learning", data={"csrf_token": token, "status": "学习中"}
        )
        assert started.status_code == 302, text(started)[:300]
        job_id = int(JOB_URL.search(started.headers["Location"]).group(1))
        unit = token_headers(client, world.logins["unit"])
        assert wait_for_job(client, unit, job_id)["kind"] == "learning_export"
    certificates = text(unit_client.get("/unit/certificates"))
    assert 'action="/jobs/certificates"' in certificates
    none = unit_client.post("/jobs/certificates", data={"csrf_token": token, "scope": "ticked"})
    assert none.status_code == 302 and none.headers["Location"].endswith("/unit/certificates")


def test_a_waiting_job_s_note_is_on_its_own_page_not_on_the_jobs_list(app, client, world):
    """ "可以离开本页，完成后在“后台任务”中查看结果" helps on a job's own page; on the jobs list
    (and in the box the list refreshes) it would send a person to where they are. On
    PostgreSQL nothing runs the job here (no worker), so it waits throughout; on SQLite the
    app's own worker thread may finish it meanwhile, and a finished job has no note."""
    app.extensions["memberflow"].config.job_sync_rows = 50
    seed_members(app, world.unit_id, 60)
    sign_in(client, world.logins["unit"])
    queued = export(client)
    job_id = int(JOB_URL.search(queued.headers["Location"]).group(1))
    waits = app.extensions["memberflow"].config.database_url.startswith("postgresql")
    note = "可以离开本页"
    listed = text(client.get("/jobs"))
    assert f'href="/jobs/{job_id}"' in listed and note not in listed
    assert f"/jobs/{job_id}/progress?listed=1" in listed
    assert note not in text(client.get(f"/jobs/{job_id}/progress?listed=1"))
    for own in (f"/jobs/{job_id}", f"/jobs/{job_id}/progress"):
        html = text(client.get(own))
        if waits or 'data-finished="0"' in html:
            assert note in html, own
