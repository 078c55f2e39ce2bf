"""Bills (缴费单): one per form, opened where the diagram says the unit pays.

A user task with property `bill` = `pay` opens (or re-opens) the form's bill when it
becomes ready and marks it paid, with the voucher, when the unit completes it; `confirm`
on the finance task confirms it with the receipt when finance approves.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import bindparam, delete, func, insert, or_, select, text, update
from sqlalchemy.orm import Session

from service.db.models import (
    Bill,
    BillReceipt,
    Member,
    Membership,
    ProcessInstance,
    Unit,
    UserTask,
)
from service.db.uow import Later, insert_statement, write
from service.domain.actor import Actor
from service.domain.errors import FormInvalid
from service.domain.person_facts import ORDINARY, membership_until
from service.engine import Definition
from service.services.workflow.context import SHANGHAI

# 电子财政收据 for membership fees, 电子发票 for education support fees (DOMAIN.md); a
# support fee billed with a lapsed membership's fee takes both
FISCAL = "电子财政收据"
RECEIPT_TYPES = {
    "个人会员费": FISCAL,
    "单位会员费": FISCAL,
    "会员教育辅助费": "电子发票",
}
# as finance's list of bills (finance/invoices.STATES) says them, from the payer's side
STATUS_LABELS = {
    "unpaid": "未缴费",
    "paid": "已缴费，待财务确认",
    "confirmed": "财务已确认",
    "void": "已作废",
}


# the documents finance registers when it confirms a bill (forms/common.schema.json's
# receipt and membership_receipt): the bill's own (`receipt_…`, the receipt its kind takes)
# and, for a support fee billed with a lapsed membership's fee, the membership fee's
# 电子财政收据 (`membership_receipt_…`); each of number, date, 票据代码 and 票据编码. The
# bill's documents keep them (`BillReceipt`), and a return registers none
RECEIPT_PARTS = ("receipt_number", "receipt_date", "receipt_code", "receipt_serial")
MEMBERSHIP = "membership_"
RECEIPT_FIELDS = (*RECEIPT_PARTS, *(MEMBERSHIP + k for k in RECEIPT_PARTS))
RECEIPT_DATES = ("receipt_date", MEMBERSHIP + "receipt_date")
# no electronic invoice or fiscal receipt is older (a date before is a mistyped year)
RECEIPT_EARLIEST = date(2000, 1, 1)
# the fee kind of the membership fee added to a support fee (an education's persons)
ADDED_MEMBERSHIP = "个人会员费"


@dataclass(frozen=True)
class Document:
    """One document a bill needs: `prefix` names its fields on finance's form."""

    prefix: str
    receipt_type: str
    fee_kind: str
    amount: Decimal


def documents_of(kind: str, amount, membership) -> list[Document]:
    """The documents a bill of `kind` needs (manual §3.5): a membership fee's 电子财政收据,
    a support fee's 电子发票; a support fee billed with a lapsed membership's fee (its
    `membership` part) takes both, each of its own part of the amount."""
    amount, membership = _money(amount), _money(membership)
    own = RECEIPT_TYPES.get(kind, "电子发票")
    if own == FISCAL or membership <= 0:
        return [Document("", own, kind, amount)]
    return [
        Document("", own, kind, amount - membership),
        Document(MEMBERSHIP, FISCAL, ADDED_MEMBERSHIP, membership),
    ]


def receipt_checked(
    payload: dict, role: str | None, fields, today: date, submitted: datetime | None = None
) -> dict:
    """The confirming step's form as it applies: a return keeps no receipt (the bill is
    unpaid again, and its next confirmation registers its own), so the form's receipt
    fields are emptied, a stale one included; an approval's receipts may be dated neither
    after today nor before `RECEIPT_EARLIEST` (a mistyped year, such as 0001, kept the
    receipt out of every 开票记录 of its year) nor before the Shanghai day the form was
    `submitted` (naive UTC: its ProcessInstance.submitted_at), which its payment follows."""
    if role != "confirm":
        return payload
    if payload.get("decision") == "return":
        return {**payload, **{k: None for k in RECEIPT_FIELDS if k in fields}}
    filed = (submitted + SHANGHAI).date() if submitted is not None else None
    wrong = {}
    for name in RECEIPT_DATES:
        issued = payload.get(name)
        if not isinstance(issued, str):
            continue
        try:
            day = date.fromisoformat(issued)
        except ValueError:  # the form's own format check has its say
            continue
        if day > today:
            wrong[name] = f"开票日期不能晚于今天（{today.isoformat()}）"
        elif day < RECEIPT_EARLIEST:
            earliest = RECEIPT_EARLIEST.isoformat()
            wrong[name] = f"开票日期不能早于 {earliest}，请核对年份"
        elif filed is not None and day < filed:
            wrong[name] = f"开票日期不能早于表单提交日期（{filed.isoformat()}）"
    if _same_number(payload):
        wrong[MEMBERSHIP + "receipt_number"] = (
            "电子财政收据与电子发票是两张票据，票号不能相同，请核对"
        )
    if wrong:
        raise FormInvalid(wrong)
    return payload


