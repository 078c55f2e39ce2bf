"""Marshmallow schemas of the REST API: what requests carry and what replies hold."""

from __future__ import annotations

from datetime import UTC

from flask import current_app
from marshmallow import ValidationError, fields, validate

from service.api.common import Int32, PageArgs, page_schema
from service.api.planned import Schema
from service.domain.person_facts import CERTIFICATE_TYPES


def known_process(value: str) -> None:
    """A business type (process key) that is deployed; else the parameter is wrong (422)."""
    if value not in current_app.extensions["memberflow"].definitions.current:
        raise ValidationError(f"没有名为 {value} 的业务类型")


def known_status(value: str) -> None:
    """A status label the deployed diagrams can show; else the parameter is wrong (422)."""
    from service.services.workflow.instances import known_statuses

    labels = known_statuses(current_app.extensions["memberflow"].definitions)
    if value not in labels:
        raise ValidationError(f"没有“{value}”这个状态，可选：" + "、".join(labels))


class UtcDateTime(fields.DateTime):
    """Naive UTC from the database, written with its offset."""

    def _serialize(self, value, attr, obj, **kwargs):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return super()._serialize(value, attr, obj, **kwargs)


# a start that may be repeated: the same key within the same account creates one form
IDEMPOTENCY_KEY = {
    "in": "header",
    "name": "Idempotency-Key",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": 100},
    "description": "重复提交时只创建一张表单：同一账号（或同一申请码）用同一值再次提交同一业务、"
    "同一内容，返回已创建的表单；同一值用于另一业务或不同内容时返回 422",
}


class ErrorSchema(Schema):
    """Every error reply (4xx and 5xx)."""

    code = fields.Integer(required=True, metadata={"description": "HTTP 状态码"})
    status = fields.String(
        required=True, metadata={"description": "HTTP 状态名，如 Unprocessable Entity"}
    )
    message = fields.String(required=True, metadata={"description": "给使用者看的中文说明"})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.Raw(),
        metadata={
            "description": "字段路径 → 说明，如 persons.0.id_number、page_size；"
            "办理条件不符时 eligibility 为全部原因（列表），persons.N 为第 N+1 行人员的原因"
        },
    )


class TokenRequest(Schema):
    username = fields.String(
        required=True, metadata={"description": "登录名：单位全称、手机号、身份证号或工作人员账号"}
    )
    password = fields.String(required=True)


class UserSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    roles = fields.List(fields.String())
    unit_id = fields.Integer(allow_none=True)
    agency_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True)


class TokenSchema(Schema):
    access_token = fields.String()
    token_type = fields.String()
    expires_in = fields.Integer(metadata={"description": "有效秒数"})
    user = fields.Nested(UserSchema)


class DataRequest(Schema):
    data = fields.Dict(
        required=True, metadata={"description": "表单数据，按该流程/任务的表单 JSON Schema 填写"}
    )


class TaskBriefSchema(Schema):
    id = fields.Integer()
    task_name = fields.String(metadata={"description": "BPMN 中的任务 id"})
    title = fields.String()
    role = fields.String()
    status = fields.String(metadata={"description": "办理该任务时表单的状态"})
    claimed_by = fields.Integer(allow_none=True)
    claimed_at = UtcDateTime(allow_none=True)
    created_at = UtcDateTime()


class InstanceSchema(Schema):
    id = fields.Integer()
    process_key = fields.String()
    process_name = fields.String()
    business_key = fields.String(metadata={"description": "单号，如 RH-20260402000001"})
    status = fields.String(
        metadata={"description": "状态，如 单位预审中、机构初审中、审批完成、退回"}
    )
    unit_id = fields.Integer(allow_none=True)
    agency_id = fields.Integer(allow_none=True)
    member_id = fields.Integer(allow_none=True)
    subject_name = fields.String(allow_none=True)
    subject_id_number = fields.String(allow_none=True)
    finished = fields.Boolean()
    submitted_at = UtcDateTime()
    updated_at = UtcDateTime()
    finished_at = UtcDateTime(allow_none=True)
    open_tasks = fields.List(fields.Nested(TaskBriefSchema))
    unit_name = fields.String(allow_none=True, metadata={"description": "单位名称（列表中）"})
    person_count = fields.Integer(metadata={"description": "报名人数"})
    amount = fields.String(allow_none=True, metadata={"description": "金额总计（有缴费单时）"})
    agency_name = fields.String(allow_none=True, metadata={"description": "初审机构（列表中）"})
    member_levels = fields.List(
        fields.String(),
        metadata={"description": "入会申请的会员级别：普通会员、专业会员（列表中；其他业务为空）"},
    )
    returned_reason = fields.String(
        allow_none=True,
        metadata={"description": "退回原因：表单最近一次审核为退回时的审核意见（列表中）"},
    )


