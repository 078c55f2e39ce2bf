"""秘书处管理员's pages: 会员服务机构, 单位 and 工作人员 — list, search, create, edit,
停用 / 启用 and 重置密码 — and the units' 密码重置申请 (单位账号密码重置). A new or reset
password is shown once, on the answer to the POST itself (never put in the session or a
redirect), and is not cached."""

from __future__ import annotations

import json

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.domain.errors import Conflict, FormInvalid
from service.domain.roles import ROLES
from service.httputil import send_stored
from service.limits import signin_guard
from service.services.membership import accounts, directory, records, unit_password_requests
from service.web import lists
from service.web.pages import back_to, ctx, show_once, signed_in, uow

bp = Blueprint("secretariat", __name__, url_prefix="/admin")
ADMIN = frozenset({"secretariat_admin"})


def _agencies() -> list[dict]:
    with uow() as u:
        return accounts.list_agencies(u)


def _agency_options() -> list[tuple[int, str]]:
    return [(a["id"], a["name"]) for a in _agencies()]


def _form_id(errors: dict, name: str) -> int | None:
    """An id from a posted <select>; a value that is not one is the field's error."""
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        errors[name] = "请从列表中选择"
        return None
    return value if 1 <= value <= lists.MAX_ID else None


def _listing(template: str, names: tuple, ids: tuple, load, **extra):
    """A list page: its filters read strictly, the use case called, 422 on a bad filter."""
    filters, paging, errors = lists.parse(request.args, names, ids=ids)
    listing = {"items": [], "total": 0, **paging}
    if not errors:
        try:
            with uow() as u:
                listing = load(u, filters, paging)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    html = render_template(
        template,
        listing=listing,
        filters=request.args,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
        **extra,
    )
    return html, 422 if errors else 200


def _one_time(issued: dict, what: str, back: str):
    """The page that shows a new one-time password once."""
    return show_once("secretariat", back, issued=issued, what=what)


# --- 会员服务机构 --------------------------------------------------------------------------


@bp.route("/agencies")
@signed_in(ADMIN)
def agencies(who):
    """会员服务机构: search by name or city."""
    return _listing(
        "secretariat/agencies.html",
        ("q",),
        (),
        lambda u, f, p: directory.list_agencies(u, who, **f, **p),
    )


@bp.route("/agencies/new", methods=["GET", "POST"])
@bp.route("/agencies/<int:agency_id>", methods=["GET", "POST"])
@signed_in(ADMIN)
def agency_form(who, agency_id=None):
    """新增 or 编辑 an agency."""
    values, errors = {}, {}
    if agency_id is not None:
        with uow() as u:
            values = directory.get_agency(u, who, agency_id)
    if request.method == "POST":
        fields = ("name", "city", *directory.CONTACT_FIELDS)
        values = {**values, **{f: request.form.get(f) for f in fields}}
        contact = {f: values[f] for f in directory.CONTACT_FIELDS}
        try:
            with uow() as u:
                if agency_id is None:
                    saved = directory.create_agency(u, who, values["name"], values["city"], contact)
                else:
                    saved = directory.update_agency(
                        u, who, agency_id, values["name"], values["city"], contact
                    )
        except FormInvalid as exc:
            errors = exc.errors or {"name": exc.message}
        else:
            flash(f"已保存：{saved['name']}", "success")
            return redirect(url_for("secretariat.agencies"))
    html = render_template(
        "secretariat/agency_form.html", values=values, errors=errors, agency_id=agency_id
    )
    return html, 422 if errors else 200


# --- 单位 ----------------------------------------------------------------------------------


@bp.route("/units")
@signed_in(ADMIN)
def units(who):
    """单位: search by name or credit code, filter by agency and 正常 / 已停用."""
    return _listing(
        "secretariat/units.html",
        ("q", "agency_id", "state"),
        ("agency_id",),
        lambda u, f, p: directory.list_units(u, who, **f, **p),
        agencies=_agencies(),
        states=directory.STATES,
    )


def _unit_values() -> tuple[dict, dict]:
    errors: dict = {}
    values = {
        "name": request.form.get("name"),
        "credit_code": request.form.get("credit_code"),
        "agency_id": _form_id(errors, "agency_id"),
        "member_unit": request.form.get("member_unit") == "1",
    }
    return values, errors


