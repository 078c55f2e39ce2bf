"""系统通知: a signed-in person's own notices (any role), marked read one by one or all."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.services.membership import feedback
from service.services.schedules import cpd_batches, notifications
from service.web import lists
from service.web.pages import back_to, ctx, signed_in, uow

bp = Blueprint("notices", __name__, url_prefix="/notices")
READ_FILTER = {"": None, "unread": False, "read": True}
# the reminders the scheduler writes are 系统消息; anything a person's business sends is 业务消息
SYSTEM_KINDS = frozenset({notifications.CERTIFICATE_EXPIRY, notifications.MEMBERSHIP_EXPIRY})


# who a notice comes from (消息发起人): people of the association write these; the system
# writes every other (reminders, a form's progress)
SENDERS = {
    feedback.REPLY_KIND: "协会秘书处",
    cpd_batches.PUBLISHED: "协会",
    cpd_batches.OPENED: "协会",
}


def kind_label(kind: str) -> str:
    return "系统消息" if kind in SYSTEM_KINDS else "业务消息"


@bp.route("")
@signed_in()
def index(who):
    """序号, 已读, 消息类型, 发起时间, 消息发起人, 消息标题, 消息内容; filter 全部 / 未读 / 已读."""
    filters, paging, errors = lists.parse(request.args, ("read",))
    read = filters.get("read", "")
    if read not in READ_FILTER:
        errors["read"] = "应为 unread（未读）或 read（已读）"
    listing = {"items": [], "total": 0, "unread": 0, **paging}
    if not errors:
        with uow() as u:
            listing = notifications.list_notifications(
                ctx(), u, who, read=READ_FILTER[read], **paging
            )
    for n in listing["items"]:
        n["kind_label"] = kind_label(n["kind"])
        n["sender"] = SENDERS.get(n["kind"], "系统")
    html = render_template(
        "notices/index.html",
        listing=listing,
        read=read,
        filters=request.args,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


@bp.route("/<int:notification_id>/read", methods=["POST"])
@signed_in()
def mark_read(who, notification_id):
    """标为已读 (a notice of someone else's is the 404 page)."""
    with uow() as u:
        notifications.mark_read(ctx(), u, who, notification_id)
    return redirect(back_to(url_for("notices.index")))


@bp.route("/read-all", methods=["POST"])
@signed_in()
def mark_all_read(who):
    """全部标为已读."""
    with uow() as u:
        done = notifications.mark_all_read(ctx(), u, who)["updated"]
    flash(f"已将{done}条通知标为已读" if done else "没有未读的通知", "success")
    return redirect(back_to(url_for("notices.index")))
