"""GET /processes: the deployed business types; POST /processes/deploy: a designer's new
versions, without a restart."""

from http import HTTPStatus

from flask import jsonify
from marshmallow import fields

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.files import read_upload
from service.api.planned import Schema
from service.domain.errors import NotFound
from service.domain.roles import role_for_lane
from service.services.workflow import deploy
from service.services.workflow.definitions import list_versions
from service.services.workflow.scope import may_deploy

blp = Blueprint(
    "processes", __name__, url_prefix="/api/v1/processes", description="已部署的业务流程"
)


def _view(key: str, detail: bool = False) -> dict:
    version_id, defn = ctx().definitions.latest(key)
    with uow() as u:
        number = ctx().definitions.version_number(u.session, version_id)
    view = {
        "key": key,
        "name": defn.name,
        "version": number,
        "digest": defn.digest,
        "start_role": defn.start_role,
        "start_roles": sorted(defn.start_roles),
        "lanes": {lane: role_for_lane(lane) for lane in defn.lanes},
        "start_form": defn.start_form,
    }
    if detail:
        view["bpmn"] = defn.bpmn
        view["tasks"] = [
            {"id": t.id, "title": t.title, "lane": t.lane, "role": t.role, "status": t.status}
            for t in defn.user_tasks.values()
        ]
    return view


@blp.route("")
@blp.response(200, schemas.ProcessSchema(many=True))
def list_processes():
    """业务流程列表：名称、当前版本、泳道与角色、发起表单"""
    actor()
    return [_view(key) for key in sorted(ctx().definitions.current)]


@blp.route("/<key>")
@blp.response(200, schemas.ProcessDetailSchema)
def get_process(key):
    """一个业务流程，含 BPMN XML 与各任务"""
    actor()
    if key not in ctx().definitions.current:
        raise NotFound(f"没有名为 {key} 的业务流程")
    return _view(key, detail=True)


@blp.route("/<key>/versions")
@blp.response(200, schemas.ProcessVersionsSchema)
@blp.alt_response(404, description="没有该业务流程，或调用者不是协会人员、秘书处或流程设计人员")
def versions(key):
    """一个业务流程的各个版本（最新在前）：版本号、内容哈希、部署时间与部署者、办理中和已结束的表单数"""
    who = actor()
    if key not in ctx().definitions.current:
        raise NotFound(f"没有名为 {key} 的业务流程")
    with uow() as u:
        return list_versions(ctx(), u, who, key)


class DeployedProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.Integer(metadata={"description": "此后新表单使用的版本号"})
    digest = fields.String(metadata={"description": "文件内容的哈希"})
    new = fields.Boolean(metadata={"description": "true：本次部署新增的版本"})
    was = fields.Integer(
        allow_none=True,
        metadata={"description": "部署前运行的版本号（与 version 不同、new 为 false：改用旧版）"},
    )


class DeploySchema(Schema):
    generation = fields.Integer(metadata={"description": "部署序号（各服务器据此刷新）"})
    changed = fields.Boolean(metadata={"description": "false：与当前部署完全相同，未做更改"})
    deployed_at = schemas.UtcDateTime()
    deployed_by = fields.String()
    messages_changed = fields.Boolean(metadata={"description": "业务消息模板是否改变"})
    refresh_seconds = fields.Float(metadata={"description": "其他服务器最迟多少秒后使用新版本"})
    notices = fields.List(
        fields.String(),
        metadata={"description": "提示：办理中的表单在等待新版本中没有的任务（不能迁移到新版本）"},
    )
    processes = fields.List(fields.Nested(DeployedProcessSchema))


def refused(exc: deploy.DeployRefused):
    """422 with every problem of the bundle (file, element, line, message)."""
    body = {
        "code": 422,
        "status": HTTPStatus(422).phrase,
        "message": exc.message,
        "errors": exc.errors,
        "problems": exc.problems,
    }
    reply = jsonify(body)
    reply.status_code = 422
    return reply


@blp.route("/deploy", methods=["POST"])
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(200, DeploySchema)
@blp.alt_response(404, description="调用者不是流程设计人员")
@blp.alt_response(413, description="部署包超过5MB、单个文件超过2MB或解压后超过20MB（疑似压缩炸弹）")
@blp.alt_response(
    422,
    description="不是部署包（zip：processes/、rules/、forms/），或未通过 memberflow check 的检查："
    "problems 逐条列出文件、元素、行号与原因；未做任何更改",
)
def deploy_bundle(_files):
    """部署流程（流程设计人员）：上传 zip，检查通过即记录新版本

    zip 内为 processes/、rules/、forms/ 三个文件夹（全部文件）。检查与 memberflow check 相同；
    通过后，文件有变化的流程各得一个新版本，各服务器在 refresh_seconds 秒内启用：新表单使用新版本，
    办理中的表单仍按其发起时的版本办理。
    """
    who = actor()
    if not may_deploy(who):
        raise NotFound("没有该功能")
    _name, content = read_upload()
    try:
        with uow() as u:
            result = deploy.deploy_zip(ctx(), u, who, content)
    except deploy.DeployRefused as exc:
        return refused(exc)
    return {**result, "refresh_seconds": ctx().definitions.recheck}