@bp.route("/units/new", methods=["GET", "POST"])
@signed_in(ADMIN)
def unit_new(who):
    """新增单位 and its main account; the one-time password is shown once."""
    values, errors = {"member_unit": True}, {}
    if request.method == "POST":
        values, errors = _unit_values()
        try:  # an agency that is not a number is None here: the use case refuses it too
            with uow() as u:
                created = directory.create_unit(u, who, **values)
        except FormInvalid as exc:
            errors = {**(exc.errors or {}), **errors}
        else:
            what = f"单位“{created['name']}”已创建"
            return _one_time(created, what, url_for("secretariat.units"))
    html = render_template(
        "secretariat/unit_form.html",
        values=values,
        errors=errors,
        unit=None,
        agency_options=_agency_options(),
    )
    return html, 422 if errors else 200


@bp.route("/units/<int:unit_id>", methods=["GET", "POST"])
@signed_in(ADMIN)
def unit_edit(who, unit_id):
    """编辑单位: name (also its main login), credit code, agency, member or not."""
    with uow() as u:
        unit = directory.get_unit(u, who, unit_id)
    values, errors, status = dict(unit), {}, 422
    if request.method == "POST":
        posted, errors = _unit_values()
        values.update(posted)
        try:
            with uow() as u:
                saved = directory.update_unit(u, who, unit_id, **posted, seen=_seen())
        except FormInvalid as exc:
            errors = {**(exc.errors or {}), **errors}
        except Conflict as exc:  # changed since the page was shown: said; the page kept
            errors, status = {"_form": exc.message, **(exc.errors or {})}, 409
        else:
            flash(f"已保存：{saved['name']}", "success")
            if saved["agency_id"] != unit["agency_id"]:
                flash(_moved_text(saved["moved"]), "success")
            return redirect(url_for("secretariat.units"))
    html = render_template(
        "secretariat/unit_form.html",
        values=values,
        errors=errors,
        unit=unit,
        seen=directory.unit_seen(unit),  # as it is now: a save after a refusal is deliberate
        agency_options=_agency_options(),
    )
    return html, status if errors else 200


def _seen() -> dict | None:
    """The values the edit page showed (a hidden field), for the save to compare."""
    raw = request.form.get("seen")
    if raw is None:
        return None
    try:
        seen = json.loads(raw) if len(raw) <= 10_000 else None  # a page sends a few fields
    except (ValueError, RecursionError):
        seen = None
    if not isinstance(seen, dict):
        raise FormInvalid({"_form": "页面内容不完整，请刷新页面后重新编辑"})
    return seen


def _moved_text(moved: dict) -> str:
    """What followed a unit to its new 初审机构."""
    text = (
        f"已转到新的初审机构：未办结表单{moved['forms']}件（其中机构初审任务{moved['tasks']}个），"
        f"个人会员{moved['members']}人"
    )
    if moved["released"]:
        text += f"；原机构人员已认领的{moved['released']}个任务已退回待认领"
    return text


@bp.route("/units/<int:unit_id>/<any(disable, enable):action>", methods=["POST"])
@signed_in(ADMIN)
def unit_active(who, unit_id, action):
    """停用 / 启用 a unit (every account of it)."""
    with uow() as u:
        done = directory.set_unit_active(u, who, unit_id, action == "enable")
    word = "启用" if done["active"] else "停用"
    flash(f"已{word}：{done['name']}（{done['accounts']}个账号）", "success")
    return redirect(back_to(url_for("secretariat.units")))


@bp.route("/units/<int:unit_id>/password-reset", methods=["POST"])
@signed_in(ADMIN)
def unit_password(who, unit_id):
    """重置单位主账号的密码 (FAQ 3.9)."""
    with uow() as u:
        issued = directory.reset_unit_password(u, who, unit_id, signin_guard())
    return _one_time(issued, f"已重置“{issued['name']}”的密码", url_for("secretariat.units"))


# --- 工作人员 ----------------------------------------------------------------------------


@bp.route("/staff")
@signed_in(ADMIN)
def staff(who):
    """工作人员: search by login or name, filter by role, agency and 正常 / 已停用."""
    return _listing(
        "secretariat/staff.html",
        ("q", "role", "agency_id", "state"),
        ("agency_id",),
        lambda u, f, p: directory.list_staff(u, who, **f, **p),
        agencies=_agencies(),
        roles=[(r, ROLES[r]) for r in directory.STAFF_ROLES],
        states=directory.STATES,
    )


