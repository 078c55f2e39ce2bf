"""注师继教周批次与系统通知: the weekly CPD batches and their reports; notices; the outbox
of 业务消息; and the readiness check operators' monitors call (GET /health)."""

from flask import make_response
from marshmallow import fields
from sqlalchemy.exc import SQLAlchemyError

from service.api.blueprint import Blueprint
from service.api.common import (
    PageArgs,
    actor,
    ctx,
    database_ping,
    database_unavailable,
    page_schema,
    uow,
)
from service.api.planned import Schema
from service.api.schemas import ErrorSchema, UtcDateTime
from service.httputil import attachment
from service.limits import limiter
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.schedules import cpd_batches, notifications, outbox

blp = Blueprint(
    "schedules",
    __name__,
    url_prefix="/api/v1",
    description="注师继教周批次、系统通知、业务消息发件箱与服务就绪检查",
)


class CpdBatchSchema(Schema):
    id = fields.Integer()
    period_start = UtcDateTime(metadata={"description": "本批次起始（上周三0时，北京时间）"})
    cut_off_at = UtcDateTime(metadata={"description": "截止时间（周二下午，北京时间；含该时刻）"})
    cut_off_on = fields.Date(metadata={"description": "截止日（北京时间）"})
    closed_at = UtcDateTime()
    person_count = fields.Integer(metadata={"description": "本批次人数"})
    report_url = fields.String(metadata={"description": "报名名单 Excel 下载地址"})
    publish_on = fields.Date(metadata={"description": "应公布名单日（截止后的周三）"})
    open_on = fields.Date(metadata={"description": "应开通学习日（截止后的周五）"})
    published_at = UtcDateTime(
        allow_none=True, metadata={"description": "记录公布名单的时间；未记录为 null"}
    )
    opened_at = UtcDateTime(
        allow_none=True, metadata={"description": "记录开通学习的时间；未记录为 null"}
    )


CpdBatchPageSchema = page_schema(CpdBatchSchema, "CpdBatchPageSchema")


class CpdBatchRecordedSchema(CpdBatchSchema):
    notified = fields.Integer(metadata={"description": "本次发出的系统通知条数（本人及所在单位）"})


class NotificationQuery(PageArgs):
    read = fields.Boolean(
        load_default=None, metadata={"description": "true 只看已读，false 只看未读，不填看全部"}
    )