class ApprovalStepSchema(Schema):
    action = fields.String(
        metadata={
            "description": "start 发起 / complete 通过或提交 / return 退回 / "
            "withdraw 单位撤回 / terminate 终止"
        }
    )
    task_name = fields.String(allow_none=True)
    task_title = fields.String()
    actor_id = fields.Integer(allow_none=True)
    actor_name = fields.String()
    at = UtcDateTime()
    decision = fields.String(allow_none=True)
    remark = fields.String(allow_none=True)
    status_before = fields.String(allow_none=True)
    status_after = fields.String(allow_none=True)


class InstanceDetailSchema(InstanceSchema):
    bill = fields.Nested(
        "BillSchema", allow_none=True, metadata={"description": "缴费单（有缴费环节的业务）"}
    )
    data = fields.Dict()
    approval_record = fields.List(fields.Nested(ApprovalStepSchema))
    version = fields.Integer(metadata={"description": "表单所用的流程版本号（该业务类型的第几版）"})


# keyset paging of the long lists: a page names the next one; `after` seeks straight to it
AFTER_DESCRIPTION = (
    "翻页游标：原样传回上一页的 next_after，从那一页之后接着读（按索引定位，深页也快）；"
    "给出时页码由游标推出，page 不再起作用；游标无效时答 422"
)


def after_field() -> fields.String:
    """The `after` query parameter of a list with keyset paging."""
    return fields.String(
        validate=validate.Length(min=1, max=400), metadata={"description": AFTER_DESCRIPTION}
    )


def next_after_field() -> fields.String:
    """A page's `next_after`: the cursor of the page after it (null on the last page)."""
    return fields.String(
        allow_none=True,
        metadata={"description": "下一页的游标，作为 after 传回；已是最后一页时为 null"},
    )


InstancePageSchema = page_schema(
    InstanceSchema,
    "InstancePageSchema",
    next_after=next_after_field(),
    total_capped=fields.Boolean(
        metadata={"description": "总数只数到 10000 条：超过时 total 为 10000、本项为 true"}
    ),
)


class InstanceFilters(Schema):
    key = fields.String(metadata={"description": "业务类型（流程 key）"})
    q = fields.String(
        metadata={"description": "所列任一人员的姓名（部分即可）、完整身份证号或完整单号"}
    )
    submitted_from = fields.Date(metadata={"description": "提交日期起（含）"})
    submitted_to = fields.Date(metadata={"description": "提交日期止（含）"})


class InstanceQuery(InstanceFilters, PageArgs):
    status = fields.String(metadata={"description": "状态，如 机构初审中"})
    after = after_field()


class SummarySchema(Schema):
    counts = fields.Dict(keys=fields.String(), values=fields.Integer())
    total = fields.Integer()


class TaskFilters(Schema):
    scope = fields.String(
        load_default="available",
        validate=validate.OneOf(["available", "mine", "done", "claimed"]),
        metadata={
            "description": "available 可认领及我已认领的 / mine 我已认领的 / done 我已办理的"
            " / claimed 全部已被认领的（仅秘书处管理员）"
        },
    )
    key = fields.String(metadata={"description": "业务类型（流程 key）"})
    task_name = fields.String(metadata={"description": "办理环节（BPMN 中的任务 id）"})
    q = fields.String(
        metadata={"description": "姓名或单位名称（部分）、身份证号（完整或后四位）、单号（完整）"}
    )
    agency_id = Int32(metadata={"description": "会员服务机构（仅协会审核、协会财务、秘书处可用）"})
    submitted_from = fields.Date(metadata={"description": "提交日期起（含）"})
    submitted_to = fields.Date(metadata={"description": "提交日期止（含）"})


class TaskQuery(TaskFilters, PageArgs):
    sort = fields.String(
        validate=validate.OneOf(["waiting", "submitted", "submitted_asc", "completed"]),
        metadata={
            "description": "waiting 等待最久的在前（待办默认）/ submitted 最新提交的在前"
            " / submitted_asc 最早提交的在前 / completed 最新办结的在前（已办默认，仅已办）"
        },
    )
    after = after_field()


