"""Who may do a business, with reasons: per unit member, and for a form before it is sent."""

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.services.workflow import eligibility

blp = Blueprint("eligibility", __name__, url_prefix="/api/v1", description="办理条件核验")


@blp.route("/units/<int:unit_id>/eligibility")
@blp.arguments(schemas.EligibilityQuery, location="query")
@blp.response(200, schemas.EligibilityPageSchema)
@blp.alt_response(422, description="缺少证书类型等必要参数")
def unit_eligibility(args, unit_id):
    """本单位每名人员能否办理某项业务，不能办理的说明原因"""
    with uow() as u:
        return eligibility.unit_eligibility(ctx(), u, actor(), unit_id, **args)


@blp.route("/processes/<key>/preview", methods=["POST"])
@blp.arguments(schemas.DataRequest)
@blp.response(200, schemas.PreviewSchema)
def preview(body, key):
    """提交前预检：表单上每名人员是否符合条件；证书注销时提示是否同时注销会籍

    提交时会拒绝的人员行（同一人员重复、专业不在专业字典中、专业2与专业1相同）同样
    不符合条件（eligible 为 false），原因（reasons）先说明该行哪一栏有误，再列办理条件的
    原因；核对与提交时相同。预检时材料可暂不上传。

    只办理一名人员（表单没有 persons 人员名单）的业务不预检，返回 422：直接提交即可，
    不符合办理条件时提交会说明原因。
    """
    with uow() as u:
        return eligibility.preview(ctx(), u, actor(), key, body["data"])
