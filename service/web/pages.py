"""What every page view shares: the context, the unit of work, the signed-in person, redirects."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from functools import wraps
from urllib.parse import urlsplit

from flask import current_app, g, redirect, request, session, url_for

from service.db.uow import UnitOfWork, request_uow
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound, TooLarge, Unauthorized
from service.services.membership import accounts
from service.services.workflow import files
from service.services.workflow.context import Context
from service.web.schemaform import UploadRefused

REVIEWERS = frozenset({"agency_reviewer", "association_reviewer", "finance_reviewer"})
# roles that work a queue of user tasks in the workbench
QUEUE_ROLES = REVIEWERS | {"unit_admin", "member"}


def ctx() -> Context:
    """The use cases' shared context."""
    return current_app.extensions["memberflow"]


def uow() -> UnitOfWork:
    """A unit of work on this request's session."""
    return request_uow()


def page_actor() -> Actor | None:
    """The person signed in to the pages (session cookie), or None."""
    if "page_actor" not in g:
        account_id = session.get("account_id")
        found = None
        if account_id is not None:
            try:
                found = accounts.actor_for_account(
                    uow(), account_id, session.get("auth_version"), session.get("sid")
                )
            except Unauthorized:
                session.clear()  # disabled, deleted or signed out elsewhere: at once
                g.signed_out = True
        g.page_actor = found
    return g.page_actor


def safe_next(target: str | None, default: str) -> str:
    """A redirect target (or a back link) on this site only: a path, no scheme, no host, no
    `//`, no backslash (browsers read `/\\evil.com` as another host) and no control
    character (a line break cannot go into a Location header)."""
    if not target or len(target) > 2000:
        return default
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return default
    return target


SIGNED_OUT = "登录已超时或已在其他页面退出，请重新登录"


def page_to_return() -> str:
    """The page (a GET) a person returns to after signing in again: this page for a GET;
    for a POST, the page of ours the form was on, else this address when it is a page too —
    never a POST-only address (signing in would end at 405)."""
    if request.method in ("GET", "HEAD"):
        return request.full_path.rstrip("?")
    referrer = urlsplit(request.referrer or "")
    if (
        referrer.scheme in ("http", "https")
        and referrer.netloc == request.host
        and not referrer.path.startswith(("/login", "/api/"))
    ):
        target = referrer.path + (f"?{referrer.query}" if referrer.query else "")
        if safe_next(target, "") == target:
            return target
    adapter = current_app.url_map.bind(request.host)
    if adapter.test(request.path, method="GET"):
        return request.path
    return "/"


def needs_sign_in() -> bool:
    """Whether this request's page is for signed-in people only (`signed_in`)."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(view, "signed_in", False))


def sign_in_again():
    """To the sign-in page, saying why when the session ended (timed out, signed out in
    another tab, revoked), then back to `page_to_return`."""
    ended = request.method not in ("GET", "HEAD") or g.get("signed_out")
    reason = {"reason": "expired"} if ended else {}
    return redirect(url_for("account.login", next=page_to_return(), **reason))


def signed_in(roles: frozenset[str] | set[str] | None = None) -> Callable:
    """Pages for signed-in people (others go to the sign-in page), optionally some roles only.

    A role that may not use a page gets the 404 page, as for anything out of scope.
    """

    def decorate(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args, **kwargs):
            who = page_actor()
            if who is None:
                return sign_in_again()
            if roles is not None and who.role not in roles:
                raise NotFound("页面不存在或您无权查看")
            return view(who, *args, **kwargs)

        wrapper.signed_in = True  # a page for signed-in people (errors.csrf_error reads it)
        return wrapper

    return decorate


ONE_TIME_KEY = "one_time_view"


def show_once(kind: str, back: str, **values):
    """A page with a new one-time password, shown once: post/redirect/get. The POST keeps
    the page's values in the session for one display and redirects to it; reloading (or
    going back to) that page never resets the password again, and shows it no more."""
    token = secrets.token_urlsafe(12)
    session[ONE_TIME_KEY] = {"token": token, "kind": kind, "values": values}
    return redirect(url_for("account.one_time", token=token, back=safe_next(back, "/")))


def back_to(default: str) -> str:
    """Where a POST returns to: its `next` field when on this site, else `default`."""
    return safe_next(request.form.get("next"), default)


def store_uploads(actor: Actor, join_code_id: int | None = None):
    """A form's upload keeper: stores one uploaded file as `actor` (through a join code) and
    gives its id; a refused file becomes the field's error (schemaform.UploadRefused)."""
    c = ctx()

    def store(_field: str, upload) -> str:
        try:
            with uow() as u:
                return files.store_upload(
                    c,
                    u,
                    actor,
                    upload.filename,
                    upload.read(c.config.largest_upload_bytes + 1),
                    join_code_id=join_code_id,
                )["id"]
        except (FormInvalid, TooLarge) as exc:
            raise UploadRefused((exc.errors or {}).get("file") or exc.message) from exc

    return store
