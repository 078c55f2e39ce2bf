"""Signing in and out of the pages, changing one's password, and where each person lands.

A page session holds the account id, the account's `auth_version` and its own random id,
like a bearer token: a password change elsewhere, a reset or disabling the account ends it,
and signing out revokes its id (a copied cookie stops working too). A one-time password
sends the person to 修改密码 before anything else, then on to where they were going.
"""

from __future__ import annotations

from datetime import timedelta

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from service.db.models import utcnow
from service.domain.errors import FormInvalid, TooManyRequests, Unauthorized
from service.limits import signin_guard
from service.services.membership import (
    confirmations,
    directory,
    password_codes,
    passwords,
    signin,
)
from service.web.pages import (
    ONE_TIME_KEY,
    QUEUE_ROLES,
    SIGNED_OUT,
    ctx,
    page_actor,
    safe_next,
    show_once,
    sign_in_again,
    signed_in,
    uow,
)

bp = Blueprint("account", __name__)
# what a person with a one-time password may open before changing it
BEFORE_CHANGE = frozenset({"account.password", "account.logout", "assets.static"})


def home_url(role: str) -> str:
    """Where a person starts: reviewers at their queue, the secretariat at claimed tasks."""
    if role == "secretariat_admin":
        return url_for("workbench.queue", scope="claimed")
    if role in QUEUE_ROLES - {"unit_admin", "member"}:
        return url_for("workbench.queue", scope="todo")
    if role == "member":
        return url_for("member.profile_page")  # 我的信息
    if role == "designer":
        return url_for("designer.catalogue")  # 流程目录
    return url_for("forms.index")


def _refused(template: str, exc: TooManyRequests, **values):
    """The form again with the limiter's message, 429 and Retry-After."""
    html = render_template(template, error=exc.message, **values)
    return html, 429, {"Retry-After": str(exc.retry_after)}


@bp.before_app_request
def _password_first():
    """A one-time password is changed before any other page is used."""
    if not session.get("must_change_password") or request.path.startswith("/api/"):
        return None
    if request.endpoint in BEFORE_CHANGE:
        return None
    return redirect(url_for("account.password", next=request.full_path.rstrip("?")))


