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

from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app, has_request_context
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from limits.storage import Storage, storage_from_string

from service.db import db
from service.db.rate_counters import DatabaseStorage
from service.services.membership.signin_limits import SigninGuard, SigninPolicy

STORAGE = "memberflow.ratelimit_storage"


def open_storage(uri: str | None, engine: sa.Engine) -> Storage:
    """The storage an app counts in: the configured URL, else its database."""
    scheme = urlsplit(uri or "memory://").scheme
    if scheme not in ("", "memory"):
        options = {"key_prefix": "memberflow"} if scheme.startswith(("redis", "valkey")) else {}
        return storage_from_string(uri, **options)
    return DatabaseStorage(engine)


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
