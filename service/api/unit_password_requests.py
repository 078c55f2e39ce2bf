"""单位账号密码重置 (FAQ 3.9(2)): a unit asks (public, with its stamped form); the
secretariat lists, opens, approves (resetting the main account's password) or refuses."""

from flask import request
from marshmallow import fields, validate

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import PageArgs, actor, ctx, page_schema, uow
from service.api.planned import Schema
from service.httputil import send_stored
from service.limits import limiter, signin_guard
from service.services.membership import unit_password_requests as requests_

blp = Blueprint(
    "unit_password_requests",
    __name__,
    url_prefix="/api/v1/unit-password-requests",
    description="单位账号密码重置申请",
)
NO_STORE = {"Cache-Control": "no-store"}


def _rate() -> str:
    return ctx().config.lookup_rate


class SubmitRequest(Schema):
    unit_name = fields.String(load_default="", metadata={"description": "单位名称（全称）"})
    credit_code = fields.String(
        load_default="", metadata={"description": "统一社会信用代码（18位，GB 32100 校验）"}
    )
    contact_name = fields.String(load_default="", metadata={"description": "联系人"})
    contact_mobile = fields.String(load_default="", metadata={"description": "联系手机（11位）"})
    file = fields.Raw(
        load_default=None,
        metadata={
            "type": "string",
            "format": "binary",
            "description": "盖章的重置密码申请表：JPG、PNG 图片或 PDF，不超过10MB",
        },
    )


class SubmittedSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "申请编号"})
    status = fields.String(metadata={"description": "待处理"})
    unit_name = fields.String()
    created_at = schemas.UtcDateTime()
    message = fields.String(metadata={"description": "接下来怎样办理"})


class RequestSummarySchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "申请编号"})
    status = fields.String(metadata={"description": "待处理 / 已重置 / 已拒绝"})
    unit_id = fields.Integer()
    unit_name = fields.String(metadata={"description": "单位名称"})
    credit_code = fields.String(metadata={"description": "统一社会信用代码"})
    contact_name = fields.String(metadata={"description": "联系人"})
    contact_mobile = fields.String(metadata={"description": "联系手机"})
    reason = fields.String(allow_none=True, metadata={"description": "拒绝理由"})
    handled_by_name = fields.String(allow_none=True, metadata={"description": "处理人"})
    handled_at = schemas.UtcDateTime(allow_none=True, metadata={"description": "处理时间"})
    created_at = schemas.UtcDateTime(metadata={"description": "提交时间"})


class MainAccountSchema(Schema):
    id = fields.Integer()
    username = fields.String()
    active = fields.Boolean()


class RequestSchema(RequestSummarySchema):
    file = fields.Nested(
        schemas.FileSchema,
        allow_none=True,
        metadata={"description": "盖章的重置密码申请表（GET …/form 下载）"},
    )
    account = fields.Nested(
        MainAccountSchema, allow_none=True, metadata={"description": "单位主账号"}
    )


class ApprovedSchema(RequestSchema):
    username = fields.String(metadata={"description": "登录账号（单位全称）"})
    password = fields.String(metadata={"description": "一次性密码：只显示这一次，登录后须修改"})
    sms_sent = fields.Boolean(
        metadata={"description": "是否已由短信发出（平台暂未接入短信：false，须电话告知联系人）"}
    )
    message = fields.String()


class CountsSchema(Schema):
    待处理 = fields.Integer()
    已重置 = fields.Integer()
    已拒绝 = fields.Integer()


RequestPageSchema = page_schema(
    RequestSummarySchema,
    "UnitPasswordRequestPageSchema",
    counts=fields.Nested(CountsSchema, metadata={"description": "各状态的申请数"}),
)


class RequestQuery(PageArgs):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(requests_.STATUSES),
        metadata={"description": "待处理 / 已重置 / 已拒绝"},
    )


class RefuseRequest(Schema):
    reason = fields.String(
        required=True, metadata={"description": f"拒绝理由，不超过{requests_.MAX_REASON}个字"}
    )


@blp.route("", methods=["POST"])
@blp.arguments(SubmitRequest, location="form", content_type="multipart/form-data")
@blp.response(201, SubmittedSchema)
@blp.alt_response(409, description="该单位已有一份申请正在核实中")
@blp.alt_response(422, description="字段有误（逐项说明），或单位名称与统一社会信用代码不匹配")
@limiter.shared_limit(_rate, scope="unit-password-reset")
@blp.doc(security=[])
def submit(body):
    """（公开，限流）单位提交密码重置申请：单位名称、统一社会信用代码、联系人、联系手机和盖章的申请表（multipart）"""
    upload = request.files.get("file")
    c = ctx()
    content = upload.read(c.config.largest_upload_bytes + 1) if upload else None
    with uow() as u:
        return requests_.submit_request(
            c,
            u,
            body["unit_name"],
            body["credit_code"],
            body["contact_name"],
            body["contact_mobile"],
            upload.filename if upload else None,
            content,
        )


@blp.route("")
@blp.arguments(RequestQuery, location="query")
@blp.response(200, RequestPageSchema)
def list_requests(args):
    """（秘书处）密码重置申请列表，最新的在前，附各状态的数量"""
    with uow() as u:
        return requests_.list_requests(ctx(), u, actor(), **args)


@blp.route("/<int:request_id>")
@blp.response(200, RequestSchema)
@blp.alt_response(404, description="申请不存在")
def get_request(request_id):
    """（秘书处）打开一份密码重置申请：单位、联系人、申请表"""
    with uow() as u:
        return requests_.get_request(ctx(), u, actor(), request_id)


@blp.route("/<int:request_id>/form")
@blp.response(200, content_type="application/octet-stream")
@blp.alt_response(404, description="申请不存在")
def form(request_id):
    """（秘书处）下载申请的盖章申请表"""
    who = actor()
    with uow() as u:
        meta, blob = requests_.open_form(ctx(), u, who, request_id)
    return send_stored(meta, blob.open())


@blp.route("/<int:request_id>/approve", methods=["POST"])
@blp.response(200, ApprovedSchema)
@blp.alt_response(409, description="申请已处理（已重置或已拒绝）")
def approve(request_id):
    """（秘书处）通过并重置单位主账号的密码：一次性密码只显示这一次，须告知联系人"""
    with uow() as u:
        return requests_.approve_request(ctx(), u, actor(), request_id, signin_guard()), NO_STORE


@blp.route("/<int:request_id>/refuse", methods=["POST"])
@blp.arguments(RefuseRequest)
@blp.response(200, RequestSchema)
@blp.alt_response(409, description="申请已处理（已重置或已拒绝）")
def refuse(body, request_id):
    """（秘书处）拒绝密码重置申请（须写明理由）"""
    with uow() as u:
        return requests_.refuse_request(ctx(), u, actor(), request_id, body["reason"])
