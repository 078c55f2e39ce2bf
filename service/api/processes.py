"""GET /processes: the deployed business types."""

from flask_smorest import Blueprint

from service.api import schemas
from service.api.common import actor, ctx, uow
from service.domain.errors import NotFound
from service.domain.roles import role_for_lane
from service.services.workflow.definitions import list_versions

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
@blp.alt_response(404, description="没有该业务流程，或调用者不是协会人员或秘书处")
def versions(key):
    """一个业务流程的各个版本（最新在前）：版本号、内容哈希、部署时间与部署者、办理中和已结束的表单数"""
    who = actor()
    if key not in ctx().definitions.current:
        raise NotFound(f"没有名为 {key} 的业务流程")
    with uow() as u:
        return list_versions(ctx(), u, who, key)
