"""单位账号密码重置 (manual FAQ 3.9(2)): a unit that lost its main account's password asks on
the sign-in page — 单位名称, 统一社会信用代码, 联系人, 联系手机 and the stamped 重置密码申请表
— and the secretariat checks it: 通过并重置 gives the main account a one-time password
(the same reset as `passwords.reset_account_password`: changed at the next sign-in, every
session ended), 拒绝 records the reason.

There is no SMS gateway: the secretariat reads the new password on its page, once, and tells
the unit's contact by telephone. An SMS sender can be plugged in later with
`set_password_sender` (the hook is called after the reset is committed); none is installed.

The request is anonymous, so it tells nothing about the register: a name and credit code
that are not one registered unit get one message that does not say which is wrong. A unit
has at most one request 待处理 (a partial unique index); acting on a request changes its
status only from 待处理 (a conditional UPDATE), so it is never reset twice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from service.db.models import Account, StoredFile, Unit, UnitPasswordRequest
from service.db.search import same_login
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound, TooLarge
from service.domain.validation import InvalidValue, check_credit_code, normalize_mobile
from service.services.membership import passwords
from service.services.membership.signin_limits import SigninGuard
from service.services.workflow import audit, files
from service.services.workflow.context import Context
from service.services.workflow.paging import page_of
from service.services.workflow.scope import may_manage_accounts
from service.storage import Blob

PENDING, RESET, REFUSED = "待处理", "已重置", "已拒绝"
STATUSES = (PENDING, RESET, REFUSED)
MAX_NAME, MAX_CONTACT, MAX_REASON = 200, 50, 500
NOT_A_UNIT = "单位名称与统一社会信用代码不匹配任何已注册单位，请核对后重新填写"
ALREADY = "该单位已有一份密码重置申请正在核实中，请等待协会处理，无需重复提交"
GONE = "密码重置申请不存在"
NO_SMS = (
    "平台暂未接入短信：请将新密码电话告知申请表上的联系人，它只显示这一次，单位首次登录后须修改"
)
REQUESTER = Actor(None, "单位账号密码重置", "public")


@dataclass(frozen=True)
class NewPassword:
    """What a password sender (SMS) is handed after a reset is committed."""

    request_number: str
    unit_name: str
    contact_name: str
    mobile: str
    username: str
    password: str


PasswordSender = Callable[[NewPassword], bool]
"""Sends the new password to the contact's mobile; answers whether it was sent."""

_sender: PasswordSender | None = None


def set_password_sender(sender: PasswordSender | None) -> None:
    """Plug in (or remove, with None) the sender of new passwords, e.g. an SMS gateway."""
    global _sender
    _sender = sender


def _require_secretariat(actor: Actor) -> None:
    if not may_manage_accounts(actor):
        raise Forbidden("只有协会秘书处可以处理密码重置申请")


def _text(errors: dict, field: str, label: str, value, limit: int) -> str:
    if not isinstance(value, str) or not value.strip():
        errors[field] = f"请填写{label}"
        return ""
    value = " ".join(value.split())
    if len(value) > limit:
        errors[field] = f"{label}不能超过{limit}个字（现有{len(value)}个字）"
    return value


def check_request(
    ctx: Context, unit_name, credit_code, contact_name, contact_mobile, content: bytes | None
) -> tuple[dict, dict]:
    """The cleaned fields and every mistake by field (Chinese), the upload's included."""
    errors: dict = {}
    values = {
        "unit_name": _text(errors, "unit_name", "单位名称", unit_name, MAX_NAME),
        "contact_name": _text(errors, "contact_name", "联系人", contact_name, MAX_CONTACT),
        "credit_code": "",
        "contact_mobile": "",
    }
    if not isinstance(credit_code, str) or not credit_code.strip():
        errors["credit_code"] = "请填写统一社会信用代码"
    else:
        try:
            values["credit_code"] = check_credit_code(credit_code)
        except InvalidValue as exc:
            errors["credit_code"] = exc.message
    if not isinstance(contact_mobile, str) or not contact_mobile.strip():
        errors["contact_mobile"] = "请填写联系手机"
    else:
        try:
            values["contact_mobile"] = normalize_mobile(contact_mobile)
        except InvalidValue as exc:
            errors["contact_mobile"] = exc.message
    if not content:
        errors["file"] = "请上传盖章的重置密码申请表（JPG、PNG 图片或 PDF 文件）"
    else:
        try:
            if files.check_upload(ctx, content) in files.VIDEO_TYPES:
                errors["file"] = files.NO_VIDEO
        except (FormInvalid, TooLarge) as exc:
            errors["file"] = (exc.errors or {}).get("file") or exc.message
    return values, errors


