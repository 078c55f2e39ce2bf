"""What a unit's administrators keep for themselves: the unit's registration data and its
contacts (单位信息), its sub-accounts (子账号: list, add, edit, disable and enable), and one
member's archive row with the state of the member's account.

A unit's main account and its sub-accounts have equal rights in the unit's business (FAQ
3.8: either resets a member's password), but the sub-accounts are managed by the main
account (FAQ 3.15: 登录公司主账号→单位信息→管理员维护; `scope.manages_sub_accounts`), and
the main account itself is kept by the secretariat (its password reset needs a stamped
letter, FAQ 3.9). Anything of another unit is NotFound: scope never leaks.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from service.db.models import Account, Agency, Member, Unit, utcnow
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound
from service.domain.passwords import UNUSABLE
from service.domain.validation import InvalidValue, clean_name, normalize_mobile
from service.services.membership import accounts, members
from service.services.membership.credentials import end_sessions
from service.services.workflow import audit
from service.services.workflow.context import Context
from service.services.workflow.scope import (
    SUB_ACCOUNTS_BY_MAIN,
    is_unit_admin,
    manages_sub_accounts,
)

MAX_NAME = 50


def own_unit(uow: UnitOfWork, actor: Actor, unit_id: int | None = None) -> Unit:
    """The caller's unit, if the caller administers it (`unit_id`, when given, must be it)."""
    unit = uow.session.get(Unit, actor.unit_id) if actor.unit_id else None
    if not is_unit_admin(actor) or unit is None or unit_id not in (None, unit.id):
        raise NotFound("单位不存在")
    return unit


def _account_view(a: Account) -> dict:
    return {
        "id": a.id,
        "name": a.name,
        "username": a.username,
        "mobile": a.mobile,
        "main": a.sub_slot is None,
        "slot": a.sub_slot,
        "active": a.active,
        "must_change_password": a.must_change_password,
        "created_at": a.created_at,
    }


def _unit_accounts(uow: UnitOfWork, unit_id: int) -> list[Account]:
    return list(
        uow.session.scalars(
            select(Account)
            .where(Account.unit_id == unit_id, Account.role == "unit_admin")
            .order_by(Account.sub_slot.is_not(None), Account.sub_slot, Account.id)
        )
    )


def unit_profile(uow: UnitOfWork, actor: Actor) -> dict:
    """单位信息: the registration data, the agency (初审机构) and the contacts (the accounts)."""
    unit = own_unit(uow, actor)
    agency = uow.session.get(Agency, unit.agency_id)
    return {
        "id": unit.id,
        "name": unit.name,
        "credit_code": unit.credit_code,
        "member_unit": unit.member_unit,
        "membership_valid_until": unit.membership_valid_until,
        "joined_on": unit.joined_on,
        "registered_at": unit.created_at,
        "agency": {"id": agency.id, "name": agency.name, "city": agency.city} if agency else None,
        "contacts": [_account_view(a) for a in _unit_accounts(uow, unit.id)],
        "registration": dict(unit.registration or {}),
        "qualifications": list(unit.qualifications or []),
    }


def list_sub_accounts(uow: UnitOfWork, actor: Actor, unit_id: int) -> dict:
    """The unit's sub-accounts by slot, and how many more may be added."""
    own_unit(uow, actor, unit_id)
    subs = [_account_view(a) for a in _unit_accounts(uow, unit_id) if a.sub_slot is not None]
    return {
        "items": subs,
        "max": accounts.MAX_SUB_ACCOUNTS,
        "free": accounts.MAX_SUB_ACCOUNTS - len(subs),
        "manages": manages_sub_accounts(uow.session, actor, unit_id),  # the main account
    }


def _managing(uow: UnitOfWork, actor: Actor, unit_id: int) -> None:
    """Forbidden unless the actor manages the unit's sub-accounts (its main account)."""
    if not manages_sub_accounts(uow.session, actor, unit_id):
        raise Forbidden(SUB_ACCOUNTS_BY_MAIN)


def _name(name: str | None) -> str:
    name = clean_name(name)
    if not name:
        raise FormInvalid({"name": "请填写姓名"})
    if len(name) > MAX_NAME:
        raise FormInvalid({"name": f"姓名不能超过{MAX_NAME}个字"})
    return name


