"""The Excel exports: member archive, invoice records, enrolment list, learning progress.

Each export runs the same filtered query as its list, streams the rows from the database
in chunks (`yield_per`: a server-side cursor on PostgreSQL) and writes them with
openpyxl's write-only mode into the file object it is given, so memory does not grow
with the number of rows. Times are shown in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from datetime import date, datetime
from typing import BinaryIO

from sqlalchemy import Row, Select, func, select

from service.db.models import (
    Bill,
    BillReceipt,
    Certificate,
    InstancePerson,
    LearningTask,
    Member,
    ProcessInstance,
    Unit,
)
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.person_facts import CERTIFICATE_TYPES
from service.domain.validation import clean_code
from service.services.documents.excel import Column, write_workbook
from service.services.education import learning
from service.services.membership.members import (
    ArchiveFilters,
    archive_order,
    archive_query,
    archive_record,
    unit_in_scope,
)
from service.services.workflow.bills import receipt_or_form
from service.services.workflow.context import SHANGHAI, Context
from service.services.workflow.instances import instances_query
from service.services.workflow.persons import (
    first_enrolment,
    gives_first_certificate,
    held_specialty,
)
from service.services.workflow.scope import is_unit_admin, lines_in_scope, sees_everything

CHUNK = 500
ISSUER = "广东省建设监理协会"
# the name a document was issued to: the unit's then (bill_receipts.payer_name), or for a
# document registered before that was kept (migration 0038) the unit's name now
ISSUED_TO = func.coalesce(BillReceipt.payer_name, Unit.name)


def unit_named(unit: str | None, issued: bool = False) -> list:
    """The conditions of a unit filter: part of its name or its full credit code (`issued`:
    of a document, by the name it was issued to as well: a unit renamed later is found by
    either name). 开票记录's list and its export read the same."""
    if not unit or not unit.strip():
        return []
    text = unit.strip()
    found = Unit.name.contains(text, autoescape=True) | (Unit.credit_code == clean_code(text))
    if issued:
        found = found | BillReceipt.payer_name.contains(text, autoescape=True)
    return [found]


ENROLMENT_GROUP = "enrolment"  # the processes whose BPMN declares export_group="enrolment"


def enrolment_processes(ctx: Context) -> list[str]:
    """The education businesses whose forms the 报名表 lists (their BPMN says so)."""
    return ctx.definitions.declaring(lambda d: d.export_group == ENROLMENT_GROUP)


def _stream(uow: UnitOfWork, stmt: Select) -> Iterator[Row]:
    """The rows of `stmt`, fetched CHUNK at a time; the query runs at the first row taken
    (an export refused on its size before that leaves no cursor open)."""
    result = uow.session.execute(stmt.execution_options(yield_per=CHUNK))
    try:
        yield from result
    finally:
        result.close()


def _reporting(uow: UnitOfWork, stmt: Select, rows: Iterable, progress) -> Iterable:
    """`rows`, telling a background job's `progress` how many of how many are written."""
    if progress is None:
        return rows
    total = uow.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    return progress.track(rows, total)


def _local(value: datetime | None) -> datetime | None:
    """A stored naive-UTC time as Shanghai wall-clock time."""
    return value + SHANGHAI if value is not None else None


def _yes_no(value) -> str:
    return "是" if value else "否"


# --- 单位人员档案导出表 -----------------------------------------------------------------

ARCHIVE_COLUMNS = [
    Column("普通会员", width=10),
    Column("专业会员", width=10),
    Column("姓名", width=10),
    Column("身份证号", width=21),
    Column("普通会籍有效期", "date", 14),
    Column("专业会籍有效期", "date", 14),
    Column("性别", width=6),
    Column("年龄", "number", 6),
    Column("手机号", width=13),
    Column("学历", width=8),
    Column("毕业院校", width=18),
    Column("所学专业", width=16),
    Column("专业类别", width=12),  # beside the manual's columns: the education rules read it
    Column("毕业时间", "date", 12),
    Column("职称", width=8),
    Column("入会日期", "date", 12),
    Column("所在工作单位", width=28),
    Column("资料审核（初审机构）", width=24),
    Column("状态", width=12),
] + [
    Column(f"{cert_type}{header}", kind, width)
    for cert_type in CERTIFICATE_TYPES
    for header, kind, width in (
        ("证书编号", "text", 18),
        ("专业1", "text", 14),
        ("专业2", "text", 14),
        ("有效期", "date", 12),
        ("证书状态", "text", 10),
    )
]


