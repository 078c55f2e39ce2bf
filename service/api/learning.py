"""Learning results from the learning platform (JSON batch or its Excel export), and tasks."""

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.files import read_upload
from service.domain.errors import NotFound
from service.services.education import learning
from service.services.workflow import scope

blp = Blueprint("learning", __name__, url_prefix="/api/v1", description="学习任务与学习记录")


def _recorder():
    who = actor()
    if not scope.may_record_learning(who):
        raise NotFound("没有该功能")
    return who


@blp.route("/learning-records", methods=["POST"])
@blp.arguments(schemas.LearningRecordsRequest)
@blp.response(200, schemas.LearningImportSchema)
@blp.alt_response(422, description="有误的行逐行说明，整批不导入")
def record(body):
    """登记学习结果（批量，全部正确才导入）"""
    who = _recorder()
    rows = [(f"records.{i}", r) for i, r in enumerate(body["records"])]
    with uow() as u:
        return learning.record_results(ctx(), u, who, rows)


@blp.route("/learning-records/import", methods=["POST"])
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(200, schemas.LearningImportSchema)
@blp.alt_response(422, description="缺少列、身份证号不在名单等，逐行说明，整批不导入")
def import_excel(_files):
    """导入学习平台导出的 Excel（列：身份证号、姓名、已完成学时、考试状态、考试次数）"""
    who = _recorder()
    _name, content = read_upload()
    rows = learning.read_workbook(content)
    with uow() as u:
        return learning.record_results(ctx(), u, who, rows)


@blp.route("/learning-tasks")
@blp.arguments(schemas.LearningQuery, location="query")
@blp.response(200, schemas.LearningPageSchema)
def list_learning(args):
    """学习任务与进度（单位看本单位人员）"""
    with uow() as u:
        return learning.list_learning(ctx(), u, actor(), **args)
