"""学习进度 and 导入学习记录 for those who record learning results (the association's
reviewers and the secretariat; everyone else gets the 404 page).

The list is every unit's learning tasks (GET /api/v1/learning-tasks for these roles) with
the unit's 学习进度 page's status panel, filters and paging, and the unit and form number
of each task besides. A task's 登记成绩 records one person's result through the same use case
as POST /api/v1/learning-records (its refusal at its field); 导入学习记录 uploads the learning
platform's Excel as the background job of POST /api/v1/learning-records/import-jobs, whose
page (service/web/jobs.py) shows its progress and, when it fails, the report per row.
"""

from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from werkzeug.datastructures import MultiDict

from service import worker
from service.domain.errors import Conflict, FormInvalid
from service.httputil import attachment
from service.services.documents import exports, learning_template
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.membership import learning_desk
from service.services.schedules import jobs
from service.services.workflow.scope import LEARNING_RECORDERS
from service.web import lists, unit
from service.web.assets import hours
from service.web.pages import ctx, safe_next, signed_in, uow

bp = Blueprint("learning_records", __name__, url_prefix="/learning-records")
RECORDERS = LEARNING_RECORDERS
DESK_ONLY = ("unit", "business_key")  # the unit page's filters (unit.LEARNING_FILTERS) and these
LABELS = {**unit.LEARNING_LABELS, "unit": "单位", "business_key": "单号"}
PANEL_KEYS = ("q", "unit", "business_key", "mobile", "process", "year", "opened_from", "opened_to")
NO_STORE = {"Cache-Control": "no-store"}


def _filters(args) -> tuple[dict, dict, dict]:
    """The unit page's filters, checked as it checks them, and the unit and form number."""
    rest = MultiDict((k, v) for k, v in args.items(multi=True) if k not in DESK_ONLY)
    filters, paging, errors = unit._learning_filters(rest)
    for name in DESK_ONLY:
        value = (args.get(name) or "").strip()
        if len(value) > 100:
            errors[name] = "不能超过100个字"
        elif value:
            filters[name] = value
    return filters, paging, errors


def _list_url() -> str:
    """Where a task's page returns to: the list it was opened from, else the whole list."""
    return safe_next(request.values.get("next"), url_for("learning_records.index"))


@bp.route("")
@signed_in(RECORDERS)
def index(who):
    """学习进度: every unit's learning tasks, by status, filtered, paged."""
    filters, paging, errors = _filters(request.args)
    listing = {"items": [], "total": 0, **paging}
    counts: dict[str, int] = {}
    if not errors:
        with uow() as u:
            listing = learning_desk.list_tasks(ctx(), u, who, **filters, **paging)
            counts = listing["counts"]  # by status, as count_tasks gives them
    for item in listing["items"]:
        item["category"] = exports.training_category(
            ctx(), item["process_key"], item["certificate_type"]
        )
    html = render_template(
        "learning_records/index.html",
        listing=listing,
        labels=LABELS,
        filters=request.args,
        errors=errors,
        statuses=unit.LEARNING_STATUSES,
        counts=counts,
        processes=unit._processes(),
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
        list_url=url_for("learning_records.index"),
        panel_keys=PANEL_KEYS,
        here=request.full_path.rstrip("?"),
    )
    return html, 422 if errors else 200


def _task_page(task: dict, values: dict, errors: dict, status: int = 200):
    html = render_template(
        "learning_records/task.html",
        t={
            **task,
            "category": exports.training_category(
                ctx(), task["process_key"], task["certificate_type"]
            ),
        },
        values=values,
        errors=errors,
        exam_statuses=learning_desk.EXAM_STATUSES,
        back=_list_url(),
    )
    return html, status, NO_STORE


@bp.route("/tasks/<int:task_id>")
@signed_in(RECORDERS)
def task(who, task_id):
    """登记成绩: one learning task and its result form (已完成学时, 考试状态, 考试次数)."""
    with uow() as u:
        found = learning_desk.get_task(ctx(), u, who, task_id)
    values = {
        "completed_hours": hours(found["completed_hours"]),
        "exam_status": found["exam_status"],
        "exam_attempts": found["exam_attempts"],
    }
    return _task_page(found, values, {})


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@signed_in(RECORDERS)
def record(who, task_id):
    """Record the result; back to the list with what it did, or the form with the refusal
    at its field (nothing recorded)."""
    values = {k: request.form.get(k, "") for k in learning_desk.RESULT_FIELDS}
    try:
        with uow() as u:
            done = learning_desk.record_result(ctx(), u, who, task_id, values)
    except (FormInvalid, Conflict) as exc:
        errors = exc.errors if isinstance(exc, FormInvalid) and exc.errors else {}
        errors = errors or {"_form": exc.message}
        with uow() as u:
            found = learning_desk.get_task(ctx(), u, who, task_id)
        return _task_page(found, values, errors, 409 if isinstance(exc, Conflict) else 422)
    t = done["task"]
    done_of = f"{hours(t['completed_hours'])}/{hours(t['required_hours'])}"
    flash(
        f"已登记{t['name']}（{t['business_key']}）的学习记录：已完成 {done_of} 学时，"
        f"考试{t['exam_attempts']}次，学习状态 {t['status']}",
        "success",
    )
    return redirect(_list_url())


@bp.route("/import")
@signed_in(RECORDERS)
def import_page(who):
    """导入学习记录: the columns, the template and the upload."""
    return _import_page({})


def _import_page(errors: dict, status: int = 200):
    html = render_template(
        "learning_records/import.html",
        columns=learning_template.columns(),
        errors=errors,
        max_mb=ctx().config.max_upload_bytes // (1024 * 1024),
    )
    return html, status


@bp.route("/import", methods=["POST"])
@signed_in(RECORDERS)
def start_import(who):
    """Start the import as a background job and go to its page (progress, then the outcome)."""
    upload = request.files.get("file")
    limit = ctx().config.max_upload_bytes
    content = upload.read(limit + 1) if upload is not None else b""
    if not content:
        return _import_page({"file": "请选择学习平台导出的 Excel 文件（.xlsx）"}, 422)
    if len(content) > limit:
        return _import_page({"file": f"文件超过 {limit // (1024 * 1024)}MB，未导入"}, 413)
    with uow() as u:
        job = jobs.submit(
            ctx(), u, who, "learning_import", {}, (upload.filename or "学习记录.xlsx", content)
        )
    worker.wake(current_app)
    return redirect(url_for("job_pages.detail", job_id=job["id"]))


@bp.route("/import-template.xlsx")
@signed_in(RECORDERS)
def template(who):
    """下载导入模板: the import's header row, nothing else."""
    return attachment(
        learning_template.import_template(),
        XLSX_MIMETYPE,
        learning_template.TEMPLATE_NAME,
        "learning-import-template.xlsx",
    )
