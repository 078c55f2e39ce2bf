"""Rate limits: flask-limiter for the public endpoints and pages, and the sign-in limiter.

Both count in one storage per app, shared by every worker and host of that app:

- `MEMBERFLOW_RATELIMIT_STORAGE=redis://…` (or any other `limits` storage URL): there;
- otherwise: the database's `rate_counters` table (PostgreSQL, or the embedded SQLite,
  whose server has two worker processes as well).

flask-limiter keeps one storage per Limiter object, and the decorators need one module-level
limiter; so the limiter's storage is `memberflow://`, which hands each call to the storage of
the app serving the request. Two apps in one process (the tests) never share counters.
"""

from __future__ import annotations

import logging
import threading
import time
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.errors import ConfigurationError
from limits.storage import MemoryStorage, Storage, storage_from_string

from service.config import ConfigError, shown_url
from service.db import db
from service.db.rate_counters import DatabaseStorage
from service.services.membership.signin_limits import SigninGuard, SigninPolicy

STORAGE = "memberflow.ratelimit_storage"
log = logging.getLogger("memberflow.limits")

# a Redis that does not answer must not hold a request for the system's TCP timeout (minutes):
# the URL's own socket_timeout / socket_connect_timeout win over these
REDIS_TIMEOUTS = {"socket_connect_timeout": 2, "socket_timeout": 2}
PLAIN_REDIS = ("redis", "rediss", "redis+unix", "valkey", "valkeys", "valkey+unix")


def open_storage(uri: str | None, engine: sa.Engine) -> Storage:
    """The storage an app counts in: the configured URL (counting in this process's memory
    while it cannot be reached, see `FallbackStorage`), else its database."""
    scheme = urlsplit(uri or "memory://").scheme
    if scheme in ("", "memory"):
        return DatabaseStorage(engine)
    options: dict = {}
    if scheme.startswith(("redis", "valkey")):
        options["key_prefix"] = "memberflow"
    if scheme in PLAIN_REDIS:
        options.update(REDIS_TIMEOUTS)
    try:
        storage = storage_from_string(uri, **options)
    except ConfigurationError as exc:  # an unknown scheme, or its client library missing
        raise ConfigError(
            f"MEMBERFLOW_RATELIMIT_STORAGE 无法使用（{shown_url(uri)}）：{exc}"
        ) from exc
    fallback = FallbackStorage(storage, shown_url(uri))
    if not storage.check():  # at start-up: say so now, not at the first sign-in
        fallback._down_until = time.monotonic() + fallback.RETRY
        log.warning(
            "限流存储 MEMBERFLOW_RATELIMIT_STORAGE=%s 现在无法连接：在其恢复前，"
            "各进程的频率限制改在本进程内存中计数 (rate-limit storage unreachable at start-up)",
            fallback.shown,
        )
    return fallback


class FallbackStorage(Storage):
    """An external storage (Redis…) that never fails a request: while it cannot be reached,
    each call counts in this process's memory instead (a warning is logged), and the storage
    is tried again `RETRY` seconds later. The limits still hold, per process, through an
    outage; what was counted in memory is forgotten when the storage answers again.

    (flask-limiter's own `in_memory_fallback` does not fit: its state is the module-level
    limiter's, shared by every app of the process, it counts other limits than the views'
    while it lasts, and the sign-in limiter calls the storage without flask-limiter.)"""

    STORAGE_SCHEME = None
    RETRY = 30.0  # seconds between two tries of a storage found unreachable

    def __init__(self, main: Storage, shown: str) -> None:
        super().__init__()
        self.main = main
        self.shown = shown
        self._errors = _exceptions(main)
        self._memory: MemoryStorage | None = None  # made at the first outage (it has a thread)
        self._lock = threading.Lock()
        self._down_until = 0.0  # time.monotonic() until which the storage is not tried

    @property
    def base_exceptions(self):
        return self._errors

    @property
    def memory(self) -> MemoryStorage:
        with self._lock:
            if self._memory is None:
                self._memory = MemoryStorage()
            return self._memory

    def _call(self, name: str, *args):
        if self._down_until:
            if time.monotonic() < self._down_until:
                return getattr(self.memory, name)(*args)
        try:
            result = getattr(self.main, name)(*args)
        except self._errors as exc:
            self._down_until = time.monotonic() + self.RETRY
            log.warning(
                "限流存储 MEMBERFLOW_RATELIMIT_STORAGE=%s 无法连接（%s: %s）：频率限制改在本进程"
                "内存中计数，%d 秒后再试 (rate-limit storage unreachable, counting in memory)",
                self.shown,
                type(exc).__name__,
                " ".join(str(exc).split()),
                self.RETRY,
            )
            return getattr(self.memory, name)(*args)
        if self._down_until:
            self._down_until = 0.0
            log.warning(
                "限流存储 MEMBERFLOW_RATELIMIT_STORAGE=%s 已恢复 (rate-limit storage back)",
                self.shown,
            )
        return result

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._call("incr", key, expiry, amount)

    def get(self, key: str) -> int:
        return self._call("get", key)

    def get_expiry(self, key: str) -> float:
        return self._call("get_expiry", key)

    def check(self) -> bool:
        """Whether the storage itself answers (not the memory standing in for it)."""
        return self.main.check()

    def reset(self) -> int | None:
        return self._call("reset")

    def clear(self, key: str) -> None:
        if self._memory is not None:
            self._memory.clear(key)
        return self._call("clear", key)