def submit_request(
    ctx: Context,
    uow: UnitOfWork,
    unit_name,
    credit_code,
    contact_name,
    contact_mobile,
    file_name: str | None,
    content: bytes | None,
) -> dict:
    """提交申请 (no sign-in): every field checked at once, then the unit (name and code
    together), then no other request 待处理; the form's file and the request commit together."""
    values, errors = check_request(
        ctx, unit_name, credit_code, contact_name, contact_mobile, content
    )
    if errors:
        raise FormInvalid(errors, "申请信息有误：" + "；".join(errors.values()))
    # the name as the unit signs in with it: whatever the width of its brackets or letters
    same_name = same_login(Unit.name, values["unit_name"])
    unit = uow.session.scalars(
        select(Unit).where(same_name, Unit.credit_code == values["credit_code"])
    ).first()
    if unit is None:
        raise FormInvalid({"_form": NOT_A_UNIT}, NOT_A_UNIT)
    if _pending_of(uow, unit.id) is not None:
        raise Conflict(ALREADY)
    stored = files.keep_upload(ctx, uow, REQUESTER, file_name or "申请表", content or b"")
    now = ctx.now()
    row = UnitPasswordRequest(
        unit_id=unit.id,
        contact_name=values["contact_name"],
        contact_mobile=values["contact_mobile"],
        file_id=stored.id,
        status=PENDING,
        created_at=now,
    )
    uow.session.add(row)
    try:
        uow.session.flush()
    except IntegrityError as exc:  # another request of the unit was sent at the same moment
        uow.rollback()
        raise Conflict(ALREADY) from exc
    row.number = f"CZ{ctx.today():%Y%m%d}{row.id:05d}"  # the Shanghai day, as form numbers
    audit.write(
        uow.session,
        audit.Step(
            REQUESTER,
            "unit_pw_request",
            detail={"request_id": row.id, "number": row.number, "unit_id": unit.id},
        ),
        now,
    )
    reply = {
        "id": row.id,
        "number": row.number,
        "status": row.status,
        "unit_name": unit.name,
        "created_at": now,
        "message": "申请已提交：协会核实盖章申请表后重置单位主账号的密码，并将新密码告知联系人",
    }
    uow.commit()
    return reply


def _pending_of(uow: UnitOfWork, unit_id: int) -> int | None:
    return uow.session.scalar(
        select(UnitPasswordRequest.id).where(
            UnitPasswordRequest.unit_id == unit_id, UnitPasswordRequest.status == PENDING
        )
    )


def _view(uow: UnitOfWork, row: UnitPasswordRequest, unit: Unit | None = None) -> dict:
    unit = unit or uow.session.get(Unit, row.unit_id)
    return {
        "id": row.id,
        "number": row.number,
        "status": row.status,
        "unit_id": row.unit_id,
        "unit_name": unit.name if unit else None,
        "credit_code": unit.credit_code if unit else None,
        "contact_name": row.contact_name,
        "contact_mobile": row.contact_mobile,
        "reason": row.reason,
        "handled_by_name": row.handled_by_name,
        "handled_at": row.handled_at,
        "created_at": row.created_at,
    }


def _get(uow: UnitOfWork, request_id: int) -> UnitPasswordRequest:
    row = uow.session.get(UnitPasswordRequest, request_id)
    if row is None:
        raise NotFound(GONE)
    return row


