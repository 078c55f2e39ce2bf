"""旧平台数据导入: the secretariat uploads the old platform's 单位人员档案导出表."""

from __future__ import annotations

from flask import current_app
from marshmallow import fields

from service import worker
from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import actor, ctx, uow
from service.api.files import read_upload
from service.api.jobs import JobSchema
from service.api.planned import Schema
from service.services.membership import legacy_import
from service.services.schedules import jobs

blp = Blueprint(
    "legacy_import",
    __name__,
    url_prefix="/api/v1",
    description="导入旧平台数据（单位、个人会员、会籍、证书），先试导入检查，整份文件全部正确才导入",
)


class LegacyImportQuery(Schema):
    dry_run = fields.Boolean(
        load_default=False,
        metadata={"description": "true：只检查并逐行报告，不写入任何数据"},
    )


class ProblemSchema(Schema):
    column = fields.String(metadata={"description": "列名，如 身份证号"})
    reason = fields.String(metadata={"description": "错误原因"})


class RowSchema(Schema):
    row = fields.Integer(metadata={"description": "Excel 行号"})
    name = fields.String()
    id_number = fields.String()
    valid = fields.Boolean()
    action = fields.String(
        allow_none=True, metadata={"description": "新增 / 更新 / 无变化（有误的行为空）"}
    )
    problems = fields.List(fields.Nested(ProblemSchema))
    notes = fields.List(
        fields.String(),
        metadata={
            "description": "表中会籍或证书未被采用的说明：本平台的记录较新（已续期或已注销）时保留"
        },
    )


class LegacyImportSchema(Schema):
    dry_run = fields.Boolean()
    file_name = fields.String()
    sha256 = fields.String()
    rows_total = fields.Integer(metadata={"description": "数据行数"})
    rows_valid = fields.Integer()
    rows_invalid = fields.Integer()
    counts = fields.Dict(
        keys=fields.String(),
        values=fields.Integer(),
        metadata={
            "description": "units/members/memberships/certificates 各自的 "
            "_created（新增）、_updated（更新）、_unchanged（无变化）数；会籍和证书另有 "
            "_kept：本平台的记录较新（已续期或已注销），未按表中内容修改"
        },
    )
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.String(),
        metadata={"description": "“第N行.列名”→错误原因"},
    )
    rows = fields.List(fields.Nested(RowSchema), metadata={"description": "试导入时逐行报告"})


@blp.route("/legacy-imports", methods=["POST"])
@blp.arguments(LegacyImportQuery, location="query")
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(200, LegacyImportSchema)
@blp.alt_response(413, description="文件过大、解压后过大（疑似压缩炸弹）或处理超时，未导入任何记录")
@blp.alt_response(
    422, description="缺少列或有误的行（逐行逐列说明：errors 的键为“第N行.列名”），未导入任何记录"
)
@blp.alt_response(409, description="另一次导入同时写入了相同的记录")
def import_legacy(query, _files):
    """导入旧平台的单位人员档案导出表（仅秘书处；dry_run=true 只检查不导入）"""
    who = actor()
    name, content = read_upload()
    with uow() as u:
        return legacy_import.import_workbook(
            ctx(),
            u,
            who,
            content,
            file_name=name,
            dry_run=query["dry_run"],
            row_report=query["dry_run"],
        )


@blp.route("/legacy-imports/jobs", methods=["POST"])
@blp.arguments(LegacyImportQuery, location="query")
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(202, JobSchema, description="已开始后台任务：用 GET /api/v1/jobs/{id} 查看进度与结果")
@blp.alt_response(413, description="超过10MB")
def import_legacy_job(query, _files):
    """后台导入旧平台数据（大文件用；结果摘要与逐行错误见任务的 summary / errors）"""
    who = actor()
    name, content = read_upload()
    params = {"file_name": name, "dry_run": query["dry_run"]}
    with uow() as u:
        job = jobs.submit(ctx(), u, who, "legacy_import", params, (name, content))
    worker.wake(current_app)
    return job
