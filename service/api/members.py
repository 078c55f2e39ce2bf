"""单位人员档案与 Excel 导出: the archive list and the four workbooks, in the caller's scope."""

from __future__ import annotations

import io
import tempfile
from collections.abc import Callable

from flask import Response, url_for
from marshmallow import fields, validate

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import Int32, PageArgs, actor, ctx, page_schema, uow
from service.api.planned import Schema
from service.domain.errors import Conflict
from service.domain.person_facts import CERTIFICATE_TYPES
from service.httputil import attachment
from service.services.documents import exports
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.membership import members
from service.services.schedules import jobs

blp = Blueprint("members", __name__, url_prefix="/api/v1", description="单位人员档案与 Excel 导出")

SPOOL_BYTES = 8 * 1024 * 1024  # a larger workbook spills to a temporary file


class ArchiveFilterArgs(Schema):
    level = fields.String(
        validate=validate.OneOf(members.LEVELS), metadata={"description": "会员类型"}
    )
    membership_expired = fields.Boolean(
        metadata={"description": "会籍已过期：true 有已过期的会籍（指定会员类型时为该类型）"}
    )
    has_certificates = fields.Boolean(
        metadata={"description": "含有证书：true 持有未注销的培训证书"}
    )
    certificate_type = fields.String(
        validate=validate.OneOf(CERTIFICATE_TYPES),
        metadata={"description": "持有该类型（未注销）证书"},
    )
    age_min = fields.Integer(
        validate=validate.Range(min=0, max=150), metadata={"description": "年龄区间起（含）"}
    )
    age_max = fields.Integer(
        validate=validate.Range(min=0, max=150), metadata={"description": "年龄区间止（含）"}
    )
    joined_from = fields.Date(metadata={"description": "入会日期起（含）"})
    joined_to = fields.Date(metadata={"description": "入会日期止（含）"})
    q = fields.String(metadata={"description": "姓名（包含）或身份证号（完整）"})
    title = fields.String(
        validate=validate.OneOf(["无", "初级", "中级", "高级"]),
        metadata={"label": "最高职称", "description": "最高职称：无 / 初级 / 中级 / 高级"},
    )
    education = fields.String(
        validate=validate.OneOf(["中专", "大专", "本科", "硕士", "博士"]),
        metadata={"description": "学历：中专 / 大专 / 本科 / 硕士 / 博士"},
    )
    status = fields.String(metadata={"description": "人员状态，如 自由态"})
    agency_id = Int32(metadata={"description": "初审机构"})


class ArchiveQuery(ArchiveFilterArgs, PageArgs):
    sort = fields.String(
        load_default="archive",
        validate=validate.OneOf(list(members.ARCHIVE_SORTS)),
        metadata={
            "description": "排序：archive 档案顺序（默认）/ joined 入会日期（最近的在前）/ "
            "ordinary_until、professional_until 该会籍有效期（最早到期的在前，无该会籍的在后）"
        },
    )


class ArchiveCertificateSchema(Schema):
    type = fields.String()
    number = fields.String()
    specialty_1 = fields.String(allow_none=True)
    specialty_2 = fields.String(allow_none=True)
    valid_until = fields.Date()
    status = fields.String(metadata={"description": "valid / expired / cancelled"})
    status_label = fields.String()


class ArchiveItemSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    id_number = fields.String()
    gender = fields.String(allow_none=True)
    age = fields.Integer(allow_none=True)
    mobile = fields.String(allow_none=True)
    education_level = fields.String(allow_none=True)
    school = fields.String(allow_none=True)
    major = fields.String(allow_none=True)
    graduated_on = fields.Date(allow_none=True)
    title = fields.String()
    joined_on = fields.Date(allow_none=True, metadata={"description": "入会日期"})
    unit_name = fields.String()
    agency_name = fields.String(allow_none=True, metadata={"description": "初审机构"})
    status = fields.String()
    ordinary_membership = fields.String(
        allow_none=True, metadata={"description": "普通会员：有效 / 已过期 / 已注销；无则为空"}
    )
    ordinary_valid_until = fields.Date(allow_none=True)
    professional_membership = fields.String(allow_none=True)
    professional_valid_until = fields.Date(allow_none=True)
    certificates = fields.List(fields.Nested(ArchiveCertificateSchema))


ArchivePageSchema = page_schema(ArchiveItemSchema, "ArchivePageSchema")


class BillExportQuery(Schema):
    receipt_from = fields.Date(metadata={"description": "开票日期起（含），默认当年1月1日"})
    receipt_to = fields.Date(metadata={"description": "开票日期止（含），默认今天"})
    unit_id = Int32(metadata={"description": "单位（协会、财务可选）"})


class EnrolmentExportQuery(Schema):
    process = fields.String(
        metadata={"description": "业务类型（报名表所含的教育业务之一）；不填为全部教育报名"}
    )
    status = fields.String(validate=schemas.known_status, metadata={"description": "单据状态"})
    q = fields.String(metadata={"description": "姓名、身份证号或单号"})
    submitted_from = fields.Date(metadata={"description": "提交日期起（含）"})
    submitted_to = fields.Date(metadata={"description": "提交日期止（含）"})


class LearningExportQuery(schemas.LearningQuery):
    class Meta:
        exclude = ("page", "page_size")


def _filters(args: dict) -> members.ArchiveFilters:
    return members.ArchiveFilters(**args)


