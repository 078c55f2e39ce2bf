"""Password operations: change one's own, resets by the unit (FAQ 3.8) and the secretariat
(FAQ 3.9), disabling and enabling accounts. Each is one audit record (never the password).

A reset answers a random one-time password, shown once and stored only as a hash; it must
be changed at the next sign-in, and it ends every session of the account at once.
"""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Account, Member, utcnow
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound
from service.services.membership.credentials import (
    check_password,
    end_sessions,
    issue_one_time_password,
    password_matches,
    set_password,
)
from service.services.membership.signin_limits import SigninGuard
from service.services.workflow import audit, handover
from service.services.workflow.scope import (
    SUB_ACCOUNTS_BY_MAIN,
    administers_unit,
    manages_sub_accounts,
    may_manage_accounts,
)

ONCE = "请将新密码告知本人：它只显示这一次，首次登录后须修改"


def _audit(uow: UnitOfWork, actor: Actor, action: str, account: Account, **extra) -> None:
    detail = {"account_id": account.id, "username": account.username, **extra}
    audit.write(uow.session, audit.Step(actor, action, detail=detail), utcnow())


def check_new_password(account: Account, password: str, field: str = "new_password") -> None:
    """FormInvalid unless `password` obeys the rules for this account."""
    id_number = account.username if account.role == "member" else None
    check_password(password, account.username, id_number, field)


def change_own_password(
    uow: UnitOfWork, actor: Actor, current: str, new: str, guard: SigninGuard | None
) -> Account:
    """The signed-in person replaces their password (the current one is checked, limited
    like a sign-in when `guard` is given); every other session ends. Commits."""
    account = uow.session.get(Account, actor.id)
    if account is None:
        raise NotFound("账号不存在")
    if not current:  # nothing typed: asked for (not a wrong password, nor a sign-in attempt)
        empty = {"current_password": "请填写当前密码"}
        raise FormInvalid(empty if new else {**empty, "new_password": "请填写新密码"})
    if guard is not None:
        guard.before(account.username)
    if not password_matches(account.password_hash, current):
        raise FormInvalid({"current_password": "当前密码不正确"})
    if guard is not None:
        guard.succeeded(account.username)
    if new == current:
        raise FormInvalid({"new_password": "新密码不能与当前密码相同"})
    check_new_password(account, new)
    set_password(account, new, must_change=False)
    _audit(uow, actor, "password_change", account)
    uow.commit()
    return account


def _issue(uow: UnitOfWork, actor: Actor, account: Account, how: str, **extra) -> dict:
    """A new one-time password for `account`, audited; the caller commits."""
    password = issue_one_time_password(account)
    _audit(uow, actor, "password_reset", account, by=how, **extra)
    return {
        "account_id": account.id,
        "username": account.username,
        "name": account.name,
        "password": password,
        "must_change_password": True,
        "active": account.active,  # a disabled account's password signs no one in
        "message": ONCE,
    }


def _reset(uow: UnitOfWork, actor: Actor, account: Account, how: str, guard: SigninGuard) -> dict:
    reply = _issue(uow, actor, account, how)
    uow.commit()
    guard.unlock(account.username.lower())  # a locked-out person signs in with it at once
    return reply


def _unit_admin(actor: Actor, unit_id: int) -> None:
    if not administers_unit(actor, unit_id) and not may_manage_accounts(actor):
        raise NotFound("单位不存在")


def reset_member_password(
    uow: UnitOfWork, actor: Actor, unit_id: int, member_id: int, guard: SigninGuard
) -> dict:
    """A unit admin issues a new one-time password to one of its members (also the first)."""
    _unit_admin(actor, unit_id)
    member = uow.session.get(Member, member_id)
    if member is None or member.unit_id != unit_id:
        raise NotFound("该人员不存在或不是本单位人员")
    account = uow.session.scalars(
        select(Account).where(Account.member_id == member_id, Account.role == "member")
    ).first()
    if account is None:
        raise NotFound("该人员还没有会员账号（入会审批完成后开通）")
    return _reset(uow, actor, account, "unit", guard)


MAX_BATCH = 200  # people in one batch of initial passwords (a page of the archive is ≤ 100)


