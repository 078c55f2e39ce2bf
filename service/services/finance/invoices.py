"""开票记录 and bills by state, as lists: what finance (and a unit, for its own) looks through.

The invoice list shows the rows the 开票记录 export writes (services.exports.export_bills):
bills finance confirmed, by receipt date, in the same default range (1 January to today).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, select, union_all

from service.db.models import Bill, BillReceipt, ProcessInstance, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.services.documents.exports import ISSUED_TO, ISSUER, receipt_range, unit_named
from service.services.workflow.bills import (
    added_membership,
    number_is,
    receipts_by_bill,
)
from service.services.workflow.context import Context
from service.services.workflow.paging import rows_of_page
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
    conditions.extend(_documents_found(q))
    # the total and the amount in one pass over the documents and their bills, the units
    # joined only for the unit filter, which reads them (a bill has one unit)
    counted = (
        select(func.count(), func.coalesce(func.sum(BillReceipt.amount), 0))
        .select_from(BillReceipt)
        .join(Bill, Bill.id == BillReceipt.bill_id)
    )
    if unit and unit.strip():
        counted = counted.outerjoin(Unit, Unit.id == Bill.unit_id)
    total, amount = uow.session.execute(counted.where(*conditions)).one()
    shown = (
        select(
            BillReceipt.receipt_date,
            BillReceipt.receipt_serial,
            BillReceipt.receipt_type,
            BillReceipt.receipt_code,
            BillReceipt.receipt_number,
            BillReceipt.fee_kind,
            BillReceipt.amount,
            Bill.id.label("bill_id"),
            Bill.instance_id,
            ProcessInstance.business_key,
            ProcessInstance.process_key,
            ProcessInstance.subject_name,
            ISSUED_TO.label("unit_name"),
        )
        .select_from(BillReceipt)
        .join(Bill, Bill.id == BillReceipt.bill_id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(*conditions)
        .order_by(BillReceipt.receipt_date.desc())
    )
    rows = rows_of_page(uow.session, shown, BillReceipt.id.desc(), page, page_size)
    names = _names(ctx)
    items = [
        {
            "bill_id": r.bill_id,
            "instance_id": r.instance_id,
            "receipt_date": r.receipt_date,
            "unit_name": r.unit_name,
            "issuer": ISSUER,
            "receipt_serial": r.receipt_serial,
            "receipt_type": r.receipt_type,
            "receipt_code": r.receipt_code,
            "receipt_number": r.receipt_number,
            "business_key": r.business_key,
            "process_name": names.get(r.process_key, r.process_key),
            "kind": r.fee_kind,
            "amount": f"{r.amount:.2f}",
            "payer": r.unit_name or r.subject_name,
            "persons": r.subject_name,
        }
        for r in rows
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


def _documents_found(q: str | None) -> list:
    """The search of `bills.receipt_or_form` (the export's): a document's 票号 or its form's
    number, either in any letter case; none for an empty search. As the documents each
    finds by its own index, so that a search reads the few documents it names, not every
    document of the range joined to its form."""
    if not q or not q.strip():
        return []
    typed = q.strip()
    by_number = select(BillReceipt.id).where(number_is(BillReceipt.receipt_number, [typed]))
    of_form = (
        select(BillReceipt.id)
        .join(Bill, Bill.id == BillReceipt.bill_id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .where(ProcessInstance.business_key == typed.upper())
    )
    return [BillReceipt.id.in_(union_all(by_number, of_form))]


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
        conditions.append(Bill.id.in_(_bills_found(q.strip())))
    # each state's count, over the bills alone, and the total from them
    by_state = select(Bill.status, func.count()).select_from(Bill).where(*conditions)
    counts = {state: 0 for state in STATES}
    counts.update(uow.session.execute(by_state.group_by(Bill.status)).all())
    total = counts.get(status, 0) if status else sum(counts.values())
    stmt = (
        select(
            Bill.id,
            Bill.instance_id,
            Bill.kind,
            Bill.amount,
            Bill.membership_amount,
            Bill.status,
            Bill.created_at,
            Bill.paid_at,
            Bill.confirmed_at,
            Bill.receipt_type,
            Bill.receipt_number,
            ProcessInstance.business_key,
            ProcessInstance.process_key,
            ProcessInstance.subject_name,
            Unit.name.label("unit_name"),
        )
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(*conditions)
    )
    if status:
        stmt = stmt.where(Bill.status == status)
    rows = rows_of_page(uow.session, stmt, Bill.id.desc(), page, page_size).all()
    names = _names(ctx)
    receipts = receipts_by_bill(uow.session, [bill.id for bill in rows])
    items = [
        {
            "bill_id": bill.id,
            "instance_id": bill.instance_id,
            "business_key": bill.business_key,
            "process_name": names.get(bill.process_key, bill.process_key),
            "unit_name": bill.unit_name,
            "persons": bill.subject_name,
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
        for bill in rows
    ]
    return {
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
        "counts": counts,
        "all": sum(counts.values()),
    }


def _bills_found(text: str):
    """The bills a search of the list finds: by its form's number, one of its documents'
    票号 (either in any letter case) or part of its unit's name, each part by its own index
    (a bill has its form, and one unit)."""
    return union_all(
        select(Bill.id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .where(ProcessInstance.business_key == text.upper()),
        select(BillReceipt.bill_id).where(number_is(BillReceipt.receipt_number, [text])),
        select(Bill.id)
        .join(Unit, Unit.id == Bill.unit_id)
        .where(Unit.name.contains(text, autoescape=True)),
    )


def _numbers(receipts: list[dict] | None) -> str | None:
    """The numbers of a bill's documents, as one text (an 电子发票's and an 电子财政收据's)."""
    numbers = [r["receipt_number"] for r in receipts or [] if r["receipt_number"]]
    return "、".join(numbers) or None