def _xlsx(write: Callable, filename: str, ascii_name: str, job_path: str) -> Response:
    """Send the workbook `write(file, progress)` produces, named for download (RFC 5987
    filename*), streamed from its spool with its length.

    Up to MEMBERFLOW_JOB_SYNC_ROWS rows, as the pages' export buttons (service/web/jobs.py):
    a larger export is refused (409) on its count, before a row is written, naming the POST
    that runs it as a background job (`job_path`).
    """
    limit = ctx().config.job_sync_rows
    spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)
    try:
        write(spool, jobs._Bounded(limit))  # run_now's bound, the row counted as one
    except jobs.TooLong as exc:
        spool.close()
        raise Conflict(_too_large(exc.args[0], limit, job_path)) from None
    except BaseException:
        spool.close()
        raise
    size = spool.seek(0, io.SEEK_END)
    spool.seek(0)
    reply = attachment(spool, XLSX_MIMETYPE, filename, ascii_name)  # closed once sent
    reply.content_length = size
    return reply


def _too_large(rows: int, limit: int, job_path: str) -> str:
    return (
        f"导出结果共{rows}行，超过直接下载的上限（{max(limit, 0)}行），未生成文件。"
        f"请改用后台导出：POST {job_path}（筛选条件相同，放在 JSON 请求体中），"
        "再用 GET /api/v1/jobs/{id} 查看进度，完成后用 GET /api/v1/jobs/{id}/result 下载结果"
    )


_XLSX_DOC = {"content_type": XLSX_MIMETYPE, "description": "Excel 文件（.xlsx）"}
_TOO_LARGE = (
    "导出行数超过直接下载的上限（MEMBERFLOW_JOB_SYNC_ROWS，默认1000行），未生成文件；"
    "message 指明改用的后台导出（POST …/export-jobs，筛选条件相同）"
)


@blp.route("/units/<int:unit_id>/members")
@blp.arguments(ArchiveQuery, location="query")
@blp.response(200, ArchivePageSchema)
@blp.alt_response(422, description="筛选条件有误，errors 指明字段")
def list_archive(args, unit_id):
    """单位人员档案：会籍、学历、职称、状态与证书，可按会员类型、证书、年龄、入会时间等筛选"""
    page, page_size, sort = args.pop("page"), args.pop("page_size"), args.pop("sort")
    with uow() as u:
        return members.list_archive(
            ctx(), u, actor(), unit_id, _filters(args), page=page, page_size=page_size, sort=sort
        )


class ArchiveExportQuery(ArchiveFilterArgs):
    sort = ArchiveQuery._declared_fields["sort"]


@blp.route("/units/<int:unit_id>/members/export.xlsx")
@blp.arguments(ArchiveExportQuery, location="query")
@blp.response(200, **_XLSX_DOC)
@blp.alt_response(422, description="筛选条件有误，errors 指明字段")
@blp.alt_response(409, description=_TOO_LARGE)
def export_archive(args, unit_id):
    """导出单位人员档案（单位人员档案导出表.xlsx，筛选条件与列表相同）"""
    who = actor()
    sort = args.pop("sort")
    with uow() as u:
        return _xlsx(
            lambda f, bound: exports.export_archive(
                ctx(), u, who, unit_id, _filters(args), f, progress=bound, sort=sort
            ),
            "单位人员档案导出表.xlsx",
            "member-archive.xlsx",
            url_for("jobs.export_archive", unit_id=unit_id),
        )


@blp.route("/bills/export.xlsx")
@blp.arguments(BillExportQuery, location="query")
@blp.response(200, **_XLSX_DOC)
@blp.alt_response(422, description="开票日期起晚于开票日期止")
@blp.alt_response(409, description=_TOO_LARGE)
def export_bills(args):
    """导出开票记录（财务已确认的缴费单，按开票日期区间）"""
    who = actor()
    with uow() as u:
        return _xlsx(
            lambda f, bound: exports.export_bills(ctx(), u, who, f, progress=bound, **args),
            "开票记录.xlsx",
            "invoice-records.xlsx",
            url_for("jobs.export_bills"),
        )


@blp.route("/enrolments/export.xlsx")
@blp.arguments(EnrolmentExportQuery, location="query")
@blp.response(200, **_XLSX_DOC)
@blp.alt_response(422, description="业务类型或提交日期区间有误")
@blp.alt_response(409, description=_TOO_LARGE)
def export_enrolments(args):
    """导出教育报名表（每名报名人员一行）"""
    who = actor()
    with uow() as u:
        return _xlsx(
            lambda f, bound: exports.export_enrolments(ctx(), u, who, f, progress=bound, **args),
            "报名表.xlsx",
            "enrolments.xlsx",
            url_for("jobs.export_enrolments"),
        )


@blp.route("/learning-tasks/export.xlsx")
@blp.arguments(LearningExportQuery, location="query")
@blp.response(200, **_XLSX_DOC)
@blp.alt_response(409, description=_TOO_LARGE)
def export_learning(args):
    """导出学习进度（筛选条件与学习任务列表相同）"""
    who = actor()
    with uow() as u:
        return _xlsx(
            lambda f, bound: exports.export_learning(ctx(), u, who, f, progress=bound, **args),
            "学习进度.xlsx",
            "learning-progress.xlsx",
            url_for("jobs.export_learning"),
        )
