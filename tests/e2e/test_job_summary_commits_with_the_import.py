"""A background import's end — its status and its summary — commits with the import: the
status was written with the import's transaction and the summary in a second commit, so a
job page read between the two said 成功 and nothing of what was imported (seen once in CI),
and a worker that died between them left it so for good."""

from __future__ import annotations

import io

from conftest import token_headers
from jobs_support import job_runner, wait_for_job
from test_learning_records_pages_http import (
    HEADERS,
    JOB_URL,
    opened,
    signed_in,
    token_of,
    workbook,
)
from test_pages_http import text

from service.services.schedules import jobs


def test_an_import_job_reads_succeeded_only_with_its_summary(
    app, client, login, world, monkeypatch
):
    n, form = opened(app, client, login, world)
    page = signed_in(app, world.logins["association"])
    token = token_of(text(page.get("/learning-records/import")))
    association = token_headers(client, world.logins["association"])
    # the worker stops right after the import's own commit: its second commit never comes
    monkeypatch.setattr(jobs, "_succeed", lambda *args, **kwargs: None)
    with job_runner(app):
        right = workbook([HEADERS, [n, "罗建平", 24, "已通过", 2, form["business_key"]]])
        started = page.post(
            "/learning-records/import",
            data={"csrf_token": token, "file": (io.BytesIO(right), "学习记录.xlsx")},
        )
        job_id = int(JOB_URL.search(started.headers["Location"]).group(1))
        job = wait_for_job(client, association, job_id)
    assert (job["kind"], job["status"]) == ("learning_import", "succeeded")
    assert job["summary"] == {"received": 1, "updated": 1, "passed": 1, "failed": 0}
    assert "本次考试通过 1 人" in text(page.get(f"/jobs/{job_id}"))
