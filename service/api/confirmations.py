"""扫码确认（调动、离职、补充身份证照片）."""

from flask import Response
from marshmallow import fields

from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.planned import Schema
from service.api.schemas import UtcDateTime
from service.services.membership import confirmations

blp = Blueprint(
    "confirmations",
    __name__,
    url_prefix="/api/v1",
    description="扫码确认（调动、离职、补充身份证照片）",
)


class ConfirmationCodeSchema(Schema):
    code = fields.String()
    kind = fields.String(metadata={"description": "transfer 调动 / resignation 离职 / id_photos"})
    kind_label = fields.String()
    prompt = fields.String(metadata={"description": "扫码人看到的确认提示"})
    unit_id = fields.Integer()
    unit_name = fields.String()
    member_id = fields.Integer(allow_none=True)
    person_name = fields.String(allow_none=True, metadata={"description": "脱敏姓名"})
    person_id_number = fields.String(allow_none=True, metadata={"description": "脱敏证件号"})
    expires_at = UtcDateTime()
    expires_on = fields.Date(metadata={"description": "二维码有效期至"})
    url = fields.String()
    qr_url = fields.String()


class ConfirmRequest(Schema):
    id_front_file_id = fields.String(
        metadata={"description": "身份证件人像面照片的文件编号（仅补充身份证照片）"}
    )
    id_back_file_id = fields.String(
        metadata={"description": "身份证件国徽面照片的文件编号（仅补充身份证照片）"}
    )
    mobile = fields.String(metadata={"description": "本人手机号码（仅补充身份证照片）"})


class ConfirmationResultSchema(Schema):
    kind = fields.String()
    kind_label = fields.String()
    message = fields.String()
    member_id = fields.Integer()
    unit_id = fields.Integer(allow_none=True, metadata={"description": "确认后所属单位"})
    unit_name = fields.String(allow_none=True)
    confirmed_at = UtcDateTime()


def _create(unit_id: int, kind: str, member_id: int | None = None) -> dict:
    with uow() as u:
        return confirmations.create_code(ctx(), u, actor(), unit_id, kind, member_id)


class TransferCodeQuery(Schema):
    renew = fields.Boolean(
        load_default=False,
        metadata={"description": "true：重新生成，本单位原有的个人变更单立即失效"},
    )


@blp.route("/units/<int:unit_id>/transfer-codes", methods=["POST"])
@blp.arguments(TransferCodeQuery, location="query")
@blp.response(201, ConfirmationCodeSchema)
@blp.alt_response(200, schema=ConfirmationCodeSchema, description="本单位现有的个人变更单")
def create_transfer(args, unit_id):
    """本单位的个人归属公司变更（调入本单位）二维码：每个单位一个，有效期一年，可供多人扫码确认（即本人同意调入）；已有有效的则返回它"""
    with uow() as u:
        made = confirmations.create_code(
            ctx(), u, actor(), unit_id, "transfer", renew=args["renew"]
        )
    return made, 201 if made["created"] else 200


@blp.route("/units/<int:unit_id>/members/<int:member_id>/resignation-codes", methods=["POST"])
@blp.response(201, ConfirmationCodeSchema)
def create_resignation(unit_id, member_id):
    """单位为本单位人员生成离职二维码，一次有效"""
    return _create(unit_id, "resignation", member_id)


@blp.route("/units/<int:unit_id>/members/<int:member_id>/id-photo-codes", methods=["POST"])
@blp.response(201, ConfirmationCodeSchema)
def create_id_photos(unit_id, member_id):
    """单位为本单位人员生成补充身份证照片二维码，一次有效"""
    return _create(unit_id, "id_photos", member_id)


@blp.route("/confirmations/<code>")
@blp.response(200, ConfirmationCodeSchema)
@blp.alt_response(410, description="二维码已使用或已过期")
@blp.doc(security=[])
def describe(code):
    """（公开）二维码要确认的事项、单位和脱敏的人员信息"""
    with uow() as u:
        return confirmations.describe(ctx(), u, code)


@blp.route("/confirmations/<code>/qr.png")
@blp.response(200, content_type="image/png")
@blp.doc(security=[])
def qr(code):
    """（公开）确认二维码图片，内容为确认页面地址"""
    with uow() as u:
        png = confirmations.qr_png(ctx(), u, code)
    return Response(png, mimetype="image/png")


@blp.route("/confirmations/<code>/confirm", methods=["POST"])
@blp.arguments(ConfirmRequest)
@blp.response(200, ConfirmationResultSchema)
@blp.alt_response(409, description="已在该单位，有在途业务，或调入的单位已停用")
@blp.alt_response(410, description="二维码已使用或已过期")
@blp.alt_response(422, description="身份证照片或手机号码有误")
def confirm(body, code):
    """个人会员扫码确认：调动、离职或补充身份证照片（有在途业务时不能调动或离职）"""
    who = actor()
    with uow() as u:
        return confirmations.confirm(ctx(), u, who, code, body)
