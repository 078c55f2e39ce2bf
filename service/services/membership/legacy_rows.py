"""One row of the old platform's 单位人员档案导出表, read and checked on its own.

The columns are those of our own archive export (`documents/exports.ARCHIVE_COLUMNS`) plus
the unit's 统一社会信用代码 and, optionally, 单位会员 (是/否). Columns the new platform
derives or keeps itself (序号, 性别, 年龄, 状态) are ignored, as are unknown ones. An empty
cell never clears a stored value. Every problem is (column, reason in Chinese).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from service.domain.person_facts import (
    CERTIFICATE_TYPES,
    MAJOR_CATEGORIES,
    ORDINARY,
    PROFESSIONAL,
)
from service.domain.validation import (
    ID_NUMBER_CELL_IS_NUMBER,
    InvalidValue,
    check_credit_code,
    clean_code,
    clean_name,
    name_problem,
    normalize_mobile,
    parse_id,
    unit_name_problem,
)

AGENCY_COLUMN = "资料审核（初审机构）"
REQUIRED = ("姓名", "身份证号", "所在工作单位", "统一社会信用代码")
# a header the old platform may have spelled differently -> the export's own name
ALIASES = {"初审机构": AGENCY_COLUMN, "资料审核(初审机构)": AGENCY_COLUMN}
LEVEL_COLUMNS = {
    ORDINARY: ("普通会员", "普通会籍有效期"),
    PROFESSIONAL: ("专业会员", "专业会籍有效期"),
}
CERT_FIELDS = ("证书编号", "专业1", "专业2", "有效期", "证书状态")
EDUCATIONS = ("中专", "大专", "本科", "硕士", "博士")
TITLES = ("无", "初级", "中级", "高级")
HELD = {"有效", "已过期", "是", "普通会员", "专业会员"}
NOT_HELD = {"否", "无", "未入会"}
CANCELLED = "已注销"
CERT_STATES = {"有效": False, "已过期": False, CANCELLED: True}
# the dates a row may carry: an old platform writes 0001-01-01 for "empty" and 9999-12-31 for
# "never expires", neither a real date (both would break date arithmetic later); a validity
# runs to 2099 at most, 毕业时间 and 入会日期 to today and not before the birth date
EARLIEST, LATEST = date(1900, 1, 1), date(2099, 12, 31)
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


@dataclass
class LegacyRow:
    """A checked row: the person, the unit, memberships and certificates it carries."""

    number: int
    name: str = ""
    id_number: str = ""  # as checked and kept (clean_code); empty when refused
    typed_id: str = ""  # as the cell holds it, for the row report of a refused number
    birth_date: date | None = None
    gender: str | None = None
    mobile: str | None = None
    education: dict = field(default_factory=dict)  # only the parts the row fills
    title: str | None = None
    joined_on: date | None = None
    unit_name: str = ""
    credit_code: str = ""
    agency_name: str = ""
    member_unit: bool | None = None
    memberships: dict[str, tuple[date, bool]] = field(
        default_factory=dict
    )  # level -> (until, cancelled)
    # type -> (number, specialty 1, specialty 2, valid until, cancelled)
    certificates: dict[str, tuple] = field(default_factory=dict)
    problems: list[tuple[str, str]] = field(default_factory=list)


def header_problems(header: list[str]) -> list[str]:
    """The required columns the header lacks (the file is refused as a whole)."""
    names = {ALIASES.get(h, h) for h in header}
    return [c for c in (*REQUIRED, AGENCY_COLUMN) if c not in names]


def column_index(header: list[str]) -> dict[str, int]:
    """Column name (aliases resolved) -> position; the first of a repeated name wins."""
    index: dict[str, int] = {}
    for i, h in enumerate(header):
        index.setdefault(ALIASES.get(h, h), i)
    return index


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip()


def _date(value) -> date | None:
    """A cell as a date; None when empty; ValueError when it is not one."""
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    match = _DATE_TEXT.fullmatch(_text(value))
    if not match:
        raise ValueError(value)
    return date(*(int(g) for g in match.groups()))


class _Reader:
    """Reads one row's cells by column name, recording each problem once."""

    def __init__(self, index: dict[str, int], values: tuple, row: LegacyRow, today: date):
        self.index, self.values, self.row, self.today = index, values, row, today

    def raw(self, column: str):
        i = self.index.get(column)
        return self.values[i] if i is not None and i < len(self.values) else None

    def text(self, column: str, limit: int, required: bool = False) -> str:
        value = _text(self.raw(column))
        if required and not value:
            self.problem(column, f"请填写{column}")
        elif len(value) > limit:
            self.problem(column, f"{column}不能超过{limit}个字")
            return ""
        return value

    def date(self, column: str, by_today: bool = False, birth: date | None = None) -> date | None:
        """The cell as a date from EARLIEST to LATEST (to today `by_today`), not before `birth`
        (the row's birth date, when known); None with a problem when it is not."""
        try:
            value = _date(self.raw(column))
        except ValueError:
            self.problem(
                column, f"“{_text(self.raw(column))}”不是有效日期（应为 2027-01-01 这样的日期）"
            )
            return None
        if value is None:
            return None
        latest = self.today if by_today else LATEST
        if value < EARLIEST:
            bound = f"不能早于{EARLIEST.isoformat()}"
        elif birth is not None and value < birth:
            bound = f"不能早于出生日期{birth.isoformat()}"
        elif value > latest:
            bound = "不能晚于今天" if by_today else f"不能晚于{LATEST.isoformat()}"
        else:
            return value
        self.problem(column, f"{column}{bound}（表中为“{value.isoformat()}”）")
        return None

    def choice(self, column: str, allowed) -> str:
        value = _text(self.raw(column))
        if value and value not in allowed:
            self.problem(column, f"{column}应为" + "、".join(allowed) + f"之一，不能是“{value}”")
            return ""
        return value

    def problem(self, column: str, reason: str) -> None:
        self.row.problems.append((column, reason))


