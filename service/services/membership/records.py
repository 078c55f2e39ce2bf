"""Reading the records the processes change: certificates, bills; the specialty dictionary
(each change of it one audit record: `specialty_create`, `specialty_update`, `specialty_move`)."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.db.models import Bill, Certificate, Member, ProcessInstance, Specialty, utcnow
from service.db.search import id_number_matches
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound
from service.domain.person_facts import CertificateRecord, certificate_status
from service.domain.validation import clean_code, clean_name, invisible_problem
from service.services.workflow import audit
from service.services.workflow.bills import bill_view, receipts_by_bill
from service.services.workflow.context import Context
from service.services.workflow.paging import page_of, rows_of_page
from service.services.workflow.scope import may_edit_dictionaries, records_in_scope

STATUS_LABELS = {"valid": "有效", "expired": "已过期", "cancelled": "已注销", "upgraded": "已升级"}


def _certificates(actor: Actor, stmt, certificate_type: str | None, q: str | None):
    """`stmt` over the certificates the caller may see (a unit: its members'; a member:
    own), of `certificate_type`, found by `q`: a name, an ID number (whole or its last four)
    or a certificate number."""
    stmt = stmt.select_from(Certificate).join(Member, Member.id == Certificate.member_id)
    where = records_in_scope(actor, Member.unit_id, Member.id)
    if where is None:
        raise NotFound("没有可查看的证书")
    stmt = stmt.where(*where)
    if certificate_type:
        stmt = stmt.where(Certificate.type == certificate_type)
    if q:
        q, code = q.strip(), clean_code(q)  # full-width digits and spaces, as everywhere
        stmt = stmt.where(
            Member.name.contains(clean_name(q), autoescape=True)
            | id_number_matches(Member.id_number, code)
            # a number as issued (JL2026000001) is found however typed; an imported one
            # kept with lower-case letters or spaces is still found as it was typed
            | Certificate.number.in_(sorted({code, q}))
        )
    return stmt


def certificate_member_ids(
    uow: UnitOfWork, actor: Actor, certificate_type: str | None = None, q: str | None = None
) -> list[int]:
    """The members whose certificates 电子证书 lists with these filters (every page), for
    批量下载 of all of them; in the list's order."""
    stmt = _certificates(actor, select(Member.id, func.min(Certificate.id)), certificate_type, q)
    rows = uow.session.execute(stmt.group_by(Member.id).order_by(func.min(Certificate.id)))
    return [member_id for member_id, _first in rows]


