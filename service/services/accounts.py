"""Accounts, sign-in, bearer tokens, and the reference data the secretariat keeps."""

from __future__ import annotations

import hmac
from dataclasses import replace

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from service.db.models import Account, Agency, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound, Unauthorized
from service.domain.roles import ROLES
from service.domain.validation import InvalidValue, check_credit_code, normalize_mobile

# OWASP's minimum argon2id parameters: strong enough, ~15 ms a hash on this hardware.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
MAX_SUB_ACCOUNTS = 3
STAFF_ROLES = ("agency_reviewer", "association_reviewer", "finance_reviewer", "secretariat_admin")


# A member account's first password (known to the member) waits here until first sign-in.
INITIAL_PASSWORD = "initial$"


def initial_password(password: str) -> str:
    """The stored form of a not-yet-used initial password."""
    return INITIAL_PASSWORD + password


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _HASHER.hash(password)


def _check_password(password: str) -> None:
    if not isinstance(password, str) or len(password) < 6:
        raise FormInvalid({"password": "密码至少6位"})


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


def _tokens(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="memberflow-access-token")


def sign_in(uow: UnitOfWork, secret: str, ttl: int, username: str, password: str) -> dict:
    """Check credentials; a bearer token with its expiry and the user's scope."""
    account = uow.session.scalars(select(Account).where(Account.username == username)).first()
    valid = False
    if account is not None and account.active:
        if account.password_hash.startswith(INITIAL_PASSWORD):
            # hashed lazily, at the first sign-in, so approving an application stays fast
            valid = hmac.compare_digest(
                account.password_hash[len(INITIAL_PASSWORD) :], password or ""
            )
            if valid:
                account.password_hash = hash_password(password)
                uow.commit()
        else:
            try:
                valid = _HASHER.verify(account.password_hash, password or "")
            except (VerificationError, InvalidHashError):
                valid = False
    if not valid:
        raise Unauthorized("用户名或密码错误")
    token = _tokens(secret).dumps({"a": account.id})
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "user": {
            "id": account.id,
            "name": account.name,
            "roles": [account.role],
            "unit_id": account.unit_id,
            "agency_id": account.agency_id,
            "member_id": account.member_id,
        },
    }


def actor_from_token(uow: UnitOfWork, secret: str, ttl: int, token: str) -> Actor:
    """The Actor a bearer token stands for; Unauthorized when invalid or expired."""
    try:
        payload = _tokens(secret).loads(token, max_age=ttl)
    except SignatureExpired as exc:
        raise Unauthorized("登录已过期，请重新登录") from exc
    except BadSignature as exc:
        raise Unauthorized("登录凭证无效，请重新登录") from exc
    return actor_for_account(uow, payload.get("a"))


def actor_for_account(uow: UnitOfWork, account_id) -> Actor:
    """The Actor of an active account (a token's or a page session's); Unauthorized if not."""
    found = uow.session.execute(
        select(Account, Unit.agency_id)
        .outerjoin(Unit, Unit.id == Account.unit_id)
        .where(Account.id == account_id)
    ).first()
    if found is None or not found[0].active:
        raise Unauthorized("账号不存在或已停用")
    account, unit_agency = found
    actor = actor_of(account)
    if unit_agency is not None and actor.agency_id != unit_agency:
        actor = replace(actor, agency_id=unit_agency)  # a unit's scope follows the unit
    return actor


def _require(actor: Actor, *roles: str) -> None:
    if actor.role not in roles:
        raise Forbidden("当前账号无权进行此操作")


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


def create_agency(uow: UnitOfWork, actor: Actor, name: str, city: str) -> dict:
    """A city service agency (初审机构)."""
    _require(actor, "secretariat_admin")
    agency = Agency(name=name.strip(), city=city.strip())
    _insert(uow, agency, "name", "已存在同名的会员服务机构")
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
) -> dict:
    """A unit and its main account (login = the unit's full name)."""
    _require(actor, "secretariat_admin")
    try:
        code = check_credit_code(credit_code)
    except InvalidValue as exc:
        raise FormInvalid({"credit_code": exc.message}) from exc
    _check_password(password)
    if uow.session.get(Agency, agency_id) is None:
        raise FormInvalid({"agency_id": "初审机构不存在"})
    name = name.strip()
    unit = Unit(name=name, credit_code=code, agency_id=agency_id, member_unit=member_unit)
    uow.session.add(unit)
    try:
        uow.session.flush()
        uow.session.add(
            Account(
                username=name,
                name=name,
                role="unit_admin",
                unit_id=unit.id,
                agency_id=agency_id,
                is_main=True,
                password_hash=hash_password(password),
            )
        )
        uow.session.flush()
    except IntegrityError as exc:
        _unique(uow, exc, "name", "该单位名称或统一社会信用代码已注册")
    uow.commit()
    return {
        "id": unit.id,
        "name": unit.name,
        "credit_code": unit.credit_code,
        "agency_id": unit.agency_id,
        "member_unit": unit.member_unit,
    }


def create_staff(
    uow: UnitOfWork,
    actor: Actor,
    username: str,
    name: str,
    password: str,
    role: str,
    agency_id: int | None,
) -> dict:
    """An account for association, agency or finance staff."""
    _require(actor, "secretariat_admin")
    if role not in STAFF_ROLES:
        raise FormInvalid(
            {"role": "角色须为：" + "、".join(f"{r}（{ROLES[r]}）" for r in STAFF_ROLES)}
        )
    if role == "agency_reviewer" and (
        agency_id is None or uow.session.get(Agency, agency_id) is None
    ):
        raise FormInvalid({"agency_id": "会员服务机构人员必须指定所属机构"})
    _check_password(password)
    account = Account(
        username=username.strip(),
        name=name.strip(),
        role=role,
        agency_id=agency_id if role == "agency_reviewer" else None,
        password_hash=hash_password(password),
    )
    _insert(uow, account, "username", "该登录名已被使用")
    uow.commit()
    return {"id": account.id, "username": account.username, "role": role}


def create_sub_account(
    uow: UnitOfWork, actor: Actor, unit_id: int, name: str, mobile: str, password: str
) -> dict:
    """A unit sub-account (login = mobile number); at most three per unit."""
    if actor.role == "unit_admin":
        if actor.unit_id != unit_id:
            raise NotFound("单位不存在")
    else:
        _require(actor, "secretariat_admin")
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    try:
        login = normalize_mobile(mobile)
    except InvalidValue as exc:
        raise FormInvalid({"mobile": exc.message}) from exc
    _check_password(password)
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
        name=name.strip(),
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
    uow.commit()
    return {"id": account.id, "username": login, "name": account.name, "unit_id": unit_id}


def create_admin(uow: UnitOfWork, username: str, password: str) -> dict:
    """The first secretariat administrator (command line only)."""
    _check_password(password)
    account = Account(
        username=username,
        name=username,
        role="secretariat_admin",
        password_hash=hash_password(password),
    )
    _insert(uow, account, "username", "该登录名已被使用")
    uow.commit()
    return {"id": account.id, "username": username}


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