def _same_number(payload: dict) -> bool:
    """Whether the bill's two documents (its support fees' and its membership fees') were
    given one 票号 under one 票据代码, or where either has none: as a number another form's
    bill holds is refused (`refuse_used`)."""
    numbers = [payload.get(prefix + "receipt_number") for prefix in ("", MEMBERSHIP)]
    if not all(isinstance(n, str) and n.strip() for n in numbers):
        return False
    if folded(numbers[0]) != folded(numbers[1]):
        return False
    codes = [payload.get(prefix + "receipt_code") for prefix in ("", MEMBERSHIP)]
    return not (all(codes) and folded(str(codes[0])) != folded(str(codes[1])))


def folded(number: str) -> str:
    """A receipt number (or 票据代码) as compared: without its outer spaces, in capitals.
    `GDCZ2026000002` and `gdcz2026000002` are one document (a number is kept as typed)."""
    return number.strip().upper()


def number_is(column, numbers: list[str]):
    """The condition that `column` holds one of the (typed) receipt `numbers` in any letter
    case: as typed, or folded (SQL's upper() on both sides; SQLite folds ASCII letters only,
    so the first term still finds a number with other letters as it was typed)."""
    typed = sorted({n.strip() for n in numbers})
    return or_(column.in_(typed), func.upper(column).in_(sorted({folded(n) for n in typed})))


def _money(value) -> Decimal:
    try:
        return Decimal(str(value or "0")).quantize(Decimal("0.01"))
    except ArithmeticError:
        return Decimal("0.00")


def bill_of(session: Session, instance_id: int) -> Bill | None:
    return session.scalars(select(Bill).where(Bill.instance_id == instance_id)).first()


def open_bill(
    session: Session,
    row: ProcessInstance,
    defn: Definition,
    data: dict,
    now: datetime,
    later: Later | None = None,
) -> None:
    """Open the form's bill (or re-open it after a return) with the amount the rules set:
    one statement, run now or kept in `later` for the COMMIT. A re-opened bill keeps its
    id, unit and creation time; everything else starts again, unpaid."""
    lines = [dict(line) for line in data.get("fee_lines") or [] if isinstance(line, dict)]
    if lines:
        amount = _money(data.get("fee_total"))
        membership = sum((_money(x.get("membership_fee")) for x in lines), Decimal("0.00"))
    else:  # a single fee for the form (the join's membership fee, a unit's 单位会费)
        amount = _money(data.get("fee_total") or data.get("fee_amount"))
        fiscal = RECEIPT_TYPES.get(defn.bill_kind or "") == FISCAL  # a membership fee
        membership = amount if fiscal else Decimal("0.00")
    kind = defn.bill_kind or "个人会员费"
    receipt = RECEIPT_TYPES.get(kind, "电子发票")
    if membership and receipt != FISCAL:  # a lapsed membership's fee added: two receipts
        receipt = f"{receipt}、{FISCAL}"
    values = {
        "instance_id": row.id,
        "unit_id": row.unit_id,
        "kind": kind,
        "receipt_type": receipt,
        "amount": amount,
        "membership_amount": membership,
        "lines": lines,
        "status": "unpaid",
        "voucher_file_id": None,
        "paid_at": None,
        "receipt_number": None,
        "receipt_date": None,
        "confirmed_by": None,
        "confirmed_at": None,
        "created_at": now,
        "updated_at": now,
    }
    columns = tuple(values)
    upsert = insert_statement(
        session.get_bind().dialect.name,
        Bill,
        ("instance_id",),
        columns,
        tuple(c for c in columns if c not in _KEPT_ON_REOPEN),
    )
    write(session, upsert, values, later)


