"""Signing in and out, and one's own password: /auth/token, me, password, logout(-all)."""

from flask import g
from marshmallow import fields

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.planned import Schema
from service.limits import signin_guard
from service.services.membership import accounts, passwords, signin

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录、退出与修改密码")


class SignedInSchema(schemas.TokenSchema):
    must_change_password = fields.Boolean(
        metadata={"description": "true：这是一次性密码，须先修改密码（POST /auth/password）"}
    )


class MeSchema(schemas.UserSchema):
    must_change_password = fields.Boolean()


class PasswordChangeRequest(Schema):
    current_password = fields.String(required=True, metadata={"description": "当前密码"})
    new_password = fields.String(
        required=True,
        metadata={
            "description": "新密码：至少8位，不能全是同一字符，不能与账号、身份证号或其中的数字相同"
        },
    )


@blp.route("/token", methods=["POST"])
@blp.arguments(schemas.TokenRequest)
@blp.response(200, SignedInSchema)
@blp.alt_response(401, description="账号或密码错误")
@blp.alt_response(429, description="失败次数过多，暂时锁定（Retry-After 给出秒数）")
@blp.doc(security=[])
def token(body):
    """登录，取得访问令牌（Bearer）；登录名不区分大小写和全角/半角（单位名称中的（）与()视为相同），各种写法的失败次数合并计算"""
    c = ctx().config
    with uow() as u:
        return signin.sign_in(
            u, signin_guard(), c.secret_key, c.token_ttl_seconds, body["username"], body["password"]
        )


@blp.route("/me")
@blp.response(200, MeSchema)
def me():
    """当前登录的账号"""
    who, session = actor(), g.bearer
    return {
        "id": who.id,
        "name": who.name,
        "roles": [who.role],
        "unit_id": who.unit_id,
        "agency_id": who.agency_id,
        "member_id": who.member_id,
        "must_change_password": session.must_change_password,
    }


class EmailSchema(Schema):
    email = fields.String(
        allow_none=True,
        required=True,
        metadata={"description": "接收业务消息的邮箱；null 或空串表示不接收邮件"},
    )


@blp.route("/email", methods=["PUT"])
@blp.arguments(EmailSchema)
@blp.response(200, EmailSchema)
@blp.alt_response(422, description="邮箱地址格式不正确")
def set_email(body):
    """设置本人接收业务消息的邮箱（业务提交、退回、缴费、审批完成、证书核发等）"""
    with uow() as u:
        return accounts.set_own_email(u, actor(), body["email"])


@blp.route("/password", methods=["POST"])
@blp.arguments(PasswordChangeRequest)
@blp.response(200, SignedInSchema)
@blp.alt_response(422, description="当前密码不正确，或新密码不符合规则")
@blp.alt_response(429, description="当前密码输错次数过多，暂时锁定（Retry-After 给出秒数）")
def change_password(body):
    """修改本人密码：其他设备上的登录全部失效，返回新的访问令牌"""
    who, c = actor(), ctx().config
    with uow() as u:
        account = passwords.change_own_password(
            u, who, body["current_password"], body["new_password"], signin_guard()
        )
        return signin.token_reply(account, c.secret_key, c.token_ttl_seconds)


@blp.route("/logout", methods=["POST"])
@blp.response(204)
def logout():
    """退出：本令牌立即失效（其他设备上的登录不受影响）"""
    who, session = actor(), g.bearer
    with uow() as u:
        signin.revoke(u, who.id, session.token_id, session.expires_at)


@blp.route("/logout-all", methods=["POST"])
@blp.response(204)
def logout_all():
    """退出所有设备：本账号的全部令牌和网页登录立即失效"""
    who = actor()
    with uow() as u:
        signin.sign_out_everywhere(u, who)
