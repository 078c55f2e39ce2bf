"""Process instances (业务表单): start, list, summary, one with its approval record."""

from flask import request

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.services.workflow import instances

blp = Blueprint("instances", __name__, url_prefix="/api/v1", description="业务表单（流程实例）")


@blp.route("/processes/<key>/instances", methods=["POST"])
@blp.arguments(schemas.DataRequest)
@blp.response(201, schemas.InstanceSchema)
@blp.alt_response(
    200,
    schema=schemas.InstanceSchema,
    description="同一 Idempotency-Key 再次提交：返回已创建的表单",
)
@blp.alt_response(
    422,
    description="表单或办理条件不符，errors 说明各字段或原因；Idempotency-Key 已用于另一次提交",
)
@blp.alt_response(409, description="个人会员所在单位已停用，单位无法预审")
@blp.doc(parameters=[schemas.IDEMPOTENCY_KEY])
def start(body, key):
    """发起业务（可带 Idempotency-Key 请求头，重复提交只创建一次）"""
    with uow() as u:
        view, created = instances.start_process(
            ctx(),
            u,
            actor(),
            key,
            body["data"],
            idempotency_key=request.headers.get("Idempotency-Key"),
        )
    return view, 201 if created else 200


@blp.route("/instances")
@blp.arguments(schemas.InstanceQuery, location="query")
@blp.response(200, schemas.InstancePageSchema)
def list_instances(args):
    """我可见的业务表单，按状态、业务类型、姓名/证件号/单号、提交日期筛选"""
    with uow() as u:
        return instances.list_instances(ctx(), u, actor(), **args)


@blp.route("/instances/summary")
@blp.arguments(schemas.InstanceFilters, location="query")
@blp.response(200, schemas.SummarySchema)
def summary(args):
    """各状态的表单数量"""
    with uow() as u:
        return instances.summarize(ctx(), u, actor(), **args)


@blp.route("/instances/<int:instance_id>")
@blp.response(200, schemas.InstanceDetailSchema)
def get_instance(instance_id):
    """一张业务表单：数据、状态、待办任务与审批记录"""
    with uow() as u:
        return instances.get_instance(ctx(), u, actor(), instance_id)
