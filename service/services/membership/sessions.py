"""Who a token or page session stands for, without an account query per request.

Every request used to read the caller's account to check that the session still holds
(account active, `auth_version` unchanged, this session not signed out) and to learn the
role, unit and agency. Those facts change rarely, so each process keeps them per account,
per database:

- an entry is read once (one query: the account, its unit's agency, its signed-out
  session ids) and trusted for `ttl` seconds (MEMBERFLOW_SESSION_RECHECK, default 5;
  0 reads every request as before);
- any change committed through this process to an account, a unit or a signed-out
  session drops the entries it touches at once (a password change, "sign out
  everywhere", a disabled account, a member moved to another unit, a unit moved to
  another agency), so within one process a signed-out session is refused immediately;
- on PostgreSQL such a commit also announces the accounts it touched (NOTIFY, sent with
  the COMMIT's transaction), and each process listens on a connection of its own that it
  reads without waiting before it trusts an entry (`db.listen`: a non-blocking read of a
  socket, no statement): another process (a second gunicorn worker, the scheduler) drops
  the entries at its next request too, so a disabled account, a password reset or "sign
  out everywhere" is refused at once by every process;
- without that (SQLite, or the listening connection lost) another process learns of a
  change when its entry is older than `ttl`: the whole window in which a revoked session
  can still be used elsewhere. A new or lost listening connection drops every entry.

The entry holds the account's current role, unit and agency rather than trusting the
token for them: a member's unit changes when a transfer is approved, and the caller's
scope must follow at once.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass, replace

import sqlalchemy as sa
from sqlalchemy.orm import Session

from service.db.listen import Listener
from service.db.models import Account, RevokedToken, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Unauthorized

CHANNEL = "memberflow_sessions"  # PostgreSQL's NOTIFY channel of changed accounts
EVERY = "*"  # the note that every entry is to be dropped
SIGNED_OUT = "登录已失效，请重新登录"
GONE = "账号不存在或已停用"


@dataclass(frozen=True)
class Entry:
    """What one account's sessions are checked against, and when it was read."""

    actor: Actor
    account_id: int
    version: int
    active: bool
    must_change_password: bool
    signed_out: frozenset[str]
    read_at: float


class SessionCache:
    """Per-account entries of one database, safe to share between a worker's threads."""

    def __init__(self, ttl: float, listener: Listener | None = None):
        self.ttl = ttl
        self.listener = listener
        self._entries: dict[int, Entry] = {}
        self._lock = threading.Lock()

    def entry(self, session: Session, account_id: int) -> Entry | None:
        """The account's entry: kept if younger than `ttl` and no process announced a change
        to it, else read now (None: no such account)."""
        if self.ttl > 0:
            self._hear()
            with self._lock:
                kept = self._entries.get(account_id)
            if kept is not None and time.monotonic() - kept.read_at < self.ttl:
                return kept
        found = _read(session, account_id)
        if found is not None and self.ttl > 0:
            with self._lock:
                self._entries[account_id] = found
        return found

    def _hear(self) -> None:
        """Drop the entries other processes announced changes to (all of them when what
        was announced is not known)."""
        if self.listener is None:
            return
        heard = self.listener.drain()
        if heard is None or EVERY in heard:
            self.forget()
        elif heard:
            self.forget(int(i) for note in heard for i in note.split(",") if i)

    def forget(self, account_ids=None) -> None:
        """Drop the entries of these accounts (None: every entry)."""
        with self._lock:
            if account_ids is None:
                self._entries.clear()
            else:
                for account_id in account_ids:
                    self._entries.pop(account_id, None)


def _read(session: Session, account_id: int) -> Entry | None:
    row = session.execute(
        sa.select(
            Account,
            Unit.agency_id,
            sa.select(sa.func.array_agg(RevokedToken.jti) if _is_pg(session) else _group_jti())
            .where(RevokedToken.account_id == Account.id)
            .scalar_subquery()
            .label("signed_out"),
        )
        .outerjoin(Unit, Unit.id == Account.unit_id)
        .where(Account.id == account_id)
    ).first()
    if row is None:
        return None
    account, unit_agency, signed_out = row
    from service.services.membership.accounts import actor_of

    actor = actor_of(account)
    if unit_agency is not None and actor.agency_id != unit_agency:
        actor = replace(actor, agency_id=unit_agency)  # a unit's scope follows the unit
    if isinstance(signed_out, str):
        ids = frozenset(filter(None, signed_out.split(",")))
    else:
        ids = frozenset(signed_out or ())
    return Entry(
        actor=actor,
        account_id=account.id,
        version=account.auth_version,
        active=account.active,
        must_change_password=account.must_change_password,
        signed_out=ids,
        read_at=time.monotonic(),
    )