class TaskInstanceSchema(Schema):
    id = fields.Integer()
    business_key = fields.String(metadata={"description": "单号"})
    process_key = fields.String()
    process_name = fields.String()
    status = fields.String()
    subject_name = fields.String(allow_none=True)
    subject_id_number = fields.String(allow_none=True)
    unit_id = fields.Integer(allow_none=True)
    unit_name = fields.String(allow_none=True)
    agency_id = fields.Integer(allow_none=True)
    agency_name = fields.String(allow_none=True)
    person_count = fields.Integer(metadata={"description": "报名人数"})
    submitted_at = UtcDateTime()


class TaskHeldSchema(TaskBriefSchema):
    claimed_by_name = fields.String(allow_none=True, metadata={"description": "认领人姓名"})


class TaskListItemSchema(TaskHeldSchema):
    completed_by = fields.Integer(allow_none=True)
    completed_at = UtcDateTime(allow_none=True)
    completed_by_name = fields.String(allow_none=True, metadata={"description": "办理人姓名"})
    waiting_since = UtcDateTime(metadata={"description": "进入该环节的时间"})
    stuck = fields.Boolean(
        metadata={"description": "表单在流程中出错、有待处理的事故（见 GET /incidents）"}
    )
    instance = fields.Nested(TaskInstanceSchema)


TaskPageSchema = page_schema(
    TaskListItemSchema,
    "TaskPageSchema",
    next_after=next_after_field(),
    total_capped=fields.Boolean(
        metadata={
            "description": "已办列表的总数只数到 10000 条：超过时 total 为 10000、本项为 true"
            "（仅已办列表返回）"
        }
    ),
)


class TaskDetailSchema(TaskBriefSchema):
    state = fields.String()
    form = fields.Dict(metadata={"description": "表单的 JSON Schema"})
    instance = fields.Dict()
    values = fields.Dict(
        metadata={
            "description": "表单各字段的现有值（不含只读字段与本环节的 decision、remark）："
            "提交时以此为起点修改后整体提交——表单只按提交的内容校验，不与已有数据合并"
        }
    )


class TaskCountSchema(Schema):
    task_name = fields.String()
    title = fields.String()
    count = fields.Integer()


class ProcessCountSchema(Schema):
    process_key = fields.String()
    process_name = fields.String()
    count = fields.Integer()
    tasks = fields.List(fields.Nested(TaskCountSchema))


class QueueCountsSchema(Schema):
    total = fields.Integer()
    by_process = fields.List(fields.Nested(ProcessCountSchema))


class ReassignRequest(Schema):
    account_id = Int32(required=True, metadata={"description": "转办给哪个账号"})


class AssigneeSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    username = fields.String()


class CompletedSchema(Schema):
    id = fields.Integer()
    business_key = fields.String()
    status = fields.String()
    finished = fields.Boolean()
    open_tasks = fields.List(fields.Nested(TaskBriefSchema))


class ProcessSchema(Schema):
    key = fields.String()
    name = fields.String()
    version = fields.Integer(
        metadata={"description": "新表单所用的版本号：该业务类型的第几版（1、2、3…）"}
    )
    digest = fields.String(metadata={"description": "该版本文件内容的哈希"})
    start_role = fields.String(allow_none=True)
    start_roles = fields.List(fields.String(), metadata={"description": "可发起该业务的角色"})
    lanes = fields.Dict(keys=fields.String(), values=fields.String())
    start_form = fields.Dict()


class ProcessDetailSchema(ProcessSchema):
    bpmn = fields.String()
    tasks = fields.List(fields.Dict())


class JoinCodeRequest(Schema):
    variant = fields.String(
        required=True,
        validate=validate.OneOf(["full", "short"]),
        metadata={"description": "full 完整版 / short 简码版"},
    )


class JoinCodeSchema(Schema):
    code = fields.String()
    unit_id = fields.Integer()
    unit_name = fields.String()
    variant = fields.String()
    variant_label = fields.String()
    expires_at = UtcDateTime()
    expires_on = fields.Date(metadata={"description": "二维码有效期至"})
    url = fields.String()
    qr_url = fields.String()
    form = fields.Dict()


class AgencyRequest(Schema):
    name = fields.String(
        required=True, validate=validate.Length(min=1, max=100), metadata={"label": "机构名称"}
    )
    city = fields.String(required=True, validate=validate.Length(min=1, max=50))
    address = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "地址"},
    )
    phone = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=100),
        metadata={"description": "电话，如 020-83338979；多个用、分隔"},
    )
    qq_group = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=20),
        metadata={"description": "QQ工作群号（5至12位数字）"},
    )
    website = fields.String(
        load_default=None,
        allow_none=True,
        validate=validate.Length(max=200),
        metadata={"description": "网址（http:// 或 https://）"},
    )


