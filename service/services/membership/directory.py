"""The secretariat's reference data as lists: agencies, units and staff — search, create,
edit, disable and enable, reset a password.

Creating uses `accounts` (the API's use cases), which writes the audit record with the new
row; the pages give the new login a one-time password, shown once and changed at the first
sign-in (in the same transaction). Disabling a unit disables every account of the unit (its
main account and sub-accounts), so no one signs in for it; an agency has no login of its
own, its reviewers are disabled one by one as staff.
"""

from __future__ import annotations

import re

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError

from service.db.locks import hold_row
from service.db.models import Account, Agency, AuditRecord, Member, Unit, utcnow
from service.db.search import hold_login, same_login
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound
from service.domain.passwords import one_time_password
from service.domain.roles import ROLES
from service.domain.validation import (
    InvalidValue,
    check_credit_code,
    clean_code,
    staff_login_problem,
    unit_name_problem,
)
from service.services.membership import accounts, passwords
from service.services.membership.credentials import check_password, end_sessions
from service.services.membership.signin_limits import SigninGuard
from service.services.workflow import audit, handover
from service.services.workflow.facts import taken_name
from service.services.workflow.paging import page_of
from service.services.workflow.scope import STAFF_ROLES, is_staff_role, may_manage_accounts

STATES = {"active": "正常", "disabled": "已停用"}  # as the unit's own account pages say


def _secretariat(actor: Actor) -> None:
    if not may_manage_accounts(actor):
        raise NotFound("没有该功能")


def _text(errors: dict, field: str, value: str | None, label: str, limit: int) -> str:
    text = (value or "").strip()
    if not text:
        errors[field] = f"请填写{label}"
    elif len(text) > limit:
        errors[field] = f"{label}不能超过{limit}个字"
    return text


def _log(uow: UnitOfWork, actor: Actor, action: str, **detail) -> None:
    audit.write(uow.session, audit.Step(actor, action, detail=detail), utcnow())


def _like(column, q: str):
    return column.contains(q.strip(), autoescape=True)


# --- agencies ---------------------------------------------------------------------------


def list_agencies(
    uow: UnitOfWork, actor: Actor, q: str | None = None, page: int = 1, page_size: int = 20
) -> dict:
    """会员服务机构, with how many units and reviewers (not disabled) each has; `q` is part of
    the name or city."""
    _secretariat(actor)
    units = select(func.count()).where(Unit.agency_id == Agency.id).scalar_subquery()
    staff = select(func.count()).where(*_reviewers_of(Agency.id)).scalar_subquery()
    stmt = select(Agency, units.label("units"), staff.label("staff"))
    if q and q.strip():
        stmt = stmt.where(or_(_like(Agency.name, q), _like(Agency.city, q)))
    total, rows = page_of(uow.session, stmt, Agency.id, page, page_size)
    items = [
        {"id": a.id, "name": a.name, "city": a.city, "units": n_units, "staff": n_staff}
        for a, n_units, n_staff in rows
    ]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


CONTACT_FIELDS = ("address", "phone", "qq_group", "website")
_QQ_GROUP = re.compile(r"[1-9][0-9]{4,11}")
_PHONE = re.compile(r"[0-9０-９+\-－、，, ()（）转]{7,100}")


def _agency_view(agency: Agency) -> dict:
    return {
        "id": agency.id,
        "name": agency.name,
        "city": agency.city,
        **{f: getattr(agency, f) for f in CONTACT_FIELDS},
    }


def get_agency(uow: UnitOfWork, actor: Actor, agency_id: int) -> dict:
    _secretariat(actor)
    agency = uow.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("会员服务机构不存在")
    return _agency_view(agency)