def list_certificates(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    certificate_type: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """Certificates the caller may see (a unit: its members'; a member: own), by number."""
    stmt = _certificates(actor, select(Certificate, Member), certificate_type, q)
    total, rows = page_of(uow.session, stmt, Certificate.id, page, page_size)
    today = ctx.today()
    items = []
    for cert, member in rows:
        status = certificate_status(
            CertificateRecord(cert.type, cert.number, cert.status, cert.valid_until), today
        )
        items.append(
            {
                "id": cert.id,
                "member_id": member.id,
                "name": member.name,
                "id_number": member.id_number,
                "type": cert.type,
                "number": cert.number,
                "specialty_1": cert.specialty_1,
                "specialty_2": cert.specialty_2,
                "first_issued_on": cert.first_issued_on,
                "renewed_on": cert.renewed_on,
                "valid_until": cert.valid_until,
                "unit_name": cert.unit_name,
                "status": status,
                "status_label": STATUS_LABELS[status],
            }
        )
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def list_bills(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """Bills the caller may see (a unit: its own; association and finance: all)."""
    where = records_in_scope(actor, Bill.unit_id)
    if where is None:
        raise NotFound("没有可查看的缴费单")
    if status:
        where = [*where, Bill.status == status]
    # counted without the forms (every bill has its form); the page's rows read from each
    # form its number and process alone, never its engine state
    total = uow.session.scalar(select(func.count()).select_from(Bill).where(*where))
    stmt = (
        select(Bill, ProcessInstance.business_key, ProcessInstance.process_key)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .where(*where)
    )
    rows = rows_of_page(uow.session, stmt, Bill.id.desc(), page, page_size).all()
    receipts = receipts_by_bill(uow.session, [bill.id for bill, _key, _process in rows])
    items = [
        {
            **bill_view(bill, receipts.get(bill.id)),
            "business_key": business_key,
            "process_key": process_key,
        }
        for bill, business_key, process_key in rows
    ]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def list_specialties(
    uow: UnitOfWork, include_inactive: bool = False, page: int = 1, page_size: int = 200
) -> dict:
    """One page of the specialty dictionary, in the association's order, with the total."""
    stmt = select(Specialty)
    if not include_inactive:
        stmt = stmt.where(Specialty.active)
    stmt = stmt.order_by(Specialty.sort)  # then by id (page_of's order)
    total, rows = page_of(uow.session, stmt, Specialty.id, page, page_size)
    items = [
        {"id": s.id, "name": s.name, "active": s.active, "sort": s.sort} for s in rows.scalars()
    ]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def _secretariat(actor: Actor) -> None:
    if not may_edit_dictionaries(actor):
        raise NotFound("没有该功能")


def _log(uow: UnitOfWork, actor: Actor, action: str, remark: str, **detail) -> None:
    audit.write(uow.session, audit.Step(actor, action, remark=remark, detail=detail), utcnow())


MAX_SORT = 9999  # a specialty's place in the dictionary's order (the column is an int32)


def add_specialty(uow: UnitOfWork, actor: Actor, name: str) -> dict:
    """Add a specialty to the dictionary (secretariat)."""
    _secretariat(actor)
    name = (name or "").strip()
    if not name or len(name) > 50:
        raise FormInvalid({"name": "专业名称应为1至50个字"})
    if problem := invisible_problem(name):  # 房屋建筑工程 and 房屋建筑工程\u200b look the same
        raise FormInvalid({"name": "专业名称" + problem})
    last = uow.session.scalar(select(func.max(Specialty.sort))) or 0
    row = Specialty(name=name, active=True, sort=last + 1)
    uow.session.add(row)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        uow.rollback()
        raise Conflict(f"专业“{name}”已在字典中", {"name": "已存在"}) from exc
    _log(
        uow,
        actor,
        "specialty_create",
        f"新增专业“{row.name}”（排序 {row.sort}）",
        specialty_id=row.id,
        name=row.name,
        sort=row.sort,
    )
    view = {"id": row.id, "name": row.name, "active": row.active, "sort": row.sort}
    uow.commit()
    return view


def move_specialty(uow: UnitOfWork, actor: Actor, specialty_id: int, step: int) -> dict:
    """Move a specialty one place up (step -1) or down (+1) in the dictionary's order, by
    swapping places with its neighbour there; at either end it stays. One commit."""
    _secretariat(actor)
    order = list(uow.session.scalars(select(Specialty).order_by(Specialty.sort, Specialty.id)))
    at = next((i for i, row in enumerate(order) if row.id == specialty_id), None)
    if at is None:
        raise NotFound("专业不存在")
    other = at + step
    if 0 <= other < len(order):  # at either end nothing changes and nothing is recorded
        moved, neighbour = order[at], order[other]
        before = moved.sort
        order[at], order[other] = order[other], order[at]
        for place, row in enumerate(order, start=1):
            row.sort = place
        uow.session.flush()
        _log(
            uow,
            actor,
            "specialty_move",
            f"专业“{moved.name}”{'上移' if step < 0 else '下移'}一位，与“{neighbour.name}”互换位置",
            specialty_id=moved.id,
            name=moved.name,
            before=before,
            after=moved.sort,
            swapped_with=neighbour.id,
        )
    row = order[other] if 0 <= other < len(order) else order[at]
    view = {"id": row.id, "name": row.name, "active": row.active, "sort": row.sort}
    uow.commit()
    return view


def update_specialty(
    uow: UnitOfWork, actor: Actor, specialty_id: int, active: bool | None, sort: int | None
) -> dict:
    """Retire or reorder a specialty (certificates keep the name they carry); a change is
    one audit record, a request that changes nothing none."""
    _secretariat(actor)
    if sort is not None and not 1 <= sort <= MAX_SORT:  # a new one takes the last + 1
        raise FormInvalid({"sort": f"排序应为1至{MAX_SORT}之间的整数"})
    row = uow.session.get(Specialty, specialty_id)
    if row is None:
        raise NotFound("专业不存在")
    before = {"active": row.active, "sort": row.sort}
    said = [f"专业“{row.name}”"]  # 停用专业“…”，排序由 3 改为 5
    if active is not None and active != row.active:
        row.active = active
        said[0] = ("启用" if active else "停用") + said[0]
    if sort is not None and sort != row.sort:
        row.sort = sort
        said.append(f"排序由 {before['sort']} 改为 {sort}")
    uow.session.flush()
    after = {"active": row.active, "sort": row.sort}
    if after != before:
        _log(
            uow,
            actor,
            "specialty_update",
            "，".join(said),
            specialty_id=row.id,
            name=row.name,
            before=before,
            after=after,
        )
    view = {"id": row.id, "name": row.name, "active": row.active, "sort": row.sort}
    uow.commit()
    return view
