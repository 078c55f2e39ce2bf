"""A unit administrator's own pages: codes, the member archive, certificates, learning
progress, sub-accounts and the unit's registration data.

The same use cases as the API (join_codes, confirmations, members, exports,
certificate_documents, learning, passwords, unit_admin). Everything is scoped to the signed-in
administrator's unit: another unit's member, certificate, code or account is the 404 page.
A one-time password is drawn once in the reply to the POST that issued it (never stored,
never cached); reloading the page later shows it no more.
"""

from __future__ import annotations

import io
import secrets

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from werkzeug.datastructures import MultiDict

from service.domain.errors import Conflict, FormInvalid, NotFound
from service.domain.person_facts import CERTIFICATE_TYPES
from service.httputil import attachment
from service.limits import signin_guard
from service.services.documents import certificate_documents, exports
from service.services.education import learning
from service.services.membership import (
    confirmations,
    join_codes,
    members,
    passwords,
    records,
    unit_admin,
    unit_information,
)
from service.web import lists
from service.web.job_start import start_or_send
from service.web.pages import ctx, safe_next, show_once, signed_in, uow

bp = Blueprint("unit", __name__, url_prefix="/unit")
UNIT = frozenset({"unit_admin"})
NO_STORE = {"Cache-Control": "no-store"}

TITLES = ("无", "初级", "中级", "高级")
EDUCATIONS = ("中专", "大专", "本科", "硕士", "博士")
YES_NO = {"true": True, "false": False}
ARCHIVE_FILTERS = (
    "q",
    "level",
    "membership_expired",
    "has_certificates",
    "certificate_type",
    "age_min",
    "age_max",
    "joined_from",
    "joined_to",
    "title",
    "education",
    "status",
    "sort",
)
ARCHIVE_LABELS = {
    "q": "姓名 / 身份证号",
    "level": "会员类型",
    "membership_expired": "会籍已过期",
    "has_certificates": "含有证书",
    "certificate_type": "证书类型",
    "age_min": "年龄",
    "age_max": "年龄",
    "joined_from": "入会日期（起）",
    "joined_to": "入会日期（止）",
    "title": "职称",
    "education": "学历",
    "status": "状态",
    "sort": "排序",
}
CERTIFICATE_FILTERS = ("q", "certificate_type")
LEARNING_FILTERS = ("q", "mobile", "status", "process", "year", "opened_from", "opened_to")
LEARNING_STATUSES = ("开课未学习", "学习中", "已通过", "未通过", "已过期")
LEARNING_LABELS = {
    "q": "姓名 / 身份证号",
    "mobile": "手机号",
    "status": "学习状态",
    "process": "培训类别",
    "year": "年份",
    "opened_from": "开始学习日期（起）",
    "opened_to": "开始学习日期（止）",
}
PERSON_CODES = ("resignation", "id_photos", "password")


def _unit_id(who) -> int:
    return who.unit_id


def _refuse_export(errors: dict, labels: dict):
    """An export with a wrong filter: a 422 page naming each filter, nothing exported."""
    named = {k: f"{labels[k]}：{v}" if k in labels else v for k, v in errors.items()}
    raise FormInvalid(named, "筛选条件有误，未导出")


# --- 单位信息 ---------------------------------------------------------------------------------


@bp.route("/info")
@signed_in(UNIT)
def info(who):
    """单位信息: the registration data, the agency, 工商信息, 资质 and the contacts."""
    with uow() as u:
        profile = unit_admin.unit_profile(u, who)
    return render_template(
        "unit/info.html",
        unit=profile,
        info=unit_information,
        edit=False,
        errors={},
        today=ctx().today(),
    )


BLANK_QUALIFICATION_ROWS = 3