class AgencySchema(Schema):
    id = fields.Integer()
    name = fields.String(metadata={"description": "机构名称"})
    city = fields.String(metadata={"description": "所在城市"})
    address = fields.String(allow_none=True, metadata={"description": "地址"})
    phone = fields.String(allow_none=True, metadata={"description": "电话"})
    qq_group = fields.String(allow_none=True, metadata={"description": "QQ工作群号"})
    website = fields.String(allow_none=True, metadata={"description": "网址"})


class AgencyDirectoryItemSchema(AgencySchema):
    own = fields.Boolean(metadata={"description": "true：调用者所属的会员服务机构（排在最前）"})


class AgencyDirectorySchema(Schema):
    items = fields.List(fields.Nested(AgencyDirectoryItemSchema))
    total = fields.Integer()


# the password is chosen by the secretariat, not the account's owner: as on the pages, the
# owner replaces it at the first sign-in unless the request says otherwise
MUST_CHANGE_PASSWORD = {
    "description": "首次登录时须修改密码（默认 true：密码由秘书处设定而非账号本人，"
    "与页面上新增账号时的一次性密码相同）；false：账号本人可直接使用该密码"
}


class UnitRequest(Schema):
    name = fields.String(
        required=True, validate=validate.Length(min=2, max=200), metadata={"label": "单位名称"}
    )
    credit_code = fields.String(required=True)
    agency_id = Int32(required=True)
    member_unit = fields.Boolean(load_default=False)
    password = fields.String(required=True)
    must_change_password = fields.Boolean(load_default=True, metadata=MUST_CHANGE_PASSWORD)


class StaffRequest(Schema):
    username = fields.String(required=True, validate=validate.Length(min=2, max=100))
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    password = fields.String(required=True)
    role = fields.String(required=True)
    agency_id = Int32(load_default=None, allow_none=True)
    must_change_password = fields.Boolean(load_default=True, metadata=MUST_CHANGE_PASSWORD)


class SubAccountRequest(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=100))
    mobile = fields.String(required=True)
    password = fields.String(required=True)


class CreatedSchema(Schema):
    id = fields.Integer()


class FileSchema(Schema):
    id = fields.String()
    name = fields.String()
    size = fields.Integer()
    content_type = fields.String()


class FileUpload(Schema):
    file = fields.Raw(
        required=True,
        error_messages={"required": "请上传文件（multipart/form-data 的 file 部分）"},
        metadata={"type": "string", "format": "binary"},
    )


class EligibilityQuery(PageArgs):
    process = fields.String(
        required=True,
        validate=known_process,
        metadata={"description": "业务类型，如 initial_education"},
    )
    certificate_type = fields.String(
        validate=validate.OneOf(CERTIFICATE_TYPES),
        metadata={"description": "证书类型（初始教育、继续教育须选择）"},
    )
    reason = fields.String(
        validate=validate.OneOf(["new_employment", "unit_renamed"]),
        metadata={"description": "证书变更原因：new_employment / unit_renamed"},
    )


class EligibilityItemSchema(Schema):
    member_id = fields.Integer()
    id_number = fields.String()
    name = fields.String()
    eligible = fields.Boolean()
    reasons = fields.List(fields.String(), metadata={"description": "不符合的原因"})
    cancels_membership = fields.Boolean(
        metadata={"description": "证书注销：是否将同时注销普通会员会籍"}
    )
    membership_note = fields.String(allow_none=True)


EligibilityPageSchema = page_schema(
    EligibilityItemSchema,
    "EligibilityPageSchema",
    process=fields.String(),
    process_name=fields.String(),
    certificate_type=fields.String(allow_none=True),
)


class PreviewItemSchema(EligibilityItemSchema):
    index = fields.Integer()
    support_fee = fields.String(
        metadata={"description": "会员教育辅助费（元），收费业务的符合条件人员"}
    )
    membership_fee = fields.String(metadata={"description": "随业务加收的个人会员会费（元）"})


class PreviewSchema(Schema):
    process = fields.String()
    process_name = fields.String()
    items = fields.List(fields.Nested(PreviewItemSchema))
    fee_total = fields.String(
        allow_none=True,
        metadata={"description": "金额总计（元）：收费业务且人员均符合条件时给出"},
    )


