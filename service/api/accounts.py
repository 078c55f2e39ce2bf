"""Password resets (FAQ 3.8, 3.9), disabling accounts, and the initial-password QR code."""

from marshmallow import fields, validate

from service.api.blueprint import Blueprint
from service.api.common import Int32, actor, ctx, uow
from service.api.confirmations import ConfirmationCodeSchema
from service.api.planned import Schema
from service.limits import signin_guard
from service.services.membership import confirmations, password_codes, passwords

blp = Blueprint(
    "accounts", __name__, url_prefix="/api/v1", description="账号：重置密码、停用与启用"
)


class OneTimePasswordSchema(Schema):
    account_id = fields.Integer()
    username = fields.String(metadata={"description": "登录账号"})
    name = fields.String()
    password = fields.String(metadata={"description": "一次性密码：只显示这一次，登录后须修改"})
    must_change_password = fields.Boolean()
    active = fields.Boolean(
        metadata={"description": "账号是否正常（未停用）：已停用的账号须先启用，密码才能登录"}
    )
    message = fields.String()


class AccountStateSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    active = fields.Boolean()
    released = fields.Integer(metadata={"description": "停用时退回待认领的任务数"})


class ClaimRequest(Schema):
    id_number = fields.String(required=True, metadata={"description": "本人完整的身份证号"})


NO_STORE = {"Cache-Control": "no-store"}


@blp.route("/units/<int:unit_id>/members/<int:member_id>/password-reset", methods=["POST"])
@blp.response(200, OneTimePasswordSchema)
@blp.alt_response(404, description="单位或人员不存在，不是本单位人员，或尚无会员账号")
def reset_member(unit_id, member_id):
    """单位为本单位个人会员重置密码（新会员的初始密码也由此发放），新密码只显示一次"""
    who = actor()
    with uow() as u:
        return passwords.reset_member_password(u, who, unit_id, member_id, signin_guard()), NO_STORE


class BatchResetRequest(Schema):
    member_ids = fields.List(
        Int32(strict=True, min=1),
        required=True,
        validate=validate.Length(min=1, max=passwords.MAX_BATCH),
        metadata={"description": f"本单位人员的 id，最多 {passwords.MAX_BATCH} 人"},
    )


class BatchOneTimePasswordSchema(OneTimePasswordSchema):
    member_id = fields.Integer()


class BatchResetSchema(Schema):
    items = fields.List(fields.Nested(BatchOneTimePasswordSchema))


@blp.route("/units/<int:unit_id>/members/password-resets", methods=["POST"])
@blp.arguments(BatchResetRequest)
@blp.response(200, BatchResetSchema)
@blp.alt_response(404, description="单位不存在（或不是调用者的单位）")
@blp.alt_response(
    422,
    description="有人员不是本单位人员或尚无会员账号（点名），或超过上限：未生成任何密码",
)
def reset_members(body, unit_id):
    """批量生成初始密码：一次为本单位多名个人会员发放一次性密码（全部或全不），只显示一次"""
    who = actor()
    with uow() as u:
        items = passwords.reset_member_passwords(
            u, who, unit_id, body["member_ids"], signin_guard()
        )
    return {"items": items}, NO_STORE


@blp.route("/units/<int:unit_id>/accounts/<int:account_id>/password-reset", methods=["POST"])
@blp.response(200, OneTimePasswordSchema)
@blp.alt_response(
    403,
    description="单位主账号的密码由协会秘书处重置；子账号的密码由单位主账号重置，子账号不能重置",
)
@blp.alt_response(404, description="单位或账号不存在，或不是本单位的子账号")
def reset_sub_account(unit_id, account_id):
    """单位管理员重置本单位子账号的密码，新密码只显示一次"""
    who = actor()
    with uow() as u:
        return passwords.reset_sub_account_password(
            u, who, unit_id, account_id, signin_guard()
        ), NO_STORE


@blp.route("/accounts/<int:account_id>/password-reset", methods=["POST"])
@blp.response(200, OneTimePasswordSchema)
@blp.alt_response(403, description="只有协会秘书处可以进行此操作")
@blp.alt_response(404, description="账号不存在")
@blp.alt_response(409, description="不能重置当前登录账号的密码（请用修改密码，须输入原密码）")
def reset_account(account_id):
    """（秘书处）重置任一账号的密码，如单位主账号（凭盖章申请），新密码只显示一次"""
    who = actor()
    with uow() as u:
        return passwords.reset_account_password(u, who, account_id, signin_guard()), NO_STORE


@blp.route("/accounts/<int:account_id>/disable", methods=["POST"])
@blp.response(200, AccountStateSchema)
@blp.alt_response(403, description="只有协会秘书处可以进行此操作")
@blp.alt_response(404, description="账号不存在")
@blp.alt_response(409, description="不能停用当前登录的账号")
def disable(account_id):
    """（秘书处）停用账号：其全部登录立即失效"""
    who = actor()
    with uow() as u:
        return passwords.set_account_active(u, who, account_id, False)


@blp.route("/accounts/<int:account_id>/enable", methods=["POST"])
@blp.response(200, AccountStateSchema)
@blp.alt_response(403, description="只有协会秘书处可以进行此操作")
@blp.alt_response(404, description="账号不存在")
def enable(account_id):
    """（秘书处）启用账号"""
    who = actor()
    with uow() as u:
        return passwords.set_account_active(u, who, account_id, True)


@blp.route("/units/<int:unit_id>/members/<int:member_id>/password-codes", methods=["POST"])
@blp.response(201, ConfirmationCodeSchema)
@blp.alt_response(404, description="单位或人员不存在，或不是本单位人员")
def create_password_code(unit_id, member_id):
    """单位为本单位个人会员生成领取初始密码的二维码：本人扫码并输入身份证号后看到密码，一次有效"""
    who = actor()
    with uow() as u:
        return confirmations.create_code(ctx(), u, who, unit_id, "password", member_id)


@blp.route("/confirmations/<code>/password", methods=["POST"])
@blp.arguments(ClaimRequest)
@blp.response(200, OneTimePasswordSchema)
@blp.alt_response(404, description="二维码无效")
@blp.alt_response(410, description="二维码已使用或已过期")
@blp.alt_response(422, description="身份证号与该二维码的人员不符")
@blp.alt_response(429, description="输错次数过多，暂时锁定（Retry-After 给出秒数）")
@blp.doc(security=[])
def claim_password(body, code):
    """（公开）本人扫码并输入完整身份证号，领取一次性初始密码（只显示这一次）"""
    with uow() as u:
        reply = password_codes.claim_password(ctx(), u, signin_guard(), code, body["id_number"])
    return reply, NO_STORE
