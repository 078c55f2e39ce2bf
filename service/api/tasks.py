"""The work queue: list, count, read, claim, unclaim, complete; release and reassign."""

from marshmallow import RAISE

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.services.workflow import prefill, tasks

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务")


@blp.route("")
@blp.arguments(schemas.TaskQuery, location="query", unknown=RAISE)
@blp.response(200, schemas.TaskPageSchema)
@blp.alt_response(422, description="筛选条件有误，errors 说明各参数")
def list_tasks(args):
    """待办、已办或（秘书处）已认领的任务：可搜索、筛选、排序"""
    with uow() as u:
        return tasks.list_tasks(ctx(), u, actor(), **args)


@blp.route("/counts")
@blp.arguments(schemas.TaskFilters, location="query", unknown=RAISE)
@blp.response(200, schemas.QueueCountsSchema)
@blp.alt_response(422, description="筛选条件有误，errors 说明各参数")
def queue_counts(args):
    """同一列表按业务类型、办理环节的任务数"""
    with uow() as u:
        return tasks.queue_counts(ctx(), u, actor(), **args)


@blp.route("/<int:task_id>")
@blp.response(200, schemas.TaskDetailSchema)
def get_task(task_id):
    """一个任务：表单 JSON Schema、表单显示的业务数据，与提交时的起点 values"""
    with uow() as u:
        view = tasks.get_task(ctx(), u, actor(), task_id)
    return {**view, "values": prefill.form_values(view["form"], view["instance"]["data"])}


@blp.route("/<int:task_id>/claim", methods=["POST"])
@blp.response(200, schemas.TaskBriefSchema)
@blp.alt_response(409, description="已被他人认领或已办结")
def claim(task_id):
    """认领任务"""
    with uow() as u:
        return tasks.claim_task(ctx(), u, actor(), task_id)


@blp.route("/<int:task_id>/unclaim", methods=["POST"])
@blp.response(200, schemas.TaskBriefSchema)
@blp.alt_response(409, description="不是本人认领或已办结")
def unclaim(task_id):
    """放回任务"""
    with uow() as u:
        return tasks.unclaim_task(ctx(), u, actor(), task_id)


@blp.route("/<int:task_id>/complete", methods=["POST"])
@blp.arguments(schemas.DataRequest)
@blp.response(200, schemas.CompletedSchema)
@blp.alt_response(409, description="并发办理时落败，或任务已办结")
@blp.alt_response(
    422,
    description="表单不符，errors 说明各字段（如财务复核的票号已登记在其他业务单的缴费单上、"
    "开票日期晚于今天或早于 2000 年、照片项上传了非图片文件）",
)
def complete(body, task_id):
    """办理任务：按表单提交，流程推进到下一环节"""
    with uow() as u:
        return tasks.complete_task(ctx(), u, actor(), task_id, body["data"])


@blp.route("/<int:task_id>/release", methods=["POST"])
@blp.response(200, schemas.TaskHeldSchema)
@blp.alt_response(409, description="任务未被认领或已办结")
def release(task_id):
    """秘书处：收回已被认领的任务，放回待办"""
    with uow() as u:
        return tasks.release_task(ctx(), u, actor(), task_id)


@blp.route("/<int:task_id>/reassign", methods=["POST"])
@blp.arguments(schemas.ReassignRequest)
@blp.response(200, schemas.TaskHeldSchema)
@blp.alt_response(409, description="任务已办结，或认领人已变化")
@blp.alt_response(422, description="该账号不能办理此任务")
def reassign(body, task_id):
    """秘书处：把任务转给另一位可办理的人员"""
    with uow() as u:
        return tasks.reassign_task(ctx(), u, actor(), task_id, body["account_id"])


@blp.route("/<int:task_id>/assignees")
@blp.response(200, schemas.AssigneeSchema(many=True))
def assignees(task_id):
    """秘书处：可接手该任务的有效账号"""
    with uow() as u:
        return tasks.assignees(ctx(), u, actor(), task_id)