def _agency_values(name: str | None, city: str | None, contact: dict | None = None):
    """The checked name, city and contact fields (服务机构信息; each optional)."""
    errors: dict[str, str] = {}
    name = _text(errors, "name", name, "机构名称", 100)
    city = _text(errors, "city", city, "所在城市", 50)
    checked = {}
    for field in CONTACT_FIELDS:
        value = ((contact or {}).get(field) or "").strip() or None
        checked[field] = value
        if value is None:
            continue
        if field == "address" and len(value) > 200:
            errors[field] = "地址不能超过200个字"
        elif field == "phone" and not _PHONE.fullmatch(value):
            errors[field] = "电话只能包含数字、区号连字符和分隔符，如：020-83338979"
        elif field == "qq_group" and not _QQ_GROUP.fullmatch(value):
            errors[field] = "QQ工作群号应为5至12位数字"
        elif field == "website" and (
            not value.startswith(("http://", "https://")) or len(value) > 200 or " " in value
        ):
            errors[field] = "网址应以 http:// 或 https:// 开头，不超过200个字符"
    if errors:
        raise FormInvalid(errors)
    return name, city, checked


def _agency_name_free(uow: UnitOfWork, name: str, agency_id: int | None = None) -> None:
    taken = uow.session.scalar(select(Agency.id).where(Agency.name == name))
    if taken is not None and taken != agency_id:
        raise FormInvalid({"name": "已存在同名的会员服务机构"})


def create_agency(
    uow: UnitOfWork, actor: Actor, name: str | None, city: str | None, contact: dict | None = None
) -> dict:
    """A new agency (the API's use case), its fields checked first; 403 for anyone but the
    secretariat, as every creation of reference data (POST /agencies, /units, /staff)."""
    if not may_manage_accounts(actor):
        raise Forbidden("当前账号无权进行此操作")
    name, city, contact = _agency_values(name, city, contact)
    _agency_name_free(uow, name)
    return accounts.create_agency(uow, actor, name, city, contact)


def update_agency(
    uow: UnitOfWork,
    actor: Actor,
    agency_id: int,
    name: str | None,
    city: str | None,
    contact: dict | None = None,
) -> dict:
    """Rename an agency, change its city or its 服务机构信息."""
    _secretariat(actor)
    agency = uow.session.get(Agency, agency_id)
    if agency is None:
        raise NotFound("会员服务机构不存在")
    name, city, contact = _agency_values(name, city, contact)
    _agency_name_free(uow, name, agency_id)
    before = _agency_view(agency)
    agency.name, agency.city = name, city
    for field, value in contact.items():
        setattr(agency, field, value)
    _flush(uow, "name", "已存在同名的会员服务机构")
    view = _agency_view(agency)
    _log(uow, actor, "agency_update", agency_id=agency.id, before=before, after=view)
    uow.commit()
    return view


def agency_directory(uow: UnitOfWork, actor: Actor) -> dict:
    """服务机构信息 (manual 四.4): every agency's address, phone, QQ work group and website,
    for anyone signed in; the caller's own agency first and marked."""
    rows = uow.session.scalars(select(Agency).order_by(Agency.id)).all()
    own = actor.agency_id
    items = [{**_agency_view(a), "own": a.id == own} for a in rows]
    items.sort(key=lambda item: not item["own"])
    return {"items": items, "total": len(items)}


def _flush(uow: UnitOfWork, field: str, message: str) -> None:
    try:
        uow.session.flush()
    except IntegrityError as exc:  # a simultaneous change took the name first
        uow.rollback()
        raise FormInvalid({field: message}) from exc


# --- units -------------------------------------------------------------------------------


def _unit_admins(uow: UnitOfWork, unit_id: int) -> list[Account]:
    return list(
        uow.session.scalars(
            select(Account)
            .where(Account.unit_id == unit_id, Account.role == "unit_admin")
            .order_by(Account.is_main.desc(), Account.id)
        )
    )


