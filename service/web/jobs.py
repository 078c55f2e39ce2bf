"""后台任务: the pages' exports that are too large for one request, and their progress.

An export button posts its list's filters here. Up to MEMBERFLOW_JOB_SYNC_ROWS rows
(default 1000; a certificate counts as 50) the file comes back at once, as before; a larger
one becomes a background job and the browser goes to the job's page: a progress bar with
rows done and percent, server-drawn. Without JavaScript the page reloads itself every two
seconds (a meta refresh inside <noscript>); with it, app.js fetches the bar alone
(`/jobs/<id>/progress`) and swaps it in. When the job is done the page offers the file,
for a day.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from service import worker
from service.domain.errors import FormInvalid, Gone
from service.domain.person_facts import CERTIFICATE_TYPES
from service.httputil import attachment
from service.services.documents import certificate_documents
from service.services.finance import invoices
from service.services.membership import records
from service.services.schedules import jobs
from service.web import job_start, lists, unit
from service.web.job_start import start_or_send
from service.web.pages import back_to, ctx, signed_in, uow

bp = Blueprint("job_pages", __name__, url_prefix="/jobs")
UNIT = frozenset({"unit_admin"})
INVOICES = frozenset({"finance_reviewer", "unit_admin"})
NO_STORE = {"Cache-Control": "no-store"}


def _form(exclude=("csrf_token", "page", "page_size")) -> MultiDict:
    return MultiDict((k, v) for k, v in request.form.items(multi=True) if k not in exclude)


def _refused(errors: dict, labels: dict):
    named = {k: f"{labels[k]}：{v}" if k in labels else v for k, v in errors.items()}
    raise FormInvalid(named, "筛选条件有误，未导出")


@bp.route("/exports/archive", methods=["POST"])
@signed_in(UNIT)
def export_archive(who):
    """导出单位人员档案 with the list's filters."""
    filters, paging, errors = unit._archive_filters(_form())
    if errors:
        _refused(errors, unit.ARCHIVE_LABELS)
    params = {"unit_id": who.unit_id, **filters, "sort": paging["sort"]}  # in the list's order
    return start_or_send(who, "member_archive_export", params)


@bp.route("/exports/learning", methods=["POST"])
@signed_in(UNIT)
def export_learning(who):
    """导出学习进度 with the list's filters."""
    filters, _paging, errors = unit._learning_filters(_form())
    if errors:
        _refused(errors, unit.LEARNING_LABELS)
    return start_or_send(who, "learning_export", filters)


@bp.route("/exports/invoices", methods=["POST"])
@signed_in(INVOICES)
def export_invoices(who):
    """导出开票记录 with the list's filters: dates, unit and 票号 / 单号."""
    filters, _paging, errors = lists.parse(_form(), ("receipt_from", "receipt_to", "unit", "q"))
    if errors:
        _refused(errors, {"receipt_from": "开票日期", "receipt_to": "开票日期", "unit": "单位"})
    start, end = invoices.receipt_range(
        ctx(), filters.get("receipt_from"), filters.get("receipt_to")
    )
    with uow() as u:
        try:
            invoices.check_unit_filter(u, filters.get("unit"))
        except FormInvalid as exc:
            _refused(exc.errors or {}, {"unit": "单位"})
    # the unit as the list reads it: part of a name it had then or has now, or its credit code
    params = {
        "receipt_from": start,
        "receipt_to": end,
        "unit": filters.get("unit"),
        "q": filters.get("q"),
    }
    return start_or_send(who, "bill_export", params)