@bp.route("/info/edit", methods=["GET", "POST"])
@signed_in(UNIT)
def info_edit(who):
    """维护单位信息: the 工商信息 fields and the qualification rows (blank rows to add)."""
    errors, status = {}, 422
    with uow() as u:
        profile = unit_admin.unit_profile(u, who)
    # as it is now: a save after a refusal for a change made meanwhile is deliberate
    seen = unit_information.fingerprint(profile["registration"], profile["qualifications"])
    if request.method == "POST":
        registration = {
            f.name: request.form.get(f"registration.{f.name}", "")
            for f in unit_information.REGISTRATION
        }
        rows = []
        for i in range(unit_information.MAX_QUALIFICATIONS):
            keys = ("category", *(f.name for f in unit_information.QUALIFICATION))
            if f"qualifications.{i}.name" not in request.form:
                break
            rows.append({k: request.form.get(f"qualifications.{i}.{k}", "") for k in keys})
        try:
            with uow() as u:
                unit_information.update_unit_information(
                    u,
                    who,
                    profile["id"],
                    registration,
                    rows,
                    today=ctx().today(),
                    drop_blank=True,
                    seen=request.form.get("seen"),
                )
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
            profile = {**profile, "registration": registration, "qualifications": rows}
        except Conflict as exc:  # the typed values kept, to check and save again
            errors, status = {"_form": exc.message}, 409
            profile = {**profile, "registration": registration, "qualifications": rows}
        else:
            flash("单位信息已保存", "success")
            return redirect(url_for("unit.info"))
    shown = list(profile["qualifications"])
    shown += [{} for _ in range(BLANK_QUALIFICATION_ROWS)]
    html = render_template(
        "unit/info.html",
        unit={**profile, "qualifications": shown[: unit_information.MAX_QUALIFICATIONS]},
        info=unit_information,
        edit=True,
        errors=errors,
        seen=seen,
        today=ctx().today(),
    )
    return html, status if errors else 200


# --- codes --------------------------------------------------------------------------------


@bp.route("/codes")
@signed_in(UNIT)
def codes(who):
    """入会二维码: make a join code (full or short) or a transfer code (个人变更单)."""
    return render_template("unit/codes.html", variants=join_codes.VARIANTS)


@bp.route("/codes/join", methods=["POST"])
@signed_in(UNIT)
def make_join_code(who):
    variant = request.form.get("variant") or ""
    with uow() as u:
        made = join_codes.create_join_code(ctx(), u, who, _unit_id(who), variant)
    return redirect(url_for("unit.join_code", code=made["code"]))


def _own_join_code(who, code: str) -> dict:
    with uow() as u:
        found = join_codes.describe(ctx(), u, code)
    if found["unit_id"] != who.unit_id:
        raise NotFound("二维码不存在或不是本单位的")
    return found


@bp.route("/codes/join/<code>")
@signed_in(UNIT)
def join_code(who, code):
    """One join code: the QR, its address, its variant and expiry, and the print view."""
    found = _own_join_code(who, code)
    other = "short" if found["variant"] == "full" else "full"
    return render_template("unit/join_code.html", code=found, other=other)


@bp.route("/codes/join/<code>/print")
@signed_in(UNIT)
def join_code_print(who, code):
    """The print view: the unit's name, the QR, the expiry date and the steps."""
    return render_template("unit/code_print.html", code=_own_join_code(who, code), join=True)


@bp.route("/codes/transfer", methods=["POST"])
@signed_in(UNIT)
def make_transfer_code(who):
    """获取个人变更单: the unit's transfer code (one per unit, a year; 重新生成 retires it)."""
    renew = request.form.get("renew") == "1"
    with uow() as u:
        made = confirmations.create_code(ctx(), u, who, _unit_id(who), "transfer", renew=renew)
    if renew:
        flash("已重新生成个人变更单，原二维码已失效", "success")
    return redirect(url_for("unit.confirm_code", code=made["code"]))