def _exceptions(storage: Storage) -> tuple[type[BaseException], ...]:
    """What the storage raises when it cannot be reached: its client's errors, and the
    system's (a refused or reset connection)."""
    own = storage.base_exceptions
    own = own if isinstance(own, tuple) else (own,)
    return (*own, OSError)


class AppStorage(Storage):
    """`memberflow://`: each call goes to the current app's storage (see the module's note)."""

    STORAGE_SCHEME = ["memberflow"]

    def __init__(self, uri: str | None = None, **options) -> None:
        super().__init__(uri, **options)

    @staticmethod
    def _app() -> Storage:
        return current_app.extensions[STORAGE]

    @property
    def base_exceptions(self):
        return self._app().base_exceptions

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        return self._app().incr(key, expiry, amount)

    def get(self, key: str) -> int:
        return self._app().get(key)

    def get_expiry(self, key: str) -> float:
        return self._app().get_expiry(key)

    def check(self) -> bool:
        return self._app().check()

    def reset(self) -> int | None:
        return self._app().reset()

    def clear(self, key: str) -> None:
        return self._app().clear(key)


class AppLimiter(Limiter):
    """A Limiter whose counters live in each app's own storage (see `open_storage`)."""

    def init_app(self, app: Flask) -> None:
        with app.app_context():
            engine = db.engine
        app.extensions[STORAGE] = open_storage(app.config.get("RATELIMIT_STORAGE_URI"), engine)
        app.config["RATELIMIT_STORAGE_URI"] = "memberflow://"
        super().init_app(app)
        hooks = app.before_request_funcs.setdefault(None, [])
        if self._check_request_limit in hooks:  # not when initialised on this app before
            hooks[hooks.index(self._check_request_limit)] = self._check_app_wide_limits

    def _check_app_wide_limits(self) -> None:
        """flask-limiter's check before every request, run only when a limit needs it.

        A limit decorating a view (`@limiter.limit`, `@limiter.shared_limit`: memberflow's
        own) is checked by its decorator when the view runs; the check before the request
        adds only the limits of the app, its defaults, a blueprint's and the meta limits.
        With none of them configured it found nothing to count, at about 3 % of an API
        request's CPU (`tests/integration/test_rate_limit_hook.py`)."""
        manager = self.limit_manager
        if (
            manager._application_limits
            or manager._default_limits
            or manager._blueprint_limits
            or self._meta_limits
        ):
            self._check_request_limit()


limiter = AppLimiter(key_func=get_remote_address, headers_enabled=True)


def app_storage() -> Storage:
    """The current app's rate-limit storage."""
    return current_app.extensions[STORAGE]


def signin_guard() -> SigninGuard:
    """The sign-in limiter for this request (its client address, the app's settings)."""
    config = current_app.extensions["memberflow"].config
    policy = SigninPolicy(
        attempts=config.signin_attempts,
        lockout=config.signin_lockout_seconds,
        address_failures=config.signin_address_failures,
    )
    address = get_remote_address() if has_request_context() else "local"  # a CLI, the seed
    return SigninGuard(app_storage(), address, policy, config.secret_key)
