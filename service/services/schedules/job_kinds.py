"""What each kind of background job does: a check when it is started, and its work.

`check(ctx, uow, actor, params)` runs in the request: scope (404) and parameters (422)
are refused at once. `run(ctx, uow, actor, params, content, progress, done)` runs in a
worker as the job's owner: it reports rows through `progress`, and returns a FileResult
(kept for a day for download) or a Summary. Work that writes (the import) calls
`done(rows, summary)` before its own commit, so its changes and the job's end — its status
and its summary — are one transaction. Parameters
are JSON (dates as ISO text).
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from service.domain.errors import NotFound
from service.services.documents import certificate_documents, exports
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.education import learning
from service.services.membership import legacy_import, members
from service.services.workflow.instances import instances_query
from service.services.workflow.scope import may_record_learning

SPOOL_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class FileResult:
    name: str
    content_type: str
    content: bytes
    rows: int
    summary: dict | None = None


@dataclass(frozen=True)
class Summary:
    values: dict
    rows: int


@dataclass(frozen=True)
class Kind:
    title: str
    check: Callable
    run: Callable
    weight: int = 1  # one row's cost in export rows (the in-request limit is divided by it)


def _dated(params: dict, *names: str) -> dict:
    """`params` with the named ISO dates as dates."""
    out = dict(params)
    for name in names:
        if isinstance(out.get(name), str):
            out[name] = date.fromisoformat(out[name])
    return out


def _workbook(write: Callable, name: str) -> FileResult:
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as spool:
        rows = write(spool)
        spool.seek(0)
        return FileResult(name, XLSX_MIMETYPE, spool.read(), rows)


# --- 单位人员档案导出表 ---------------------------------------------------------------------

ARCHIVE_DATES = ("joined_from", "joined_to")


def _archive_filters(params: dict) -> tuple[int, members.ArchiveFilters, str]:
    values = _dated(params, *ARCHIVE_DATES)
    unit_id = values.pop("unit_id")
    sort = values.pop("sort", None) or "archive"  # the list's order, as the page showed it
    return unit_id, members.ArchiveFilters(**values), sort


def _check_archive(ctx, uow, actor, params) -> None:
    unit_id, filters, sort = _archive_filters(params)
    members.unit_in_scope(uow, actor, unit_id)
    filters.check()
    members.check_archive_sort(sort)


def _run_archive(ctx, uow, actor, params, _content, progress, _done) -> FileResult:
    unit_id, filters, sort = _archive_filters(params)
    return _workbook(
        lambda f: exports.export_archive(ctx, uow, actor, unit_id, filters, f, progress, sort),
        "单位人员档案导出表.xlsx",
    )


# --- 开票记录 ---------------------------------------------------------------------------------

BILL_DATES = ("receipt_from", "receipt_to")


def _check_bills(ctx, uow, actor, params) -> None:
    values = _dated(params, *BILL_DATES)
    exports.receipt_range(ctx, values.get("receipt_from"), values.get("receipt_to"))
    exports._bill_scope(actor, values.get("unit_id"))


def _run_bills(ctx, uow, actor, params, _content, progress, _done) -> FileResult:
    values = _dated(params, *BILL_DATES)
    return _workbook(
        lambda f: exports.export_bills(ctx, uow, actor, f, progress=progress, **values),
        "开票记录.xlsx",
    )


# --- 报名表 -----------------------------------------------------------------------------------

ENROLMENT_DATES = ("submitted_from", "submitted_to")


def _check_enrolments(ctx, uow, actor, params) -> None:
    values = _dated(params, *ENROLMENT_DATES)
    exports._check_enrolment_filters(
        ctx, values.get("process"), values.get("submitted_from"), values.get("submitted_to")
    )
    instances_query(actor)  # a role without forms is refused here


def _run_enrolments(ctx, uow, actor, params, _content, progress, _done) -> FileResult:
    values = _dated(params, *ENROLMENT_DATES)
    return _workbook(
        lambda f: exports.export_enrolments(ctx, uow, actor, f, progress=progress, **values),
        "报名表.xlsx",
    )


# --- 学习进度 ---------------------------------------------------------------------------------

LEARNING_DATES = ("opened_from", "opened_to")


def _check_learning(ctx, uow, actor, params) -> None:
    learning.check_progress_lookup(uow, actor)
    learning.learning_query(actor, **_dated(params, *LEARNING_DATES))


def _run_learning(ctx, uow, actor, params, _content, progress, _done) -> FileResult:
    values = _dated(params, *LEARNING_DATES)
    return _workbook(
        lambda f: exports.export_learning(ctx, uow, actor, f, progress=progress, **values),
        "学习进度.xlsx",
    )


# --- 电子证书批量下载 ---------------------------------------------------------------------------


def _check_certificates(ctx, uow, actor, params) -> None:
    certificate_documents.check_batch(
        ctx, uow, actor, params["unit_id"], params["member_ids"], params.get("certificate_type")
    )


def _run_certificates(ctx, uow, actor, params, _content, progress, _done) -> FileResult:
    name, spool = certificate_documents.unit_certificates_zip(
        ctx,
        uow,
        actor,
        params["unit_id"],
        params["member_ids"],
        progress,
        params.get("certificate_type"),  # the list's filter (a job queued before: none)
    )
    with spool:
        content = spool.read()
    return FileResult(name, "application/zip", content, progress.done)


# --- 学习记录导入 -------------------------------------------------------------------------------


def _check_import(ctx, uow, actor, params) -> None:
    if not may_record_learning(actor):
        raise NotFound("没有该功能")


def _run_import(ctx, uow, actor, params, content, progress, done) -> Summary:
    records = learning.read_workbook(content)
    progress.start(len(records))
    # the job's end (its status and summary) commits with the import, or not at all
    before_commit = lambda outcome: done(len(records), outcome)  # noqa: E731
    outcome = learning.record_results(ctx, uow, actor, records, before_commit)
    return Summary(outcome, len(records))


# --- 旧平台数据导入 -------------------------------------------------------------------------------


def _check_legacy(ctx, uow, actor, params) -> None:
    legacy_import.check_operator(actor)


def _run_legacy(ctx, uow, actor, params, content, progress, done) -> Summary:
    outcome = legacy_import.import_workbook(
        ctx,
        uow,
        actor,
        content,
        file_name=params.get("file_name", ""),
        dry_run=bool(params.get("dry_run")),
        progress=progress,
        before_commit=done,  # commits with the import, or not at all
    )
    return Summary(outcome, outcome["rows_total"])


KINDS: dict[str, Kind] = {
    "member_archive_export": Kind("单位人员档案导出", _check_archive, _run_archive),
    "bill_export": Kind("开票记录导出", _check_bills, _run_bills),
    "enrolment_export": Kind("报名表导出", _check_enrolments, _run_enrolments),
    "learning_export": Kind("学习进度导出", _check_learning, _run_learning),
    "certificate_zip": Kind("电子证书批量下载", _check_certificates, _run_certificates, weight=50),
    "learning_import": Kind("学习记录导入", _check_import, _run_import),
    "legacy_import": Kind("旧平台数据导入", _check_legacy, _run_legacy),
}
