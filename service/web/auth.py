"""Signing in and out of the pages, and where each person lands."""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, session, url_for

from service.domain.errors import Unauthorized
from service.services import accounts
from service.web.pages import QUEUE_ROLES, ctx, page_actor, safe_next, signed_in, uow

bp = Blueprint("account", __name__)


def home_url(role: str) -> str:
    """Where a person starts: reviewers at their queue, the secretariat at claimed tasks."""
    if role == "secretariat_admin":
        return url_for("workbench.queue", scope="claimed")
    if role in QUEUE_ROLES - {"unit_admin", "member"}:
        return url_for("workbench.queue", scope="todo")
    return url_for("forms.index")


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
        c = ctx()
        password = request.form.get("password") or ""
        if not username or not password:
            error = "请输入账号和密码"
        else:
            try:
                with uow() as u:
                    user = accounts.sign_in(
                        u, c.config.secret_key, c.config.token_ttl_seconds, username, password
                    )["user"]
            except Unauthorized as exc:
                error = exc.message
            else:
                session.clear()  # a fresh session: no fixation across sign-ins
                session.permanent = True
                session["account_id"] = user["id"]
                return redirect(safe_next(target, home_url(user["roles"][0])))
    status = 401 if error and request.method == "POST" else 200
    return render_template("login.html", error=error, username=username, next=target), status


@bp.route("/logout", methods=["POST"])
def logout():
    """退出."""
    session.clear()
    flash("您已安全退出", "info")
    return redirect(url_for("account.login"))


@bp.route("/help")
@signed_in()
def help_page(who):
    """帮助: how the pages work, for the role signed in."""
    return render_template("help.html")
