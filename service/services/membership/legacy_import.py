"""Bringing the old platform's data: units, members, memberships and certificates from its
单位人员档案导出表 (one Excel file), by the secretariat.

The file streams through `xlsx_rows` (checked first against zip bombs and oversized
content, then read a row at a time) in chunks of CHUNK rows. Each row is checked on its own
(`legacy_rows`), against the rows before it (a repeated ID or certificate number, a unit
named two ways) and against the database (an unknown agency, a unit, member, login or
certificate number that belongs to someone else) — with one query per chunk, not per row.

All or nothing: every chunk is written in the same transaction while no row has failed;
one invalid row anywhere rolls everything back and the answer is 422 with each invalid
row's column and reason. A dry run checks and counts the same way and writes nothing.

Idempotent: units are matched by credit code, members by ID number, memberships by (member,
level), certificates by (member, type). What the file repeats is left unchanged; what it
changes is updated; the counts say which. The import never takes back what the new platform
did since: a membership or certificate cancelled here, or valid later than the file says,
is left as it is. An empty cell never clears a stored value.

New units get a main account (login = the full name) and new members a member login (the
ID number), both without a password: the secretariat or the unit issues one-time passwords.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from itertools import islice

from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid
from service.services.documents.excel_import import HEADER_IN_ROW_1, MB, Limits
from service.services.documents.xlsx_rows import stream_first_sheet
from service.services.membership.legacy_checks import FileState
from service.services.membership.legacy_rows import (
    LegacyRow,
    column_index,
    header_problems,
    read_row,
)
from service.services.membership.legacy_writes import (
    Plan,
    Writer,
    certificate_change,
    member_changes,
    membership_change,
)
from service.services.workflow import audit
from service.services.workflow.context import Context
from service.services.workflow.scope import may_manage_accounts

CHUNK = 1000
MAX_ROWS = 60_000
MAX_REPORTED = 500  # problems listed in a 422 (the dry run's row report lists every row)
LIMITS = Limits(
    max_rows=MAX_ROWS,
    max_unpacked=384 * MB,  # 50,000 rows of the export's 38 columns unpack to about 80 MB
    max_member=320 * MB,
    max_shared_strings=8 * MAX_ROWS,
    max_part_text=160 * 1024 * 1024,
    seconds=90.0,
)
ACTIONS = {"created": "新增", "updated": "更新", "unchanged": "无变化"}
KINDS = ("created", "updated", "unchanged", "kept")  # kept: the platform's newer record stays
_LOCK_KEY = 0x4C454741  # one import writes at a time (PostgreSQL advisory lock)


class _Import(FileState):
    """One import: the checks of `FileState`, the counts and row report, the writes."""

    def __init__(self, ctx: Context, uow: UnitOfWork, write: bool, row_report: bool):
        super().__init__(uow)
        self.now, self.today = ctx.now(), ctx.today()
        self.write = write
        self.term = ctx.policy("membership_validity_years", 1)
        self.writer = Writer(uow.session, self.now, self.today, self.term)
        self.errors: dict[str, str] = {}
        self.invalid = self.valid = 0
        self.report: list[dict] | None = [] if row_report else None

    def settle(self, rows: list[LegacyRow], found: dict) -> None:
        """Count every row, report it, and write the valid ones while nothing has failed."""
        plan = Plan()
        writing = self.write and not self.invalid and not any(r.problems for r in rows)
        if writing:  # before the plan: a member joining a new unit needs its id
            codes = sorted({r.credit_code for r in rows if self.units[r.credit_code].id is None})
            self.writer.create_units([(code, self.units[code]) for code in codes])
        for row in rows:
            if row.problems:
                self._refuse(row)
                continue
            self.valid += 1
            self.notes: list[str] = []
            action = self._plan_member(row, found, plan)
            self.counts[f"members_{action}"] += 1
            if self.report is not None:
                self.report.append({**self._line(row, action), "notes": self.notes})
        if writing:
            self.writer.write(plan)

    def _refuse(self, row: LegacyRow) -> None:
        self.invalid += 1
        for column, reason in row.problems:
            key = f"第{row.number}行.{column}"
            if key in self.errors:
                self.errors[key] += "；" + reason
            elif len(self.errors) < MAX_REPORTED:
                self.errors[key] = reason
        if self.report is not None:
            self.report.append(self._line(row, None))

    def _line(self, row: LegacyRow, action: str | None) -> dict:
        return {
            "row": row.number,
            "name": row.name,
            "id_number": row.id_number or row.typed_id,  # a refused number as it was typed
            "valid": action is not None,
            "action": ACTIONS.get(action or ""),
            "problems": [{"column": c, "reason": r} for c, r in row.problems],
            "notes": [],
        }

    def _plan_member(self, row: LegacyRow, found: dict, plan: Plan) -> str:
        unit = self.units[row.credit_code]
        member, _unit_name = found["members"].get(row.id_number, (None, None))
        if member is None:
            plan.new_members.append((row, unit))
            self.counts["memberships_created"] += len(row.memberships)
            self.counts["certificates_created"] += len(row.certificates)
            return "created"
        changes = member_changes(member, row, unit)
        touched = bool(changes)
        if changes:
            plan.member_updates.append({"id": member.id, **changes})
        for level, values in row.memberships.items():
            stored = found["memberships"].get((member.id, level))
            outcome = membership_change(stored, values, self.today, self.term)
            if outcome[0] == "kept":
                gone = stored.cancelled_on is not None
                self.notes.append(_kept(f"{level}会籍", stored.valid_until, gone))
            touched |= self._count("memberships", outcome, plan, member.id, level, values)
        for cert_type, values in row.certificates.items():
            stored = found["certificates"].get((member.id, cert_type))
            outcome = certificate_change(stored, values, self.today)
            if outcome[0] == "kept":
                gone = stored.status == "cancelled"
                self.notes.append(_kept(f"{cert_type}证书", stored.valid_until, gone))
            touched |= self._count(
                "certificates", outcome, plan, member.id, cert_type, values, unit
            )
        return "updated" if touched else "unchanged"

    def _count(self, what, outcome, plan, member_id, key, values, unit=None) -> bool:
        kind, record = outcome
        self.counts[f"{what}_{kind}"] += 1
        if kind == "created":
            getattr(plan, f"new_{what}").append((member_id, key, values, unit))
        elif kind == "updated":
            getattr(plan, f"{what}_updates").append(record)
        return kind not in ("unchanged", "kept")


def _kept(what: str, until: date, cancelled: bool) -> str:
    """Why a row's membership or certificate was not taken: the platform's is newer."""
    if cancelled:
        return f"{what}在本平台已注销，未按表中内容恢复"
    return f"{what}在本平台的有效期（{until.isoformat()}）晚于表中的，保留本平台记录"


def _chunks(rows: Iterable, size: int) -> Iterator[list]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def check_operator(actor: Actor) -> None:
    """Only the secretariat imports the old platform's data (403 for anyone else)."""
    if not may_manage_accounts(actor):
        raise Forbidden("只有秘书处管理员可以导入旧平台数据")


