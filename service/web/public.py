"""The pages a QR code opens on a phone, the public certificate lookup and the units'
password-reset request (单位账号密码重置).

The same use cases and rules as the API: a join code's form is its process's start form; a
confirmation code is single use (410 once used or expired) and refused while the person has
business in flight; the lookup is rate-limited with the API's counter.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid

from flask import (
    Blueprint,
    current_app,
    jsonify,
    redirect,
    render_template,
    request,
    session,
    url_for,
)

from service.domain import disclosure
from service.domain.errors import (
    Conflict,
    Forbidden,
    FormInvalid,
    NotFound,
    RuleFailed,
    StepFailed,
)
from service.domain.validation import clean_code
from service.httputil import attachment
from service.limits import limiter
from service.services.documents import certificate_documents
from service.services.membership import (
    confirmations,
    join_check,
    join_codes,
    unit_password_requests,
)
from service.services.workflow import incidents, instances
from service.web import schemaform
from service.web.pages import ctx, page_actor, store_uploads, uow

bp = Blueprint("public", __name__)


def _join_rate() -> str:
    return ctx().config.join_upload_rate


def _lookup_rate() -> str:
    return ctx().config.lookup_rate


def _join_page(code: str, values=None, errors=None, status: int = 200):
    with uow() as u:
        info = join_codes.describe(ctx(), u, code)
    form = schemaform.build_form(
        info["form"], values or {}, errors, fixed={"variant": info["variant"]}
    )
    schemaform.fill_own_details(form)  # the applicant types their own name, mobile, address
    html = render_template(
        "public/join.html",
        info=info,
        form=form,
        attempt=request.form.get("attempt") or uuid.uuid4().hex,
        max_bytes=ctx().config.max_upload_bytes,
    )
    return html, status


@bp.route("/join/<code>")
def join(code):
    """扫码入会: the unit, the form variant and the applicant's form."""
    return _join_page(code)


@bp.route("/join/<code>/check", methods=["POST"])
@limiter.limit(_join_rate)
def join_check_id(code):
    """The ID number's check as it is typed (app.js, before the uploads): what the join
    rules say of the document, as JSON {"problem": the reasons or null}. The page works
    without it; the submission checks again."""
    values = {name: request.form.get(name, "") for name in join_check.FIELDS}
    with uow() as u:
        problems = join_check.applicant_problems(ctx(), u, code, values)
    return jsonify(problem="；".join(problems) or None)


@bp.route("/join/<code>", methods=["POST"])
@limiter.limit(_join_rate)
def join_submit(code):
    """Submit the application: uploads first, then the same start as the API's."""
    c = ctx()
    with uow() as u:
        applicant, row = join_codes.applicant(c, u, code)
        info = join_codes.describe(c, u, code)
    form = schemaform.build_form(info["form"], {}, fixed={"variant": row.variant})
    data, upload_errors = schemaform.read_form(
        form, request.form, request.files, store_uploads(applicant, row.id)
    )
    if upload_errors:  # and what else is wrong, so that one send shows every mistake
        defn = c.definitions.current[join_codes.join_process(c)]
        problems = instances.start_form_problems(
            defn, join_codes.with_variant(row, data), c.today()
        )
        return _join_page(code, data, {**problems, **upload_errors}, 422)
    try:
        with uow() as u:
            applicant, row = join_codes.applicant(c, u, code)
            view, _created = instances.start_process(
                c,
                u,
                applicant,
                join_codes.join_process(c),
                join_codes.with_variant(row, data),
                idempotency_key=(request.form.get("attempt") or "")[:64] or None,
                join_code_id=row.id,
                tied=False,  # the page's uploads are stored anew at each send
            )
    except RuleFailed as exc:
        already = disclosure.APPLICANT_NOT_DISCLOSED in exc.reasons
        if already and _applied_here(code, data):  # back and send again: its own application
            return redirect(url_for("public.join_done", code=code, again=1))
        errors = dict(exc.errors or {}) or {"_form": exc.message}
        reasons = errors.pop("eligibility", None)
        if isinstance(reasons, list) and reasons:
            # the rules judge the person the ID number names: said at that field, where the
            # applicant looks and types again (and above the form, as every error is)
            errors["id_number"] = "；".join(r for r in reasons if isinstance(r, str))
        return _join_page(code, data, errors, 422)
    except FormInvalid as exc:
        errors = dict(exc.errors or {}) or {"_form": exc.message}
        return _join_page(code, data, errors, 422)
    except StepFailed as exc:  # the diagram failed: no form made; the form as it was filled
        message = exc.message.replace(incidents.KEEP_DRAFT, "")  # no drafts here
        return _join_page(code, data, {"_form": message}, exc.status)
    session["join_result"] = {
        "business_key": view["business_key"],
        "status": view["status"],
        "unit_name": info["unit_name"],
        "variant": row.variant,
        "code": code,
        "applicant": _applicant_digest(data),
    }
    return redirect(url_for("public.join_done", code=code))