# re-opening a bill sets again all but the form, the unit and the creation time
_KEPT_ON_REOPEN = frozenset({"instance_id", "unit_id", "created_at"})


def void_bill(session: Session, row: ProcessInstance, now: datetime) -> None:
    """The form closed unpaid (its payment deadline passed): its unpaid bill is void."""
    bill = bill_of(session, row.id)
    if bill is not None and bill.status == "unpaid":
        bill.status, bill.updated_at = "void", now


_BILLS = Bill.__table__
_OF_FORM = _BILLS.c.instance_id == bindparam("bill_instance_id", type_=_BILLS.c.instance_id.type)
_STATUS = bindparam("bill_status", type_=_BILLS.c.status.type)
# the bill paid, and a payment finance returned: nothing in the request reads them back, so
# a move kept for the COMMIT keeps them too (statements built once, for `Later`)
_PAID = (
    update(_BILLS)
    .where(_OF_FORM)
    .values(
        status=_STATUS,
        paid_at=bindparam("bill_paid_at", type_=_BILLS.c.paid_at.type),
        voucher_file_id=bindparam("bill_voucher", type_=_BILLS.c.voucher_file_id.type),
        updated_at=bindparam("bill_now", type_=_BILLS.c.updated_at.type),
    )
)
_UNPAID = (
    update(_BILLS)
    .where(_OF_FORM)
    .values(status=_STATUS, updated_at=bindparam("bill_now", type_=_BILLS.c.updated_at.type))
)


_CONFIRMED = (
    update(_BILLS)
    .where(_OF_FORM)
    .values(
        status=_STATUS,
        confirmed_by=bindparam("bill_confirmed_by", type_=_BILLS.c.confirmed_by.type),
        confirmed_at=bindparam("bill_now", type_=_BILLS.c.confirmed_at.type),
        receipt_number=bindparam("bill_receipt_number", type_=_BILLS.c.receipt_number.type),
        receipt_date=bindparam("bill_receipt_date", type_=_BILLS.c.receipt_date.type),
        updated_at=bindparam("bill_now", type_=_BILLS.c.updated_at.type),
    )
)

_RECEIPTS = BillReceipt.__table__
# a confirmation's documents: those of an earlier confirmation of the bill dropped first
_DROP_RECEIPTS = delete(_RECEIPTS).where(
    _RECEIPTS.c.bill_id == bindparam("bill_id", type_=_RECEIPTS.c.bill_id.type)
)
_RECEIPT_COLUMNS = (
    "bill_id",
    "receipt_type",
    "fee_kind",
    "amount",
    "receipt_number",
    "receipt_code",
    "receipt_serial",
    "receipt_date",
)
# each document with the name of the bill's unit as it is now (开票记录 keeps the name the
# document was issued to; a later 单位名称变更 leaves it), read in the same statement
_PAYER = (
    select(Unit.__table__.c.name)
    .join(_BILLS, _BILLS.c.unit_id == Unit.__table__.c.id)
    .where(_BILLS.c.id == bindparam("bill_id", type_=_RECEIPTS.c.bill_id.type))
    .scalar_subquery()
)
_ADD_RECEIPT = insert(_RECEIPTS).values(
    {
        **{name: bindparam(name, type_=_RECEIPTS.c[name].type) for name in _RECEIPT_COLUMNS},
        "payer_name": _PAYER,
    }
)

# the form's bill as the claim of a task reads it (PostgreSQL, `tasks._take`'s `with_bill`):
# its id, its lines, kind, amount and membership part as a JSON array, NULL when the form
# has no bill
WITH_CLAIM = (
    select(
        func.json_build_array(
            _BILLS.c.id,
            _BILLS.c.lines,
            _BILLS.c.kind,
            _BILLS.c.amount,
            _BILLS.c.membership_amount,
        )
    )
    .where(_BILLS.c.instance_id == ProcessInstance.__table__.c.id)
    .scalar_subquery()
    .label("bill_with_claim")
)


