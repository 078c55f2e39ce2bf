"""The work queue: list, read, claim, unclaim, complete."""

from flask_smorest import Blueprint

from service.api import schemas
from service.api.common import actor, ctx, uow
from service.services import tasks

blp = Blueprint("tasks", __name__, url_prefix="/api/v1/tasks", description="待办任务")


@blp.route("")
@blp.arguments(schemas.TaskQuery, location="query")
@blp.response(200, schemas.TaskPageSchema)
def list_tasks(args):
    """我可办理的任务，最早的在前"""
    with uow() as u:
        return tasks.list_tasks(ctx(), u, actor(), **args)


@blp.route("/<int:task_id>")
@blp.response(200, schemas.TaskDetailSchema)
def get_task(task_id):
    """一个任务：表单 JSON Schema 与表单显示的业务数据"""
    with uow() as u:
        return tasks.get_task(ctx(), u, actor(), task_id)


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
@blp.alt_response(422, description="表单不符，errors 说明各字段")
def complete(body, task_id):
    """办理任务：按表单提交，流程推进到下一环节"""
    with uow() as u:
        return tasks.complete_task(ctx(), u, actor(), task_id, body["data"])
