"""问题反馈 (manual: 系统问题 → 问题反馈): units and members submit (提交反馈) and read their
own (我的反馈); the secretariat and the association's reviewers list all of it, open one,
reply and close. The same use cases as /api/v1/feedback."""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.domain.errors import Conflict, FormInvalid, TooManyRequests
from service.httputil import send_stored
from service.services.membership import feedback
from service.services.workflow.scope import FEEDBACK_HANDLERS, handles_feedback
from service.web import lists
from service.web.pages import ctx, signed_in, store_uploads, uow
from service.web.schemaform import UploadRefused

bp = Blueprint("feedback_pages", __name__, url_prefix="/feedback")
SUBMITTERS = frozenset({"unit_admin", "member"})
READERS = SUBMITTERS | FEEDBACK_HANDLERS
FIELDS = ("category", "title", "content", "business_key")


@bp.route("")
@signed_in(READERS)
def index(who):
    """我的反馈 (a unit's: the unit's) / 问题反馈 (the handlers: all), newest first."""
    filters, paging, errors = lists.parse(request.args, ("status", "category", "q"))
    listing = {"items": [], "total": 0, **paging}
    if not errors:
        try:
            with uow() as u:
                listing = feedback.list_feedback(ctx(), u, who, **filters, **paging)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    html = render_template(
        "feedback/index.html",
        listing=listing,
        filters=request.args,
        errors=errors,
        handler=handles_feedback(who),
        statuses=feedback.STATUSES,
        categories=feedback.CATEGORIES,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


def _stored_files(who, kept: list[str], errors: dict) -> list[str]:
    """The files chosen now, stored, after those kept from an earlier attempt."""
    chosen = [f for f in request.files.getlist("files") if f and f.filename]
    if len(kept) + len(chosen) > feedback.MAX_FILES:
        errors["files"] = (
            f"附件最多{feedback.MAX_FILES}个（已上传{len(kept)}个，又选择了{len(chosen)}个）："
            "请取消勾选不需要的已上传附件，或少选几个"
        )
        return kept
    store, ids = store_uploads(who), list(kept)
    for upload in chosen:
        try:
            ids.append(store("files", upload))
        except UploadRefused as exc:
            errors["files"] = f"{upload.filename}：{exc.message}"
    return ids


@bp.route("/new", methods=["GET", "POST"])
@signed_in(SUBMITTERS)
def new(who):
    """提交反馈: 问题类型, 标题, 问题描述, 相关业务单号, up to three screenshots or files."""
    values = {
        "category": request.args.get("category") or "",
        "business_key": request.args.get("business_key") or "",
    }
    errors: dict = {}
    file_ids: list[str] = []
    status = 200
    token = (request.form.get("idempotency_key") or "").strip()[:64] or uuid.uuid4().hex
    if request.method == "POST":
        values = {name: request.form.get(name, "") for name in FIELDS}
        with uow() as u:  # sent again (back, send again): the first one, nothing stored
            made = feedback.already_submitted(u, who, token)
        if made is not None:
            flash("该问题反馈已提交过，以下为已提交的反馈。", "info")
            return redirect(url_for("feedback_pages.detail", feedback_id=made["id"]))
        kept = [k for k in request.form.getlist("kept") if k][: feedback.MAX_FILES]
        file_ids = _stored_files(who, kept, errors)
        if not errors:
            try:
                with uow() as u:
                    made = feedback.submit_feedback(
                        ctx(), u, who, file_ids=file_ids, idempotency_key=token, **values
                    )
            except FormInvalid as exc:
                for name, message in (exc.errors or {"_form": exc.message}).items():
                    errors["files" if name.startswith("file_ids") else name] = message
            except TooManyRequests as exc:
                errors["_form"] = exc.message
                status = 429
            else:
                if made.get("replayed"):
                    flash("该问题反馈已提交过，以下为已提交的反馈。", "info")
                else:
                    flash("问题反馈已提交，协会回复后会发送系统通知。", "success")
                return redirect(url_for("feedback_pages.detail", feedback_id=made["id"]))
        status = status if status != 200 else 422 if errors else 200
    html = render_template(
        "feedback/new.html",
        values=values,
        errors=errors,
        kept=file_ids if errors else [],
        token=token,
        categories=feedback.CATEGORIES,
        limits={
            "title": feedback.MAX_TITLE,
            "content": feedback.MAX_CONTENT,
            "files": feedback.MAX_FILES,
        },
    )
    return html, status


def _detail(who, feedback_id: int, errors: dict | None = None, body: str = ""):
    with uow() as u:
        item = feedback.get_feedback(ctx(), u, who, feedback_id)
    html = render_template(
        "feedback/detail.html",
        item=item,
        errors=errors or {},
        body=body,
        limit=feedback.MAX_REPLY,
        handler=handles_feedback(who),
    )
    return html, 422 if errors else 200


@bp.route("/<int:feedback_id>")
@signed_in(READERS)
def detail(who, feedback_id):
    """一条问题反馈: its content, attachments and replies; the handlers' reply form."""
    return _detail(who, feedback_id)


@bp.route("/<int:feedback_id>/reply", methods=["POST"])
@signed_in(FEEDBACK_HANDLERS)
def reply(who, feedback_id):
    """回复: the submitter gets a 系统通知."""
    body = request.form.get("body", "")
    try:
        with uow() as u:
            feedback.reply_feedback(ctx(), u, who, feedback_id, body)
    except FormInvalid as exc:
        return _detail(who, feedback_id, exc.errors or {"body": exc.message}, body)
    except feedback.RepeatedReply as exc:
        flash(exc.message, "info")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash("已回复，提交人将收到系统通知。", "success")
    return redirect(url_for("feedback_pages.detail", feedback_id=feedback_id))


@bp.route("/<int:feedback_id>/close", methods=["POST"])
@signed_in(FEEDBACK_HANDLERS)
def close(who, feedback_id):
    """关闭."""
    try:
        with uow() as u:
            feedback.close_feedback(ctx(), u, who, feedback_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash("问题反馈已关闭。", "success")
    return redirect(url_for("feedback_pages.detail", feedback_id=feedback_id))


@bp.route("/<int:feedback_id>/files/<file_id>")
@signed_in(READERS)
def attachment(who, feedback_id, file_id):
    """An attachment of a feedback the person may read."""
    with uow() as u:
        meta, blob = feedback.open_attachment(ctx(), u, who, feedback_id, file_id)
    return send_stored(meta, blob.open())