@bp.route("/members/<int:member_id>/codes/<kind>", methods=["POST"])
@signed_in(UNIT)
def make_person_code(who, member_id, kind):
    """A person's code: resignation (调出), ID photos (补充证件照) or the initial password."""
    if kind not in PERSON_CODES:
        raise NotFound("没有这种二维码")
    with uow() as u:
        made = confirmations.create_code(ctx(), u, who, _unit_id(who), kind, member_id)
    return redirect(url_for("unit.confirm_code", code=made["code"]))


def _own_confirm_code(who, code: str) -> dict:
    with uow() as u:
        found = confirmations.describe(ctx(), u, code)
    if found["unit_id"] != who.unit_id:
        raise NotFound("二维码不存在或不是本单位的")
    return found


@bp.route("/codes/confirm/<code>")
@signed_in(UNIT)
def confirm_code(who, code):
    """One confirmation code, shown the same way as a join code."""
    return render_template("unit/confirm_code.html", code=_own_confirm_code(who, code))


@bp.route("/codes/confirm/<code>/print")
@signed_in(UNIT)
def confirm_code_print(who, code):
    return render_template("unit/code_print.html", code=_own_confirm_code(who, code), join=False)


# --- 单位人员档案 -----------------------------------------------------------------------------


def _archive_filters(args) -> tuple[dict, dict, dict]:
    """The archive's filters from the URL, checked field by field (errors name the field)."""
    filters, paging, errors = lists.parse(args, ARCHIVE_FILTERS)
    paging["sort"] = filters.pop("sort", "archive")  # the list's order, and its export's
    if paging["sort"] not in members.ARCHIVE_SORTS:
        errors["sort"] = "应为 " + "、".join(members.ARCHIVE_SORTS.values()) + " 之一"
    for name in ("membership_expired", "has_certificates"):
        if name in filters:
            if filters[name] not in YES_NO:
                errors[name] = "应为“是”或“否”"
                filters.pop(name)
            else:
                filters[name] = YES_NO[filters[name]]
    for name in ("age_min", "age_max"):
        if name in filters:
            value = filters.pop(name)
            if value.isdigit() and int(value) <= 150:
                filters[name] = int(value)
            else:
                errors[name] = "应为0至150之间的整数"
    choices = {
        "level": members.LEVELS,
        "certificate_type": CERTIFICATE_TYPES,
        "title": TITLES,
        "education": EDUCATIONS,
    }
    for name, allowed in choices.items():
        if name in filters and filters[name] not in allowed:
            errors[name] = "应为 " + "、".join(allowed) + " 之一"
            filters.pop(name)
    if not errors:
        try:
            members.ArchiveFilters(**filters).check()
        except FormInvalid as exc:
            errors.update(exc.errors)
    return filters, paging, errors


@bp.route("/members")
@signed_in(UNIT)
def archive(who):
    """单位人员档案: the manual's filters and columns, paged, with the export."""
    filters, paging, errors = _archive_filters(request.args)
    listing = {"items": [], "total": 0, **paging}
    if not errors:
        with uow() as u:
            listing = members.list_archive(
                ctx(), u, who, _unit_id(who), members.ArchiveFilters(**filters), **paging
            )
    html = render_template(
        "unit/archive.html",
        listing=listing,
        labels=ARCHIVE_LABELS,
        filters=request.args,
        errors=errors,
        sorts=members.ARCHIVE_SORTS,
        levels=members.LEVELS,
        certificate_types=CERTIFICATE_TYPES,
        titles=TITLES,
        educations=EDUCATIONS,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
        max_passwords=passwords.MAX_BATCH,
    )
    return html, 422 if errors else 200


@bp.route("/members/export.xlsx")
@signed_in(UNIT)
def archive_export(who):
    """单位人员档案导出表: the archive with the list's filters, as a workbook.

    The page's button posts to /jobs/exports/archive; this address stays for links kept from
    before and does the same: small at once, large as a background job (never a long request).
    """
    filters, paging, errors = _archive_filters(
        MultiDict((k, v) for k, v in request.args.items(multi=True) if k not in ("page",))
    )
    if errors:
        _refuse_export(errors, ARCHIVE_LABELS)
    params = {"unit_id": _unit_id(who), **filters, "sort": paging["sort"]}  # the list's order
    return start_or_send(who, "member_archive_export", params)