def list_requests(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """The requests (of one status, or all), newest first, with the count of each status."""
    _require_secretariat(actor)
    if status and status not in STATUSES:
        message = f"没有“{status}”这个状态，可选：{'、'.join(STATUSES)}"
        raise FormInvalid({"status": message}, message)
    stmt = select(UnitPasswordRequest)
    if status:
        stmt = stmt.where(UnitPasswordRequest.status == status)
    stmt = stmt.order_by(UnitPasswordRequest.created_at.desc())
    total, rows = page_of(uow.session, stmt, UnitPasswordRequest.id.desc(), page, page_size)
    found = list(rows.scalars())
    units = {}
    if found:
        ids = {r.unit_id for r in found}
        units = {u.id: u for u in uow.session.scalars(select(Unit).where(Unit.id.in_(ids)))}
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(
        uow.session.execute(
            select(UnitPasswordRequest.status, func.count()).group_by(UnitPasswordRequest.status)
        ).all()
    )
    return {
        "items": [_view(uow, r, units.get(r.unit_id)) for r in found],
        "total": total,
        "page": page,
        "page_size": page_size,
        "counts": counts,
    }


def get_request(ctx: Context, uow: UnitOfWork, actor: Actor, request_id: int) -> dict:
    """One request: the unit, its contact, the form (a file only the secretariat may open)
    and, for the unit, its main account."""
    _require_secretariat(actor)
    row = _get(uow, request_id)
    view = _view(uow, row)
    stored = uow.session.get(StoredFile, row.file_id)
    view["file"] = files.describe(stored) if stored else None
    main = _main_account(uow, row.unit_id)
    view["account"] = (
        {"id": main.id, "username": main.username, "active": main.active} if main else None
    )
    return view


def open_form(ctx: Context, uow: UnitOfWork, actor: Actor, request_id: int) -> tuple[dict, Blob]:
    """The stamped form of a request, for the secretariat."""
    _require_secretariat(actor)
    row = _get(uow, request_id)
    stored = uow.session.get(StoredFile, row.file_id)
    if stored is None:
        raise NotFound("文件不存在")
    return files.describe(stored), Blob(ctx.storage, stored.sha256)


def _main_account(uow: UnitOfWork, unit_id: int) -> Account | None:
    return uow.session.scalars(
        select(Account).where(
            Account.unit_id == unit_id, Account.role == "unit_admin", Account.is_main.is_(True)
        )
    ).first()


def _settle(
    ctx: Context, uow: UnitOfWork, actor: Actor, row: UnitPasswordRequest, status: str, **values
):
    """Move the request from 待处理 to `status`, once: a second or simultaneous action finds
    it no longer 待处理 (the UPDATE's condition) and is refused."""
    account = uow.session.get(Account, actor.id) if actor.id else None
    now = ctx.now()
    done = uow.session.execute(
        update(UnitPasswordRequest)
        .where(UnitPasswordRequest.id == row.id, UnitPasswordRequest.status == PENDING)
        .values(
            status=status,
            handled_by=actor.id,
            handled_by_name=(account.name if account else actor.name)[:200],
            handled_at=now,
            **values,
        )
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:
        uow.rollback()
        current = _get(uow, row.id).status
        raise Conflict(f"该申请已处理（{current}），不能再次处理")
    uow.session.expire(row)


def approve_request(
    ctx: Context, uow: UnitOfWork, actor: Actor, request_id: int, guard: SigninGuard
) -> dict:
    """通过并重置: the unit's main account gets a one-time password (shown once, changed at
    the next sign-in, its sessions ended) and the request is 已重置 — one transaction with
    the audit records; then a plugged-in sender, if any, sends the password."""
    _require_secretariat(actor)
    row = _get(uow, request_id)
    if row.status != PENDING:
        raise Conflict(f"该申请已处理（{row.status}），不能再次处理")
    main = _main_account(uow, row.unit_id)
    if main is None:
        raise Conflict("该单位没有主账号，无法重置密码")
    _settle(ctx, uow, actor, row, RESET, account_id=main.id)
    audit.write(
        uow.session,
        audit.Step(
            actor,
            "unit_pw_approve",
            detail={"request_id": row.id, "number": row.number, "account_id": main.id},
        ),
        ctx.now(),
    )
    reset = passwords.reset_account_password(uow, actor, main.id, guard)  # commits all of it
    view = get_request(ctx, uow, actor, request_id)
    sent = False
    if _sender is not None:
        sent = bool(
            _sender(
                NewPassword(
                    row.number or "",
                    view["unit_name"] or "",
                    row.contact_name,
                    row.contact_mobile,
                    reset["username"],
                    reset["password"],
                )
            )
        )
    view.update(
        password=reset["password"],
        username=reset["username"],
        sms_sent=sent,
        message=passwords.ONCE if sent else NO_SMS,
    )
    return view


def refuse_request(ctx: Context, uow: UnitOfWork, actor: Actor, request_id: int, reason) -> dict:
    """拒绝: the reason is required and kept; the password is not touched."""
    _require_secretariat(actor)
    row = _get(uow, request_id)
    errors: dict = {}
    text = _text(errors, "reason", "拒绝理由", reason, MAX_REASON)
    if errors:
        raise FormInvalid(errors, errors["reason"])
    if row.status != PENDING:
        raise Conflict(f"该申请已处理（{row.status}），不能再次处理")
    _settle(ctx, uow, actor, row, REFUSED, reason=text)
    audit.write(
        uow.session,
        audit.Step(
            actor,
            "unit_pw_refuse",
            detail={"request_id": row.id, "number": row.number, "reason": text},
        ),
        ctx.now(),
    )
    uow.commit()
    return get_request(ctx, uow, actor, request_id)