def _is_pg(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _group_jti():
    return sa.func.group_concat(RevokedToken.jti, ",")


# one cache per database engine; the app registers its engine at start-up
_CACHES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def install(engine: sa.Engine, ttl: float) -> SessionCache:
    """Keep session entries for this engine's database (called once per app); on
    PostgreSQL, hear other processes' changes (`CHANNEL`)."""
    cache = _CACHES.get(engine)
    if cache is None:
        pg = engine.dialect.name == "postgresql"
        cache = _CACHES[engine] = SessionCache(ttl, Listener(engine, CHANNEL) if pg else None)
    cache.ttl = ttl
    return cache


def uninstall(engine: sa.Engine) -> None:
    """Forget this engine's entries and close its listening connection (an app whose engine
    is disposed for good: the tests, after each one)."""
    cache = _CACHES.pop(engine, None)
    if cache is not None and cache.listener is not None:
        cache.listener.close()


def _cache_of(session: Session) -> SessionCache | None:
    try:
        bind = session.get_bind()
    except sa.exc.UnboundExecutionError:
        return None
    engine = bind if isinstance(bind, sa.Engine) else getattr(bind, "engine", None)
    return _CACHES.get(engine) if engine is not None else None


def check(uow: UnitOfWork, account_id, version, session_id: str | None) -> Entry:
    """The entry of a token or page session; Unauthorized unless the account is active, the
    session's version is the account's current one and it was not signed out."""
    if not isinstance(account_id, int):
        raise Unauthorized(GONE)
    cache = _cache_of(uow.session)
    found = cache.entry(uow.session, account_id) if cache else _read(uow.session, account_id)
    if found is None or not found.active:
        raise Unauthorized(GONE)
    if not session_id or version is None or found.version != version:
        raise Unauthorized(SIGNED_OUT)
    if session_id in found.signed_out:
        raise Unauthorized(SIGNED_OUT)
    return found


# --- dropping entries when what they hold changes -------------------------------------------
_TOUCHED = "memberflow.sessions.touched"


@sa.event.listens_for(Session, "after_flush")
def _note_flushed(session: Session, _flush_context) -> None:
    touched = session.info.setdefault(_TOUCHED, set())
    for obj in (*session.new, *session.dirty, *session.deleted):
        if isinstance(obj, Account):
            touched.add(obj.id)
        elif isinstance(obj, RevokedToken):
            touched.add(obj.account_id)
        elif isinstance(obj, Unit):
            touched.add(None)  # a unit's agency: every entry


@sa.event.listens_for(Session, "do_orm_execute")
def _note_statement(state) -> None:
    if state.is_update or state.is_delete:
        tables = {t.name for t in _tables(state.statement)}
        if tables & {"accounts", "units", "revoked_tokens"}:
            state.session.info.setdefault(_TOUCHED, set()).add(None)


def _tables(statement):
    table = getattr(statement, "table", None)
    return [table] if table is not None else []


@sa.event.listens_for(Session, "before_commit")
def _announce(session: Session) -> None:
    """On PostgreSQL, tell the other processes which accounts this commit changes (NOTIFY,
    delivered when it commits; nothing when it changes none)."""
    try:
        if session.get_bind().dialect.name != "postgresql":
            return
    except sa.exc.UnboundExecutionError:
        return
    session.flush()  # the commit's last changes are noted too
    touched = session.info.get(_TOUCHED)
    if not touched:
        return
    note = EVERY if None in touched else ",".join(str(i) for i in sorted(touched))
    if len(note) > 7000:  # NOTIFY's payload is under 8000 bytes
        note = EVERY
    session.execute(sa.select(sa.func.pg_notify(CHANNEL, note)))


@sa.event.listens_for(Session, "after_commit")
def _forget_committed(session: Session) -> None:
    touched = session.info.pop(_TOUCHED, None)
    if not touched:
        return
    cache = _cache_of(session)
    if cache is not None:
        cache.forget(None if None in touched else touched)