def import_workbook(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    content: bytes,
    file_name: str = "",
    dry_run: bool = False,
    row_report: bool = False,
    progress=None,
    before_commit: Callable[[int, dict], None] | None = None,
) -> dict:
    """Import (or with `dry_run`, only check) a workbook; the report, or FormInvalid (422)
    listing the invalid rows, with nothing written. Only the secretariat (403).

    `progress` (a background job's) hears of each chunk; `before_commit(rows, report)` runs
    inside the import's transaction, just before it commits (a job marks itself done there,
    with the report as its summary).
    """
    check_operator(actor)
    sheet = stream_first_sheet(content, LIMITS)
    missing = header_problems(sheet.header)
    if missing:
        raise FormInvalid(
            {"file": "缺少列：" + "、".join(missing)},
            "Excel 文件缺少必需的列："
            + "、".join(missing)
            + f"，未导入任何记录；{HEADER_IN_ROW_1}",
        )
    index, today = column_index(sheet.header), ctx.today()
    if not dry_run and uow.session.get_bind().dialect.name == "postgresql":
        uow.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
    run = _Import(ctx, uow, not dry_run, row_report)
    if progress is not None:
        progress.start(None)
    try:
        for chunk in _chunks(sheet.rows, CHUNK):
            rows = [read_row(number, values, index, today) for number, values in chunk]
            found = run.check_chunk(rows)
            run.settle(rows, found)
            if progress is not None:
                progress.step(len(rows))
        uow.session.flush()
    except IntegrityError as exc:
        uow.rollback()
        raise Conflict(
            "导入时发现记录已被同时修改（可能有另一次导入正在进行），请稍后重新导入"
        ) from exc
    total = run.valid + run.invalid
    if total == 0:
        raise FormInvalid(
            {"file": "没有可导入的数据行"}, "Excel 文件没有可导入的数据行，未导入任何记录"
        )
    result = _result(run, dry_run, total, content, file_name)
    if run.invalid and not dry_run:
        uow.rollback()
        first = next(iter(run.errors.items()))
        raise FormInvalid(
            run.errors,
            f"共{total}行，其中{run.invalid}行有误，未导入任何记录。"
            f"首个错误：{first[0]}：{first[1]}",
        )
    if dry_run:
        uow.rollback()
        return result
    audit.write(
        uow.session,
        audit.Step(
            actor,
            "legacy_import",
            remark=f"导入旧平台数据（{file_name or 'Excel 文件'}，{total}行）",
            detail={k: v for k, v in result.items() if k != "rows"},
        ),
        ctx.now(),
    )
    if before_commit is not None:
        before_commit(total, result)
    uow.commit()
    return result


def _result(run: _Import, dry_run: bool, total: int, content: bytes, file_name: str) -> dict:
    counts = {
        f"{what}_{kind}": run.counts[f"{what}_{kind}"]
        for what in ("units", "members", "memberships", "certificates")
        for kind in KINDS
    }
    result = {
        "dry_run": dry_run,
        "file_name": file_name,
        "sha256": hashlib.sha256(content).hexdigest(),
        "rows_total": total,
        "rows_valid": run.valid,
        "rows_invalid": run.invalid,
        "counts": counts,
        "errors": run.errors,
    }
    if run.report is not None:
        result["rows"] = run.report
    return result