def _archive_row(record: dict) -> tuple:
    certs = {c["type"]: c for c in record["certificates"]}
    cert_cells = []
    for cert_type in CERTIFICATE_TYPES:
        c = certs.get(cert_type) or {}
        cert_cells += [
            c.get("number"),
            c.get("specialty_1"),
            c.get("specialty_2"),
            c.get("valid_until"),
            c.get("status_label"),
        ]
    r = record
    return (
        r["ordinary_membership"],
        r["professional_membership"],
        r["name"],
        r["id_number"],
        r["ordinary_valid_until"],
        r["professional_valid_until"],
        r["gender"],
        r["age"],
        r["mobile"],
        r["education_level"],
        r["school"],
        r["major"],
        r["major_category"],
        r["graduated_on"],
        r["title"],
        r["joined_on"],
        r["unit_name"],
        r["agency_name"],
        r["status"],
        *cert_cells,
    )


def export_archive(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    filters: ArchiveFilters,
    target: BinaryIO,
    progress=None,
    sort: str = "archive",
) -> int:
    """单位人员档案导出表: the archive list's rows (same filters, same order: `sort`, one of
    members.ARCHIVE_SORTS) into `target`; rows written.

    `progress` (a background job's) hears how many rows of how many are written.
    """
    unit_in_scope(uow, actor, unit_id)
    today = ctx.today()
    names = ctx.definitions.names()
    stmt = archive_query(unit_id, today, filters, names)
    stmt = stmt.order_by(*archive_order(stmt, sort))
    rows = (_archive_row(archive_record(row, today, names)) for row in _stream(uow, stmt))
    return write_workbook(
        target, "单位人员档案", ARCHIVE_COLUMNS, _reporting(uow, stmt, rows, progress)
    )


# --- 开票记录 ---------------------------------------------------------------------------

BILL_COLUMNS = [
    Column("开票日期", "date", 12),
    Column("单位名称", width=28),
    Column("开票机构", width=20),
    Column("票据编码", width=16),
    Column("票据名称", width=14),
    Column("票据代码", width=16),
    Column("票号", width=20),
    Column("单号", width=20),
    Column("业务类型", width=20),
    Column("费用类型", width=14),
    Column("金额", "money", 12),
    Column("缴款人", width=28),
    Column("缴费人员", width=16),
]


def receipt_range(
    ctx: Context, receipt_from: date | None, receipt_to: date | None
) -> tuple[date, date]:
    """The receipt date range (the list's and its Excel's); by default from 1 January of the
    end's year to today. A start after the end is refused saying both, the end being today
    when none was given."""
    given_end = receipt_to
    receipt_to = receipt_to or ctx.today()
    receipt_from = receipt_from or date(receipt_to.year, 1, 1)
    if receipt_from > receipt_to:
        end = f"{receipt_to}" if given_end else f"默认为今天 {receipt_to}"
        raise FormInvalid(
            {"receipt_from": f"开票日期起（{receipt_from}）不能晚于开票日期止（{end}）"}
        )
    return receipt_from, receipt_to


def _bill_scope(actor: Actor, unit_id: int | None) -> list:
    if is_unit_admin(actor):
        if unit_id is not None and unit_id != actor.unit_id:
            raise NotFound("单位不存在")
        return [Bill.unit_id == actor.unit_id]
    if not sees_everything(actor):
        raise NotFound("没有可查看的开票记录")
    return [Bill.unit_id == unit_id] if unit_id is not None else []


