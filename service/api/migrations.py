"""Migration plans (one version of a process to another), one form's migration, and
retrying an incident's failed step once its form is on a fixed version."""

from marshmallow import fields, validate

from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.incidents import IncidentSchema
from service.api.planned import Schema
from service.api.schemas import TaskBriefSchema
from service.services.workflow import incident_retry, migration

blp = Blueprint(
    "migrations", __name__, url_prefix="/api/v1", description="表单迁移至新版本与事故重试"
)

VERSION = validate.Range(min=1, max=1_000_000, error="版本号应为正整数")


class PlanRequest(Schema):
    from_version = fields.Integer(
        required=True, validate=VERSION, metadata={"description": "原版本号"}
    )
    to_version = fields.Integer(
        required=True, validate=VERSION, metadata={"description": "目标版本号"}
    )
    dry_run = fields.Boolean(
        load_default=True, metadata={"description": "true（默认）：只检查不迁移；false：执行迁移"}
    )
    task_map = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=None,
        metadata={
            "description": "任务映射：原版本的用户任务 → 目标版本中接替它的用户任务（同一泳道），"
            '如 {"association_review": "association_check"}；等待原任务的表单迁移到新任务上，'
            "保留认领、数据与审批记录"
        },
    )


class InstanceMigrateRequest(Schema):
    to_version = fields.Integer(
        required=True, validate=VERSION, metadata={"description": "目标版本号"}
    )
    dry_run = fields.Boolean(load_default=False, metadata={"description": "true：只检查"})
    task_map = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        load_default=None,
        metadata={
            "description": "任务映射：原版本的用户任务 → 目标版本中接替它的用户任务（同一泳道），"
            '如 {"association_review": "association_check"}；等待原任务的表单迁移到新任务上，'
            "保留认领、数据与审批记录"
        },
    )


class MigrationItemSchema(Schema):
    id = fields.Integer()
    business_key = fields.String()
    status = fields.String()
    waiting = fields.List(fields.String(), metadata={"description": "等待办理的用户任务"})
    waiting_titles = fields.List(
        fields.String(), metadata={"description": "等待办理的用户任务在流程图中的名称"}
    )
    movable = fields.Boolean(metadata={"description": "能否迁移"})
    reasons = fields.List(fields.String(), metadata={"description": "不能迁移（或未迁移）的原因"})
    migrated = fields.Boolean(metadata={"description": "本次已迁移"})


class InstanceMigrationSchema(MigrationItemSchema):
    from_version = fields.Integer()
    to_version = fields.Integer()
    dry_run = fields.Boolean()


class PlanSchema(Schema):
    process_key = fields.String()
    from_version = fields.Integer()
    to_version = fields.Integer()
    dry_run = fields.Boolean()
    total = fields.Integer(metadata={"description": "原版本上办理中的表单数"})
    movable = fields.Integer()
    not_movable = fields.Integer()
    migrated = fields.Integer()
    seconds = fields.Float(metadata={"description": "检查与迁移所用秒数"})
    items = fields.List(fields.Nested(MigrationItemSchema))


class RetrySchema(Schema):
    incident = fields.Nested(IncidentSchema)
    id = fields.Integer(metadata={"description": "表单"})
    business_key = fields.String()
    status = fields.String()
    finished = fields.Boolean()
    open_tasks = fields.List(fields.Nested(TaskBriefSchema))


@blp.route("/processes/<key>/migrations", methods=["POST"])
@blp.arguments(PlanRequest)
@blp.response(200, PlanSchema)
def run_plan(body, key):
    """迁移计划（秘书处、流程设计人员）：原版本上每个办理中的表单能否迁移及原因

    dry_run=false 时分批迁移能迁移的表单（每批一个事务），每张表单记一条审计。
    """
    with uow() as u:
        return migration.run_plan(ctx(), u, actor(), key, **body)


@blp.route("/instances/<int:instance_id>/migrate", methods=["POST"])
@blp.arguments(InstanceMigrateRequest)
@blp.response(200, InstanceMigrationSchema)
@blp.alt_response(409, description="表单已结束，或不能迁移至目标版本（errors.reasons 列出原因）")
def migrate_instance(body, instance_id):
    """把一张办理中的表单迁移至其业务流程的另一个版本（秘书处、流程设计人员）"""
    with uow() as u:
        return migration.migrate_instance(ctx(), u, actor(), instance_id, **body)


@blp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@blp.response(200, RetrySchema)
@blp.alt_response(409, description="事故已处理、任务已不在待办中，或再次出错（errors.incident）")
def retry_incident(incident_id):
    """重试事故中出错的一步（秘书处、流程设计人员）：以原办理人与原提交内容，在表单当前版本上重新办理"""
    with uow() as u:
        return incident_retry.retry(ctx(), u, actor(), incident_id)
