"""Join codes: created by a unit; read, uploaded to and applied through by the public."""

from flask import Response, request

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.files import read_upload
from service.limits import limiter
from service.services.membership import join_codes
from service.services.workflow import files, instances

blp = Blueprint(
    "join_codes", __name__, url_prefix="/api/v1", description="个人会员申请码（二维码）与扫码申请"
)


def _join_rate() -> str:
    return ctx().config.join_upload_rate


@blp.route("/units/<int:unit_id>/join-codes", methods=["POST"])
@blp.arguments(schemas.JoinCodeRequest)
@blp.response(201, schemas.JoinCodeSchema)
def create(body, unit_id):
    """单位生成个人会员申请码（完整版或简码版），有效期一年"""
    with uow() as u:
        return join_codes.create_join_code(ctx(), u, actor(), unit_id, body["variant"])


@blp.route("/join-codes/<code>")
@blp.response(200, schemas.JoinCodeSchema)
@blp.alt_response(410, description="申请码已过期，或该单位账号已停用（不受理申请）")
@blp.doc(security=[])
def describe(code):
    """（公开）申请码对应的单位、版本和要填写的表单"""
    with uow() as u:
        return join_codes.describe(ctx(), u, code)


@blp.route("/join-codes/<code>/qr.png")
@blp.response(200, content_type="image/png")
@blp.alt_response(410, description="申请码已过期，或该单位账号已停用（不受理申请）")
@blp.doc(security=[])
def qr(code):
    """（公开）申请码二维码图片，内容为申请页面地址"""
    with uow() as u:
        png = join_codes.qr_png(ctx(), u, code)
    return Response(png, mimetype="image/png")


@blp.route("/join-codes/<code>/files", methods=["POST"])
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(201, schemas.FileSchema)
@blp.alt_response(410, description="申请码已过期，或该单位账号已停用（不受理申请）")
@limiter.limit(_join_rate)
@blp.doc(security=[])
def upload(_files, code):
    """（公开，限流）申请人上传材料：jpg/png/pdf 不超过10MB，视频 mp4/mov 不超过50MB"""
    name, content = read_upload()
    c = ctx()
    with uow() as u:
        applicant, row = join_codes.applicant(c, u, code)
        return files.store_upload(c, u, applicant, name, content, join_code_id=row.id)


@blp.route("/join-codes/<code>/applications", methods=["POST"])
@blp.arguments(schemas.DataRequest)
@blp.response(201, schemas.InstanceSchema)
@blp.alt_response(422, description="表单或入会条件不符")
@blp.alt_response(410, description="申请码已过期，或该单位账号已停用（不受理申请）")
@limiter.limit(_join_rate)
@blp.doc(security=[], parameters=[schemas.IDEMPOTENCY_KEY])
def apply(body, code):
    """（公开，限流）申请人提交入会申请，发起“个人会员入会申请”流程"""
    c = ctx()
    with uow() as u:
        applicant, row = join_codes.applicant(c, u, code)
        data = join_codes.with_variant(row, body["data"])
        view, created = instances.start_process(
            c,
            u,
            applicant,
            join_codes.join_process(c),
            data,
            idempotency_key=request.headers.get("Idempotency-Key"),
            join_code_id=row.id,
        )
    return view, 201 if created else 200
