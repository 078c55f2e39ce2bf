"""问题反馈: units and members ask the association; the secretariat and its reviewers answer."""

from marshmallow import fields, validate

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import PageArgs, actor, ctx, page_schema, uow
from service.api.planned import Schema
from service.httputil import send_stored
from service.services.membership import feedback

blp = Blueprint("feedback", __name__, url_prefix="/api/v1/feedback", description="问题反馈")


class FeedbackReplySchema(Schema):
    id = fields.Integer()
    body = fields.String(metadata={"description": "回复内容"})
    author_name = fields.String(metadata={"description": "回复人"})
    created_at = schemas.UtcDateTime(metadata={"description": "回复时间"})


class FeedbackSummarySchema(Schema):
    id = fields.Integer()
    category = fields.String(metadata={"description": "问题类型"})
    title = fields.String(metadata={"description": "标题"})
    status = fields.String(metadata={"description": "待处理 / 已回复 / 已关闭"})
    business_key = fields.String(allow_none=True, metadata={"description": "相关业务单号"})
    submitter_name = fields.String(metadata={"description": "提交人"})
    unit_id = fields.Integer(allow_none=True)
    unit_name = fields.String(allow_none=True, metadata={"description": "提交单位（个人会员为空）"})
    reply_count = fields.Integer(metadata={"description": "回复条数"})
    last_replied_at = schemas.UtcDateTime(allow_none=True, metadata={"description": "最后回复时间"})
    created_at = schemas.UtcDateTime(metadata={"description": "提交时间"})
    updated_at = schemas.UtcDateTime()


class FeedbackSchema(FeedbackSummarySchema):
    content = fields.String(metadata={"description": "问题描述"})
    instance_id = fields.Integer(
        allow_none=True, metadata={"description": "相关业务的编号（仅对可查看该业务的人给出）"}
    )
    closed_at = schemas.UtcDateTime(allow_none=True)
    closed_by_name = fields.String(allow_none=True, metadata={"description": "关闭人"})
    files = fields.List(fields.Nested(schemas.FileSchema), metadata={"description": "附件"})
    replies = fields.List(fields.Nested(FeedbackReplySchema), metadata={"description": "回复"})
    may_reply = fields.Boolean(metadata={"description": "当前账号可否回复"})
    may_close = fields.Boolean(metadata={"description": "当前账号可否关闭"})


FeedbackPageSchema = page_schema(FeedbackSummarySchema, "FeedbackPageSchema")


class FeedbackQuery(PageArgs):
    status = fields.String(
        load_default=None,
        validate=validate.OneOf(feedback.STATUSES),
        metadata={"description": "待处理 / 已回复 / 已关闭"},
    )
    category = fields.String(
        load_default=None,
        validate=validate.OneOf(feedback.CATEGORIES),
        metadata={"description": "问题类型"},
    )
    q = fields.String(
        load_default=None,
        validate=validate.Length(max=100),
        metadata={"description": "标题、单位名称、提交人或业务单号"},
    )


class SubmitFeedbackRequest(Schema):
    category = fields.String(
        required=True,
        metadata={"description": "问题类型：" + "、".join(feedback.CATEGORIES)},
    )
    title = fields.String(
        required=True, metadata={"description": f"标题，不超过{feedback.MAX_TITLE}个字"}
    )
    content = fields.String(
        required=True, metadata={"description": f"问题描述，不超过{feedback.MAX_CONTENT}个字"}
    )
    business_key = fields.String(
        load_default=None,
        allow_none=True,
        metadata={"description": "相关业务单号（可不填；须是本账号可查看的业务）"},
    )
    file_ids = fields.List(
        fields.String(),
        load_default=None,
        allow_none=True,
        metadata={"description": f"截图或文件（先 POST /files 上传），最多{feedback.MAX_FILES}个"},
    )


class ReplyFeedbackRequest(Schema):
    body = fields.String(
        required=True, metadata={"description": f"回复内容，不超过{feedback.MAX_REPLY}个字"}
    )


@blp.route("", methods=["POST"])
@blp.arguments(SubmitFeedbackRequest)
@blp.response(201, FeedbackSchema)
@blp.alt_response(429, description="24小时内提交过多（Retry-After 给出秒数）")
def submit(body):
    """提交问题反馈（单位管理员、个人会员）"""
    with uow() as u:
        return feedback.submit_feedback(ctx(), u, actor(), **body)


@blp.route("")
@blp.arguments(FeedbackQuery, location="query")
@blp.response(200, FeedbackPageSchema)
def list_feedback(args):
    """问题反馈列表：单位看本单位的，个人会员看自己的，秘书处和协会审核人员看全部（最新的在前）"""
    with uow() as u:
        return feedback.list_feedback(ctx(), u, actor(), **args)


@blp.route("/<int:feedback_id>")
@blp.response(200, FeedbackSchema)
@blp.alt_response(404, description="问题反馈不存在（或不在本账号范围内）")
def get_feedback(feedback_id):
    """打开一条问题反馈：内容、附件和回复"""
    with uow() as u:
        return feedback.get_feedback(ctx(), u, actor(), feedback_id)


@blp.route("/<int:feedback_id>/reply", methods=["POST"])
@blp.arguments(ReplyFeedbackRequest)
@blp.response(200, FeedbackSchema)
@blp.alt_response(409, description="已关闭的问题反馈不能再回复")
def reply(body, feedback_id):
    """回复问题反馈（秘书处、协会审核人员）；提交人收到系统通知"""
    with uow() as u:
        return feedback.reply_feedback(ctx(), u, actor(), feedback_id, body["body"])


@blp.route("/<int:feedback_id>/close", methods=["POST"])
@blp.response(200, FeedbackSchema)
@blp.alt_response(409, description="已经关闭")
def close(feedback_id):
    """关闭问题反馈（秘书处、协会审核人员）"""
    with uow() as u:
        return feedback.close_feedback(ctx(), u, actor(), feedback_id)


@blp.route("/<int:feedback_id>/files/<file_id>")
@blp.response(200, content_type="application/octet-stream")
@blp.alt_response(404, description="附件不存在")
def attachment(feedback_id, file_id):
    """下载问题反馈的附件（可查看该反馈的人）"""
    who = actor()
    with uow() as u:
        meta, blob = feedback.open_attachment(ctx(), u, who, feedback_id, file_id)
    return send_stored(meta, blob.open())
