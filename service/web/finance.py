"""协会财务's lists: 开票记录 (with its Excel export) and 缴费单 by state with counts.

The payment review itself (财务复核) is in the workbench. A unit may open 开票记录 too and
sees its own bills only (the use case keeps the scope).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from service.domain.errors import FormInvalid
from service.services.finance import invoices
from service.web import lists
from service.web.job_start import start_or_send
from service.web.pages import ctx, signed_in, uow

bp = Blueprint("finance", __name__, url_prefix="/finance")
FINANCE = frozenset({"finance_reviewer"})
INVOICE_FILTERS = ("receipt_from", "receipt_to", "unit", "q")


@bp.route("/invoices")
@signed_in(FINANCE | {"unit_admin"})
def invoices_page(who):
    """开票记录: 开票日期 range (this year by default), unit, receipt or form number."""
    filters, paging, errors = lists.parse(request.args, INVOICE_FILTERS)
    listing = {"items": [], "total": 0, "amount": "0.00", **paging}
    if not errors:
        try:
            with uow() as u:
                listing = invoices.list_invoices(ctx(), u, who, **filters, **paging)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    return _invoices(listing, errors)


def _invoices(listing: dict, errors: dict):
    html = render_template(
        "finance/invoices.html",
        listing=listing,
        filters=request.args,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


@bp.route("/invoices/export.xlsx")
@signed_in(FINANCE | {"unit_admin"})
def export_invoices(who):
    """导出开票记录 (开票记录.xlsx) with the list's filters (dates, unit, 票号 / 单号) in
    its order, newest first; a wrong filter is the list again with the field's message.

    The page's button posts to /jobs/exports/invoices; this address stays for links kept
    from before and does the same: the file at once up to MEMBERFLOW_JOB_SYNC_ROWS rows,
    else a background job and its page (never a long request)."""
    filters, _paging, errors = lists.parse(request.args, INVOICE_FILTERS)
    if not errors:
        try:
            start, end = invoices.receipt_range(
                ctx(), filters.get("receipt_from"), filters.get("receipt_to")
            )
            with uow() as u:
                invoices.check_unit_filter(u, filters.get("unit"))
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    if errors:
        listing = {"items": [], "total": 0, "amount": "0.00", "page": 1, "page_size": 20}
        return _invoices(listing, errors)
    params = {
        "receipt_from": start,
        "receipt_to": end,
        "unit": filters.get("unit"),  # as the list reads it: a name then or now
        "q": filters.get("q"),
    }
    return start_or_send(who, "bill_export", params)


@bp.route("/bills")
@signed_in(FINANCE)
def bills_page(who):
    """缴费单 by state: 未缴费, 待确认, 已确认, 已作废, each with its count."""
    filters, paging, errors = lists.parse(request.args, ("status", "q"))
    listing = {"items": [], "total": 0, "counts": {}, "all": 0, **paging}
    if not errors:
        try:
            with uow() as u:
                listing = invoices.list_bills(ctx(), u, who, **filters, **paging)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    if errors:  # nothing listed, but each state's count still says what there is
        with uow() as u:
            whole = invoices.list_bills(ctx(), u, who, page=1, page_size=1)
        listing.update(counts=whole["counts"], all=whole["all"])
    html = render_template(
        "finance/bills.html",
        listing=listing,
        states=invoices.STATES,
        filters=request.args,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200