class LearningRecordSchema(Schema):
    id_number = fields.String(required=True, metadata={"description": "身份证号"})
    name = fields.String(required=True, metadata={"description": "姓名"})
    completed_hours = fields.Raw(required=True, metadata={"description": "已完成学时"})
    exam_status = fields.String(
        required=True, metadata={"description": "考试状态：未考试 / 未通过 / 已通过"}
    )
    exam_attempts = fields.Raw(required=True, metadata={"description": "考试次数（最多10次）"})
    business_key = fields.String(metadata={"description": "单号（同一人有多个学习任务时必填）"})


class LearningRecordsRequest(Schema):
    records = fields.List(
        fields.Nested(LearningRecordSchema), required=True, validate=validate.Length(min=1)
    )


class LearningImportSchema(Schema):
    received = fields.Integer(metadata={"description": "收到的记录数"})
    updated = fields.Integer(metadata={"description": "更新的学习任务数"})
    passed = fields.Integer(metadata={"description": "本次记为考试通过的人数"})
    failed = fields.Integer(
        metadata={"description": "本次考试次数用完仍未通过、学习结束（未通过）的人数"}
    )


class LearningQuery(PageArgs):
    status = fields.String(
        validate=validate.OneOf(["开课未学习", "学习中", "已通过", "未通过", "已过期"]),
        metadata={"description": "开课未学习 / 学习中 / 已通过 / 未通过 / 已过期"},
    )
    q = fields.String(metadata={"description": "姓名或身份证号"})
    mobile = fields.String(metadata={"description": "报考人手机号"})
    process = fields.String(
        validate=known_process,
        metadata={"description": "培训类别（业务类型，如 initial_education）"},
    )
    year = fields.Integer(
        validate=validate.Range(min=2000, max=2100), metadata={"description": "开始学习年份"}
    )
    opened_from = fields.Date(metadata={"description": "开始学习日期起（含）"})
    opened_to = fields.Date(metadata={"description": "开始学习日期止（含）"})


class LearningTaskSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    process_key = fields.String()
    id_number = fields.String()
    name = fields.String()
    certificate_type = fields.String(allow_none=True)
    required_hours = fields.String()
    completed_hours = fields.String()
    exam_attempts = fields.Integer()
    status = fields.String()
    deadline = fields.Date(allow_none=True)
    opened_at = UtcDateTime()
    passed_at = UtcDateTime(allow_none=True)


LearningPageSchema = page_schema(LearningTaskSchema, "LearningPageSchema")


class CertificateQuery(PageArgs):
    certificate_type = fields.String(
        validate=validate.OneOf(CERTIFICATE_TYPES),
        metadata={"description": "安全监理员 / 监理员 / 专业监理工程师"},
    )
    q = fields.String(metadata={"description": "姓名、身份证号或证书编号"})


class CertificateSchema(Schema):
    id = fields.Integer()
    member_id = fields.Integer()
    name = fields.String()
    id_number = fields.String()
    type = fields.String()
    number = fields.String()
    specialty_1 = fields.String(allow_none=True)
    specialty_2 = fields.String(allow_none=True)
    first_issued_on = fields.Date()
    renewed_on = fields.Date(allow_none=True)
    valid_until = fields.Date()
    unit_name = fields.String()
    status = fields.String(metadata={"description": "valid / expired / cancelled"})
    status_label = fields.String(metadata={"description": "有效 / 已过期 / 已注销"})


CertificatePageSchema = page_schema(CertificateSchema, "CertificatePageSchema")


class BillQuery(PageArgs):
    status = fields.String(
        validate=validate.OneOf(["unpaid", "paid", "confirmed"]),
        metadata={"description": "unpaid 未缴费 / paid 已缴费，待财务确认 / confirmed 财务已确认"},
    )


class BillReceiptSchema(Schema):
    receipt_type = fields.String(
        metadata={
            "description": "票据名称：电子财政收据（会员费）/ 电子发票（会员教育辅助费）；"
            "分开登记之前确认的缴费单为“电子发票、电子财政收据”"
        }
    )
    fee_kind = fields.String(metadata={"description": "费用类型：该票据所开的费用"})
    amount = fields.String(metadata={"description": "该票据的金额"})
    receipt_number = fields.String(allow_none=True, metadata={"description": "票号"})
    receipt_date = fields.Date(metadata={"description": "开票日期"})
    receipt_code = fields.String(allow_none=True, metadata={"description": "票据代码"})
    receipt_serial = fields.String(allow_none=True, metadata={"description": "票据编码"})


