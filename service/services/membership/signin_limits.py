"""The sign-in limiter: attempts per login name and failures per client address.

Counters live in a `limits` storage shared by every worker and host (the database, or
Redis when configured), the same storage as the public lookup's and the join codes'
limits. Each attempt reserves its place with one atomic increment *before* the password
is checked, so any number of simultaneous requests never check more passwords than the
limit allows.

- Per login name (known or not: an unknown name is treated exactly the same): at most
  `attempts` failures within `lockout` seconds of the first; the next attempt locks the
  name for `lockout` seconds, doubled for each further lockout within a day (at most a
  day). The failures' window never outlasts the lock it leads to, so after a lockout the
  count starts afresh.
  A successful sign-in clears the failures; so does a new password issued by someone who
  may (a reset, a claimed password code), and it lifts the lock as well.
- Per client address: at most `address_failures` failures within `address_window`
  seconds, over all names; a success gives its place back.

Keys are hashes of the name or address (no ID numbers in the storage).
"""

from __future__ import annotations

import hashlib
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from limits.storage import Storage

from service.domain.errors import TooManyRequests

DAY = 24 * 3600


@dataclass(frozen=True)
class SigninPolicy:
    attempts: int = 5
    lockout: int = 900
    lockout_max: int = DAY
    address_failures: int = 30
    address_window: int = 600


def _clock_time(seconds: float) -> str:
    """The Beijing time (HH:MM) `seconds` from now."""
    at = datetime.now(UTC) + timedelta(seconds=seconds, hours=8)
    return at.strftime("%H:%M")


def _wait_words(seconds: int) -> str:
    if seconds < 60:
        return f"{seconds}秒"
    return f"{math.ceil(seconds / 60)}分钟"


class SigninGuard:
    """The limiter for one request: its storage, the client's address and the policy."""

    def __init__(self, storage: Storage, address: str, policy: SigninPolicy, salt: str):
        self.storage = storage
        self.address = address or "unknown"
        self.policy = policy
        self._salt = salt.encode()

    def _key(self, kind: str, value: str) -> str:
        digest = hashlib.sha256(self._salt + b"\0" + value.encode()).hexdigest()[:32]
        return f"signin:{kind}:{digest}"

    def _refuse(self, key: str, message: str, fallback: int) -> TooManyRequests:
        expiry = self.storage.get_expiry(key)
        wait = math.ceil(expiry - time.time()) if expiry > time.time() else fallback
        wait = max(wait, 1)
        when = f"请{_wait_words(wait)}后（北京时间 {_clock_time(wait)} 之后）再试"
        return TooManyRequests(f"{message}，{when}", retry_after=wait)

    def before(self, name: str, locked: str = "登录失败次数过多，该账号已暂时锁定") -> None:
        """Reserve one attempt for `name` from this address; TooManyRequests when locked,
        saying `locked` of what is (an account, by default)."""
        p = self.policy
        lock = self._key("lock", name)
        if self.storage.get(lock) > 0:
            raise self._refuse(lock, locked, p.lockout)
        address = self._key("address", self.address)
        if self.storage.incr(address, p.address_window) > p.address_failures:
            raise self._refuse(address, "该网络地址登录失败次数过多，已暂停登录", p.address_window)
        tries = self.storage.incr(self._key("tries", name), p.lockout)
        if tries > p.attempts:
            if tries == p.attempts + 1:  # exactly one request sees this count: it locks
                level = self.storage.incr(self._key("level", name), DAY)
                self.storage.incr(lock, min(p.lockout * 2 ** (level - 1), p.lockout_max))
            raise self._refuse(lock, locked, p.lockout)

    def succeeded(self, name: str) -> None:
        """The password was right: the name's failures are forgotten, the address's place
        given back."""
        self.storage.clear(self._key("tries", name))
        self.storage.incr(self._key("address", self.address), self.policy.address_window, -1)

    def unlock(self, name: str) -> None:
        """`name` was given a new password by someone who may issue one (a reset, a claimed
        password code): its lock and its failures are forgotten, so the person can sign in
        with it at once. The day's lockout level stays: guessing on locks for longer."""
        self.storage.clear(self._key("tries", name))
        self.storage.clear(self._key("lock", name))
