"""Accounts and the reference data the secretariat keeps; the Actor a session stands for.

Signing in and tokens are in `signin`, password changes and resets in `passwords`. Each
creation writes one audit record (`agency_create`, `unit_create`, `staff_create`,
`sub_account_create`) in the transaction that makes the row, naming it in the remark and
never the password.
"""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.db.models import Account, Agency, Unit, utcnow
from service.db.search import hold_login, same_login
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound
from service.domain.passwords import password_problem
from service.domain.roles import ROLES
from service.domain.validation import (
    InvalidValue,
    check_credit_code,
    clean_name,
    normalize_mobile,
    staff_login_problem,
)
from service.services.membership import sessions
from service.services.membership.credentials import check_password, hash_password
from service.services.workflow import audit
from service.services.workflow.scope import (
    STAFF_ROLES,
    SUB_ACCOUNTS_BY_MAIN,
    is_staff_role,
    is_unit_admin,
    manages_sub_accounts,
    may_manage_accounts,
)

MAX_SUB_ACCOUNTS = 3
SIGNED_OUT = "登录已失效（已退出、密码已修改或账号已停用），请重新登录"


def actor_of(account: Account) -> Actor:
    """The Actor a signed-in account acts as."""
    return Actor(
        account.id,
        account.name,
        account.role,
        unit_id=account.unit_id,
        agency_id=account.agency_id,
        member_id=account.member_id,
    )


def actor_for_account(uow: UnitOfWork, account_id, version, session_id: str | None) -> Actor:
    """The Actor of a page session (account, version, session id); Unauthorized if it ended."""
    return sessions.check(uow, account_id, version, session_id).actor


def _require_secretariat(actor: Actor) -> None:
    if not may_manage_accounts(actor):
        raise Forbidden("当前账号无权进行此操作")


def _log(uow: UnitOfWork, actor: Actor, action: str, remark: str, **detail) -> None:
    """The audit record of a creation, written with it (committed or rolled back together)."""
    audit.write(uow.session, audit.Step(actor, action, remark=remark, detail=detail), utcnow())


def _unique(uow: UnitOfWork, exc: IntegrityError, field: str, message: str):
    uow.rollback()
    raise FormInvalid({field: message}) from exc


def _insert(uow: UnitOfWork, row, field: str, message: str) -> None:
    """Add a row; a unique-constraint clash becomes a field error on `field`."""
    uow.session.add(row)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        _unique(uow, exc, field, message)


LOGIN_TAKEN = "该登录名已被使用（登录名不区分大小写）"
ADMIN_LOGIN_TAKEN = f"已有同名账号，{LOGIN_TAKEN}"


def _insert_account(uow: UnitOfWork, account: Account) -> None:
    """Add an account whose login the caller checked; one taken meanwhile — the unique
    index on lower(username) decides a race of `Abc` and `abc` — is a Conflict (409)."""
    uow.session.add(account)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        uow.rollback()
        raise Conflict(
            f"{LOGIN_TAKEN}：刚刚已有同名账号创建，请换一个登录名", {"username": LOGIN_TAKEN}
        ) from exc


def create_agency(
    uow: UnitOfWork, actor: Actor, name: str, city: str, contact: dict | None = None
) -> dict:
    """A city service agency (初审机构), with its 服务机构信息 when given."""
    _require_secretariat(actor)
    agency = Agency(name=name.strip(), city=city.strip(), **(contact or {}))
    _insert(uow, agency, "name", "已存在同名的会员服务机构")
    _log(
        uow,
        actor,
        "agency_create",
        f"新增会员服务机构“{agency.name}”（{agency.city}）",
        agency_id=agency.id,
        name=agency.name,
        city=agency.city,
        **{field: value for field, value in (contact or {}).items() if value},
    )
    uow.commit()
    return {"id": agency.id, "name": agency.name, "city": agency.city}


