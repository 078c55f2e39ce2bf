"""The 首页 figures: members, certificates by type, the last three years, 单/双证, ages."""

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.services.membership import statistics

blp = Blueprint("statistics", __name__, url_prefix="/api/v1", description="首页统计")


@blp.route("/statistics")
@blp.arguments(schemas.StatisticsQuery, location="query")
@blp.response(200, schemas.StatisticsSchema)
def get_statistics(args):
    """首页统计：单位看本单位，机构看本机构，协会看全省（可按机构）；按范围缓存数分钟"""
    with uow() as u:
        return statistics.summary(ctx(), u, actor(), **args)
