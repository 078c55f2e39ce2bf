"""The unit's join codes (个人会员申请码): signed, expiring, shown as a QR image."""

from __future__ import annotations

from itsdangerous import BadSignature, URLSafeSerializer

from service.db.models import JoinCode, Unit
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, Gone, NotFound
from service.services.documents import qr
from service.services.workflow.context import SHANGHAI, Context
from service.services.workflow.scope import administers_unit, unit_acts

VARIANTS = {"full": "完整版", "short": "简码版"}


def join_process(ctx: Context) -> str:
    """The key of the process a join code starts: the one whose BPMN declares `join_code`."""
    keys = ctx.definitions.declaring(lambda d: d.join_code)
    if not keys:
        raise NotFound("没有可由申请码发起的入会流程")
    return keys[0]


def _signer(secret: str) -> URLSafeSerializer:
    return URLSafeSerializer(secret, salt="memberflow-join-code")


def join_url(ctx: Context, code: str) -> str:
    """The public address the QR code encodes (the applicant's form)."""
    return f"{ctx.config.public_base_url.rstrip('/')}/join/{code}"


def _view(ctx: Context, row: JoinCode, unit: Unit, code: str) -> dict:
    return {
        "code": code,
        "unit_id": unit.id,
        "unit_name": unit.name,
        "variant": row.variant,
        "variant_label": VARIANTS[row.variant],
        "expires_at": row.expires_at,
        "expires_on": (row.expires_at + SHANGHAI).date(),
        "url": join_url(ctx, code),
        "qr_url": f"/api/v1/join-codes/{code}/qr.png",
    }


def create_join_code(
    ctx: Context, uow: UnitOfWork, actor: Actor, unit_id: int, variant: str
) -> dict:
    """A new signed join code for the caller's unit."""
    if not administers_unit(actor, unit_id):
        raise NotFound("单位不存在")
    if variant not in VARIANTS:
        raise FormInvalid({"variant": "申请码类型须为 full（完整版）或 short（简码版）"})
    unit = uow.session.get(Unit, unit_id)
    _, defn = ctx.definitions.latest(join_process(ctx))
    days = int(defn.policy.get("join_code_validity_days", 365))
    row = JoinCode(
        unit_id=unit_id,
        variant=variant,
        created_by=actor.id,
        expires_at=ctx.valid_through(days),  # to the end of the day it says
        created_at=ctx.now(),
    )
    uow.session.add(row)
    uow.session.flush()
    view = _view(ctx, row, unit, _signer(ctx.config.secret_key).dumps(row.id))
    uow.commit()
    return view


def resolve(ctx: Context, uow: UnitOfWork, code: str) -> tuple[JoinCode, Unit]:
    """The join code behind a signed string; NotFound if forged, Gone if expired or its unit
    is disabled."""
    try:
        code_id = _signer(ctx.config.secret_key).loads(code)
    except BadSignature as exc:
        raise NotFound("申请码无效，请向单位索取新的二维码") from exc
    row = uow.session.get(JoinCode, code_id)
    if row is None:
        raise NotFound("申请码无效，请向单位索取新的二维码")
    if row.expires_at <= ctx.now():
        raise Gone("申请码已过期，请向单位索取新的二维码")
    if not unit_acts(uow.session, row.unit_id):
        raise Gone(UNIT_DISABLED)
    return row, uow.session.get(Unit, row.unit_id)


# a unit the secretariat has disabled (停用: every administrator's account) could never
# pre-review an application: its codes take none
UNIT_DISABLED = "该单位账号已停用，暂不能受理个人会员入会申请，请与单位联系"


def describe(ctx: Context, uow: UnitOfWork, code: str) -> dict:
    """What an applicant sees: the unit, the variant and the form to fill."""
    row, unit = resolve(ctx, uow, code)
    _, defn = ctx.definitions.latest(join_process(ctx))
    view = _view(ctx, row, unit, code)
    view["form"] = defn.start_form
    return view


def qr_png(ctx: Context, uow: UnitOfWork, code: str) -> bytes:
    """The QR image (PNG) that encodes the join code's public address."""
    resolve(ctx, uow, code)
    return qr.qr_png(join_url(ctx, code))


def applicant(ctx: Context, uow: UnitOfWork, code: str) -> tuple[Actor, JoinCode]:
    """The applicant acting through a valid code."""
    row, unit = resolve(ctx, uow, code)
    return Actor.applicant(unit.id, unit.agency_id), row


def with_variant(row: JoinCode, data: dict) -> dict:
    """The application data with the code's variant (a different one is refused)."""
    if not isinstance(data, dict):
        raise FormInvalid({"data": "data 应为 JSON 对象"})
    if data.get("variant", row.variant) != row.variant:
        raise FormInvalid(
            {"variant": f"该申请码为{VARIANTS[row.variant]}，不能提交其他版本的申请表"}
        )
    return {**data, "variant": row.variant}
