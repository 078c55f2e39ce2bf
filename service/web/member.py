"""个人会员's pages: 我的信息 (the record, memberships, certificates with their PDF, learning
with its deadlines) and a certificate's electronic PDF. Their applications are 我的业务
(the forms blueprint, which already keeps a member to their own)."""

from __future__ import annotations

from flask import Blueprint, render_template

from service.httputil import attachment
from service.services.documents import certificate_documents
from service.services.documents.exports import training_category
from service.services.membership import profile
from service.services.schedules import notifications
from service.web import nav
from service.web.pages import ctx, signed_in, uow

bp = Blueprint("member", __name__)
MAX_ATTEMPTS = 10  # exams may be tried ten times (FAQ 3.18)


@bp.route("/me")
@signed_in({"member"})
def profile_page(who):
    """我的信息."""
    c = ctx()
    with uow() as u:
        record = profile.my_record(c, u, who)
        unread = notifications.list_notifications(c, u, who, read=False, page_size=1)["unread"]
    names = {key: d.name for key, d in c.definitions.current.items()}
    for task in record["learning"]:
        task["category"] = training_category(c, task["process_key"], task["certificate_type"])
        task["process_name"] = names.get(task["process_key"], task["process_key"])
    return render_template(
        "member/profile.html",
        record=record,
        unread=unread,
        max_attempts=MAX_ATTEMPTS,
        own_businesses=nav.member_businesses(),
    )


@bp.route("/certificates/<int:certificate_id>/document.pdf")
@signed_in()
def certificate_pdf(who, certificate_id):
    """下载电子证: the holder, the holder's unit and the association (the use case decides)."""
    with uow() as u:
        name, pdf = certificate_documents.certificate_pdf(ctx(), u, who, certificate_id)
    return attachment(pdf, "application/pdf", name, f"certificate-{certificate_id}.pdf")