def _applicant_digest(data: dict) -> str | None:
    """The ID number an application was for, as a keyed digest (the session cookie is
    signed, not encrypted: it never carries the number itself)."""
    number = clean_code(data.get("id_number"))
    if not number:
        return None
    key = current_app.secret_key.encode() if current_app.secret_key else b""
    return hmac.new(key, f"join:{number}".encode(), hashlib.sha256).hexdigest()


def _applied_here(code: str, data: dict) -> bool:
    """Whether this browser's session applied with this code for this ID number: the
    refusal it gets again (one application at a time) is its own application, said so to
    it alone — anyone else still reads the rules' message, which discloses nothing."""
    result = session.get("join_result") or {}
    digest = _applicant_digest(data)
    return bool(
        digest
        and result.get("code") == code
        and hmac.compare_digest(str(result.get("applicant") or ""), digest)
    )


@bp.route("/join/<code>/done")
def join_done(code):
    """The result: the form number and what happens next (`again`: the same application
    sent again, as after going back)."""
    result = session.get("join_result")
    if not result:
        return redirect(url_for("public.join", code=code))
    again = request.args.get("again") == "1"
    return render_template("public/join_done.html", result=result, code=code, again=again)


# --- confirmations ---------------------------------------------------------------------------


def _confirm_page(code: str, error: str | None = None, errors=None, status: int = 200):
    with uow() as u:
        info = confirmations.describe(ctx(), u, code)
    who = page_actor()
    html = render_template(
        "public/confirm.html",
        info=info,
        member=who if who is not None and who.role == "member" else None,
        other=who if who is not None and who.role != "member" else None,
        error=error,
        errors=errors or {},
        values=request.form,
        max_bytes=ctx().config.max_upload_bytes,
        id_photos=confirmations.ID_PHOTOS,
    )
    return html, status


@bp.route("/confirm/<code>")
def confirm(code):
    """扫码确认: what the code asks, then sign in as the person and confirm."""
    return _confirm_page(code)


@bp.route("/confirm/<code>", methods=["POST"])
def confirm_submit(code):
    who = page_actor()
    if who is None or who.role != "member":
        return _confirm_page(code, "请先以个人会员身份登录（账号为身份证号）", status=401)
    body: dict = {}
    with uow() as u:
        info = confirmations.describe(ctx(), u, code)
    if info["kind"] == "id_photos":
        store = store_uploads(who)
        errors = {}
        for name in confirmations.ID_PHOTOS:
            upload = request.files.get(name)
            if upload is not None and upload.filename:
                try:
                    body[name] = store(name, upload)
                except schemaform.UploadRefused as exc:
                    errors[name] = exc.message
        body["mobile"] = request.form.get("mobile", "")
        if errors:
            return _confirm_page(code, "照片上传未成功，请重新选择", errors, 422)
    try:
        with uow() as u:
            result = confirmations.confirm(ctx(), u, who, code, body)
    except FormInvalid as exc:
        return _confirm_page(code, exc.message, exc.errors, 422)
    except (Conflict, Forbidden) as exc:
        return _confirm_page(code, exc.message, status=exc.status)
    session["confirm_result"] = {"message": result["message"], "kind_label": result["kind_label"]}
    return redirect(url_for("public.confirm_done"))


