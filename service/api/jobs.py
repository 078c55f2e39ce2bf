"""后台任务: start long exports, certificate zips and the learning import as jobs; follow
their progress; download the result for a day."""

from __future__ import annotations

from flask import current_app
from marshmallow import fields

from service import worker
from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.certificate_documents import BatchDownloadRequest
from service.api.common import PageArgs, actor, ctx, page_schema, uow
from service.api.files import read_upload
from service.api.members import (
    ArchiveFilterArgs,
    BillExportQuery,
    EnrolmentExportQuery,
    LearningExportQuery,
)
from service.api.planned import Schema
from service.httputil import attachment
from service.services.schedules import jobs

blp = Blueprint(
    "jobs",
    __name__,
    url_prefix="/api/v1",
    description="后台任务：大批量导出、证书批量下载与学习记录导入，进度与结果下载（保留一天）",
)


class JobResultSchema(Schema):
    name = fields.String(metadata={"description": "结果文件名"})
    size = fields.Integer(metadata={"description": "字节数"})
    content_type = fields.String()
    expired = fields.Boolean(metadata={"description": "已超过一天，不能再下载"})


class JobSchema(Schema):
    id = fields.Integer()
    kind = fields.String(
        metadata={
            "description": "member_archive_export / bill_export / enrolment_export / "
            "learning_export / certificate_zip / learning_import / legacy_import"
        }
    )
    title = fields.String(metadata={"description": "任务名称，如 单位人员档案导出"})
    status = fields.String(metadata={"description": "queued / running / succeeded / failed"})
    status_label = fields.String(
        metadata={"description": "排队中 / 处理中 / 已完成 / 失败 / 已过期"}
    )
    rows_done = fields.Integer(metadata={"description": "已处理行数"})
    rows_total = fields.Integer(allow_none=True, metadata={"description": "总行数（开始后才知道）"})
    percent = fields.Integer(metadata={"description": "完成百分比；结果就绪时为100"})
    attempts = fields.Integer(metadata={"description": "执行次数（处理程序中断后会重试）"})
    error = fields.String(allow_none=True, metadata={"description": "失败原因"})
    errors = fields.Dict(allow_none=True, metadata={"description": "逐字段或逐行的错误"})
    summary = fields.Dict(allow_none=True, metadata={"description": "结果摘要（如导入的人数）"})
    input_name = fields.String(allow_none=True, metadata={"description": "上传的文件名"})
    result = fields.Nested(JobResultSchema, allow_none=True)
    created_at = schemas.UtcDateTime()
    started_at = schemas.UtcDateTime(allow_none=True)
    finished_at = schemas.UtcDateTime(allow_none=True)
    expires_at = schemas.UtcDateTime(allow_none=True, metadata={"description": "结果可下载至"})


JobPageSchema = page_schema(JobSchema, "JobPageSchema")
_STARTED = "已开始后台任务：用 GET /api/v1/jobs/{id} 查看进度，完成后下载结果"
# one documented type (clients read bytes); the answer's Content-Type says xlsx or zip
_RESULT_TYPES = {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}


def _start(kind: str, params: dict, upload=None) -> dict:
    who = actor()
    with uow() as u:
        job = jobs.submit(ctx(), u, who, kind, params, upload)
    worker.wake(current_app)
    return job


@blp.route("/units/<int:unit_id>/members/export-jobs", methods=["POST"])
@blp.arguments(ArchiveFilterArgs)
@blp.response(202, JobSchema, description=_STARTED)
def export_archive(body, unit_id):
    """后台导出单位人员档案（筛选条件与列表相同，大单位几千人时用）"""
    return _start("member_archive_export", {"unit_id": unit_id, **body})


@blp.route("/bills/export-jobs", methods=["POST"])
@blp.arguments(BillExportQuery)
@blp.response(202, JobSchema, description=_STARTED)
@blp.alt_response(422, description="开票日期起晚于开票日期止")
def export_bills(body):
    """后台导出开票记录"""
    return _start("bill_export", body)


@blp.route("/enrolments/export-jobs", methods=["POST"])
@blp.arguments(EnrolmentExportQuery)
@blp.response(202, JobSchema, description=_STARTED)
def export_enrolments(body):
    """后台导出教育报名表"""
    return _start("enrolment_export", body)


@blp.route("/learning-tasks/export-jobs", methods=["POST"])
@blp.arguments(LearningExportQuery)
@blp.response(202, JobSchema, description=_STARTED)
def export_learning(body):
    """后台导出学习进度（筛选条件与学习任务列表相同）"""
    return _start("learning_export", body)


@blp.route("/units/<int:unit_id>/certificates/download-jobs", methods=["POST"])
@blp.arguments(BatchDownloadRequest)
@blp.response(202, JobSchema, description=_STARTED)
@blp.alt_response(422, description="人员不属于本单位、未选择或超过500人、均无有效证书")
def download_certificates(body, unit_id):
    """后台打包所选人员的有效电子证书（zip）"""
    params = {"unit_id": unit_id, "member_ids": body["member_ids"]}
    if body["certificate_type"]:
        params["certificate_type"] = body["certificate_type"]
    return _start("certificate_zip", params)


@blp.route("/learning-records/import-jobs", methods=["POST"])
@blp.arguments(schemas.FileUpload, location="files")
@blp.response(202, JobSchema, description=_STARTED)
@blp.alt_response(413, description="超过10MB")
def import_learning(_files):
    """后台导入学习平台导出的 Excel（整批检查，有误则整批不导入，任务说明原因）"""
    actor()
    return _start("learning_import", {}, read_upload())


@blp.route("/jobs")
@blp.arguments(PageArgs, location="query")
@blp.response(200, JobPageSchema)
def list_jobs(args):
    """我的后台任务（秘书处看全部），新的在前"""
    with uow() as u:
        return jobs.list_jobs(ctx(), u, actor(), **args)


@blp.route("/jobs/<int:job_id>")
@blp.response(200, JobSchema)
def get_job(job_id):
    """后台任务的状态与进度（已处理行数、总行数、百分比），失败时说明原因"""
    with uow() as u:
        return jobs.get_job(ctx(), u, actor(), job_id)


@blp.route("/jobs/<int:job_id>/result")
@blp.response(200, description="结果文件（Excel 或 zip）")
@blp.doc(
    responses={
        "200": {
            "description": "结果文件：Excel（.xlsx）或 zip，见 Content-Type",
            "content": _RESULT_TYPES,
        }
    }
)
@blp.alt_response(409, description="任务尚未完成或已失败")
@blp.alt_response(410, description="结果文件只保留一天，已过期")
def get_result(job_id):
    """下载后台任务的结果文件（完成后保留一天）"""
    who = actor()
    with uow() as u:
        meta, blob = jobs.result(ctx(), u, who, job_id)
    ext = ".zip" if meta["content_type"] == "application/zip" else ".xlsx"
    return attachment(blob.read(), meta["content_type"], meta["name"], f"job-{job_id}{ext}")


@blp.route("/jobs/<int:job_id>/retry", methods=["POST"])
@blp.response(202, JobSchema, description=_STARTED)
@blp.alt_response(409, description="只有失败的任务可以重新执行")
@blp.alt_response(410, description="上传的文件已过保留期")
def retry_job(job_id):
    """重新执行失败的后台任务（参数与上传的文件不变）"""
    who = actor()
    with uow() as u:
        job = jobs.retry(ctx(), u, who, job_id)
    worker.wake(current_app)
    return job