@dataclass(frozen=True)
class Read:
    """The form's bill, read with the claim of the task: `lines`, None when it has none."""

    lines: list | None
    id: int | None = None
    kind: str = ""
    amount: Decimal = Decimal("0.00")
    membership: Decimal = Decimal("0.00")

    @classmethod
    def of(cls, value) -> Read:
        """From `WITH_CLAIM`'s value (or a RETURNING row's id, lines, kind, amounts)."""
        if value is None:
            return cls(None)
        bill_id, lines, kind, amount, membership = value
        return cls(lines or [], bill_id, kind, _money(amount), _money(membership))


def on_complete(
    session: Session,
    row: ProcessInstance,
    role: str | None,
    payload: dict,
    actor: Actor,
    now: datetime,
    today: date,
    policy: dict,
    later: Later | None = None,
    read: Read | None = None,
) -> list[int]:
    """What completing a task with a `bill` role ("pay" or "confirm") does to the form's
    bill (if it has one): paid, or a payment returned, in one UPDATE, kept in `later` for
    the COMMIT when given; confirmed, in one UPDATE, with its documents (`receipts_of`),
    and the memberships it pays for renewed. When the bill was `read` with the claim and
    pays for no membership, nothing in the request reads its confirmation again: kept in
    `later` too; otherwise it is written at once, RETURNING what was not read.

    Returns the members whose 普通会籍 the confirmation renewed (`renew_memberships`)."""
    if role is None:
        return []
    if role == "pay" or payload.get("decision") == "return":
        params = {"bill_instance_id": row.id, "bill_now": now, "bill_status": "unpaid"}
        if role == "pay":
            params.update(
                bill_status="paid", bill_paid_at=now, bill_voucher=payload.get("fee_voucher")
            )
        write(session, _PAID if role == "pay" else _UNPAID, params, later)
        return []
    receipt = payload.get("receipt_date")
    params = {
        "bill_instance_id": row.id,
        "bill_now": now,
        "bill_status": "confirmed",
        "bill_confirmed_by": actor.id,
        "bill_receipt_number": payload.get("receipt_number"),
        "bill_receipt_date": date.fromisoformat(receipt) if receipt else today,
    }
    if read is not None:
        if read.lines is None:  # the form has no bill
            return []
        renewing = _renewing(read.lines)
        write(session, _CONFIRMED, params, None if renewing else later)
    else:
        # a Core statement on the table: the ORM's bulk UPDATE and its object cost more
        # Python than the row this needs (renew_memberships reads its lines)
        found = session.execute(
            _CONFIRMED.returning(
                _BILLS.c.id,
                _BILLS.c.lines,
                _BILLS.c.kind,
                _BILLS.c.amount,
                _BILLS.c.membership_amount,
            ),
            params,
        ).first()
        if found is None:
            return []
        read = Read.of(tuple(found))
        renewing = _renewing(read.lines)
    write(session, _DROP_RECEIPTS, {"bill_id": read.id}, later)
    write(session, _ADD_RECEIPT, receipts_of(read, payload, today), later)
    if not renewing:
        return []
    return renew_memberships(session, row, renewing, today, policy)


def receipts_of(bill: Read, payload: dict, today: date) -> list[dict]:
    """The rows of a confirmed bill's documents (`documents_of`), each with the number,
    date, 票据代码 and 票据编码 finance gave it on the form. A form that asks for one
    document only (a definition deployed before documents were kept apart) registers one
    of the bill's whole amount, named as the bill names its receipt."""
    needed = documents_of(bill.kind, bill.amount, bill.membership)
    if len(needed) > 1 and payload.get(MEMBERSHIP + "receipt_number") is None:
        own = RECEIPT_TYPES.get(bill.kind, "电子发票")
        needed = [Document("", f"{own}、{FISCAL}", bill.kind, bill.amount)]
    rows = []
    for doc in needed:
        issued = payload.get(doc.prefix + "receipt_date")
        rows.append(
            {
                "bill_id": bill.id,
                "receipt_type": doc.receipt_type,
                "fee_kind": doc.fee_kind,
                "amount": doc.amount,
                "receipt_number": payload.get(doc.prefix + "receipt_number"),
                "receipt_code": payload.get(doc.prefix + "receipt_code"),
                "receipt_serial": payload.get(doc.prefix + "receipt_serial"),
                "receipt_date": date.fromisoformat(issued) if issued else today,
            }
        )
    return rows


def _renewing(bill_lines: list) -> list[dict]:
    """The lines of a bill that pay a membership fee (`renew_memberships` renews them)."""
    return [x for x in bill_lines if isinstance(x, dict) and _money(x.get("membership_fee")) > 0]


