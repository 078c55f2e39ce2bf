"""A page's export or batch download: the file at once when it is small, else a background
job and the browser sent to its page (service/web/jobs.py shows its progress)."""

from __future__ import annotations

from flask import current_app, redirect, url_for

from service import worker
from service.httputil import attachment
from service.services.schedules import jobs
from service.web.pages import ctx, uow

# the ASCII file name a browser without UTF-8 file names gets, per kind of job
FALLBACK = {
    "member_archive_export": "member-archive.xlsx",
    "bill_export": "invoice-records.xlsx",
    "enrolment_export": "enrolments.xlsx",
    "learning_export": "learning-progress.xlsx",
    "certificate_zip": "certificates.zip",
    "learning_import": "learning-import.xlsx",
}


def send(outcome, kind: str):
    """A job's file (run now, or done) as a download."""
    return attachment(outcome.content, outcome.content_type, outcome.name, FALLBACK[kind])


def start_or_send(who, kind: str, params: dict):
    """The file at once up to MEMBERFLOW_JOB_SYNC_ROWS rows; else a job, and its page."""
    c = ctx()
    with uow() as u:
        try:
            return send(jobs.run_now(c, u, who, kind, params, c.config.job_sync_rows), kind)
        except jobs.TooLong:
            u.rollback()
        job = jobs.submit(c, u, who, kind, params)
    worker.wake(current_app)
    return redirect(url_for("job_pages.detail", job_id=job["id"]))