def _staff_values() -> tuple[dict, dict]:
    errors: dict = {}
    values = {
        "name": request.form.get("name"),
        "role": request.form.get("role") or None,
        "agency_id": _form_id(errors, "agency_id"),
    }
    return values, errors


@bp.route("/staff/new", methods=["GET", "POST"])
@bp.route("/staff/<int:account_id>", methods=["GET", "POST"])
@signed_in(ADMIN)
def staff_form(who, account_id=None):
    """新增 or 编辑 a staff account; a new one's one-time password is shown once."""
    person, values, errors, status = None, {}, {}, 422
    if account_id is not None:
        with uow() as u:
            person = directory.get_staff(u, who, account_id)
        values = dict(person)
    if request.method == "POST":
        posted, errors = _staff_values()
        values.update(posted)
        if account_id is None:
            values["username"] = request.form.get("username")
        try:
            if errors:
                raise FormInvalid(errors)
            with uow() as u:
                if account_id is None:
                    saved = directory.create_staff(u, who, values["username"], **posted)
                else:
                    saved = directory.update_staff(u, who, account_id, **posted)
        except FormInvalid as exc:
            errors = {**(exc.errors or {}), **errors}
        except Conflict as exc:  # a login taken meanwhile: said at its field
            if not exc.errors:
                raise
            errors, status = {**exc.errors, **errors}, 409
        else:
            if account_id is None:
                what = f"工作人员账号“{saved['username']}”已创建"
                return _one_time(saved, what, url_for("secretariat.staff"))
            flash(f"已保存：{saved['name']}", "success")
            _flash_handover(saved)
            return redirect(url_for("secretariat.staff"))
    html = render_template(
        "secretariat/staff_form.html",
        values=values,
        errors=errors,
        person=person,
        agency_options=_agency_options(),
        roles=[(r, ROLES[r]) for r in directory.STAFF_ROLES],
    )
    return html, status if errors else 200


@bp.route("/staff/<int:account_id>/<any(disable, enable):action>", methods=["POST"])
@signed_in(ADMIN)
def staff_active(who, account_id, action):
    """停用 / 启用 a staff account; disabling signs the person out everywhere at once."""
    try:
        with uow() as u:
            done = directory.set_staff_active(u, who, account_id, action == "enable")
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        word = "启用" if done["active"] else "停用（其登录已全部失效）"
        flash(f"已{word}：{done['username']}", "success")
        _flash_handover(done)
    return redirect(back_to(url_for("secretariat.staff")))


def _flash_handover(done: dict) -> None:
    """What a disabled or re-scoped reviewer left behind: the tasks released, an agency
    left without reviewers."""
    if done.get("released"):
        released = done["released"]
        flash(f"其认领中的{released}个任务已退回待认领，同岗位的其他人员可以认领", "success")
    if done.get("unstaffed_agency"):
        flash(
            f"“{done['unstaffed_agency']}”已没有可办理的初审人员：其单位的表单将停在"
            "机构初审，无人可以认领。请新建或启用该机构的初审人员。",
            "error",
        )


@bp.route("/staff/<int:account_id>/password-reset", methods=["POST"])
@signed_in(ADMIN)
def staff_password(who, account_id):
    """重置工作人员的密码."""
    with uow() as u:
        issued = directory.reset_staff_password(u, who, account_id, signin_guard())
    return _one_time(issued, f"已重置“{issued['username']}”的密码", url_for("secretariat.staff"))


# --- 专业字典 ------------------------------------------------------------------------------


def _specialties_page(errors: dict | None = None, name: str = ""):
    with uow() as u:
        listing = records.list_specialties(u, include_inactive=True)
    html = render_template(
        "secretariat/specialties.html", listing=listing, errors=errors or {}, name=name
    )
    return html, 422 if errors else 200


@bp.route("/specialties", methods=["GET", "POST"])
@signed_in(ADMIN)
def specialties(who):
    """专业字典: the specialties the education forms offer, in order; 新增 at the end."""
    if request.method == "GET":
        return _specialties_page()
    name = request.form.get("name") or ""
    try:
        with uow() as u:
            added = records.add_specialty(u, who, name)
    except (FormInvalid, Conflict) as exc:
        said = exc.message if isinstance(exc, Conflict) else (exc.errors or {}).get("name")
        return _specialties_page({"name": said or exc.message}, name)
    flash(f"已新增专业：{added['name']}", "success")
    return redirect(url_for("secretariat.specialties"))


