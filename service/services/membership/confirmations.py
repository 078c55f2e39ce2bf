"""QR confirmations (扫码确认): transfer into a unit, resignation, ID photo supplement,
and delivering a member's initial password.

A unit admin makes a signed, expiring code and shows it as a QR image; the person, signed
in as a member, confirms it. The transfer code is the manual's: one code per unit, valid a
year (`confirmation_code_validity_days`), which every person joining the unit scans — it
is their consent to the move; making it again shows the same code until the unit renews
it (the old one then stops working). The per-person codes (resignation, ID photos) are
used once. Transfer and resignation are refused while the person has any business in
flight. A password code is claimed without signing in (see password_codes).
"""

from __future__ import annotations

from datetime import datetime

from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from service.db.models import ConfirmationCode, Member, ProcessInstance, StoredFile, Unit
from service.db.uow import Reads, UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, Gone, NotFound
from service.domain.masking import mask_id_number, mask_name
from service.domain.validation import InvalidValue, normalize_mobile
from service.services.documents import qr
from service.services.membership.join_codes import join_process
from service.services.workflow import audit, files, persons
from service.services.workflow.context import SHANGHAI, Context
from service.services.workflow.effects import move_member
from service.services.workflow.facts import person_records
from service.services.workflow.scope import administers_unit, is_member, unit_acts

KINDS = {
    "transfer": "个人归属公司变更（调动）",
    "resignation": "人员离职",
    "id_photos": "补充身份证照片",
    "password": "领取会员账号初始密码",
}
PER_PERSON = frozenset({"resignation", "id_photos", "password"})
UNIT_WIDE = frozenset({"transfer"})  # one code per unit, scanned by many, until it expires
# the sides as the join form names them: its id_front is the 人像面 (the member record's
# id_front_file_id holds the same side whichever page uploaded it)
ID_PHOTOS = {
    "id_front_file_id": "身份证件人像面照片",
    "id_back_file_id": "身份证件国徽面照片",
}
INVALID = "二维码无效，请向单位索取新的二维码"
PASSWORD_CODE_DAYS = 7  # a code that hands out a password is not left lying about for a year


def _signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="memberflow-confirmation-code")


def confirm_url(ctx: Context, code: str, kind: str = "transfer") -> str:
    """The public address the QR code encodes (the person's confirmation page)."""
    page = "initial-password" if kind == "password" else "confirm"
    return f"{ctx.config.public_base_url.rstrip('/')}/{page}/{code}"


def _policy(ctx: Context) -> dict:
    """policy.json (shared by every process), read through the join process's definition."""
    return ctx.definitions.latest(join_process(ctx))[1].policy


def validity_days(ctx: Context) -> int:
    """`confirmation_code_validity_days`, else the join codes' validity (one year)."""
    policy = _policy(ctx)
    return int(
        policy.get("confirmation_code_validity_days", policy.get("join_code_validity_days", 365))
    )


def _prompt(kind: str, unit_name: str) -> str:
    if kind == "transfer":
        return f"确认将本人所属单位变更为“{unit_name}”"
    if kind == "resignation":
        return f"确认从“{unit_name}”离职"
    if kind == "password":
        return "请输入本人完整的身份证号，领取会员账号的初始密码（只显示一次）"
    return "请上传身份证正反面照片并确认本人手机号码"


def _view(ctx: Context, row: ConfirmationCode, unit: Unit, member: Member | None, code: str):
    return {
        "code": code,
        "kind": row.kind,
        "kind_label": KINDS[row.kind],
        "prompt": _prompt(row.kind, unit.name),
        "unit_id": unit.id,
        "unit_name": unit.name,
        "member_id": row.member_id,
        "person_name": mask_name(member.name) if member else None,
        "person_id_number": mask_id_number(member.id_number) if member else None,
        "expires_at": row.expires_at,
        "expires_on": (row.expires_at + SHANGHAI).date(),
        "url": confirm_url(ctx, code, row.kind),
        "qr_url": f"/api/v1/confirmations/{code}/qr.png",
    }


def _admin_unit(uow: UnitOfWork, actor: Actor, unit_id: int) -> Unit:
    unit = uow.session.get(Unit, unit_id)
    if not administers_unit(actor, unit_id) or unit is None:
        raise NotFound("单位不存在")
    return unit


def _unit_member(uow: UnitOfWork, unit_id: int, member_id: int) -> Member:
    member = uow.session.get(Member, member_id)
    if member is None or member.unit_id != unit_id:
        raise NotFound("该人员不存在或不是本单位人员")
    return member


def _current_unit_code(uow: UnitOfWork, unit_id: int, kind: str, now) -> ConfirmationCode | None:
    return uow.session.scalars(
        select(ConfirmationCode)
        .where(
            ConfirmationCode.unit_id == unit_id,
            ConfirmationCode.kind == kind,
            ConfirmationCode.expires_at > now,
        )
        .order_by(ConfirmationCode.id.desc())
        .with_for_update()
    ).first()


