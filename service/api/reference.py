"""Reference data and accounts: agencies, units, staff, unit sub-accounts."""

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, uow
from service.services.membership import accounts, directory

blp = Blueprint(
    "reference", __name__, url_prefix="/api/v1", description="机构、单位与账号（秘书处管理员）"
)


CONTACT = ("address", "phone", "qq_group", "website")


@blp.route("/agencies", methods=["POST"])
@blp.arguments(schemas.AgencyRequest)
@blp.response(201, schemas.CreatedSchema)
def create_agency(body):
    """新增会员服务机构（初审机构），可同时填写服务机构信息"""
    with uow() as u:
        return directory.create_agency(
            u, actor(), body["name"], body["city"], {f: body.get(f) for f in CONTACT}
        )


@blp.route("/agencies/<int:agency_id>", methods=["PUT"])
@blp.arguments(schemas.AgencyRequest)
@blp.response(200, schemas.AgencySchema)
@blp.alt_response(404, description="会员服务机构不存在，或调用者不是秘书处管理员")
def update_agency(body, agency_id):
    """修改会员服务机构的名称、城市和服务机构信息（地址、电话、QQ工作群号、网址）"""
    with uow() as u:
        return directory.update_agency(
            u, actor(), agency_id, body["name"], body["city"], {f: body.get(f) for f in CONTACT}
        )


@blp.route("/agencies", methods=["GET"])
@blp.response(200, schemas.AgencyDirectorySchema)
def agency_directory():
    """服务机构信息：各地市会员服务机构的地址、电话、QQ工作群号和网址（登录用户均可查看，本单位所属机构在前）"""
    with uow() as u:
        return directory.agency_directory(u, actor())


@blp.route("/units", methods=["POST"])
@blp.arguments(schemas.UnitRequest)
@blp.response(201, schemas.CreatedSchema)
def create_unit(body):
    """新增单位及其主账号（登录名为单位全称；默认首次登录须修改密码）"""
    with uow() as u:
        return directory.create_unit(
            u,
            actor(),
            body["name"],
            body["credit_code"],
            body["agency_id"],
            body["member_unit"],
            body["password"],
            must_change_password=body["must_change_password"],
        )


@blp.route("/staff", methods=["POST"])
@blp.arguments(schemas.StaffRequest)
@blp.response(201, schemas.CreatedSchema)
def create_staff(body):
    """新增协会、机构或财务工作人员账号（默认首次登录须修改密码）"""
    with uow() as u:
        return directory.create_staff(
            u,
            actor(),
            body["username"],
            body["name"],
            body["role"],
            body["agency_id"],
            body["password"],
            must_change_password=body["must_change_password"],
        )


@blp.route("/units/<int:unit_id>/accounts", methods=["POST"])
@blp.arguments(schemas.SubAccountRequest)
@blp.response(201, schemas.CreatedSchema)
@blp.alt_response(403, description="子账号由单位主账号管理：子账号不能新增子账号")
@blp.alt_response(409, description="子账号已满三个")
def create_sub_account(body, unit_id):
    """新增单位子账号（登录名为手机号，最多3个；由单位主账号或协会秘书处新增）"""
    with uow() as u:
        return accounts.create_sub_account(
            u, actor(), unit_id, body["name"], body["mobile"], body["password"]
        )
