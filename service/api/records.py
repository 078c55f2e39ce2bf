"""Certificates, bills and the specialty dictionary."""

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.services.membership import records

blp = Blueprint("records", __name__, url_prefix="/api/v1", description="证书、缴费单与专业字典")


@blp.route("/certificates")
@blp.arguments(schemas.CertificateQuery, location="query")
@blp.response(200, schemas.CertificatePageSchema)
def list_certificates(args):
    """培训证书（单位看本单位人员，个人看本人）"""
    with uow() as u:
        return records.list_certificates(ctx(), u, actor(), **args)


@blp.route("/bills")
@blp.arguments(schemas.BillQuery, location="query")
@blp.response(200, schemas.BillPageSchema)
def list_bills(args):
    """缴费单与开票记录（单位看本单位，协会与财务看全部）"""
    with uow() as u:
        return records.list_bills(ctx(), u, actor(), **args)


@blp.route("/specialties")
@blp.arguments(schemas.SpecialtyQuery, location="query")
@blp.response(200, schemas.SpecialtyPageSchema)
def list_specialties(args):
    """专业字典（分页，默认一页200条即全部）"""
    actor()
    with uow() as u:
        return records.list_specialties(u, **args)


@blp.route("/specialties", methods=["POST"])
@blp.arguments(schemas.SpecialtyRequest)
@blp.response(201, schemas.SpecialtySchema)
@blp.alt_response(409, description="已存在")
def add_specialty(body):
    """新增专业（秘书处管理员）"""
    with uow() as u:
        return records.add_specialty(u, actor(), body["name"])


@blp.route("/specialties/<int:specialty_id>", methods=["PATCH"])
@blp.arguments(schemas.SpecialtyPatch)
@blp.response(200, schemas.SpecialtySchema)
def update_specialty(body, specialty_id):
    """停用或调整专业排序（秘书处管理员）"""
    with uow() as u:
        return records.update_specialty(
            u, actor(), specialty_id, body.get("active"), body.get("sort")
        )
