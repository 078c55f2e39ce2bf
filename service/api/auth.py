"""POST /auth/token: sign in."""

from flask_smorest import Blueprint

from service.api import schemas
from service.api.common import ctx, uow
from service.services import accounts

blp = Blueprint("auth", __name__, url_prefix="/api/v1/auth", description="登录")


@blp.route("/token", methods=["POST"])
@blp.arguments(schemas.TokenRequest)
@blp.response(200, schemas.TokenSchema)
@blp.alt_response(401, description="用户名或密码错误")
def token(body):
    """登录，取得访问令牌（Bearer）"""
    c = ctx()
    with uow() as u:
        return accounts.sign_in(
            u, c.config.secret_key, c.config.token_ttl_seconds, body["username"], body["password"]
        )
