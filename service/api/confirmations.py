"""扫码确认（调动、离职、补充身份证照片）."""

from flask_smorest import Blueprint

blp = Blueprint(
    "confirmations",
    __name__,
    url_prefix="/api/v1",
    description="扫码确认（调动、离职、补充身份证照片）",
)
