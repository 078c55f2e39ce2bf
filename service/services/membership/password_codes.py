"""The initial-password QR code (领取会员账号初始密码): for a person who cannot sign in yet.

The unit makes a per-person confirmation code of kind `password` (7 days, single use);
whoever scans it and enters the person's full ID number gets a new one-time password,
shown that once (the unit never sees it) and changed at the first sign-in. Wrong ID
numbers are limited like sign-ins, per code and per address.
"""

from __future__ import annotations

from sqlalchemy import select

from service.db.models import Account, Member
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.validation import clean_code
from service.services.membership.confirmations import INVALID, mark_used, resolve
from service.services.membership.credentials import issue_one_time_password
from service.services.membership.signin_limits import SigninGuard
from service.services.workflow import audit
from service.services.workflow.context import Context


def claim_password(
    ctx: Context, uow: UnitOfWork, guard: SigninGuard, code: str, id_number: str
) -> dict:
    """The person behind a password code, proven by the full ID number, gets a new one-time
    password (shown this once; changed at the first sign-in); the code is used. Commits."""
    row = resolve(ctx, uow, code)
    if row.kind != "password":
        raise NotFound(INVALID)
    # the code is locked, not the member's sign-in (their password still works)
    guard.before(f"password-code:{row.id}", "身份证号输入错误次数过多，该二维码已暂时锁定")
    member = uow.session.get(Member, row.member_id)
    account = uow.session.scalars(
        select(Account).where(Account.member_id == row.member_id, Account.role == "member")
    ).first()
    if account is None or clean_code(id_number) != member.id_number:
        raise FormInvalid({"id_number": "身份证号与该二维码的人员不符"})
    guard.succeeded(f"password-code:{row.id}")
    now = ctx.now()
    mark_used(uow, row, member.id, now)
    password = issue_one_time_password(account)
    person = Actor(None, member.name, "member", unit_id=member.unit_id, member_id=member.id)
    detail = {"kind": row.kind, "code_id": row.id, "account_id": account.id}
    audit.write(uow.session, audit.Step(person, "password_claim", detail=detail), now)
    reply = {
        "username": account.username,
        "name": member.name,
        "password": password,
        "must_change_password": True,
        "message": "请记下密码：它只显示这一次。用身份证号和该密码登录后须设置新密码。",
    }
    uow.commit()
    guard.unlock(account.username.lower())  # a locked-out member signs in with it at once
    return reply