def read_row(number: int, values: tuple, index: dict[str, int], today: date) -> LegacyRow:
    """One data row, checked on its own (cross-row and database checks come later)."""
    row = LegacyRow(number)
    r = _Reader(index, values, row, today)
    row.name = clean_name(r.text("姓名", 50, required=True))
    # the forms' rules: a person or unit imported with a name they refuse could never be
    # put on a form (the name comes from the archive, no form may correct it)
    if row.name and (problem := name_problem(row.name)):
        r.problem("姓名", f"姓名{problem}")
    _person(r, row, today)
    row.unit_name = r.text("所在工作单位", 200, required=True)
    if row.unit_name and (problem := unit_name_problem(row.unit_name)):
        r.problem("所在工作单位", f"所在工作单位{problem}")
    code = _text(r.raw("统一社会信用代码"))
    if not code:
        r.problem("统一社会信用代码", "请填写单位的统一社会信用代码")
    else:
        try:
            row.credit_code = check_credit_code(code)
        except InvalidValue as exc:
            r.problem("统一社会信用代码", exc.message)
    row.agency_name = r.text(AGENCY_COLUMN, 100, required=True)
    member_unit = r.choice("单位会员", ("是", "否"))
    row.member_unit = {"是": True, "否": False}.get(member_unit)
    for level, (held_column, until_column) in LEVEL_COLUMNS.items():
        _membership(r, row, level, held_column, until_column)
    for cert_type in CERTIFICATE_TYPES:
        _certificate(r, row, cert_type)
    return row


def _person(r: _Reader, row: LegacyRow, today: date) -> None:
    raw = r.raw("身份证号")
    number = row.typed_id = _text(raw)
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        r.problem("身份证号", ID_NUMBER_CELL_IS_NUMBER)
    elif not clean_code(number):
        r.problem("身份证号", "请填写身份证号")
    else:
        try:
            info = parse_id("resident_id", number, today)
            row.id_number, row.birth_date, row.gender = info.number, info.birth_date, info.gender
        except InvalidValue as exc:
            r.problem("身份证号", exc.message)
    mobile = _text(r.raw("手机号"))
    if mobile:
        try:
            row.mobile = normalize_mobile(mobile)
        except InvalidValue as exc:
            r.problem("手机号", exc.message)
    level = r.choice("学历", EDUCATIONS)
    school, major = r.text("毕业院校", 100), r.text("所学专业", 100)
    # what 员升师 and 专业监理工程师's education read (an old workbook has no such column)
    category = r.choice("专业类别", MAJOR_CATEGORIES)
    graduated = r.date("毕业时间", by_today=True, birth=row.birth_date)
    parts = {"level": level, "school": school, "major": major, "major_category": category}
    row.education = {k: v for k, v in parts.items() if v}
    if graduated:
        row.education["graduated_on"] = graduated.isoformat()
    row.title = r.choice("职称", TITLES) or None
    row.joined_on = r.date("入会日期", by_today=True, birth=row.birth_date)


def _membership(r: _Reader, row: LegacyRow, level: str, held_column: str, until_column: str):
    state = _text(r.raw(held_column))
    until = r.date(until_column)
    if state and state not in HELD | NOT_HELD | {CANCELLED}:
        r.problem(held_column, f"{held_column}应为 有效、已过期、已注销 或 否，不能是“{state}”")
        return
    if state in NOT_HELD:
        if until:
            r.problem(until_column, f"{held_column}为“{state}”时不应填写{until_column}")
        return
    if not state and until is None:
        return  # the level is not held
    if until is None:
        if not any(p[0] == until_column for p in row.problems):
            r.problem(until_column, f"请填写{until_column}")
        return
    row.memberships[level] = (until, state == CANCELLED)


def _certificate(r: _Reader, row: LegacyRow, cert_type: str) -> None:
    columns = [f"{cert_type}{f}" for f in CERT_FIELDS]
    if all(_text(r.raw(c)) == "" for c in columns):
        return
    number_col, sp1_col, sp2_col, until_col, state_col = columns
    number = r.text(number_col, 30, required=True)
    sp1, sp2 = r.text(sp1_col, 50) or None, r.text(sp2_col, 50) or None
    until = r.date(until_col)
    if until is None and not any(p[0] == until_col for p in row.problems):
        r.problem(until_col, f"请填写{until_col}")
    state = r.choice(state_col, tuple(CERT_STATES))
    if number and until:
        row.certificates[cert_type] = (number, sp1, sp2, until, CERT_STATES.get(state, False))