def add_sub_account(
    uow: UnitOfWork, actor: Actor, unit_id: int, name: str, mobile: str, password: str
) -> dict:
    """A new sub-account (login = its mobile number); the fourth is refused (Conflict)."""
    own_unit(uow, actor, unit_id)
    _managing(uow, actor, unit_id)
    return accounts.create_sub_account(uow, actor, unit_id, _name(name), mobile, password)


def _sub_account(uow: UnitOfWork, actor: Actor, unit_id: int, account_id: int) -> Account:
    own_unit(uow, actor, unit_id)
    account = uow.session.get(Account, account_id)
    if account is None or account.unit_id != unit_id or account.role != "unit_admin":
        raise NotFound("该账号不存在或不是本单位的子账号")
    if account.sub_slot is None:
        raise NotFound("单位主账号由协会秘书处管理，不能在此修改")
    return account


def sub_account(uow: UnitOfWork, actor: Actor, unit_id: int, account_id: int) -> dict:
    """One sub-account of the caller's unit."""
    return _account_view(_sub_account(uow, actor, unit_id, account_id))


def _audit(uow: UnitOfWork, actor: Actor, action: str, account: Account, **extra) -> None:
    detail = {"account_id": account.id, "username": account.username, **extra}
    audit.write(uow.session, audit.Step(actor, action, detail=detail), utcnow())


def update_sub_account(
    uow: UnitOfWork, actor: Actor, unit_id: int, account_id: int, name: str, mobile: str
) -> dict:
    """Change a sub-account's name and mobile (the mobile is its login). A new login ends
    the account's sessions. Commits."""
    account = _sub_account(uow, actor, unit_id, account_id)
    _managing(uow, actor, unit_id)
    errors = {}
    try:
        name = _name(name)
    except FormInvalid as exc:
        errors.update(exc.errors)
    try:
        login = normalize_mobile(mobile)
    except InvalidValue as exc:
        errors["mobile"] = exc.message
    if errors:
        raise FormInvalid(errors)
    before = account.username
    account.name = name
    if login != account.username:
        account.username = account.mobile = login
        end_sessions(account)
    _audit(uow, actor, "sub_account_update", account, before=before)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        uow.rollback()
        raise FormInvalid({"mobile": "该手机号已被其他账号使用"}) from exc
    reply = _account_view(account)
    uow.commit()
    return reply


def set_sub_account_active(
    uow: UnitOfWork, actor: Actor, unit_id: int, account_id: int, active: bool
) -> dict:
    """Disable (its sessions end at once) or enable a sub-account. Commits."""
    account = _sub_account(uow, actor, unit_id, account_id)
    _managing(uow, actor, unit_id)
    if account.id == actor.id and not active:
        raise Conflict("不能停用当前登录的账号")
    if account.active != active:
        account.active = active
        end_sessions(account)
        _audit(uow, actor, "account_enable" if active else "account_disable", account)
    uow.session.flush()
    reply = _account_view(account)
    uow.commit()
    return reply


# --- one member ---------------------------------------------------------------------------

ACCOUNT_STATES = {
    "none": "尚未开通（入会审批完成后开通）",
    "not_issued": "尚未发放初始密码",
    "one_time": "已发放一次性密码，待本人登录修改",
    "active": "正常",
    "disabled": "已停用",
}


def _account_state(account: Account | None) -> str:
    if account is None:
        return "none"
    if not account.active:
        return "disabled"
    if account.password_hash == UNUSABLE:
        return "not_issued"
    return "one_time" if account.must_change_password else "active"


def member_record(
    ctx: Context, uow: UnitOfWork, actor: Actor, unit_id: int, member_id: int
) -> dict:
    """One member of the caller's unit as the archive shows it, with the account's state."""
    own_unit(uow, actor, unit_id)
    today = ctx.today()
    stmt = members.archive_query(unit_id, today, members.ArchiveFilters())
    row = uow.session.execute(stmt.where(Member.id == member_id)).first()
    if row is None:
        raise NotFound("该人员不存在或不是本单位人员")
    account = uow.session.scalars(
        select(Account).where(Account.member_id == member_id, Account.role == "member")
    ).first()
    state = _account_state(account)
    record = members.archive_record(row, today, ctx.definitions.names())
    record["account"] = {
        "state": state,
        "label": ACCOUNT_STATES[state],
        "username": account.username if account else None,
    }
    return record