def list_units(
    uow: UnitOfWork,
    actor: Actor,
    q: str | None = None,
    agency_id: int | None = None,
    state: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """单位: name, credit code, agency, member or not, sub-accounts and whether its main
    account may sign in; `q` is part of the name or the full credit code."""
    _secretariat(actor)
    if state is not None and state not in STATES:
        raise FormInvalid({"state": "状态应为：正常 或 已停用"})
    main = (
        select(Account.active)
        .where(Account.unit_id == Unit.id, Account.is_main.is_(True))
        .limit(1)
        .scalar_subquery()
    )
    subs = (
        select(func.count())
        .where(Account.unit_id == Unit.id, Account.sub_slot.is_not(None))
        .scalar_subquery()
    )
    stmt = select(Unit, Agency.name, main.label("active"), subs.label("subs")).join(
        Agency, Agency.id == Unit.agency_id
    )
    if q and q.strip():
        stmt = stmt.where(or_(_like(Unit.name, q), Unit.credit_code == clean_code(q)))
    if agency_id is not None:
        stmt = stmt.where(Unit.agency_id == agency_id)
    if state is not None:
        stmt = stmt.where(main.is_(state == "active"))
    total, rows = page_of(uow.session, stmt, Unit.id, page, page_size)
    items = [
        {
            "id": unit.id,
            "name": unit.name,
            "credit_code": unit.credit_code,
            "agency_id": unit.agency_id,
            "agency_name": agency_name,
            "member_unit": unit.member_unit,
            "active": bool(active),
            "sub_accounts": n_subs,
            "created_at": unit.created_at,
        }
        for unit, agency_name, active, n_subs in rows
    ]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def get_unit(uow: UnitOfWork, actor: Actor, unit_id: int) -> dict:
    """One unit with its accounts (main account first)."""
    _secretariat(actor)
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    admins = _unit_admins(uow, unit_id)
    return {
        "id": unit.id,
        "name": unit.name,
        "credit_code": unit.credit_code,
        "agency_id": unit.agency_id,
        "member_unit": unit.member_unit,
        "active": any(a.active for a in admins if a.is_main),
        "accounts": [
            {
                "id": a.id,
                "username": a.username,
                "name": a.name,
                "is_main": a.is_main,
                "active": a.active,
            }
            for a in admins
        ],
    }


def _unit_values(
    uow: UnitOfWork,
    name: str | None,
    credit_code: str | None,
    agency_id: int | None,
    unit_id: int | None = None,
    errors: dict | None = None,
) -> tuple[str, str, int]:
    """The checked fields; FormInvalid names every field that is wrong or already taken
    (with the `errors` found before)."""
    errors = {} if errors is None else errors
    name = _text(errors, "name", name, "单位名称", 200)
    if name and "name" not in errors and (problem := unit_name_problem(name)):
        errors["name"] = f"单位名称{problem}"  # as a unit's own 单位名称变更 is checked
    code = ""
    try:
        code = check_credit_code(credit_code or "")
    except InvalidValue as exc:
        errors["credit_code"] = exc.message
    if agency_id is None or uow.session.get(Agency, agency_id) is None:
        errors["agency_id"] = "请选择初审机构"
    _unit_free(uow, name, code, unit_id, errors)
    if errors:
        raise FormInvalid(errors)
    return name, code, agency_id


def _unit_free(uow: UnitOfWork, name: str, code: str, unit_id: int | None, errors: dict) -> None:
    """Field errors for a name or credit code another unit (or login) already has."""
    if name and "name" not in errors:
        hold_login(uow.session, name)  # a name alike created meanwhile is seen below
        taken = taken_name(uow.session, name, unit_id)
        if taken is not None:
            errors["name"] = "该单位名称已注册（或已被用作登录名）" + _alike(taken, name)
    if code and "credit_code" not in errors:
        by_code = uow.session.scalar(select(Unit.id).where(Unit.credit_code == code))
        if by_code is not None and by_code != unit_id:
            errors["credit_code"] = "该统一社会信用代码已注册"


def create_unit(
    uow: UnitOfWork,
    actor: Actor,
    name: str | None,
    credit_code: str | None,
    agency_id: int | None,
    member_unit: bool,
    password: str | None = None,
    must_change_password: bool = True,
) -> dict:
    """A unit and its main account (login = the unit's full name); each field that is wrong
    or taken is named, all at once. The pages give it a one-time password, answered once; the
    API gives it the `password` its caller chose. Either way someone other than the owner
    chose it, so it is changed at the first sign-in unless `must_change_password` is False."""
    if not may_manage_accounts(actor):
        raise Forbidden("当前账号无权进行此操作")
    errors: dict[str, str] = {}
    if password is not None:
        _password_problem(errors, password, (name or "").strip())
    name, code, agency_id = _unit_values(uow, name, credit_code, agency_id, errors=errors)
    one_time = password is None
    if one_time:
        password = one_time_password()
    unit = accounts.create_unit(
        uow,
        actor,
        name,
        code,
        agency_id,
        member_unit,
        password,
        must_change_password=one_time or must_change_password,
    )  # one transaction with its audit record `unit_create` (never the password)
    if not one_time:
        return unit
    return {**unit, "username": unit["name"], "password": password}


def _password_problem(errors: dict, password: str, login: str) -> None:
    try:
        check_password(password, login)
    except FormInvalid as exc:
        errors.update(exc.errors or {})


def update_unit(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    name: str | None,
    credit_code: str | None,
    agency_id: int | None,
    member_unit: bool,
    seen: dict | None = None,
) -> dict:
    """Change a unit's registration; a new name is also its main account's login.
    (Certificates keep the name printed on them: that is the 证书变更 business.) `seen`:
    the values the page showed (UNIT_FIELDS); if any changed since (a 单位名称变更 approved,
    another secretary's save, finance's confirmation), nothing is saved and the changed
    fields are said with their values now — an edit page left open does not undo them."""
    _secretariat(actor)
    hold_row(uow.session, Unit, unit_id)  # two saves of one unit go one after the other
    unit = uow.session.get(Unit, unit_id, populate_existing=True)
    if unit is None:
        raise NotFound("单位不存在")
    if seen is not None:
        _refuse_if_changed(uow, unit, seen)
    name, code, agency_id = _unit_values(uow, name, credit_code, agency_id, unit_id)
    before = {
        "name": unit.name,
        "credit_code": unit.credit_code,
        "agency_id": unit.agency_id,
        "member_unit": unit.member_unit,
    }
    unit.name, unit.credit_code, unit.member_unit = name, code, member_unit
    unit.agency_id = agency_id
    for account in _unit_admins(uow, unit_id):
        if account.is_main:
            account.username = account.name = name
    _flush(uow, "name", "该单位名称已注册（或已被用作登录名）")
    moved = {"forms": 0, "tasks": 0, "released": 0, "members": 0}
    if agency_id != before["agency_id"]:
        moved = _move_unit(uow, actor, unit_id, before["agency_id"], agency_id)
    _log(
        uow,
        actor,
        "unit_update",
        unit_id=unit.id,
        before=before,
        name=name,
        credit_code=code,
        agency_id=agency_id,
        moved=moved,
    )
    uow.commit()
    return {**get_unit(uow, actor, unit_id), "moved": moved}


UNIT_FIELDS = {
    "name": "单位名称",
    "credit_code": "统一社会信用代码",
    "agency_id": "初审机构",
    "member_unit": "单位类型",
}


def unit_seen(unit: dict) -> dict:
    """What an edit page shows of a unit, sent back with its save (update_unit's `seen`)."""
    return {field: unit[field] for field in UNIT_FIELDS}


def _refuse_if_changed(uow: UnitOfWork, unit: Unit, seen: dict) -> None:
    changed = {}
    for field, label in UNIT_FIELDS.items():
        now = getattr(unit, field)
        if seen.get(field) != now:
            if field == "agency_id":
                agency = uow.session.get(Agency, now)
                now = agency.name if agency else now
            elif field == "member_unit":
                now = "单位（会员）" if now else "单位（非会员）"
            changed[field] = f"{label}已被改为“{now}”"
    if changed:
        raise Conflict(
            "打开本页后，该单位的信息已被修改（如单位名称变更审批完成、其他人员已保存）："
            "本页的修改尚未保存。请核对后再保存，再次保存将以本页内容为准。",
            changed,
        )


def _move_unit(uow: UnitOfWork, actor: Actor, unit_id: int, old: int, new: int) -> dict:
    """A unit moved to another agency (初审机构) takes along its accounts, its members and
    its unfinished forms with their open tasks (DOMAIN: the unit's and member's agency
    decides who gets 机构初审); claims by the old agency's reviewers are released."""
    session = uow.session
    session.execute(
        update(Account)
        .where(Account.unit_id == unit_id, Account.role == "unit_admin")
        .values(agency_id=new)
        .execution_options(synchronize_session="fetch")
    )
    members = session.execute(
        update(Member)
        .where(Member.unit_id == unit_id)
        .values(agency_id=new)
        .execution_options(synchronize_session=False)
    ).rowcount
    moved = handover.move_unit_forms(session, actor, unit_id, old, new, utcnow())
    return {**moved, "members": members}


def set_unit_active(uow: UnitOfWork, actor: Actor, unit_id: int, active: bool) -> dict:
    """停用 / 启用 a unit: every account of the unit at once; disabling ends their sessions."""
    _secretariat(actor)
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    changed, released, switched = 0, 0, []
    # enabling turns back on what the unit's 停用 turned off (its record names them), not a
    # sub-account the main account or the secretariat had disabled on its own
    again = _disabled_with_unit(uow, unit_id) if active else None
    for account in _unit_admins(uow, unit_id):
        if active and again is not None and not account.is_main and account.id not in again:
            continue
        if account.active != active:
            account.active = active
            end_sessions(account)
            changed += 1
            switched.append(account.id)
        if not active:  # the unit's tasks they held go back to the unit's queue
            released += handover.release_held(uow.session, actor, account.id, utcnow())
    _log(
        uow,
        actor,
        "unit_enable" if active else "unit_disable",
        unit_id=unit.id,
        name=unit.name,
        accounts=changed,
        released=released,
        account_ids=switched,
    )
    uow.commit()
    return {"id": unit.id, "name": unit.name, "active": active, "accounts": changed}


def _disabled_with_unit(uow: UnitOfWork, unit_id: int) -> set[int] | None:
    """The accounts the unit's last 停用 turned off; None when its record does not say (one
    written before it did: then every account comes back, as it used to)."""
    detail = uow.session.scalar(
        select(AuditRecord.detail)
        .where(
            AuditRecord.action == "unit_disable",
            AuditRecord.instance_id.is_(None),
            AuditRecord.detail["unit_id"].as_integer() == unit_id,
        )
        .order_by(AuditRecord.id.desc())
        .limit(1)
    )
    ids = detail.get("account_ids") if isinstance(detail, dict) else None
    return set(ids) if isinstance(ids, list) else None


def reset_unit_password(uow: UnitOfWork, actor: Actor, unit_id: int, guard: SigninGuard) -> dict:
    """A new one-time password for the unit's main account (FAQ 3.9), answered once."""
    _secretariat(actor)
    main = uow.session.scalar(
        select(Account.id).where(Account.unit_id == unit_id, Account.is_main.is_(True))
    )
    if main is None:
        raise NotFound("单位不存在")
    return passwords.reset_account_password(uow, actor, main, guard)


# --- staff -------------------------------------------------------------------------------


def _staff_view(account: Account, agency_name: str | None) -> dict:
    return {
        "id": account.id,
        "username": account.username,
        "name": account.name,
        "role": account.role,
        "role_label": ROLES.get(account.role, account.role),
        "agency_id": account.agency_id,
        "agency_name": agency_name,
        "active": account.active,
        "created_at": account.created_at,
    }


def list_staff(
    uow: UnitOfWork,
    actor: Actor,
    q: str | None = None,
    role: str | None = None,
    agency_id: int | None = None,
    state: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """工作人员: the association's, the agencies' and finance's accounts; `q` is part of the
    login or the name."""
    _secretariat(actor)
    if role is not None and not is_staff_role(role):
        raise FormInvalid({"role": "角色应为：" + "、".join(ROLES[r] for r in STAFF_ROLES)})
    if state is not None and state not in STATES:
        raise FormInvalid({"state": "状态应为：正常 或 已停用"})
    stmt = (
        select(Account, Agency.name)
        .outerjoin(Agency, Agency.id == Account.agency_id)
        .where(Account.role.in_(STAFF_ROLES))
    )
    if q and q.strip():
        stmt = stmt.where(or_(_like(Account.username, q), _like(Account.name, q)))
    if role:
        stmt = stmt.where(Account.role == role)
    if agency_id is not None:
        stmt = stmt.where(Account.agency_id == agency_id)
    if state is not None:
        stmt = stmt.where(Account.active.is_(state == "active"))
    total, rows = page_of(uow.session, stmt, Account.id, page, page_size)
    items = [_staff_view(account, agency_name) for account, agency_name in rows]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def _staff_account(uow: UnitOfWork, account_id: int) -> Account:
    account = uow.session.get(Account, account_id)
    if account is None or not is_staff_role(account.role):
        raise NotFound("工作人员账号不存在")
    return account


def get_staff(uow: UnitOfWork, actor: Actor, account_id: int) -> dict:
    _secretariat(actor)
    account = _staff_account(uow, account_id)
    agency = uow.session.get(Agency, account.agency_id) if account.agency_id else None
    return _staff_view(account, agency.name if agency else None)


def _staff_values(
    uow: UnitOfWork, name: str | None, role: str | None, agency_id: int | None, errors: dict
) -> tuple[str, str, int | None]:
    name = _text(errors, "name", name, "姓名", 200)
    if not role:  # the pages' empty choice (a person reads 请选择角色 and picks one)
        errors["role"] = "请选择角色"
    elif not is_staff_role(role):  # a value no page offers: a program sent it, name the ids
        errors["role"] = "角色应为以下之一：" + "、".join(f"{r}（{ROLES[r]}）" for r in STAFF_ROLES)
    if role == "agency_reviewer" and agency_id is None:
        errors["agency_id"] = "会员服务机构人员必须选择所属机构"
    elif role == "agency_reviewer" and uow.session.get(Agency, agency_id) is None:
        errors["agency_id"] = f"所属机构不存在（编号 {agency_id}），请从会员服务机构列表中选择"
    if errors:
        raise FormInvalid(errors)
    return name, role, agency_id if role == "agency_reviewer" else None


def _same_login(login: str):
    """An account whose login is `login` but for letter case or width: logins are unique so
    (one could not tell JIGOU1 from jigou1, or 某（集团） from 某(集团), when reading them,
    and a sign-in takes either for the other)."""
    return same_login(Account.username, login)


def _alike(found: str, typed: str) -> str:
    """What a taken-name message adds when the name taken is spelt otherwise than typed."""
    return "" if found.lower() == typed.lower() else f"（已有“{found}”，仅全角/半角不同）"


def create_staff(
    uow: UnitOfWork,
    actor: Actor,
    username: str | None,
    name: str | None,
    role: str | None,
    agency_id: int | None,
    password: str | None = None,
    must_change_password: bool = True,
) -> dict:
    """A staff account with a one-time password answered once (the pages), or the
    `password` its caller chose (the API), changed at the first sign-in unless
    `must_change_password` is False; every wrong field is named at once."""
    if not may_manage_accounts(actor):
        raise Forbidden("当前账号无权进行此操作")
    errors: dict[str, str] = {}
    login = _text(errors, "username", username, "登录名", 50)
    if login and "username" not in errors:
        problem = staff_login_problem(login)
        if problem:
            errors["username"] = problem
        else:
            hold_login(uow.session, login)  # a login alike created meanwhile is seen below
            taken = uow.session.scalar(select(Account.username).where(_same_login(login)))
            if taken is not None:
                errors["username"] = "该登录名已被使用（登录名不区分大小写）" + _alike(taken, login)
    if password is not None:
        _password_problem(errors, password, login)
    if agency_id is not None and is_staff_role(role or "") and role != "agency_reviewer":
        errors["agency_id"] = accounts.staff_agency_problem(role)  # refused, not dropped
    name, role, agency_id = _staff_values(uow, name, role, agency_id, errors)
    one_time = password is None
    if one_time:
        password = one_time_password()
    created = accounts.create_staff(
        uow,
        actor,
        login,
        name,
        password,
        role,
        agency_id,
        must_change_password=one_time or must_change_password,
    )  # one transaction with its audit record `staff_create` (never the password)
    if not one_time:
        return created
    return {**created, "name": name, "password": password}


def update_staff(
    uow: UnitOfWork,
    actor: Actor,
    account_id: int,
    name: str | None,
    role: str | None,
    agency_id: int | None,
) -> dict:
    """Change a staff member's name, role or agency; a new role or agency ends their
    sessions and puts the tasks they hold back in their queues (they may no longer act on
    them). The login stays."""
    _secretariat(actor)
    account = _staff_account(uow, account_id)
    name, role, agency_id = _staff_values(uow, name, role, agency_id, {})
    if account.id == actor.id and role != account.role:
        raise FormInvalid({"role": "不能修改当前登录账号自己的角色"})
    before = {"name": account.name, "role": account.role, "agency_id": account.agency_id}
    released = 0
    rescoped = (role, agency_id) != (account.role, account.agency_id)
    if rescoped:
        end_sessions(account)
    account.name, account.role, account.agency_id = name, role, agency_id
    if rescoped:
        released = handover.release_held(uow.session, actor, account.id, utcnow())
    _log(
        uow,
        actor,
        "staff_update",
        account_id=account.id,
        before=before,
        role=role,
        agency_id=agency_id,
        released=released,
    )
    unstaffed = _unstaffed(uow, before["role"], before["agency_id"]) if rescoped else None
    uow.commit()
    view = get_staff(uow, actor, account_id)
    return {**view, "released": released, "unstaffed_agency": unstaffed}


def set_staff_active(uow: UnitOfWork, actor: Actor, account_id: int, active: bool) -> dict:
    """停用 / 启用 a staff account (disabling ends its sessions at once and releases the
    tasks it holds: `released`). Disabling an agency's last reviewer names the agency
    (`unstaffed_agency`): its units' forms would wait at 机构初审 with no one to claim them."""
    _secretariat(actor)
    account = _staff_account(uow, account_id)
    role, agency_id = account.role, account.agency_id
    done = passwords.set_account_active(uow, actor, account_id, active)
    if not active:
        done["unstaffed_agency"] = _unstaffed(uow, role, agency_id)
    return done


def _unstaffed(uow: UnitOfWork, role: str, agency_id: int | None) -> str | None:
    """The name of the agency an agency reviewer was taken from, if no reviewer who may
    work is left in it."""
    if role != "agency_reviewer" or agency_id is None:
        return None
    uow.session.flush()
    if uow.session.scalar(select(func.count()).where(*_reviewers_of(agency_id))):
        return None
    return uow.session.get(Agency, agency_id).name


def _reviewers_of(agency_id) -> tuple:
    """The conditions of an agency's reviewers who may work (not disabled)."""
    return (
        Account.agency_id == agency_id,
        Account.role == "agency_reviewer",
        Account.active.is_(True),
    )


def reset_staff_password(
    uow: UnitOfWork, actor: Actor, account_id: int, guard: SigninGuard
) -> dict:
    """A new one-time password for a staff account, answered once."""
    _secretariat(actor)
    _staff_account(uow, account_id)
    return passwords.reset_account_password(uow, actor, account_id, guard)
