"""注师继教周批次与系统通知."""

from flask_smorest import Blueprint

blp = Blueprint("schedules", __name__, url_prefix="/api/v1", description="注师继教周批次与系统通知")