class BillSchema(Schema):
    id = fields.Integer()
    instance_id = fields.Integer()
    business_key = fields.String()
    process_key = fields.String()
    kind = fields.String(metadata={"description": "个人会员费 / 会员教育辅助费"})
    amount = fields.String()
    membership_amount = fields.String(metadata={"description": "其中补缴的会费"})
    lines = fields.List(fields.Dict())
    status = fields.String()
    status_label = fields.String()
    voucher_file_id = fields.String(allow_none=True)
    paid_at = UtcDateTime(allow_none=True)
    receipt_type = fields.String(
        metadata={
            "description": "电子财政收据 / 电子发票；教育辅助费与补缴的会员费同单时为"
            "“电子发票、电子财政收据”（各开一张）"
        }
    )
    receipt_number = fields.String(
        allow_none=True, metadata={"description": "票号（两张票据的为会员教育辅助费电子发票的）"}
    )
    receipt_date = fields.Date(allow_none=True)
    confirmed_at = UtcDateTime(allow_none=True)
    receipts = fields.List(
        fields.Nested(BillReceiptSchema),
        metadata={
            "description": "财务确认时登记的票据，每张一项：补缴会员费的教育缴费单有两张"
            "（会员教育辅助费的电子发票、个人会员费的电子财政收据）"
        },
    )


BillPageSchema = page_schema(BillSchema, "BillPageSchema")


class SpecialtyQuery(PageArgs):
    include_inactive = fields.Boolean(
        load_default=False, metadata={"description": "true 同时列出已停用的专业"}
    )
    page_size = Int32(
        load_default=200,
        min=1,
        max=200,
        metadata={"description": "每页条数，1–200（默认200：一页即全部专业）"},
    )


class SpecialtySchema(Schema):
    id = fields.Integer()
    name = fields.String()
    active = fields.Boolean()
    sort = fields.Integer()


SpecialtyPageSchema = page_schema(SpecialtySchema, "SpecialtyPageSchema")


class SpecialtyRequest(Schema):
    name = fields.String(required=True, metadata={"label": "专业名称", "description": "专业名称"})


class SpecialtyPatch(Schema):
    active = fields.Boolean()
    sort = Int32()


class StatisticsQuery(Schema):
    agency_id = Int32(
        load_default=None,
        metadata={"description": "只统计一个会员服务机构（仅协会审核、协会财务、秘书处可用）"},
    )


class YearIssuesSchema(Schema):
    year = fields.Integer(required=True)
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class HoldersSchema(Schema):
    single = fields.Integer(required=True, metadata={"description": "持一本有效证书的人数"})
    double = fields.Integer(required=True, metadata={"description": "持两本及以上的人数"})


class StatisticsSchema(Schema):
    scope = fields.String(
        required=True, metadata={"description": "unit（本单位）、agency（本机构）或 association"}
    )
    as_of = fields.Date(required=True, metadata={"description": "统计日（北京时间）"})
    counted_at = UtcDateTime(required=True, metadata={"description": "统计时间"})
    persons = fields.Integer(required=True, metadata={"description": "人员档案人数"})
    members = fields.Integer(required=True, metadata={"description": "会籍有效的会员人数"})
    valid_certificates = fields.Integer(required=True, metadata={"description": "有效证书总数"})
    certificates_by_type = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)
    issued_by_year = fields.List(fields.Nested(YearIssuesSchema), required=True)
    holders = fields.Nested(HoldersSchema, required=True)
    age_bands = fields.Dict(keys=fields.String(), values=fields.Integer(), required=True)


class ProcessVersionSchema(Schema):
    number = fields.Integer(metadata={"description": "版本号（该业务类型的第几版）"})
    digest = fields.String(metadata={"description": "文件内容的哈希"})
    deployed_at = UtcDateTime(metadata={"description": "部署时间"})
    deployed_by = fields.String(allow_none=True, metadata={"description": "部署者"})
    current = fields.Boolean(metadata={"description": "true：新表单使用此版本"})
    running = fields.Integer(metadata={"description": "使用此版本、办理中的表单数"})
    finished = fields.Integer(metadata={"description": "使用此版本、已结束的表单数"})


class ProcessVersionsSchema(Schema):
    process_key = fields.String()
    process_name = fields.String()
    items = fields.List(fields.Nested(ProcessVersionSchema))