def export_bills(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    target: BinaryIO,
    receipt_from: date | None = None,
    receipt_to: date | None = None,
    unit_id: int | None = None,
    progress=None,
    q: str | None = None,
    unit: str | None = None,
) -> int:
    """开票记录: the documents of confirmed bills whose receipt date is in the range (and,
    with `q`, of that 票号 or form number, with `unit`, of a unit by its name then or now or
    its credit code, as the list searches), newest first as the list
    shows them, a row each (a bill with a support fee and a lapsed membership's fee has two:
    its 电子发票 and its 电子财政收据, each of its own amount), then a 合计 row (the number of
    rows and their amount, as the list's 合计 says); rows written."""
    start, end = receipt_range(ctx, receipt_from, receipt_to)
    stmt = (
        select(
            BillReceipt.receipt_date,
            ISSUED_TO.label("name"),
            BillReceipt.receipt_serial,
            BillReceipt.receipt_type,
            BillReceipt.receipt_code,
            BillReceipt.receipt_number,
            ProcessInstance.business_key,
            ProcessInstance.process_key,
            BillReceipt.fee_kind,
            BillReceipt.amount,
            ProcessInstance.subject_name,
        )
        .select_from(BillReceipt)
        .join(Bill, Bill.id == BillReceipt.bill_id)
        .join(ProcessInstance, ProcessInstance.id == Bill.instance_id)
        .outerjoin(Unit, Unit.id == Bill.unit_id)
        .where(
            Bill.status == "confirmed",
            BillReceipt.receipt_date >= start,
            BillReceipt.receipt_date <= end,
            *_bill_scope(actor, unit_id),
            *receipt_or_form(q),
            *unit_named(unit, issued=True),
        )
        .order_by(BillReceipt.receipt_date.desc(), BillReceipt.id.desc())
    )
    names = _process_names(ctx)
    rows = (
        (
            r.receipt_date,
            r.name,
            ISSUER,
            r.receipt_serial,
            r.receipt_type,
            r.receipt_code,
            r.receipt_number,
            r.business_key,
            names.get(r.process_key, r.process_key),
            r.fee_kind,
            r.amount,
            r.name or r.subject_name,
            r.subject_name,
        )
        for r in _stream(uow, stmt)
    )
    return write_workbook(
        target, "开票记录", BILL_COLUMNS, _reporting(uow, stmt, rows, progress), totals=True
    )


def _process_names(ctx: Context) -> dict[str, str]:
    return {key: defn.name for key, defn in ctx.definitions.current.items()}


# --- 报名表 -----------------------------------------------------------------------------

ENROLMENT_COLUMNS = [
    Column("单号", width=20),
    Column("业务类型", width=18),
    Column("培训类别", width=20),
    Column("姓名", width=10),
    Column("身份证号", width=21),
    Column("专业1", width=14),
    Column("专业2", width=14),
    Column("是否首次", width=8),
    Column("单位名称", width=28),
    Column("单据状态", width=12),
    Column("提交时间", "datetime", 20),
]


def training_category(ctx: Context, process_key: str, certificate_type: str | None) -> str:
    """培训类别 as the manual writes it, e.g. 安全监理员初始教育 (the BPMN's
    `training_category`, else the process's name; an unknown key stays as it is)."""
    defn = ctx.definitions.current.get(process_key)
    if defn is None:
        return process_key
    return defn.declarations.training_label(defn.name, certificate_type)


def _first_time_processes(ctx: Context, keys: list[str]) -> list[str]:
    """The enrolment processes whose forms may be a person's first (是否首次)."""
    current = ctx.definitions.current
    return [k for k in keys if k in current and gives_first_certificate(current[k])]


def _check_enrolment_filters(ctx: Context, process, submitted_from, submitted_to) -> list[str]:
    """The enrolment processes, after checking the filters against them."""
    keys = enrolment_processes(ctx)
    if process is not None and process not in keys:
        raise FormInvalid({"process": "业务类型应为 " + "、".join(keys)})
    if None not in (submitted_from, submitted_to) and submitted_from > submitted_to:
        raise FormInvalid({"submitted_from": "提交日期起不能晚于提交日期止"})
    return keys


