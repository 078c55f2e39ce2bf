"""电子证书与公开证书查询."""

from flask_smorest import Blueprint

blp = Blueprint(
    "certificate_documents", __name__, url_prefix="/api/v1", description="电子证书与公开证书查询"
)
