"""The pages: server-rendered Jinja2 in Chinese, calling the same use cases as the API.

Sign-in is a session cookie (HttpOnly, SameSite=Lax, Secure when configured); every POST
carries a CSRF token. The API under /api/v1 keeps its bearer tokens and is not affected.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFError, CSRFProtect

from service.httputil import PAGE_ERRORS
from service.web import (
    assets,
    auth,
    business,
    cpd,
    designer,
    errors,
    feedback,
    finance,
    home,
    jobs,
    learning_records,
    materials,
    member,
    notices,
    operations,
    public,
    records,
    secretariat,
    unit,
    workbench,
)

csrf = CSRFProtect()


class PageSessions(SecureCookieSessionInterface):
    """The pages' signed session cookie; the API's requests open none (they are signed in by
    bearer token alone), which spares each of them the cookie's serializer."""

    def open_session(self, app, request):
        if request.path.startswith("/api/"):
            return self.make_null_session(app)
        return super().open_session(app, request)


def register_web(app: Flask) -> None:
    """Attach the pages, their session settings, CSRF protection and error pages."""
    config = app.extensions["memberflow"].config
    app.jinja_options = {**app.jinja_options, **assets.JINJA_OPTIONS}  # before its first use
    app.config.update(
        SESSION_COOKIE_NAME="memberflow_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=config.secure_cookies,
        PERMANENT_SESSION_LIFETIME=timedelta(seconds=config.token_ttl_seconds),
        WTF_CSRF_CHECK_DEFAULT=False,  # checked for the pages only: the API has bearer tokens
        WTF_CSRF_TIME_LIMIT=config.token_ttl_seconds,
        WTF_CSRF_SSL_STRICT=config.secure_cookies,
    )
    app.session_interface = PageSessions()
    csrf.init_app(app)
    for module in (
        assets,
        auth,
        home,
        workbench,
        records,
        materials,
        public,
        business,
        unit,
        member,
        notices,
        feedback,
        finance,
        secretariat,
        jobs,
        learning_records,
        cpd,
        operations,
        designer,
    ):
        app.register_blueprint(module.bp)

    @app.before_request
    def _csrf_on_pages() -> None:
        if request.method not in ("GET", "HEAD", "OPTIONS") and not request.path.startswith(
            "/api/"
        ):
            csrf.protect()

    app.extensions[PAGE_ERRORS] = errors.render_error
    app.register_error_handler(CSRFError, errors.csrf_error)
    assets.install(app)