def create_code(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    kind: str,
    member_id: int | None = None,
    renew: bool = False,
) -> dict:
    """A signed code of the caller's unit: the unit's transfer code (the current one, or a
    new one when none is valid or `renew` retires the old), or a new one for a member."""
    unit = _admin_unit(uow, actor, unit_id)
    member = _unit_member(uow, unit_id, member_id) if kind in PER_PERSON else None
    now = ctx.now()
    if kind in UNIT_WIDE:
        current = _current_unit_code(uow, unit_id, kind, now)
        if current is not None and not renew:
            view = _view(ctx, current, unit, None, _signer(ctx.config.secret_key).dumps(current.id))
            uow.commit()
            return {**view, "created": False}
        if current is not None:  # renewed: every earlier code of the unit stops working
            uow.session.execute(
                update(ConfirmationCode)
                .where(
                    ConfirmationCode.unit_id == unit_id,
                    ConfirmationCode.kind == kind,
                    ConfirmationCode.expires_at > now,
                )
                .values(expires_at=now)
                .execution_options(synchronize_session=False)
            )
    row = ConfirmationCode(
        kind=kind,
        unit_id=unit_id,
        member_id=member.id if member else None,
        # to the end of the day it says
        expires_at=ctx.valid_through(
            PASSWORD_CODE_DAYS if kind == "password" else validity_days(ctx)
        ),
        created_by=actor.id,
        created_at=now,
    )
    uow.session.add(row)
    uow.session.flush()
    view = _view(ctx, row, unit, member, _signer(ctx.config.secret_key).dumps(row.id))
    uow.commit()
    return {**view, "created": True}


def resolve(ctx: Context, uow: UnitOfWork, code: str) -> ConfirmationCode:
    """The code behind a signed string; NotFound if forged, Gone if used or expired."""
    try:
        code_id = _signer(ctx.config.secret_key).loads(code)
    except BadSignature as exc:
        raise NotFound(INVALID) from exc
    row = uow.session.get(ConfirmationCode, code_id) if isinstance(code_id, int) else None
    if row is None:
        raise NotFound(INVALID)
    if row.used_at is not None:
        raise Gone("二维码已使用")
    if row.expires_at <= ctx.now():
        raise Gone("二维码已过期，请向单位索取新的二维码")
    return row


def describe(ctx: Context, uow: UnitOfWork, code: str) -> dict:
    """What the code asks of the person who scans it."""
    row = resolve(ctx, uow, code)
    member = uow.session.get(Member, row.member_id) if row.member_id else None
    return _view(ctx, row, uow.session.get(Unit, row.unit_id), member, code)


def qr_png(ctx: Context, uow: UnitOfWork, code: str) -> bytes:
    """The QR image (PNG) that encodes the code's confirmation page."""
    row = resolve(ctx, uow, code)
    return qr.qr_png(confirm_url(ctx, code, row.kind))


def _id_photo_changes(uow: UnitOfWork, actor: Actor, body: dict) -> dict:
    """The checked ID photos (uploaded images of the caller) and mobile; FormInvalid if not."""
    errors = {f: f"请上传{label}" for f, label in ID_PHOTOS.items() if not body.get(f)}
    try:
        mobile = normalize_mobile(body.get("mobile") or "")
    except InvalidValue as exc:
        errors["mobile"] = exc.message
    if errors:
        raise FormInvalid(errors)
    if body["id_front_file_id"] == body["id_back_file_id"]:
        raise FormInvalid({"id_back_file_id": "反面照片不能与正面照片是同一个文件"})
    files.check_references(uow, actor, body, set(ID_PHOTOS))
    kinds = dict(
        uow.session.execute(
            select(StoredFile.id, StoredFile.content_type).where(
                StoredFile.id.in_([body[f] for f in ID_PHOTOS])
            )
        ).all()
    )
    errors = {
        f: f"{label}须为 JPG 或 PNG 图片"
        for f, label in ID_PHOTOS.items()
        if kinds.get(body[f]) not in files.IMAGE_TYPES
    }
    if errors:
        raise FormInvalid(errors)
    return {
        "id_front_file_id": body["id_front_file_id"],
        "id_back_file_id": body["id_back_file_id"],
        "mobile": mobile,
    }