class NotificationSchema(Schema):
    id = fields.Integer()
    kind = fields.String(metadata={"description": "certificate_expiry / membership_expiry"})
    title = fields.String()
    body = fields.String()
    member_id = fields.Integer(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    created_at = UtcDateTime()
    read = fields.Boolean()
    read_at = UtcDateTime(allow_none=True)


NotificationPageSchema = page_schema(
    NotificationSchema,
    "NotificationPageSchema",
    unread=fields.Integer(metadata={"description": "未读通知数"}),
)


class ReadAllSchema(Schema):
    updated = fields.Integer(metadata={"description": "本次标记为已读的条数"})


@blp.route("/cpd-batches")
@blp.arguments(PageArgs, location="query")
@blp.response(200, CpdBatchPageSchema)
def list_batches(args):
    """注师继教周批次列表（协会人员；按截止时间倒序）"""
    with uow() as u:
        return cpd_batches.list_batches(ctx(), u, actor(), **args)


@blp.route("/cpd-batches/<int:batch_id>/report.xlsx")
@blp.response(200, content_type=XLSX_MIMETYPE)
@blp.alt_response(404, description="批次不存在，或调用者不是协会人员")
def report(batch_id):
    """下载注师继教报名名单 Excel（学习平台账号为身份证号，初始密码123456）"""
    with uow() as u:
        name, content = cpd_batches.batch_report(ctx(), u, actor(), batch_id)
    return attachment(content, XLSX_MIMETYPE, name, f"cpd-batch-{batch_id}.xlsx")


@blp.route("/cpd-batches/<int:batch_id>/publication", methods=["POST"])
@blp.response(200, CpdBatchRecordedSchema)
@blp.alt_response(404, description="批次不存在，或调用者不是协会人员")
@blp.alt_response(409, description="已记录过公布名单")
def record_publication(batch_id):
    """记录周三已在注师继教QQ群公布拟开通名单，并通知名单上的人员及其单位"""
    with uow() as u:
        return cpd_batches.record_publication(ctx(), u, actor(), batch_id)


@blp.route("/cpd-batches/<int:batch_id>/opening", methods=["POST"])
@blp.response(200, CpdBatchRecordedSchema)
@blp.alt_response(404, description="批次不存在，或调用者不是协会人员")
@blp.alt_response(409, description="尚未记录公布名单，或已记录过开通学习")
def record_opening(batch_id):
    """记录周五已在注师继续教育平台开通学习，并通知名单上的人员及其单位"""
    with uow() as u:
        return cpd_batches.record_opening(ctx(), u, actor(), batch_id)


@blp.route("/notifications")
@blp.arguments(NotificationQuery, location="query")
@blp.response(200, NotificationPageSchema)
def list_notifications(args):
    """我的系统通知（最新在前，可按已读/未读筛选，附未读数）"""
    with uow() as u:
        return notifications.list_notifications(ctx(), u, actor(), **args)


@blp.route("/notifications/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
@blp.alt_response(404, description="通知不存在或不属于本人")
def read(notification_id):
    """将一条系统通知标记为已读"""
    with uow() as u:
        return notifications.mark_read(ctx(), u, actor(), notification_id)


@blp.route("/notifications/read-all", methods=["POST"])
@blp.response(200, ReadAllSchema)
def read_all():
    """将我的全部未读系统通知标记为已读"""
    with uow() as u:
        return notifications.mark_all_read(ctx(), u, actor())


class OutboxQuery(PageArgs):
    status = fields.String(
        load_default=None,
        metadata={
            "description": "pending / sending / sent / failed / unknown；不填：failed 和 unknown"
        },
    )


class OutboxMessageSchema(Schema):
    id = fields.Integer()
    account_id = fields.Integer()
    channel = fields.String(metadata={"description": "email / sms"})
    address = fields.String(metadata={"description": "邮箱或手机号"})
    kind = fields.String(metadata={"description": "消息种类（rules/messages.json）"})
    title = fields.String()
    status = fields.String()
    status_label = fields.String(
        metadata={"description": "待发送 / 发送中 / 已发送 / 发送失败 / 结果未知"}
    )
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True)
    created_at = UtcDateTime()
    sent_at = UtcDateTime(allow_none=True)
    next_attempt_at = UtcDateTime()


OutboxPageSchema = page_schema(OutboxMessageSchema, "OutboxPageSchema")


@blp.route("/outbox")
@blp.arguments(OutboxQuery, location="query")
@blp.response(200, OutboxPageSchema)
def list_outbox(args):
    """业务消息发件箱（秘书处管理员）：默认列出发送失败和结果未知的邮件、短信"""
    with uow() as u:
        return outbox.list_messages(ctx(), u, actor(), **args)


@blp.route("/outbox/<int:message_id>/retry", methods=["POST"])
@blp.response(200, OutboxMessageSchema)
@blp.alt_response(409, description="该消息不是发送失败或结果未知")
def retry_outbox(message_id):
    """重新发送一条发送失败或结果未知的消息"""
    with uow() as u:
        return outbox.retry(ctx(), u, actor(), message_id)


class HealthSchema(Schema):
    status = fields.String(metadata={"description": "ok：服务可用，数据库可以连接"})


@blp.route("/health")
@blp.response(200, HealthSchema)
@blp.alt_response(
    503, schema=ErrorSchema, description="数据库暂时无法连接：服务未就绪（message 说明原因）"
)
@blp.doc(security=[])
@limiter.exempt
def health():
    """（公开）服务就绪检查：数据库可以连接时返回 {"status": "ok"}

    每次查询一次数据库；数据库无法连接时返回 503（message 说明原因）。无需登录，
    不计入访问频率限制，供负载均衡和监控调用。
    """
    try:
        with uow():
            database_ping()
    except SQLAlchemyError as exc:
        return make_response(database_unavailable(exc))
    return {"status": "ok"}
