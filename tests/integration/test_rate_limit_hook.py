"""flask-limiter's check before every request runs only when a limit needs it
(`service.limits.AppLimiter._check_app_wide_limits`): memberflow's own limits decorate
their views and are checked there, so an app without app-wide limits skips the hook, and
one with them still counts every request."""

from __future__ import annotations

import shutil

from conftest import join_code_uploads, make_app
from flask_limiter.util import get_remote_address

from service.limits import AppLimiter, limiter


def _hooks(app) -> list:
    return app.before_request_funcs[None]


def _app(tmp_path, sqlite_template, **overrides):
    shutil.copy(sqlite_template, tmp_path / "memberflow.sqlite3")
    return make_app(f"sqlite:///{tmp_path / 'memberflow.sqlite3'}", tmp_path, **overrides)


def test_no_app_wide_limit_means_no_check_before_the_request(
    tmp_path, sqlite_template, monkeypatch
):
    app = _app(tmp_path, sqlite_template, join_upload_rate="2 per minute")
    hooks = _hooks(app)
    assert limiter._check_request_limit not in hooks
    assert limiter._check_app_wide_limits in hooks
    calls = []
    original = limiter._check_request_limit
    monkeypatch.setattr(
        limiter, "_check_request_limit", lambda *a, **k: calls.append(k) or original(*a, **k)
    )
    assert app.test_client().get("/login").status_code == 200
    assert calls == []  # nothing checked for a view without a limit
    # a view's own limit is still counted, by its decorator, and answers 429
    assert join_code_uploads(app, "127.0.0.78", 3) == [201, 201, 429]
    assert calls and all(k.get("in_middleware") is False for k in calls)


def test_an_app_wide_limit_is_still_counted_before_every_request(tmp_path, sqlite_template):
    app = _app(tmp_path, sqlite_template)
    wide = AppLimiter(key_func=get_remote_address, application_limits=["2 per minute"])
    app.config["RATELIMIT_STORAGE_URI"] = "memory://"  # as the settings gave it
    wide.init_app(app)
    assert wide._check_app_wide_limits in _hooks(app)
    client = app.test_client()
    env = {"REMOTE_ADDR": "127.0.0.79"}
    assert [client.get("/login", environ_base=env).status_code for _ in range(3)] == [
        200,
        200,
        429,
    ]