def _member_accounts(
    uow: UnitOfWork, actor: Actor, unit_id: int, member_ids: list[int]
) -> list[tuple[Member, Account]]:
    """Each of `member_ids` (once, in order) with its member account; FormInvalid, naming
    whom it can, when one is not of the unit or has no account yet."""
    _unit_admin(actor, unit_id)
    ids = list(dict.fromkeys(member_ids))
    if not ids:
        raise FormInvalid({"member_ids": "请先勾选要生成初始密码的人员"})
    if len(ids) > MAX_BATCH:
        raise FormInvalid(
            {"member_ids": f"每次最多为{MAX_BATCH}人生成初始密码，已选{len(ids)}人，请分批办理"}
        )
    people = {
        m.id: m
        for m in uow.session.scalars(
            select(Member).where(Member.id.in_(ids), Member.unit_id == unit_id)
        )
    }
    accounts: dict[int, Account] = {}
    for account in uow.session.scalars(
        select(Account)
        .where(Account.member_id.in_(list(people)), Account.role == "member")
        .order_by(Account.id)
    ):
        accounts.setdefault(account.member_id, account)
    problems = []
    strangers = [i for i in ids if i not in people]  # another unit's: not named (scope)
    if strangers:
        problems.append(f"{len(strangers)}人不存在或已不是本单位人员")
    without = [people[i] for i in ids if i in people and i not in accounts]
    if without:
        named = "、".join(f"{m.name}（{m.id_number}）" for m in without)
        problems.append(f"{named}还没有会员账号（入会审批完成后开通）")
    if problems:
        message = "所选人员中" + "；".join(problems) + "。请取消勾选后重试，未生成任何密码"
        raise FormInvalid({"member_ids": message}, message)
    return [(people[i], accounts[i]) for i in ids]


def preview_member_passwords(
    uow: UnitOfWork, actor: Actor, unit_id: int, member_ids: list[int]
) -> list[dict]:
    """Whom a batch of initial passwords would go to (the confirmation), refused as the
    batch itself would be; changes nothing."""
    return [
        {"member_id": m.id, "name": m.name, "username": a.username, "active": a.active}
        for m, a in _member_accounts(uow, actor, unit_id, member_ids)
    ]


def reset_member_passwords(
    uow: UnitOfWork, actor: Actor, unit_id: int, member_ids: list[int], guard: SigninGuard
) -> list[dict]:
    """批量生成初始密码: a unit admin (or the secretariat) issues a one-time password to each
    of its members in `member_ids` (≤ MAX_BATCH), all in one transaction, each audited as one
    reset: all or, when one is refused, none. The passwords, to be shown this once."""
    targets = _member_accounts(uow, actor, unit_id, member_ids)
    issued = [
        {**_issue(uow, actor, account, "unit", batch=len(targets)), "member_id": member.id}
        for member, account in targets
    ]
    uow.commit()
    for _member, account in targets:
        guard.unlock(account.username.lower())
    return issued


def reset_sub_account_password(
    uow: UnitOfWork, actor: Actor, unit_id: int, account_id: int, guard: SigninGuard
) -> dict:
    """The unit's main account (or the secretariat) resets a sub-account's password; a
    sub-account may not (`manages_sub_accounts`). The main account's is reset by the
    secretariat (FAQ 3.9)."""
    _unit_admin(actor, unit_id)
    if not manages_sub_accounts(uow.session, actor, unit_id):
        raise Forbidden(SUB_ACCOUNTS_BY_MAIN)
    account = uow.session.get(Account, account_id)
    if account is None or account.unit_id != unit_id or account.role != "unit_admin":
        raise NotFound("该账号不存在或不是本单位的子账号")
    if account.sub_slot is None:
        raise Forbidden("单位主账号的密码由协会秘书处重置，请提交盖章的申请")
    return _reset(uow, actor, account, "unit", guard)


def _secretariat_target(uow: UnitOfWork, actor: Actor, account_id: int) -> Account:
    if not may_manage_accounts(actor):
        raise Forbidden("只有协会秘书处可以进行此操作")
    account = uow.session.get(Account, account_id)
    if account is None:
        raise NotFound("账号不存在")
    return account


def reset_account_password(
    uow: UnitOfWork, actor: Actor, account_id: int, guard: SigninGuard
) -> dict:
    """The secretariat resets any account's password: a unit's main account, staff."""
    account = _secretariat_target(uow, actor, account_id)
    if account.id == actor.id:  # a session left open would take the account over
        raise Conflict("不能重置当前登录账号的密码，请在“修改密码”中输入原密码后修改")
    return _reset(uow, actor, account, "secretariat", guard)


def set_account_active(uow: UnitOfWork, actor: Actor, account_id: int, active: bool) -> dict:
    """The secretariat disables or enables an account; disabling ends its sessions at once
    and puts the tasks it holds back in their queues (`released`: how many)."""
    account = _secretariat_target(uow, actor, account_id)
    if account.id == actor.id and not active:
        raise Conflict("不能停用当前登录的账号")
    released = 0
    if account.active != active:
        account.active = active
        end_sessions(account)
        _audit(uow, actor, "account_enable" if active else "account_disable", account)
    if not active:  # what a disabled account holds would wait for it, hidden from colleagues
        released = handover.release_held(uow.session, actor, account.id, utcnow())
    reply = {
        "id": account.id,
        "username": account.username,
        "active": account.active,
        "released": released,
    }
    uow.commit()
    return reply