def create_unit(
    uow: UnitOfWork,
    actor: Actor,
    name: str,
    credit_code: str,
    agency_id: int,
    member_unit: bool,
    password: str,
    must_change_password: bool = False,
) -> dict:
    """A unit and its main account (login = the unit's full name), whose password must be
    changed at the first sign-in if `must_change_password` (a one-time password)."""
    _require_secretariat(actor)
    try:
        code = check_credit_code(credit_code)
    except InvalidValue as exc:
        raise FormInvalid({"credit_code": exc.message}) from exc
    check_password(password, name.strip())
    agency = uow.session.get(Agency, agency_id)
    if agency is None:
        raise FormInvalid({"agency_id": "初审机构不存在"})
    name = name.strip()
    unit = Unit(name=name, credit_code=code, agency_id=agency_id, member_unit=member_unit)
    uow.session.add(unit)
    try:
        uow.session.flush()
        main = Account(
            username=name,
            name=name,
            role="unit_admin",
            unit_id=unit.id,
            agency_id=agency_id,
            is_main=True,
            password_hash=hash_password(password),
            must_change_password=must_change_password,
        )
        uow.session.add(main)
        uow.session.flush()
    except IntegrityError as exc:
        _unique(uow, exc, "name", "该单位名称或统一社会信用代码已注册")
    kind = "会员单位" if member_unit else "非会员单位"
    _log(
        uow,
        actor,
        "unit_create",
        f"新增单位“{name}”（{kind}，统一社会信用代码 {code}，初审机构 {agency.name}）及其主账号",
        unit_id=unit.id,
        name=name,
        credit_code=code,
        agency_id=agency_id,
        member_unit=member_unit,
        account_id=main.id,
        username=main.username,
        must_change_password=must_change_password,
    )
    uow.commit()
    return {
        "id": unit.id,
        "name": unit.name,
        "credit_code": unit.credit_code,
        "agency_id": unit.agency_id,
        "member_unit": unit.member_unit,
    }


def staff_agency_problem(role: str) -> str:
    """Why an agency given to a staff account of `role` (not agency_reviewer) is refused."""
    return f"角色为“{ROLES[role]}”时所属机构请留空（只有会员服务机构人员属于某个机构）"


def create_staff(
    uow: UnitOfWork,
    actor: Actor,
    username: str,
    name: str,
    password: str,
    role: str,
    agency_id: int | None,
    must_change_password: bool = False,
) -> dict:
    """An account for association, agency or finance staff (with a one-time password if
    `must_change_password`)."""
    _require_secretariat(actor)
    if not is_staff_role(role):
        raise FormInvalid(
            {"role": "角色须为：" + "、".join(f"{r}（{ROLES[r]}）" for r in STAFF_ROLES)}
        )
    agency = None
    if role == "agency_reviewer":
        agency = uow.session.get(Agency, agency_id) if agency_id is not None else None
        if agency is None:
            raise FormInvalid({"agency_id": "会员服务机构人员必须指定所属机构"})
    elif agency_id is not None:  # refused, not dropped: the caller meant something by it
        raise FormInvalid({"agency_id": staff_agency_problem(role)})
    check_password(password, username.strip())
    account = Account(
        username=username.strip(),
        name=clean_name(name),
        role=role,
        agency_id=agency.id if agency is not None else None,
        password_hash=hash_password(password),
        must_change_password=must_change_password,
    )
    _insert_account(uow, account)
    where = f"：{agency.name}" if agency is not None else ""
    _log(
        uow,
        actor,
        "staff_create",
        f"新增工作人员账号“{account.username}”（{account.name}，{ROLES[role]}{where}）",
        account_id=account.id,
        username=account.username,
        name=account.name,
        role=role,
        agency_id=account.agency_id,
        must_change_password=must_change_password,
    )
    uow.commit()
    return {"id": account.id, "username": account.username, "role": role}