def mark_used(uow: UnitOfWork, row: ConfirmationCode, member_id: int, now: datetime) -> None:
    """Mark the code used, once: of two simultaneous confirmations one wins, one is Gone."""
    claimed = uow.session.execute(
        update(ConfirmationCode)
        .where(ConfirmationCode.id == row.id, ConfirmationCode.used_at.is_(None))
        .values(used_at=now, used_by_member_id=member_id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:
        raise Gone("二维码已使用")


def _locked_member(session: Session, member_id: int) -> Member:
    """The member, its row locked first so a form started meanwhile waits (and sees us)."""
    number = session.scalar(select(Member.id_number).where(Member.id == member_id))
    if number is None:
        raise NotFound("个人会员不存在")
    reads = Reads(session)
    persons.lock(reads, {"id_number": number})
    reads.run()
    return session.get(Member, member_id, populate_existing=True)


def business_in_flight(session: Session, member: Member, join_keys: list[str]) -> list[str]:
    """Process keys of the person's unfinished business: forms, bills, learning, and an
    application of a join process (`join_keys`: the processes declaring `join_code`)."""
    record = person_records(session, [member.id_number]).get(member.id_number)
    keys = [*record.in_flight, *record.unpaid_bills, *record.open_learning] if record else []
    joins = session.scalars(
        select(ProcessInstance.process_key)
        .where(
            ProcessInstance.process_key.in_(join_keys),
            ProcessInstance.subject_id_number == member.id_number,
            ProcessInstance.finished.is_(False),
        )
        .limit(1)
    ).all()
    return list(dict.fromkeys([*keys, *joins]))


def _refuse_in_flight(ctx: Context, session: Session, member: Member, action: str) -> None:
    joins = ctx.definitions.declaring(lambda d: d.join_code)
    keys = business_in_flight(session, member, joins)
    if keys:
        known = ctx.definitions.names()
        names = "、".join(known.get(k, k) for k in keys)
        raise Conflict(
            f"该人员有在途业务（{names}），暂不能办理{action}，请办结后再扫码", {"in_flight": names}
        )


def _transfer(ctx: Context, session: Session, row: ConfirmationCode, member: Member, _body):
    unit = session.get(Unit, row.unit_id)
    if member.unit_id == unit.id:
        raise Conflict(f"您已是“{unit.name}”的人员，无需变更单位")
    if not unit_acts(session, unit.id):  # 停用: as its join codes take nobody
        raise Conflict(f"“{unit.name}”的账号已停用，暂不能调入该单位，请与该单位联系")
    _refuse_in_flight(ctx, session, member, "调动")
    move_member(session, member, unit)
    return f"已变更到“{unit.name}”"


def _resignation(ctx: Context, session: Session, row: ConfirmationCode, member: Member, _body):
    unit = session.get(Unit, row.unit_id)
    if member.unit_id != unit.id:
        raise Conflict(f"您已不是“{unit.name}”的人员，无需离职")
    _refuse_in_flight(ctx, session, member, "离职")
    move_member(session, member, None)
    member.status = "自由态"
    return f"已从“{unit.name}”离职"


def _id_photos(_ctx: Context, _session: Session, _row, member: Member, changes: dict):
    member.id_front_file_id = changes["id_front_file_id"]
    member.id_back_file_id = changes["id_back_file_id"]
    member.mobile = changes["mobile"]
    return "身份证照片和手机号码已更新"


APPLY = {"transfer": _transfer, "resignation": _resignation, "id_photos": _id_photos}


def confirm(ctx: Context, uow: UnitOfWork, actor: Actor, code: str, body: dict | None) -> dict:
    """The signed-in member confirms a code; its change, the used mark and an audit record."""
    if not is_member(actor) or actor.member_id is None:
        raise Forbidden("请以个人会员身份登录后扫码确认")
    row = resolve(ctx, uow, code)
    if row.member_id is not None and row.member_id != actor.member_id:
        raise NotFound(INVALID)  # another person's code: as if it did not exist
    if row.kind not in APPLY:
        raise Conflict("该二维码用于领取初始密码，请扫码后输入身份证号领取")
    changes = _id_photo_changes(uow, actor, body or {}) if row.kind == "id_photos" else {}
    now = ctx.now()
    if row.kind not in UNIT_WIDE:  # the unit's transfer code stays for the next person
        mark_used(uow, row, actor.member_id, now)
    member = _locked_member(uow.session, actor.member_id)
    from_unit = member.unit_id
    message = APPLY[row.kind](ctx, uow.session, row, member, changes)
    detail = {
        "kind": row.kind,
        "code_id": row.id,
        "member_id": member.id,
        "unit_id": row.unit_id,
        "from_unit_id": from_unit,
        "to_unit_id": member.unit_id,
    }
    if row.kind == "id_photos":
        detail.update(changes)
    audit.write(uow.session, audit.Step(actor, "confirm", remark=message, detail=detail), now)
    uow.session.flush()
    unit = uow.session.get(Unit, member.unit_id) if member.unit_id else None
    view = {
        "kind": row.kind,
        "kind_label": KINDS[row.kind],
        "message": message,
        "member_id": member.id,
        "unit_id": member.unit_id,
        "unit_name": unit.name if unit else None,
        "confirmed_at": now,
    }
    uow.commit()
    return view
