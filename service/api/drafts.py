"""暂存: start forms saved without submitting, then submitted or deleted.

A draft carries a `version`, raised by each 留存; 再次留存 and 提交 send the version they
were based on, and one over a newer 留存 (another client, a colleague) is refused with 409
naming who saved it when — as the pages refuse a stale 留存/提交.
"""

from flask import request
from marshmallow import fields, validate

from service.api import schemas
from service.api.blueprint import Blueprint
from service.api.common import Int32, PageArgs, actor, ctx, page_schema, uow
from service.api.planned import Schema
from service.services.workflow import drafts

blp = Blueprint("drafts", __name__, url_prefix="/api/v1", description="暂存表单")


class DraftSchema(Schema):
    id = fields.Integer()
    process_key = fields.String(metadata={"description": "业务类型"})
    process_name = fields.String(metadata={"description": "业务名称"})
    summary = fields.String(metadata={"description": "表单中的人员"})
    status = fields.String(metadata={"description": "暂存"})
    created_at = schemas.UtcDateTime()
    updated_at = schemas.UtcDateTime(metadata={"description": "最后留存时间"})
    version = fields.Integer(
        metadata={"description": "版本号：每次留存加1；再次留存、提交时原样送回"}
    )
    data = fields.Dict(metadata={"description": "暂存的表单数据（列表中不含）"})


DraftPageSchema = page_schema(DraftSchema, "DraftPageSchema")


class DraftQuery(PageArgs):
    key = fields.String(
        load_default=None,
        validate=validate.Length(max=64),
        metadata={"description": "只列出该业务类型的暂存表单"},
    )


def _based_on() -> Int32:
    return Int32(
        required=True,
        min=1,
        metadata={
            "description": "所依据的暂存表单版本号（打开时读到的 version）；"
            "其间他人再次留存过的，拒绝并答复409"
        },
    )


class UpdateDraftRequest(schemas.DataRequest):
    version = _based_on()


class SubmitDraftRequest(Schema):
    data = fields.Dict(
        load_default=None,
        metadata={"description": "最后修改后的表单数据；不填则按暂存的内容提交"},
    )
    version = _based_on()


@blp.route("/processes/<key>/drafts", methods=["POST"])
@blp.arguments(schemas.DataRequest)
@blp.response(201, DraftSchema)
@blp.alt_response(409, description="暂存表单已达50份；或同一 Idempotency-Key 留存的表单已提交")
def save(body, key):
    """留存：把未填完的发起表单暂存（不校验内容，提交时才校验）。带 Idempotency-Key
    再次留存时（重复发送），更新该 Key 第一次留存的暂存表单，不会另存一份"""
    key_header = request.headers.get("Idempotency-Key")
    with uow() as u:
        return drafts.save_draft(ctx(), u, actor(), key, body["data"], page_key=key_header)


@blp.route("/drafts")
@blp.arguments(DraftQuery, location="query")
@blp.response(200, DraftPageSchema)
def list_drafts(args):
    """暂存表单列表（单位的主账号和子账号共用；最后留存的在前）"""
    with uow() as u:
        return drafts.list_drafts(ctx(), u, actor(), **args)


@blp.route("/drafts/<int:draft_id>")
@blp.response(200, DraftSchema)
@blp.alt_response(404, description="暂存表单不存在或已提交")
def get_draft(draft_id):
    """打开一份暂存表单（含表单数据）"""
    with uow() as u:
        return drafts.get_draft(ctx(), u, actor(), draft_id)


@blp.route("/drafts/<int:draft_id>", methods=["PUT"])
@blp.arguments(UpdateDraftRequest)
@blp.response(200, DraftSchema)
@blp.alt_response(404, description="暂存表单不存在或已提交")
@blp.alt_response(409, description="其间他人再次留存过：message 说明由谁、何时留存")
def update_draft(body, draft_id):
    """再次留存：替换暂存的表单数据（version 须为打开时读到的版本号）"""
    with uow() as u:
        return drafts.update_draft(
            ctx(), u, actor(), draft_id, body["data"], version=body["version"]
        )


@blp.route("/drafts/<int:draft_id>", methods=["DELETE"])
@blp.response(204)
@blp.alt_response(404, description="暂存表单不存在或已提交")
def delete_draft(draft_id):
    """删除暂存表单"""
    with uow() as u:
        drafts.delete_draft(ctx(), u, actor(), draft_id)


@blp.route("/drafts/<int:draft_id>/submit", methods=["POST"])
@blp.arguments(SubmitDraftRequest)
@blp.response(201, schemas.InstanceSchema)
@blp.alt_response(200, schema=schemas.InstanceSchema, description="同一 Idempotency-Key 再次提交")
@blp.alt_response(409, description="其间他人再次留存过：message 说明由谁、何时留存")
@blp.alt_response(422, description="表单或办理条件不符：暂存表单保留，errors 说明原因")
@blp.doc(parameters=[schemas.IDEMPOTENCY_KEY])
def submit(body, draft_id):
    """提交暂存表单：发起业务并删除该暂存表单（校验不通过时暂存表单保留；version 须为
    打开时读到的版本号）"""
    with uow() as u:
        view, created = drafts.submit_draft(
            ctx(),
            u,
            actor(),
            draft_id,
            body["data"],
            idempotency_key=request.headers.get("Idempotency-Key"),
            version=body["version"],
        )
    return view, 201 if created else 200
