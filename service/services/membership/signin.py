"""Signing in and out: credentials through the limiter, bearer tokens, page sessions.

A token (and a page session) carries the account id, the account's `auth_version` and its
own random id. It stops working when its time is up, when the account's version moves on
(password changed or reset, "sign out everywhere", account disabled) or when that one
token was signed out (its id is in `revoked_tokens` until it would have expired anyway).
Revoking one id signs out one device; bumping the version signs out all of them.
"""

from __future__ import annotations

import functools
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from sqlalchemy import delete, func, or_, select
from sqlalchemy.orm import Session

from service.db.models import Account, RevokedToken, utcnow
from service.db.search import same_login
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Unauthorized
from service.domain.validation import login_key, login_name
from service.services.membership import sessions
from service.services.membership.credentials import end_sessions, password_matches
from service.services.membership.signin_limits import SigninGuard

BAD_CREDENTIALS = "账号或密码错误"


@dataclass(frozen=True)
class Bearer:
    """Who a bearer token stands for, and the token itself (for signing it out)."""

    actor: Actor
    token_id: str
    expires_at: datetime
    must_change_password: bool


def _tokens(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="memberflow-access-token")


def new_session_id() -> str:
    """A random id for one token or page session."""
    return secrets.token_hex(16)


def check_credentials(uow: UnitOfWork, guard: SigninGuard, username: str, password: str):
    """The account whose name and password these are; Unauthorized (or TooManyRequests from
    the limiter) otherwise. An unknown name costs the same time and the same attempts."""
    username = login_name(username)  # an ID number or mobile typed full-width or spaced
    # a login is one whatever its letter case and width, and so are its attempts: every
    # spelling of a name draws on one allowance
    key = login_key(username)
    guard.before(key)
    account = account_signing_in(uow.session, username)
    if not password_matches(account.password_hash if account else None, password):
        raise Unauthorized(BAD_CREDENTIALS)
    guard.succeeded(key)
    if not account.active:
        raise Unauthorized(disabled_message(account))
    return account


def account_signing_in(session: Session, username: str) -> Account | None:
    """The account a typed login names: the one whose login it is whatever the letter case
    (as uq_accounts_username_lower keeps logins apart), else the one login that is the same
    whatever the width too (`login_key`: （集团） typed as (集团), ＡＢＣ as ABC). None when
    none is, or when two accounts' logins differ only in width and neither is the one typed:
    a sign-in never guesses between them. One statement; on PostgreSQL each condition is
    answered by its index."""
    same = func.lower(Account.username) == func.lower(username)
    alike = same_login(Account.username, username)
    found = session.execute(
        select(Account, same.label("same")).where(or_(same, alike)).order_by(same.desc()).limit(2)
    ).all()
    if not found or (len(found) > 1 and not found[0].same):
        return None
    return found[0].Account


def disabled_message(account: Account) -> str:
    """Why a disabled account cannot sign in, and whom to ask: a sub-account its unit's
    main account disabled (or may enable), anyone else the secretariat."""
    if account.role == "unit_admin" and account.sub_slot is not None:
        return "该账号已停用，请联系本单位主账号（单位管理员）启用"
    return "该账号已停用，请联系协会秘书处"


def token_reply(account: Account, secret: str, ttl: int) -> dict:
    """A new bearer token for the account, with its expiry and the user's scope."""
    claims = {"a": account.id, "v": account.auth_version, "j": new_session_id()}
    token = _tokens(secret).dumps(claims)
    return {
        "access_token": token,
        "token_type": "Bearer",
        "expires_in": ttl,
        "must_change_password": account.must_change_password,
        "user": {
            "id": account.id,
            "name": account.name,
            "roles": [account.role],
            "unit_id": account.unit_id,
            "agency_id": account.agency_id,
            "member_id": account.member_id,
        },
    }


def sign_in(
    uow: UnitOfWork, guard: SigninGuard, secret: str, ttl: int, username: str, password: str
) -> dict:
    """Check the credentials (limited per name and address); a bearer token."""
    return token_reply(check_credentials(uow, guard, username, password), secret, ttl)


def bearer(uow: UnitOfWork, secret: str, ttl: int, token: str) -> Bearer:
    """Who a bearer token stands for; Unauthorized when invalid, expired or signed out."""
    try:
        account_id, version, token_id, issued = _signed(secret, token)
    except BadSignature as exc:
        raise Unauthorized("登录凭证无效，请重新登录") from exc
    age = int(time.time()) - issued  # as itsdangerous measures it, in whole seconds
    if age > ttl or age < 0:
        raise Unauthorized("登录已过期，请重新登录")
    entry = sessions.check(uow, account_id, version, token_id)
    expires = datetime.fromtimestamp(issued, UTC).replace(tzinfo=None) + timedelta(seconds=ttl)
    return Bearer(entry.actor, token_id, expires, entry.must_change_password)


@functools.lru_cache(maxsize=4096)
def _signed(secret: str, token: str) -> tuple[object, object, str, int]:
    """What a token signed with `secret` says: account id, version, token id and when it was
    signed (a Unix time); BadSignature when it is not ours or not whole.

    Kept per token (the last 4,096 good ones; a refusal is never kept): a token's text fixes
    all four for good, and checking it (an HMAC, base64 and JSON) costs more than the rest
    of the signed-in check. Its age, the account's version and the signed-out ids are
    checked on every use by the caller."""
    payload, issued = _tokens(secret).loads(token, return_timestamp=True)
    if not isinstance(payload, dict) or not isinstance(payload.get("j"), str):
        raise BadSignature("not one of our tokens")
    return payload.get("a"), payload.get("v"), payload["j"], int(issued.timestamp())


def revoke(uow: UnitOfWork, account_id: int, session_id: str, expires_at: datetime) -> None:
    """Sign out one token or page session (kept refused until `expires_at`); commits."""
    now = utcnow()
    uow.session.execute(delete(RevokedToken).where(RevokedToken.expires_at < now))
    if uow.session.get(RevokedToken, session_id) is None:
        uow.session.add(RevokedToken(jti=session_id, account_id=account_id, expires_at=expires_at))
    uow.commit()


def sign_out_everywhere(uow: UnitOfWork, actor: Actor) -> None:
    """Every token and page session of the caller's account stops working; commits."""
    account = uow.session.get(Account, actor.id)
    end_sessions(account)
    uow.commit()