def create_sub_account(
    uow: UnitOfWork, actor: Actor, unit_id: int, name: str, mobile: str, password: str
) -> dict:
    """A unit sub-account (login = mobile number); at most three per unit. Added by the
    unit's main account or the secretariat (`manages_sub_accounts`)."""
    if is_unit_admin(actor):
        if actor.unit_id != unit_id:
            raise NotFound("单位不存在")
        if not manages_sub_accounts(uow.session, actor, unit_id):
            raise Forbidden(SUB_ACCOUNTS_BY_MAIN)
    else:
        _require_secretariat(actor)
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    try:
        login = normalize_mobile(mobile)
    except InvalidValue as exc:
        raise FormInvalid({"mobile": exc.message}) from exc
    check_password(password, login)
    used = set(
        uow.session.scalars(
            select(Account.sub_slot).where(
                Account.unit_id == unit_id, Account.sub_slot.is_not(None)
            )
        )
    )
    free = [slot for slot in range(1, MAX_SUB_ACCOUNTS + 1) if slot not in used]
    if not free:
        raise Conflict(f"每个单位最多设置{MAX_SUB_ACCOUNTS}个子账号，本单位已满")
    account = Account(
        username=login,
        name=clean_name(name),
        role="unit_admin",
        unit_id=unit_id,
        agency_id=unit.agency_id,
        sub_slot=free[0],
        mobile=login,
        password_hash=hash_password(password),
    )
    uow.session.add(account)
    try:
        uow.session.flush()
    except IntegrityError as exc:
        uow.rollback()
        taken = uow.session.scalar(
            select(func.count()).select_from(Account).where(Account.username == login)
        )
        if taken:
            raise FormInvalid({"mobile": "该手机号已被其他账号使用"}) from exc
        raise Conflict("子账号同时创建冲突，或本单位子账号已满，请刷新后重试") from exc
    _log(
        uow,
        actor,
        "sub_account_create",
        f"新增单位“{unit.name}”的子账号“{login}”（{account.name}）",
        account_id=account.id,
        username=login,
        name=account.name,
        unit_id=unit_id,
        sub_slot=account.sub_slot,
    )
    uow.commit()
    return {"id": account.id, "username": login, "name": account.name, "unit_id": unit_id}


def create_admin(uow: UnitOfWork, username: str, password: str, name: str = "") -> dict:
    """The first secretariat administrator (command line only), named as the pages show
    the person (who replied, who claimed): `name`, or the role's name, not the login.

    The login obeys the rules of a staff login created over the API (POST /staff): trimmed
    as sign-in trims it, then letters, digits, underscores or Chinese; a wrong login and a
    wrong password are named at once (FormInvalid, one message a field)."""
    login = username.strip()
    errors: dict[str, str] = {}
    problem = staff_login_problem(login) if login else "请填写登录名"
    if problem is None:
        hold_login(uow.session, login)
        if uow.session.scalar(select(Account.id).where(same_login(Account.username, login))):
            problem = ADMIN_LOGIN_TAKEN
    if problem:
        errors["username"] = problem
    why = password_problem(password, login)
    if why:
        errors["password"] = why
    if errors:
        raise FormInvalid(errors)
    account = Account(
        username=login,
        name=name.strip() or "秘书处管理员",
        role="secretariat_admin",
        password_hash=hash_password(password),
    )
    _insert_account(uow, account)
    uow.commit()
    return {"id": account.id, "username": login}


def list_agencies(uow: UnitOfWork) -> list[dict]:
    """The service agencies (初审机构), in the order they were registered (filters offer them)."""
    return [
        {"id": a.id, "name": a.name, "city": a.city}
        for a in uow.session.scalars(select(Agency).order_by(Agency.id))
    ]


def own_unit(uow: UnitOfWork, actor: Actor) -> dict | None:
    """The caller's unit (name, member or not), or None for staff and members without one."""
    unit = uow.session.get(Unit, actor.unit_id) if actor.unit_id else None
    if unit is None:
        return None
    return {"id": unit.id, "name": unit.name, "member_unit": unit.member_unit}


_EMAIL = re.compile(r"[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}")


def set_own_email(uow: UnitOfWork, actor: Actor, email: str | None) -> dict:
    """Where one's 业务消息 are emailed (empty: none); answers the address kept."""
    account = uow.session.get(Account, actor.id) if actor.id else None
    if account is None:
        raise NotFound("账号不存在")
    email = (email or "").strip() or None
    if email is not None and (len(email) > 200 or not _EMAIL.fullmatch(email)):
        raise FormInvalid({"email": "邮箱地址格式不正确，如：name@example.com"})
    account.email = email
    uow.commit()
    return {"email": email}
