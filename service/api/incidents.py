"""Incidents (流程出错) and settling a stuck form: 终止 by the secretariat, 撤回 by the unit."""

from marshmallow import fields, validate

from service.api.blueprint import Blueprint
from service.api.common import PageArgs, actor, ctx, page_schema, uow
from service.api.planned import Schema
from service.api.schemas import UtcDateTime
from service.services.workflow import incidents

blp = Blueprint("incidents", __name__, url_prefix="/api/v1", description="流程出错与表单终止、撤回")


class IncidentQuery(PageArgs):
    status = fields.String(
        load_default="open",
        validate=validate.OneOf(
            ["open", "closed"], error="状态应为 open（待处理）或 closed（已处理）"
        ),
        metadata={"description": "open 待处理（默认）/ closed 已处理"},
    )


class IncidentSchema(Schema):
    id = fields.Integer()
    number = fields.String(metadata={"description": "出错编号，如 INC-20261201-0001"})
    process_key = fields.String()
    instance_id = fields.Integer(
        allow_none=True, metadata={"description": "出错的表单（发起时出错为 null）"}
    )
    business_key = fields.String(
        allow_none=True, metadata={"description": "出错的表单的单号（发起时出错为 null）"}
    )
    task_name = fields.String(allow_none=True, metadata={"description": "出错时办理的任务"})
    task_title = fields.String(
        allow_none=True, metadata={"description": "该任务在流程图中的名称，如 机构初审"}
    )
    retryable = fields.Boolean(
        metadata={
            "description": "可否重试（待处理且有表单的；发起时出错的没有表单，"
            "登记学习结果时出错的：修复后重新导入学习记录）"
        }
    )
    closable = fields.Boolean(metadata={"description": "可否关闭（待处理的）"})
    message = fields.String(metadata={"description": "出错的文件、元素与原因"})
    actor_name = fields.String(metadata={"description": "最近一次遇到的人"})
    status = fields.String()
    status_label = fields.String(metadata={"description": "待处理 / 已处理"})
    occurrences = fields.Integer(metadata={"description": "出现次数"})
    created_at = UtcDateTime()
    last_seen_at = UtcDateTime()
    closed_at = UtcDateTime(allow_none=True)
    resolution = fields.String(allow_none=True)


IncidentPageSchema = page_schema(IncidentSchema, "IncidentPageSchema")


class SettleRequest(Schema):
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "原因（终止时必填）"},
    )


class CloseRequest(Schema):
    reason = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=150, error="关闭说明不能超过150个字"),
        metadata={"description": "关闭说明（可不填），记入处理结果"},
    )


class SettledSchema(Schema):
    id = fields.Integer()
    business_key = fields.String()
    status = fields.String(metadata={"description": "已终止 / 已撤回"})
    finished = fields.Boolean()
    incidents_closed = fields.List(fields.String(), metadata={"description": "随之处理的出错编号"})


@blp.route("/incidents")
@blp.arguments(IncidentQuery, location="query")
@blp.response(200, IncidentPageSchema)
def list_incidents(args):
    """流程出错记录（秘书处管理员）：出错编号、出错的表单与任务、文件与元素、出现次数"""
    with uow() as u:
        return incidents.list_incidents(ctx(), u, actor(), **args)


@blp.route("/incidents/<int:incident_id>/close", methods=["POST"])
@blp.arguments(CloseRequest)
@blp.response(200, IncidentSchema)
@blp.alt_response(409, description="事故已处理")
def close_incident(body, incident_id):
    """关闭事故（秘书处、流程设计人员）：如发起时出错、无表单可重试的事故；记录由谁关闭与说明"""
    with uow() as u:
        return incidents.close(ctx(), u, actor(), incident_id, body["reason"])


@blp.route("/instances/<int:instance_id>/terminate", methods=["POST"])
@blp.arguments(SettleRequest)
@blp.response(200, SettledSchema)
@blp.alt_response(409, description="表单已结束，或其费用已经财务确认（不能终止）")
@blp.alt_response(422, description="未填写终止原因")
def terminate(body, instance_id):
    """终止表单（秘书处管理员）：结束表单、取消待办、作废未缴费的缴费单、处理其事故；人员可重新办理"""
    with uow() as u:
        return incidents.terminate(ctx(), u, actor(), instance_id, body["reason"])


@blp.route("/instances/<int:instance_id>/withdraw", methods=["POST"])
@blp.arguments(SettleRequest)
@blp.response(200, SettledSchema)
@blp.alt_response(409, description="表单正在审核中或已结束")
def withdraw(body, instance_id):
    """单位撤回本单位的表单：退回单位后、待缴费时或流程出错时可以撤回，审核中不能撤回"""
    with uow() as u:
        return incidents.withdraw(ctx(), u, actor(), instance_id, body["reason"])