@bp.route("/confirm/done")
def confirm_done():
    result = session.get("confirm_result")
    if not result:
        raise NotFound("页面不存在")
    return render_template("public/confirm_done.html", result=result)


# --- certificate lookup ----------------------------------------------------------------------

LOOKUP_FIELDS = ("number", "id_number", "name")


def _asked(args) -> bool:
    return any((args.get(f) or "").strip() for f in LOOKUP_FIELDS)


@bp.route("/faq")
def faq():
    """常见问题: the manual's FAQ for applicants, members and units, without signing in (a
    person who scanned a join code has no account); the pages' help per role stays at /help."""
    return render_template("public/faq.html", max_bytes=ctx().config.max_upload_bytes)


@bp.route("/lookup")
@limiter.shared_limit(
    _lookup_rate, scope="certificate-lookup", exempt_when=lambda: not _asked(request.args)
)
def lookup():
    """证书查询: by certificate number, or by ID number (manual §3.10)."""
    result, errors, message = None, {}, None
    if not _asked(request.args) and any(f in request.args for f in LOOKUP_FIELDS):
        errors = {"number": "请填写证书编号或身份证号"}  # 查询 pressed with nothing filled in
    elif _asked(request.args):
        query = {f: (request.args.get(f) or "").replace("\x00", "")[:50] for f in LOOKUP_FIELDS}
        try:
            with uow() as u:
                result = certificate_documents.lookup(ctx(), u, **query)
        except FormInvalid as exc:
            errors = exc.errors or {}
        except NotFound as exc:
            message = exc.message
    status = 422 if errors else 404 if message else 200
    html = render_template(
        "public/lookup.html", result=result, errors=errors, message=message, args=request.args
    )
    return html, status


@bp.route("/lookup/certificate.pdf")
@limiter.shared_limit(_lookup_rate, scope="certificate-lookup")
def lookup_document():
    """下载电子证: a valid certificate's PDF, by its number (what the lookup links to)."""
    number = (request.args.get("number") or "").replace("\x00", "")[:50]
    with uow() as u:
        name, pdf = certificate_documents.public_certificate_pdf(ctx(), u, number)
    return attachment(pdf, "application/pdf", name, "certificate.pdf")


# --- 单位账号密码重置 -------------------------------------------------------------------------

RESET_FIELDS = ("unit_name", "credit_code", "contact_name", "contact_mobile")


def _reset_page(values=None, errors=None, message=None, status: int = 200):
    html = render_template(
        "public/unit_password_reset.html",
        values=values or {},
        errors=errors or {},
        message=message,
        max_bytes=ctx().config.max_upload_bytes,
    )
    return html, status


@bp.route("/unit-password-reset")
def unit_password_reset():
    """单位账号密码重置 (FAQ 3.9(2)): the form, no sign-in."""
    return _reset_page()


@bp.route("/unit-password-reset", methods=["POST"])
@limiter.shared_limit(_lookup_rate, scope="unit-password-reset")
def unit_password_reset_submit():
    """Send the request: every mistake at its field, then the unit, then one pending only."""
    c = ctx()
    values = {f: request.form.get(f, "") for f in RESET_FIELDS}
    upload = request.files.get("file")
    content = upload.read(c.config.largest_upload_bytes + 1) if upload and upload.filename else None
    try:
        with uow() as u:
            result = unit_password_requests.submit_request(
                c, u, **values, file_name=upload.filename if upload else None, content=content
            )
    except FormInvalid as exc:
        errors = dict(exc.errors or {})
        return _reset_page(values, errors, errors.pop("_form", None), 422)
    except Conflict as exc:
        return _reset_page(values, {}, exc.message, 409)
    session["unit_password_reset"] = {
        "number": result["number"],
        "unit_name": result["unit_name"],
        "mobile": values["contact_mobile"].strip(),
    }
    return redirect(url_for("public.unit_password_reset_done"))


@bp.route("/unit-password-reset/done")
def unit_password_reset_done():
    """Received: the request number and what happens next."""
    result = session.get("unit_password_reset")
    if not result:
        return redirect(url_for("public.unit_password_reset"))
    return render_template("public/unit_password_reset_done.html", result=result)
