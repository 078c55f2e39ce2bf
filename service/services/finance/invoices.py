"""开票记录 and bills by state, as lists: what finance (and a unit, for its own) looks through.

The invoice list shows the rows the 开票记录 export writes (services.exports.export_bills):
bills finance confirmed, by receipt date, in the same default range (1 January to today).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, or_, select

from service.db.models import Bill, BillReceipt, ProcessInstance, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.services.documents.exports import ISSUED_TO, ISSUER, receipt_range, unit_named
from service.services.workflow.bills import (
    added_membership,
    number_is,
    receipt_or_form,
    receipts_by_bill,
)
from service.services.workflow.context import Context
from service.services.workflow.paging import page_of
from service.services.workflow.scope import records_in_scope

# a bill's states as finance names them; `paid` waits for finance to confirm it
STATES = {"unpaid": "未缴费", "paid": "待确认", "confirmed": "已确认", "void": "已作废"}


def _scope(actor: Actor) -> list:
    where = records_in_scope(actor, Bill.unit_id)
    if where is None:
        raise NotFound("没有可查看的缴费单")
    return where


def _names(ctx: Context) -> dict[str, str]:
    return {key: defn.name for key, defn in ctx.definitions.current.items()}


def list_invoices(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    receipt_from: date | None = None,
    receipt_to: date | None = None,
    unit: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """开票记录: the documents of confirmed bills (a row each: a bill with a support fee and
    a lapsed membership's fee has an 电子发票 and an 电子财政收据) with a receipt date in the
    range, newest first, with the range used and the total amount of every row (not just
    this page)."""
    start, end = receipt_range(ctx, receipt_from, receipt_to)
    conditions = [
        Bill.status == "confirmed",
        BillReceipt.receipt_date >= start,
        BillReceipt.receipt_date <= end,
        *_scope(actor),
        *unit_named(unit, issued=True),
    ]
    conditions.extend(receipt_or_form(q))
    base = (
        select(BillReceipt, Bill, ProcessInstance, ISSUED_TO.label("unit_name"))
        .join(Bill, Bill.id == BillReceipt.bill_id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(*conditions)
    )
    newest = base.order_by(BillReceipt.receipt_date.desc())
    total, rows = page_of(uow.session, newest, BillReceipt.id.desc(), page, page_size)
    amount = uow.session.scalar(
        select(func.coalesce(func.sum(BillReceipt.amount), 0))
        .select_from(BillReceipt)
        .join(Bill, Bill.id == BillReceipt.bill_id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(*conditions)
    )
    names = _names(ctx)
    items = [
        {
            "bill_id": bill.id,
            "instance_id": inst.id,
            "receipt_date": receipt.receipt_date,
            "unit_name": unit_name,
            "issuer": ISSUER,
            "receipt_serial": receipt.receipt_serial,
            "receipt_type": receipt.receipt_type,
            "receipt_code": receipt.receipt_code,
            "receipt_number": receipt.receipt_number,
            "business_key": inst.business_key,
            "process_name": names.get(inst.process_key, inst.process_key),
            "kind": receipt.fee_kind,
            "amount": f"{receipt.amount:.2f}",
            "payer": unit_name or inst.subject_name,
            "persons": inst.subject_name,
        }
        for receipt, bill, inst, unit_name in rows
    ]
    return {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "receipt_from": start,
        "receipt_to": end,
        "amount": f"{Decimal(str(amount)):.2f}",
    }


def check_unit_filter(uow: UnitOfWork, unit: str | None) -> None:
    """FormInvalid on `unit` when no unit has, or had on a document, a name holding it (nor
    that credit code): said before an export, which would otherwise be an empty file."""
    if not unit or not unit.strip():
        return
    text = unit.strip()
    issued_to = BillReceipt.payer_name.contains(text, autoescape=True)
    found = uow.session.scalar(select(Unit.id).where(*unit_named(text)).limit(1))
    if (
        found is None
        and uow.session.scalar(select(BillReceipt.id).where(issued_to).limit(1)) is None
    ):
        raise FormInvalid({"unit": f"没有名称包含“{unit.strip()}”的单位"})


def list_bills(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """缴费单 by state (未缴费, 待确认, 已确认, 已作废) with the count of each state; `q` is a
    form number, a receipt number or part of a unit's name."""
    if status is not None and status not in STATES:
        raise FormInvalid({"status": "缴费状态应为：" + "、".join(STATES.values())})
    conditions = list(_scope(actor))
    if q:
        text = q.strip()
        conditions.append(
            or_(
                ProcessInstance.business_key == text.upper(),
                Bill.id.in_(
                    select(BillReceipt.bill_id).where(number_is(BillReceipt.receipt_number, [text]))
                ),
                Unit.name.contains(text, autoescape=True),
            )
        )
    joined = (
        select(Bill.status, func.count())
        .select_from(Bill)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(*conditions)
        .group_by(Bill.status)
    )
    counts = {state: 0 for state in STATES}
    counts.update({state: n for state, n in uow.session.execute(joined)})
    stmt = (
        select(Bill, ProcessInstance, Unit.name.label("unit_name"))
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(*conditions)
    )
    if status:
        stmt = stmt.where(Bill.status == status)
    total, rows = page_of(uow.session, stmt, Bill.id.desc(), page, page_size)
    names = _names(ctx)
    rows = rows.all()
    receipts = receipts_by_bill(uow.session, [bill.id for bill, _inst, _unit in rows])
    items = [
        {
            "bill_id": bill.id,
            "instance_id": inst.id,
            "business_key": inst.business_key,
            "process_name": names.get(inst.process_key, inst.process_key),
            "unit_name": unit_name,
            "persons": inst.subject_name,
            "kind": bill.kind,
            "amount": f"{bill.amount:.2f}",
            "added_membership": added_membership(bill),
            "status": bill.status,
            "status_label": STATES.get(bill.status, bill.status),
            "created_at": bill.created_at,
            "paid_at": bill.paid_at,
            "confirmed_at": bill.confirmed_at,
            "receipt_type": bill.receipt_type,
            "receipt_number": _numbers(receipts.get(bill.id)) or bill.receipt_number,
            "receipts": receipts.get(bill.id, []),
        }
        for bill, inst, unit_name in rows
    ]
    return {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "counts": counts,
        "all": sum(counts.values()),
    }


def _numbers(receipts: list[dict] | None) -> str | None:
    """The numbers of a bill's documents, as one text (an 电子发票's and an 电子财政收据's)."""
    numbers = [r["receipt_number"] for r in receipts or [] if r["receipt_number"]]
    return "、".join(numbers) or None