def export_enrolments(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    target: BinaryIO,
    process: str | None = None,
    status: str | None = None,
    q: str | None = None,
    submitted_from: date | None = None,
    submitted_to: date | None = None,
    progress=None,
) -> int:
    """报名表: one row per person on the caller's education forms, newest form first."""
    keys = _check_enrolment_filters(ctx, process, submitted_from, submitted_to)
    forms = (
        instances_query(
            actor,
            key=process,
            status=status,
            q=q,
            submitted_from=submitted_from,
            submitted_to=submitted_to,
        )
        .where(ProcessInstance.process_key.in_(keys))
        .with_only_columns(ProcessInstance.id)
        .subquery()
    )
    stmt = (
        select(
            ProcessInstance.business_key,
            ProcessInstance.process_key,
            ProcessInstance.status,
            ProcessInstance.submitted_at,
            Unit.name.label("unit_name"),
            InstancePerson.name,
            InstancePerson.id_number,
            InstancePerson.certificate_type,
            InstancePerson.line,
            first_enrolment(_first_time_processes(ctx, keys)).label("first"),
            held_specialty(Certificate.specialty_1).label("held_specialty_1"),
            held_specialty(Certificate.specialty_2).label("held_specialty_2"),
        )
        .select_from(InstancePerson)
        .join(forms, forms.c.id == InstancePerson.instance_id)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .outerjoin(Unit, Unit.id == ProcessInstance.unit_id)
        .where(*lines_in_scope(actor))  # a member: their own line of each form
        .order_by(ProcessInstance.id.desc(), InstancePerson.position)
    )
    names = _process_names(ctx)
    rows = _enrolment_rows(ctx, _stream(uow, stmt), names)
    return write_workbook(
        target, "报名表", ENROLMENT_COLUMNS, _reporting(uow, stmt, rows, progress)
    )


def _enrolment_rows(ctx: Context, rows: Iterable[Row], names: dict[str, str]) -> Iterator[tuple]:
    for r in rows:
        line = r.line if isinstance(r.line, dict) else {}
        specialties = (line.get("specialty_1"), line.get("specialty_2"))
        if not any(specialties):  # the line chose none: those of the certificate it is about
            specialties = (r.held_specialty_1, r.held_specialty_2)
        yield (
            r.business_key,
            names.get(r.process_key, r.process_key),
            training_category(ctx, r.process_key, r.certificate_type),
            r.name,
            r.id_number,
            *specialties,
            _yes_no(r.first),
            r.unit_name,
            r.status,
            _local(r.submitted_at),
        )


# --- 学习进度 ---------------------------------------------------------------------------

LEARNING_COLUMNS = [
    Column("学时", width=8),
    Column("姓名", width=10),
    Column("身份证号", width=21),
    Column("性别", width=6),
    Column("手机号", width=13),
    Column("培训类别", width=20),
    Column("学习状态", width=10),
    Column("学习开始时间", "datetime", 20),
    Column("截止日期", "date", 12),
    Column("考试次数", "number", 8),
    Column("考试通过时间", "datetime", 20),
    Column("单号", width=20),
]


def _hours(value) -> str:
    return f"{value.normalize():f}"


def export_learning(
    ctx: Context, uow: UnitOfWork, actor: Actor, target: BinaryIO, progress=None, **filters
) -> int:
    """学习进度: the learning list's rows (same filters and order) into `target`."""
    learning.check_progress_lookup(uow, actor)
    stmt = (
        learning.learning_query(actor, **filters)
        .add_columns(Member.gender, Member.mobile, ProcessInstance.business_key)
        .outerjoin(Member, Member.id == LearningTask.member_id)
        .join(ProcessInstance, ProcessInstance.id == LearningTask.instance_id)
        .order_by(LearningTask.id.desc())
    )
    rows = (
        (
            f"{_hours(t.completed_hours)}/{_hours(t.required_hours)}",
            t.name,
            t.id_number,
            gender,
            mobile,
            training_category(ctx, t.process_key, t.certificate_type),
            t.status,
            _local(t.opened_at),
            t.deadline,
            t.exam_attempts,
            _local(t.passed_at),
            business_key,
        )
        for t, gender, mobile, business_key in _stream(uow, stmt)
    )
    return write_workbook(
        target, "学习进度", LEARNING_COLUMNS, _reporting(uow, stmt, rows, progress)
    )