@bp.route("/members/<int:member_id>")
@signed_in(UNIT)
def member(who, member_id):
    """One member: the archive row, the account, 重置密码 and the person's codes."""
    with uow() as u:
        record = unit_admin.member_record(ctx(), u, who, _unit_id(who), member_id)
    back = safe_next(request.args.get("next"), "")  # the list it was opened from, filters kept
    return render_template("unit/member.html", m=record, back=back)


@bp.route("/members/<int:member_id>/password-reset", methods=["POST"])
@signed_in(UNIT)
def member_password_reset(who, member_id):
    """重置密码 (FAQ 3.8), also a new member's first password: shown in this reply only."""
    with uow() as u:
        issued = passwords.reset_member_password(u, who, _unit_id(who), member_id, signin_guard())
    return show_once("unit", url_for("unit.member", member_id=member_id), issued=issued)


INITIAL_PASSWORDS_KEY = "initial_passwords"  # the confirmation's one-use token, in the session


def _back_to_archive() -> str:
    return safe_next(request.form.get("next"), url_for("unit.archive"))


@bp.route("/members/initial-passwords/confirm", methods=["POST"])
@signed_in(UNIT)
def initial_passwords_confirm(who):
    """批量生成初始密码, step 1: whom it goes to, to confirm (nothing changed yet)."""
    back = _back_to_archive()
    try:
        ids = _member_ids(request.form.getlist("member_ids"))
        with uow() as u:
            people = passwords.preview_member_passwords(u, who, _unit_id(who), ids)
    except FormInvalid as exc:
        flash(exc.errors.get("member_ids", exc.message), "error")
        return redirect(back)
    token = secrets.token_urlsafe(12)
    session[INITIAL_PASSWORDS_KEY] = token
    html = render_template(
        "unit/initial_passwords_confirm.html", people=people, token=token, back=back
    )
    return html, 200, NO_STORE


@bp.route("/members/initial-passwords", methods=["POST"])
@signed_in(UNIT)
def initial_passwords(who):
    """批量生成初始密码, step 2: all reset in one transaction and shown in this reply only
    (never stored, never cached); sending it again (reload) resets nothing."""
    back = _back_to_archive()
    token = request.form.get("token") or ""
    if not token or session.pop(INITIAL_PASSWORDS_KEY, None) != token:
        flash(
            "这批初始密码已经生成（只显示一次）或确认已失效；如需重新生成，请重新勾选人员", "error"
        )
        return redirect(back)
    try:
        ids = _member_ids(request.form.getlist("member_ids"))
        with uow() as u:
            issued = passwords.reset_member_passwords(u, who, _unit_id(who), ids, signin_guard())
    except FormInvalid as exc:
        flash(exc.errors.get("member_ids", exc.message), "error")
        return redirect(back)
    html = render_template(
        "unit/initial_passwords.html", issued=issued, message=passwords.ONCE, back=back
    )
    return html, 200, NO_STORE


# --- certificates ------------------------------------------------------------------------------