def renew_memberships(
    session: Session, row: ProcessInstance, lines: list[dict], today: date, policy: dict
) -> list[int]:
    """The memberships paid for on the bill (`lines`: its `_renewing` lines), renewed when
    finance confirms it.

    Each line with a membership fee renews that person's membership of the line's
    `member_level` (普通会员 when the line names none: the fee other businesses add for an
    expired 普通会籍) for the level's term (`membership_validity_years`):

    - still valid today: extended from its current end, so a member who pays early loses
      no time (普通会籍 to 2027-03-11, confirmed 2026-11-28: to 2030-03-11; `valid_from`
      stays, the membership never broke);
    - expired or cancelled: runs again from today (to the same day, term years later);
    - none of that level yet: a new membership from today.

    Returns the members whose 普通会籍 was renewed (their learning deadlines follow it).
    """
    if not lines:
        return []
    term = policy.get("membership_validity_years", 1)
    ids = sorted({x["id_number"] for x in lines})
    members = {
        m.id_number: m for m in session.scalars(select(Member).where(Member.id_number.in_(ids)))
    }
    held = {
        (ms.member_id, ms.level): ms
        for ms in session.scalars(
            select(Membership).where(Membership.member_id.in_([m.id for m in members.values()]))
        )
    }
    renewed = set()
    for line in lines:
        member = members.get(line["id_number"])
        if member is None:
            continue
        level = line.get("member_level") or ORDINARY
        if level == ORDINARY:
            renewed.add(member.id)
        ms = held.get((member.id, level))
        if ms is None:
            ms = Membership(
                member_id=member.id,
                level=level,
                valid_from=today,
                valid_until=membership_until(term, level, today),
                instance_id=row.id,
            )
            session.add(ms)
            held[(member.id, level)] = ms
        elif ms.cancelled_on is None and ms.valid_until >= today:
            ms.valid_until = membership_until(term, level, ms.valid_until)
            ms.instance_id = row.id
        else:
            ms.valid_from, ms.valid_until, ms.cancelled_on = (
                today,
                membership_until(term, level, today),
                None,
            )
            ms.instance_id = row.id
    return sorted(renewed)


def added_membership(bill: Bill) -> str | None:
    """The membership fee billed beside another kind of fee (a lapsed membership renewed
    with an education form: its own receipt), as money text; None when there is none."""
    if bill.membership_amount and RECEIPT_TYPES.get(bill.kind) != FISCAL:
        return f"{bill.membership_amount:.2f}"
    return None


def receipts_by_bill(session: Session, bill_ids) -> dict[int, list[dict]]:
    """The documents of each of the bills, in the order they were registered."""
    ids = sorted(set(bill_ids))
    found: dict[int, list[dict]] = {}
    if not ids:
        return found
    rows = session.scalars(
        select(BillReceipt).where(BillReceipt.bill_id.in_(ids)).order_by(BillReceipt.id)
    )
    for r in rows:
        found.setdefault(r.bill_id, []).append(receipt_view(r))
    return found


def receipt_view(r: BillReceipt) -> dict:
    return {
        "receipt_type": r.receipt_type,
        "fee_kind": r.fee_kind,
        "amount": f"{r.amount:.2f}",
        "receipt_number": r.receipt_number,
        "receipt_date": r.receipt_date,
        "receipt_code": r.receipt_code,
        "receipt_serial": r.receipt_serial,
    }


def bill_view(bill: Bill, receipts: list[dict] | None = None) -> dict:
    return {
        "id": bill.id,
        "instance_id": bill.instance_id,
        "kind": bill.kind,
        "amount": f"{bill.amount:.2f}",
        "membership_amount": f"{bill.membership_amount:.2f}",
        "lines": bill.lines,
        "status": bill.status,
        "status_label": STATUS_LABELS.get(bill.status, bill.status),
        "voucher_file_id": bill.voucher_file_id,
        "paid_at": bill.paid_at,
        "receipt_type": bill.receipt_type,
        "receipt_number": bill.receipt_number,
        "receipt_date": bill.receipt_date,
        "confirmed_at": bill.confirmed_at,
        "receipts": receipts or [],
    }


# --- a receipt number registered on another form's bill ------------------------------------

_RECEIPTS = BillReceipt.__table__.c


