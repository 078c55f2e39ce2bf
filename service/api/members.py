"""单位人员档案与 Excel 导出."""

from flask_smorest import Blueprint

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="单位人员档案与 Excel 导出")