@bp.route("/certificates", methods=["POST"])
@signed_in(UNIT)
def certificates(who):
    """批量下载证书: the ticked members (or this page's, or every page's the list's filters
    find) in one zip."""
    scope = request.form.get("scope")
    # a list filtered by 证书类型 downloads that type alone, whichever button
    kind = request.form.get("certificate_type") or None
    if kind not in (None, *CERTIFICATE_TYPES):
        flash("证书类型有误，请刷新页面后重试", "error")
        return redirect(back_to(url_for("unit.certificates")))
    if scope == "all":
        found = _all_found(who, kind)
        if isinstance(found, str):
            flash(found, "error")
            return redirect(back_to(url_for("unit.certificates")))
        ids = found
    else:
        ids = unit._member_ids(
            request.form.getlist("page_member_ids" if scope == "page" else "member_ids")
        )
    if not ids:
        flash("请先勾选要下载证书的人员", "error")
        return redirect(back_to(url_for("unit.certificates")))
    params = {"unit_id": who.unit_id, "member_ids": ids}
    if kind:
        params["certificate_type"] = kind
    return start_or_send(who, "certificate_zip", params)


def _all_found(who, kind: str | None) -> list[int] | str:
    """The members 电子证书 finds with the filters the page sent, or why not (too many)."""
    if len(request.form.get("q") or "") > lists.MAX_TEXT:
        return f"查询内容过长：最多{lists.MAX_TEXT}个字"
    with uow() as u:
        ids = records.certificate_member_ids(u, who, kind, request.form.get("q") or None)
    if len(ids) > certificate_documents.MAX_BATCH:
        return (
            f"筛选结果共{len(ids)}人，超过每次最多{certificate_documents.MAX_BATCH}人："
            "请按证书类型或姓名缩小范围后分批下载"
        )
    return ids


@bp.route("")
@signed_in()
def index(who):
    """后台任务: the person's jobs, newest first, each with its progress."""
    _filters, paging, errors = lists.parse(request.args, ())
    listing = {"items": [], "total": 0, **paging}
    if not errors:
        with uow() as u:
            listing = jobs.list_jobs(ctx(), u, who, **paging)
    running = any(j["status"] in (jobs.QUEUED, jobs.RUNNING) for j in listing["items"])
    html = render_template(
        "jobs/index.html",
        listing=listing,
        errors=errors,
        refresh=running,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200, NO_STORE


@bp.route("/<int:job_id>")
@signed_in()
def detail(who, job_id):
    """One job: its progress bar, then the download (or why it failed)."""
    with uow() as u:
        job = jobs.get_job(ctx(), u, who, job_id)
    return _detail(job)


def _detail(job: dict, status: int = 200, gone: str | None = None):
    html = render_template(
        "jobs/detail.html",
        job=job,
        refresh=job["status"] in (jobs.QUEUED, jobs.RUNNING),
        gone=gone,
    )
    return html, status, NO_STORE


@bp.route("/<int:job_id>/progress")
@signed_in()
def progress(who, job_id):
    """The progress bar alone (app.js swaps it in while the job runs)."""
    with uow() as u:
        job = jobs.get_job(ctx(), u, who, job_id)
    listed = request.args.get("listed") == "1"  # a box of the jobs list, not a job's page
    return render_template("jobs/_progress.html", job=job, listed=listed), 200, NO_STORE


@bp.route("/<int:job_id>/download")
@signed_in()
def download(who, job_id):
    """The result file, for a day; afterwards the job's page says it has expired (410)."""
    c = ctx()
    with uow() as u:
        try:
            meta, blob = jobs.result(c, u, who, job_id)
        except Gone as exc:
            return _detail(jobs.get_job(c, u, who, job_id), 410, exc.message)
        kind = jobs.get_job(c, u, who, job_id)["kind"]
    return attachment(blob.read(), meta["content_type"], meta["name"], job_start.FALLBACK[kind])


@bp.route("/<int:job_id>/retry", methods=["POST"])
@signed_in()
def retry(who, job_id):
    """重新执行 a failed job."""
    with uow() as u:
        jobs.retry(ctx(), u, who, job_id)
    worker.wake(current_app)
    flash("已重新开始执行", "success")
    return redirect(url_for("job_pages.detail", job_id=job_id))