def receipt_or_form(q: str | None) -> list:
    """The conditions of a search of 开票记录 (its list and its export) by a document's 票号
    or its form's number, either in any letter case: none for an empty search."""
    if not q or not q.strip():
        return []
    typed = q.strip()
    return [
        or_(
            number_is(_RECEIPTS.receipt_number, [typed]),
            ProcessInstance.business_key == typed.upper(),
        )
    ]


def typed_numbers(data: dict) -> list[str]:
    """The receipt numbers finance typed on a confirming form (its own and a membership
    fee's), as kept: without their outer spaces."""
    found = []
    for prefix in ("", MEMBERSHIP):
        number = data.get(prefix + "receipt_number")
        if isinstance(number, str) and number.strip():
            found.append(number.strip())
    return found


def _used_statement():
    task = UserTask.__table__.c
    other = select(task.instance_id).where(task.id == bindparam("used_task_id")).scalar_subquery()
    return (
        select(_RECEIPTS.receipt_number, _RECEIPTS.receipt_code, ProcessInstance.business_key)
        .join(Bill, Bill.id == _RECEIPTS.bill_id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .where(
            # as typed or in any letter case (as `number_is`; its values bound when it runs)
            or_(
                _RECEIPTS.receipt_number.in_(bindparam("used_numbers", expanding=True)),
                func.upper(_RECEIPTS.receipt_number).in_(bindparam("used_folded", expanding=True)),
            ),
            Bill.instance_id != other,
        )
        .order_by(ProcessInstance.business_key)
    )


_USED = _used_statement()  # built once: its values are bound when it runs
RECEIPT_LOCK_SPACE = 0x6D72  # "mr": the advisory-lock key space of receipt numbers
# PostgreSQL: a transaction-level advisory lock on each number, folded (its hashtext: `ABC`
# and `abc` wait for each other), taken in the keys' order (two forms typing the same two
# numbers never wait on each other crosswise)
_LOCK_NUMBERS = text(
    "SELECT count(pg_advisory_xact_lock(:lock_space, k)) FROM"
    " (SELECT DISTINCT hashtext(n) AS k FROM unnest(CAST(:lock_numbers AS text[])) AS n"
    " ORDER BY k OFFSET 0) AS keys"
)


def used_receipts(numbers: list[str], task_id: int, dialect: str) -> list[tuple]:
    """The reads (statement, values) for the form of task `task_id` to be refused a number
    another form already holds (`refuse_used`); the last one's rows are the documents of
    other forms' bills registered under one of `numbers`: (number, 票据代码, business key).

    Without a lock two finance reviewers confirming two forms with one number at the same
    instant would each find it free. On PostgreSQL the read therefore waits first for a lock
    on each number, held until the transaction ends; it is a statement of its own, so the
    read's snapshot is taken after the wait and sees what the other confirmation committed.
    SQLite has one writer at a time, and the claim before the read is a write. A number is
    one in any letter case (`folded`): the read finds it so and the lock is keyed so."""
    typed = sorted({n.strip() for n in numbers})
    keys = sorted({folded(n) for n in typed})
    read = (_USED, {"used_numbers": typed, "used_folded": keys, "used_task_id": task_id})
    if dialect != "postgresql":
        return [read]
    return [(_LOCK_NUMBERS, {"lock_space": RECEIPT_LOCK_SPACE, "lock_numbers": keys}), read]


def refuse_used(payload: dict, role: str | None, used: list[tuple]) -> None:
    """FormInvalid naming each receipt number of an approval that another form's bill holds
    already (`used`: `used_receipts`' rows) in any letter case, unless the two 票据代码
    differ (a number is unique within its code)."""
    if role != "confirm" or payload.get("decision") == "return" or not used:
        return
    wrong = {}
    for prefix in ("", MEMBERSHIP):
        number, code = payload.get(prefix + "receipt_number"), payload.get(prefix + "receipt_code")
        if not isinstance(number, str) or not number.strip():
            continue
        for held, held_code, business_key in used:
            if held is None or folded(held) != folded(number):
                continue
            if code and held_code and folded(str(code)) != folded(held_code):
                continue
            wrong[prefix + "receipt_number"] = (
                f"票号 {held} 已登记在单号 {business_key} 的缴费单上，请核对"
            )
            break
    if wrong:
        raise FormInvalid(wrong)
