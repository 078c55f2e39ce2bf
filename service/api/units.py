"""单位信息: a unit's own registration data, 工商信息 and qualifications (its admins)."""

from flask import request
from marshmallow import ValidationError, fields, validates_schema

from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.planned import Schema
from service.api.schemas import UtcDateTime
from service.domain.errors import PreconditionFailed
from service.services.membership import unit_admin, unit_information

blp = Blueprint("units", __name__, url_prefix="/api/v1", description="单位信息（单位管理员）")


class RegistrationSchema(Schema):
    former_name = fields.String(allow_none=True, metadata={"description": "曾用名"})
    founded_on = fields.String(allow_none=True, metadata={"description": "企业成立时间（日期）"})
    registered_capital = fields.String(allow_none=True, metadata={"description": "注册资本"})
    registration_status = fields.String(allow_none=True, metadata={"description": "登记状态"})
    registration_authority = fields.String(allow_none=True, metadata={"description": "登记机关"})
    approved_on = fields.String(allow_none=True, metadata={"description": "核准日期（日期）"})
    industry = fields.String(allow_none=True, metadata={"description": "所属行业"})
    staff_size = fields.Raw(allow_none=True, metadata={"description": "人员规模（整数）"})
    address = fields.String(allow_none=True, metadata={"description": "企业注册地址"})
    business_scope = fields.String(allow_none=True, metadata={"description": "经营范围"})


class QualificationSchema(Schema):
    category = fields.String(
        allow_none=True, metadata={"description": "资质类别：住建监理资质 / 其他资质"}
    )
    name = fields.String(allow_none=True, metadata={"description": "资质名称"})
    grade = fields.String(allow_none=True, metadata={"description": "资质等级"})
    number = fields.String(allow_none=True, metadata={"description": "证书编号"})
    issuer = fields.String(allow_none=True, metadata={"description": "发证机关"})
    valid_until = fields.String(allow_none=True, metadata={"description": "有效期至（日期）"})


class UnitInformationRequest(Schema):
    registration = fields.Dict(
        load_default=None,
        allow_none=True,
        metadata={"description": "工商信息（字段见 UnitRegistration；空值表示未填写）"},
    )
    qualifications = fields.List(
        fields.Dict(),
        load_default=None,
        allow_none=True,
        metadata={"description": "资质列表（每条见 UnitQualification，最多30条）"},
    )

    @validates_schema(pass_original=True)
    def _something_sent(self, _data, original, **_kwargs):
        """The record is replaced whole: a request that sends neither part would wipe it."""
        if not isinstance(original, dict) or not original.keys() & {
            "registration",
            "qualifications",
        }:
            raise ValidationError(
                "请提交 registration（工商信息）和 qualifications（资质列表）：单位信息整体替换，"
                "空的请求会清空全部信息",
                "registration",
            )


class AgencyBriefSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    city = fields.String()


class ContactSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    username = fields.String()
    mobile = fields.String(allow_none=True)
    main = fields.Boolean(metadata={"description": "true：主账号"})
    slot = fields.Integer(allow_none=True, metadata={"description": "子账号序号"})
    active = fields.Boolean()
    must_change_password = fields.Boolean()
    created_at = UtcDateTime()


class UnitInformationSchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "单位名称"})
    credit_code = fields.String(metadata={"description": "统一社会信用代码"})
    member_unit = fields.Boolean(metadata={"description": "true：单位会员"})
    membership_valid_until = fields.Date(allow_none=True)
    joined_on = fields.Date(allow_none=True)
    registered_at = UtcDateTime()
    agency = fields.Nested(AgencyBriefSchema, allow_none=True)
    contacts = fields.List(fields.Nested(ContactSchema))
    registration = fields.Nested(RegistrationSchema, metadata={"description": "工商信息"})
    qualifications = fields.List(fields.Nested(QualificationSchema))


STALE = (
    "单位信息已被修改（可能是本单位的其他账号刚保存过），与 If-Match 所给的版本不符，本次未保存；"
    "请重新读取单位信息（GET，其 ETag 为当前版本），核对后再提交"
)


def _version(profile: dict) -> str:
    """The profile's version: the fingerprint a page's save sends back as `seen`."""
    return unit_information.fingerprint(profile["registration"], profile["qualifications"])


def _with_version(profile: dict):
    return profile, 200, {"ETag": f'"{_version(profile)}"'}


def _if_match() -> str | None:
    """The version the caller last read (`If-Match`), or None when it gave none or `*`."""
    if not request.headers.get("If-Match") or request.if_match.star_tag:
        return None
    tags = request.if_match.as_set()
    return next(iter(tags)) if len(tags) == 1 else "|".join(sorted(tags))  # several: none fit


@blp.route("/units/<int:unit_id>/information", methods=["GET"])
@blp.response(200, UnitInformationSchema)
@blp.alt_response(404, description="单位不存在（或不是调用者的单位）")
def get_information(unit_id):
    """单位信息：登记信息、初审机构、联系人、工商信息和资质

    回复头 `ETag` 是工商信息和资质的当前版本；修改时把它放进 `If-Match`，
    可避免覆盖别人在此期间保存的修改。"""
    who = actor()
    with uow() as u:
        unit_admin.own_unit(u, who, unit_id)
        return _with_version(unit_admin.unit_profile(u, who))


@blp.route("/units/<int:unit_id>/information", methods=["PUT"])
@blp.arguments(UnitInformationRequest)
@blp.response(200, UnitInformationSchema)
@blp.alt_response(404, description="单位不存在（或不是调用者的单位）")
@blp.alt_response(412, description="If-Match 所给版本已过时：单位信息在读取后已被修改，本次未保存")
@blp.alt_response(
    422, description="填写有误：errors 以 registration.字段 或 qualifications.序号.字段 指明"
)
def put_information(body, unit_id):
    """维护单位信息：工商信息和资质（住建监理资质、其他资质），整体替换

    带上 `If-Match`（读取时的 `ETag`）时，若单位信息在此期间已被修改，回复 412，什么也不保存；
    不带则直接替换。回复头 `ETag` 是保存后的版本。"""
    with uow() as u:
        try:
            profile = unit_information.update_unit_information(
                u,
                actor(),
                unit_id,
                body["registration"],
                body["qualifications"],
                today=ctx().today(),
                seen=_if_match(),
            )
        except unit_information.StaleInformation as exc:
            raise PreconditionFailed(STALE) from exc
        return _with_version(profile)