@bp.route("/")
def index():
    who = page_actor()
    return redirect(home_url(who.role) if who else url_for("account.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():
    """登录: one form for everyone (unit full name, mobile, ID number or staff login)."""
    target = request.values.get("next")
    error = None
    username = (request.form.get("username") or "").strip()
    if request.method == "POST":
        password = request.form.get("password") or ""
        if not username or not password:
            error = "请输入账号和密码"
        else:
            try:
                with uow() as u:
                    account = signin.check_credentials(u, signin_guard(), username, password)
            except Unauthorized as exc:
                error = exc.message
            except TooManyRequests as exc:
                return _refused("login.html", exc, username=username, next=target)
            else:
                session.clear()  # a fresh session: no fixation across sign-ins
                session.permanent = True
                session["account_id"] = account.id
                session["auth_version"] = account.auth_version
                session["sid"] = signin.new_session_id()
                going = safe_next(target, home_url(account.role))
                if account.must_change_password:
                    session["must_change_password"] = True
                    return redirect(url_for("account.password", next=going))
                return redirect(going)
    status = 401 if error and request.method == "POST" else 200
    ended = request.values.get("reason") == "expired" and not error
    html = render_template(
        "login.html",
        error=error,
        username=username,
        next=target,
        notice=f"{SIGNED_OUT}。" if ended else None,
    )
    return html, status


@bp.route("/logout", methods=["POST"])
def logout():
    """退出: this session's id is refused from now on, even from a copied cookie."""
    who, sid = page_actor(), session.get("sid")
    if who is not None and sid:
        lifetime = ctx().config.token_ttl_seconds
        with uow() as u:
            signin.revoke(u, who.id, sid, utcnow() + timedelta(seconds=lifetime))
    session.clear()
    flash("您已安全退出", "info")
    return redirect(url_for("account.login"))


@bp.route("/password", methods=["GET", "POST"])
@signed_in()
def password(who):
    """修改密码: the current password and the new one twice; other sessions end."""
    forced = bool(session.get("must_change_password"))
    target = safe_next(request.values.get("next"), home_url(who.role))
    errors: dict = {}
    error = None
    if request.method == "POST":
        new = request.form.get("new_password") or ""
        if new != (request.form.get("new_password2") or ""):
            errors = {"new_password2": "两次输入的新密码不一致"}
        else:
            try:
                with uow() as u:
                    account = passwords.change_own_password(
                        u, who, request.form.get("current_password") or "", new, signin_guard()
                    )
            except FormInvalid as exc:
                errors = exc.errors or {}
            except TooManyRequests as exc:
                return _refused("password.html", exc, forced=forced, next=target, errors={})
            else:
                session["auth_version"] = account.auth_version  # this session goes on
                session.pop("must_change_password", None)
                flash("密码已修改，其他设备上的登录已失效", "info")
                return redirect(target)
        error = "；".join(errors.values())
    status = 422 if errors else 200
    html = render_template("password.html", forced=forced, next=target, errors=errors, error=error)
    return html, status


@bp.route("/initial-password/<code>", methods=["GET", "POST"])
def initial_password(code):
    """扫码领取初始密码: the person enters the full ID number and sees the password once
    (post/redirect/get, pages.show_once)."""
    with uow() as u:
        info = confirmations.describe(ctx(), u, code)
    if info["kind"] != "password":
        return redirect(url_for("public.confirm", code=code))
    error = None
    if request.method == "POST":
        try:
            with uow() as u:
                issued = password_codes.claim_password(
                    ctx(), u, signin_guard(), code, request.form.get("id_number") or ""
                )
        except FormInvalid as exc:
            error = exc.errors.get("id_number", exc.message)
        except TooManyRequests as exc:
            return _refused("public/initial_password.html", exc, info=info)
        else:
            shown = {k: info[k] for k in ("kind_label", "unit_name", "person_name")}
            return show_once("initial", url_for("account.login"), info=shown, issued=issued)
    html = render_template("public/initial_password.html", info=info, error=error)
    return html, 422 if error else 200, {"Cache-Control": "no-store"}


@bp.route("/help")
def help_page():
    """帮助: how the pages work, for the role signed in; someone not signed in (an applicant
    who scanned a join code) gets the public 常见问题 instead of the sign-in page."""
    if page_actor() is None:
        return redirect(url_for("public.faq"))
    return render_template("help.html")


@bp.route("/agencies")
@signed_in()
def agencies_page(who):
    """服务机构信息 (manual 四.4): each city agency's address, phone, QQ work group, website."""
    with uow() as u:
        listed = directory.agency_directory(u, who)
    return render_template("agencies.html", listed=listed)


# the pages that show a new one-time password (pages.show_once), by kind; the public ones
# are for people who cannot sign in yet (扫码领取初始密码)
ONE_TIME_PAGES = {
    "unit": "unit/one_time_password.html",
    "secretariat": "secretariat/one_time.html",
    "password_request": "secretariat/password_request_reset.html",
    "initial": "public/initial_password_shown.html",
}
PUBLIC_ONE_TIME = frozenset({"initial"})


@bp.route("/one-time/<token>")
def one_time(token):
    """A new one-time password, shown this once; again (reload, back) it is not shown, and
    nothing is reset again. Signed in only, except the public kinds."""
    who = page_actor()
    kept = session.get(ONE_TIME_KEY)
    kind = kept.get("kind") if kept and kept.get("token") == token else None
    if who is None and kind is not None and kind not in PUBLIC_ONE_TIME:
        return sign_in_again()
    back = safe_next(request.args.get("back"), home_url(who.role) if who else "/login")
    if kind not in ONE_TIME_PAGES:
        html = render_template("one_time_gone.html", back=back, public=who is None)
        return html, 410, {"Cache-Control": "no-store"}
    session.pop(ONE_TIME_KEY)
    html = render_template(ONE_TIME_PAGES[kind], back=back, **kept["values"])
    return html, 200, {"Cache-Control": "no-store"}
