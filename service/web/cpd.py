"""注师继教周批次 for the association: each Tuesday's batch with its list (Excel), and the
Wednesday publication and Friday opening recorded when they happen (manual 2.11.2.2)."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.domain.errors import Conflict
from service.httputil import attachment
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.schedules import cpd_batches
from service.web import lists
from service.web.pages import ctx, signed_in, uow

bp = Blueprint("cpd", __name__, url_prefix="/cpd-batches")
READERS = frozenset({"association_reviewer", "secretariat_admin"})


@bp.route("")
@signed_in(READERS)
def batches(who):
    """The closed batches, newest cut-off first, with what has been recorded of each."""
    _filters, paging, errors = lists.parse(request.args, ())
    listing = {"items": [], "total": 0, "page": 1, "page_size": 20}
    with uow() as u:
        if not errors:
            listing = cpd_batches.list_batches(ctx(), u, who, **paging)
        coming = cpd_batches.coming_batch(ctx(), u, who)
    html = render_template(
        "cpd/batches.html",
        listing=listing,
        coming=coming,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


@bp.route("/<int:batch_id>/<any(publication, opening):step>", methods=["POST"])
@signed_in(READERS)
def record(who, batch_id: int, step: str):
    """记录已公布 / 记录已开通, then back to the list with what was sent."""
    act = cpd_batches.record_publication if step == "publication" else cpd_batches.record_opening
    try:
        with uow() as u:
            done = act(ctx(), u, who, batch_id)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        what = "公布名单" if step == "publication" else "开通学习"
        flash(f"已记录{what}，已通知 {done['notified']} 个账号（本人及所在单位）", "success")
    return redirect(url_for("cpd.batches"))


@bp.route("/<int:batch_id>/report.xlsx")
@signed_in(READERS)
def report(who, batch_id: int):
    """The batch's 注师继教报名名单."""
    with uow() as u:
        name, content = cpd_batches.batch_report(ctx(), u, who, batch_id)
    return attachment(content, XLSX_MIMETYPE, name, f"cpd-batch-{batch_id}.xlsx")