@bp.route(
    "/specialties/<int:specialty_id>/<any(disable, enable, up, down):action>", methods=["POST"]
)
@signed_in(ADMIN)
def specialty_action(who, specialty_id, action):
    """停用 / 启用 (forms stop or start offering it; certificates keep their names), 上移 / 下移."""
    with uow() as u:
        if action in ("up", "down"):
            row = records.move_specialty(u, who, specialty_id, -1 if action == "up" else 1)
        else:
            row = records.update_specialty(u, who, specialty_id, action == "enable", None)
    if action in ("disable", "enable"):
        flash(f"已{'启用' if row['active'] else '停用'}：{row['name']}", "success")
    return redirect(url_for("secretariat.specialties") + f"#s-{specialty_id}")


# --- 密码重置申请 (单位账号密码重置, FAQ 3.9(2)) -----------------------------------------------


@bp.route("/password-requests")
@signed_in(ADMIN)
def password_requests(who):
    """密码重置申请: 待处理 / 已重置 / 已拒绝 with their counts, newest first."""
    counts = dict.fromkeys(unit_password_requests.STATUSES, 0)

    def load(u, filters, paging):
        listing = unit_password_requests.list_requests(ctx(), u, who, **filters, **paging)
        counts.update(listing["counts"])
        return listing

    return _listing(
        "secretariat/password_requests.html",
        ("status",),
        (),
        load,
        counts=counts,
        statuses=unit_password_requests.STATUSES,
    )


def _password_request(who, request_id: int, errors=None, reason: str = "", status: int = 200):
    with uow() as u:
        item = unit_password_requests.get_request(ctx(), u, who, request_id)
    html = render_template(
        "secretariat/password_request.html",
        item=item,
        errors=errors or {},
        reason=reason,
        limit=unit_password_requests.MAX_REASON,
    )
    return html, status


@bp.route("/password-requests/<int:request_id>")
@signed_in(ADMIN)
def password_request(who, request_id):
    """One request: the unit, its contact, the stamped form; 通过并重置 and 拒绝."""
    return _password_request(who, request_id)


@bp.route("/password-requests/<int:request_id>/approve", methods=["POST"])
@signed_in(ADMIN)
def password_request_approve(who, request_id):
    """通过并重置: the main account's one-time password, shown once (post/redirect/get)."""
    try:
        with uow() as u:
            done = unit_password_requests.approve_request(ctx(), u, who, request_id, signin_guard())
    except Conflict as exc:
        flash(exc.message, "error")
        return redirect(url_for("secretariat.password_request", request_id=request_id))
    return show_once(
        "password_request", url_for("secretariat.password_requests"), item=_shown_reset(done)
    )


def _shown_reset(done: dict) -> dict:
    """What the once-shown page of an approval draws (kept in the session until shown)."""
    keep = ("number", "unit_name", "username", "password", "contact_name", "contact_mobile")
    item = {key: done.get(key) for key in keep}
    item["sms_sent"] = bool(done.get("sms_sent"))
    item["inactive"] = bool(done.get("account")) and done["account"].get("active") is False
    return item


@bp.route("/password-requests/<int:request_id>/refuse", methods=["POST"])
@signed_in(ADMIN)
def password_request_refuse(who, request_id):
    """拒绝, with the reason (required)."""
    reason = request.form.get("reason", "")
    try:
        with uow() as u:
            unit_password_requests.refuse_request(ctx(), u, who, request_id, reason)
    except FormInvalid as exc:
        return _password_request(who, request_id, exc.errors, reason, 422)
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash("已拒绝该密码重置申请。", "success")
    return redirect(url_for("secretariat.password_request", request_id=request_id))


@bp.route("/password-requests/<int:request_id>/form")
@signed_in(ADMIN)
def password_request_form(who, request_id):
    """The stamped form itself (the secretariat only)."""
    with uow() as u:
        meta, blob = unit_password_requests.open_form(ctx(), u, who, request_id)
    return send_stored(meta, blob.open())
