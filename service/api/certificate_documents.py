"""电子证书与公开证书查询."""

import io

from marshmallow import fields, validate

from service.api.blueprint import Blueprint
from service.api.common import Int32, actor, ctx, uow
from service.api.planned import Schema
from service.domain.person_facts import CERTIFICATE_TYPES
from service.httputil import attachment
from service.limits import limiter
from service.services.documents import certificate_documents

blp = Blueprint(
    "certificate_documents", __name__, url_prefix="/api/v1", description="电子证书与公开证书查询"
)


class BatchDownloadRequest(Schema):
    member_ids = fields.List(
        Int32(strict=True),
        required=True,
        validate=validate.Length(
            min=1,
            max=certificate_documents.MAX_BATCH,
            error=f"请选择1至{certificate_documents.MAX_BATCH}名人员",
        ),
        metadata={"description": "勾选的本单位人员编号（个人会员 id），最多500人"},
    )
    certificate_type = fields.String(
        load_default=None,
        validate=validate.OneOf(
            CERTIFICATE_TYPES, error="证书类型应为 " + "、".join(CERTIFICATE_TYPES)
        ),
        metadata={"description": "只下载这一类证书（不填：所选人员的全部有效证书）"},
    )


class LookupQuery(Schema):
    number = fields.String(
        load_default=None, validate=validate.Length(max=30), metadata={"description": "证书编号"}
    )
    id_number = fields.String(
        load_default=None,
        validate=validate.Length(max=20),
        metadata={"description": "身份证号（可单独查询）"},
    )
    name = fields.String(
        load_default=None,
        validate=validate.Length(max=50),
        metadata={"description": "姓名（可选；填写时须与证书持有人一致）"},
    )


class PublicCertificateSchema(Schema):
    name = fields.String(metadata={"description": "姓名"})
    id_number_masked = fields.String(metadata={"description": "身份证号，仅显示后4位"})
    type = fields.String(metadata={"description": "证书类型"})
    number = fields.String(metadata={"description": "证书编号"})
    specialty_1 = fields.String(allow_none=True, metadata={"description": "专业1"})
    specialty_2 = fields.String(allow_none=True, metadata={"description": "专业2"})
    first_issued_on = fields.Date(metadata={"description": "发证日期"})
    renewed_on = fields.Date(
        allow_none=True, metadata={"description": "最近延续日期（继续教育通过），未延续为空"}
    )
    valid_until = fields.Date(metadata={"description": "有效期至"})
    unit_name = fields.String(metadata={"description": "证书上的工作单位"})
    status = fields.String(metadata={"description": "valid / expired / cancelled / upgraded"})
    status_label = fields.String(metadata={"description": "有效 / 已过期 / 已注销 / 已升级"})
    superseded_by = fields.String(
        allow_none=True,
        metadata={"description": "换发的新证书编号（注销后重新取证、监理员升级后），无则为空"},
    )
    downloadable = fields.Boolean(
        metadata={"description": "true：有效证书，可下载电子证（见 document.pdf）"}
    )


class PublicCertificateListSchema(Schema):
    items = fields.List(fields.Nested(PublicCertificateSchema))
    total = fields.Integer()


def _lookup_rate() -> str:
    return ctx().config.lookup_rate


@blp.route("/certificates/<int:certificate_id>/document.pdf")
@blp.response(200, content_type="application/pdf")
@blp.alt_response(404, description="证书不存在或无权查看")
@blp.alt_response(409, description="证书已注销")
def document(certificate_id):
    """下载电子证书（PDF，含查询二维码；持证人本人、所在单位、协会）"""
    who = actor()
    with uow() as u:
        name, pdf = certificate_documents.certificate_pdf(ctx(), u, who, certificate_id)
    return attachment(pdf, "application/pdf", name, f"certificate-{certificate_id}.pdf")


@blp.route("/units/<int:unit_id>/certificates/download", methods=["POST"])
@blp.arguments(BatchDownloadRequest)
@blp.response(200, content_type="application/zip")
@blp.alt_response(422, description="人员不属于本单位、未选择或超过500人、均无有效证书")
def download(body, unit_id):
    """单位批量下载所选人员的有效电子证书（zip，每本证书一个 PDF）"""
    who = actor()
    with uow() as u:
        name, spool = certificate_documents.unit_certificates_zip(
            ctx(), u, who, unit_id, body["member_ids"], certificate_type=body["certificate_type"]
        )
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    reply = attachment(spool, "application/zip", name, f"certificates-unit-{unit_id}.zip")
    reply.content_length = size
    return reply


@blp.route("/public/certificates")
@blp.arguments(LookupQuery, location="query")
@blp.response(200, PublicCertificateListSchema)
@blp.alt_response(404, description="未查到证书")
@blp.alt_response(429, description="查询过于频繁")
@blp.doc(security=[])
@limiter.shared_limit(_lookup_rate, scope="certificate-lookup")
def lookup(args):
    """（公开，限流）证书查询：按证书编号，或按身份证号"""
    with uow() as u:
        return certificate_documents.lookup(ctx(), u, **args)


@blp.route("/public/certificates/<string:number>/document.pdf")
@blp.response(200, content_type="application/pdf")
@blp.alt_response(404, description="未查到证书")
@blp.alt_response(409, description="证书已过期或已注销，不能下载电子证")
@blp.alt_response(429, description="查询过于频繁")
@blp.doc(security=[])
@limiter.shared_limit(_lookup_rate, scope="certificate-lookup")
def public_document(number):
    """（公开，限流）按证书编号下载有效证书的电子证（PDF）"""
    with uow() as u:
        name, pdf = certificate_documents.public_certificate_pdf(ctx(), u, number)
    return attachment(pdf, "application/pdf", name, "certificate.pdf")