@bp.route("/certificates")
@signed_in(UNIT)
def certificates(who):
    """电子证书: the unit's members' certificates, one PDF each, or several in one zip."""
    filters, paging, errors = lists.parse(request.args, CERTIFICATE_FILTERS)
    if filters.get("certificate_type") not in (None, *CERTIFICATE_TYPES):
        errors["certificate_type"] = "应为 " + "、".join(CERTIFICATE_TYPES) + " 之一"
    listing = {"items": [], "total": 0, **paging}
    if not errors:
        with uow() as u:
            listing = records.list_certificates(ctx(), u, who, **filters, **paging)
    html = render_template(
        "unit/certificates.html",
        listing=listing,
        filters=request.args,
        errors=errors,
        certificate_types=CERTIFICATE_TYPES,
        max_batch=certificate_documents.MAX_BATCH,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


@bp.route("/certificates/<int:certificate_id>.pdf")
@signed_in(UNIT)
def certificate_pdf(who, certificate_id):
    """One certificate's PDF (its holder must be the unit's)."""
    with uow() as u:
        name, pdf = certificate_documents.certificate_pdf(ctx(), u, who, certificate_id)
    return attachment(pdf, "application/pdf", name, f"certificate-{certificate_id}.pdf")


def _member_ids(values: list[str]) -> list[int]:
    ids = []
    for value in values:
        if not value.isdigit() or int(value) > lists.MAX_ID:
            raise FormInvalid({"member_ids": "所选人员有误，请刷新页面后重新选择"})
        ids.append(int(value))
    return ids


@bp.route("/certificates/download", methods=["POST"])
@signed_in(UNIT)
def certificates_zip(who):
    """批量下载: the ticked members' valid certificates (or this page's), one zip."""
    field = "page_member_ids" if request.form.get("scope") == "page" else "member_ids"
    ids = _member_ids(request.form.getlist(field))
    if not ids:
        flash("请先勾选要下载证书的人员", "error")
        return redirect(url_for("unit.certificates"))
    with uow() as u:
        name, spool = certificate_documents.unit_certificates_zip(ctx(), u, who, _unit_id(who), ids)
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    reply = attachment(spool, "application/zip", name, f"certificates-unit-{who.unit_id}.zip")
    reply.content_length = size
    return reply


# --- 学习进度 -------------------------------------------------------------------------------


def _learning_filters(args) -> tuple[dict, dict, dict]:
    filters, paging, errors = lists.parse(args, LEARNING_FILTERS)
    if filters.get("status") not in (None, *LEARNING_STATUSES):
        errors["status"] = "应为 " + "、".join(LEARNING_STATUSES) + " 之一"
    if filters.get("process") not in (None, *exports.enrolment_processes(ctx())):
        errors["process"] = "没有这种培训类别"
    if "year" in filters:
        year = filters.pop("year")
        if year.isdigit() and 2000 <= int(year) <= 2100:
            filters["year"] = int(year)
        else:
            errors["year"] = "年份应为2000至2100之间的整数"
    if not errors and filters.get("opened_from") and filters.get("opened_to"):
        if filters["opened_from"] > filters["opened_to"]:
            errors["opened_from"] = "开始学习日期（起）不能晚于开始学习日期（止）"
    return filters, paging, errors


def _processes() -> list[tuple[str, str]]:
    current = ctx().definitions.current
    return [(k, current[k].name) for k in exports.enrolment_processes(ctx())]


@bp.route("/learning")
@signed_in(UNIT)
def learning_progress(who):
    """普通会员教育学习进度: the unit's members' learning tasks, filtered, with the export."""
    filters, paging, errors = _learning_filters(request.args)
    listing = {"items": [], "total": 0, **paging}
    counts: dict[str, int] = {}
    if not errors:
        with uow() as u:
            listing = learning.list_learning(ctx(), u, who, **filters, **paging)
            counts = learning.count_learning(ctx(), u, who, **filters)
    for item in listing["items"]:
        item["category"] = exports.training_category(
            ctx(), item["process_key"], item["certificate_type"]
        )
    html = render_template(
        "unit/learning.html",
        listing=listing,
        labels=LEARNING_LABELS,
        filters=request.args,
        errors=errors,
        statuses=LEARNING_STATUSES,
        counts=counts,
        processes=_processes(),
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


@bp.route("/learning/export.xlsx")
@signed_in(UNIT)
def learning_export(who):
    """学习进度 as a workbook, with the list's filters.

    The page's button posts to /jobs/exports/learning; this address stays for links kept from
    before and does the same: small at once, large as a background job (never a long request).
    """
    filters, _paging, errors = _learning_filters(
        MultiDict((k, v) for k, v in request.args.items(multi=True) if k != "page")
    )
    if errors:
        _refuse_export(errors, LEARNING_LABELS)
    return start_or_send(who, "learning_export", filters)


# --- 子账号 ---------------------------------------------------------------------------------


def _accounts_page(who, errors=None, values=None, error=None, status: int = 200):
    with uow() as u:
        subs = unit_admin.list_sub_accounts(u, who, _unit_id(who))
    html = render_template(
        "unit/accounts.html",
        subs=subs,
        errors=errors or {},
        values=values or {},
        error=error,
    )
    return html, status


@bp.route("/accounts")
@signed_in(UNIT)
def accounts_page(who):
    """子账号: at most three, each signing in with its mobile number."""
    return _accounts_page(who)


@bp.route("/accounts", methods=["POST"])
@signed_in(UNIT)
def add_account(who):
    """Add a sub-account; the fourth is refused with the reason."""
    form = request.form
    values = {"name": form.get("name", ""), "mobile": form.get("mobile", "")}
    if (form.get("password") or "") != (form.get("password2") or ""):
        return _accounts_page(who, {"password2": "两次输入的密码不一致"}, values, status=422)
    try:
        with uow() as u:
            made = unit_admin.add_sub_account(
                u, who, _unit_id(who), values["name"], values["mobile"], form.get("password") or ""
            )
    except FormInvalid as exc:
        return _accounts_page(who, exc.errors, values, status=422)
    except Conflict as exc:
        return _accounts_page(who, values=values, error=exc.message, status=409)
    flash(f"已新增子账号“{made['name']}”，登录账号为手机号 {made['username']}", "success")
    return redirect(url_for("unit.accounts_page"))


@bp.route("/accounts/<int:account_id>/edit", methods=["GET", "POST"])
@signed_in(UNIT)
def edit_account(who, account_id):
    """Edit a sub-account's name and mobile (its login)."""
    with uow() as u:
        account = unit_admin.sub_account(u, who, _unit_id(who), account_id)
    errors: dict = {}
    values = {"name": account["name"], "mobile": account["mobile"] or account["username"]}
    if request.method == "POST":
        values = {"name": request.form.get("name", ""), "mobile": request.form.get("mobile", "")}
        try:
            with uow() as u:
                unit_admin.update_sub_account(
                    u, who, _unit_id(who), account_id, values["name"], values["mobile"]
                )
        except FormInvalid as exc:
            errors = exc.errors or {"name": exc.message}
        else:
            flash("子账号已保存", "success")
            return redirect(url_for("unit.accounts_page"))
    html = render_template("unit/account_edit.html", account=account, values=values, errors=errors)
    return html, 422 if errors else 200


@bp.route("/accounts/<int:account_id>/<action>", methods=["POST"])
@signed_in(UNIT)
def account_state(who, account_id, action):
    """停用 / 启用 a sub-account."""
    if action not in ("disable", "enable"):
        raise NotFound("页面不存在")
    with uow() as u:
        done = unit_admin.set_sub_account_active(
            u, who, _unit_id(who), account_id, action == "enable"
        )
    what = "已启用" if done["active"] else "已停用，其登录已全部失效"
    flash(f"子账号“{done['name']}”{what}", "success")
    return redirect(url_for("unit.accounts_page"))


@bp.route("/accounts/<int:account_id>/password-reset", methods=["POST"])
@signed_in(UNIT)
def account_password_reset(who, account_id):
    """重置子账号密码: the new one-time password in this reply only."""
    with uow() as u:
        issued = passwords.reset_sub_account_password(
            u, who, _unit_id(who), account_id, signin_guard()
        )
    return show_once("unit", url_for("unit.accounts_page"), issued=issued)
