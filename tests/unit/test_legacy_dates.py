"""Date arithmetic at the calendar's ends and on 29 February, and the legacy import's date
bounds: an old platform's 9999-12-31 ("never expires") or 0001-01-01 ("empty") is refused by
the import, and one already stored breaks no computation."""

from __future__ import annotations

from datetime import date
from types import SimpleNamespace

import pytest

from service.domain.person_facts import (
    CertificateRecord,
    MembershipRecord,
    PersonRecord,
    add_months,
    membership_from,
    membership_until,
    months_until,
    next_day,
    person_facts,
    term_end,
    years_later,
)
from service.services.education.certificates import _validity
from service.services.membership.legacy_rows import column_index, read_row

TODAY = date(2026, 12, 7)
NEVER, EMPTY = date(9999, 12, 31), date(1, 1, 1)
TERM = {"普通会员": 3, "专业会员": 1}


def test_arithmetic_past_the_calendars_end_stops_at_its_last_or_first_day():
    assert add_months(NEVER, 1) == add_months(date(9999, 12, 1), 1) == date.max
    assert add_months(EMPTY, -1) == date.min
    assert years_later(NEVER, 1) == date.max
    assert years_later(date(3, 6, 30), -3) == years_later(EMPTY, -1) == date.min
    assert membership_until(TERM, "普通会员", NEVER) == date.max  # a renewal's new end
    assert membership_from(TERM, "普通会员", date(2, 1, 1)) == date.min
    assert term_end(NEVER, 3) == date.max
    assert next_day(NEVER) == date.max and next_day(date(2026, 12, 31)) == date(2027, 1, 1)


def test_months_until_a_never_expiring_date_is_a_number():
    assert months_until(TODAY, NEVER) == (9999 - 2026) * 12 + 1
    assert months_until(TODAY, date(2027, 6, 7)) == 6  # unchanged in between


def test_the_facts_of_a_person_holding_never_expiring_records_are_valid():
    record = PersonRecord(
        "440106198001011230",
        memberships=[MembershipRecord("普通会员", NEVER)],
        certificates=[CertificateRecord("监理员", "JL1", "valid", NEVER)],
    )
    facts = person_facts(record, record.id_number, None, None, TODAY)
    assert facts["ordinary_membership"] == "valid"
    assert facts["membership_until"] == "9999-12-31"
    assert facts["certificates"]["监理员"]["status"] == "valid"
    assert facts["valid_types"] == ["监理员"]


def test_years_later_keeps_28_february_for_29_february_as_ages_count():
    """Ages (members' and statistics' filters) rely on it: born 29 February, one comes of age
    on 1 March in a common year (validation.age_on), so the last birth date of someone aged
    18 on 28 February 2026 is 28 February 2008."""
    assert years_later(date(2028, 2, 29), 3) == date(2031, 2, 28)
    assert years_later(date(2026, 2, 28), -18) == date(2008, 2, 28)


@pytest.mark.parametrize(
    ("start", "years", "end"),
    [
        (date(2028, 2, 28), 3, date(2031, 2, 27)),
        (date(2028, 2, 29), 3, date(2031, 2, 28)),  # the day before 1 March 2031
        (date(2028, 3, 1), 3, date(2031, 2, 28)),
        (date(2025, 3, 1), 3, date(2028, 2, 29)),
        (date(2027, 5, 29), 3, date(2030, 5, 28)),
        (date(2024, 2, 29), 4, date(2028, 2, 28)),  # 29 February exists again
    ],
)
def test_a_certificate_runs_to_the_day_before_the_same_date_its_term_later(start, years, end):
    assert term_end(start, years) == end
    change = SimpleNamespace(years=lambda _name, _default: years)  # the policy's term
    assert _validity(change, start) == end


HEADER = [
    "姓名",
    "身份证号",
    "所在工作单位",
    "统一社会信用代码",
    "资料审核（初审机构）",
    "普通会员",
    "普通会籍有效期",
    "毕业时间",
    "入会日期",
    "监理员证书编号",
    "监理员有效期",
]
BORN_1980 = "440106198001011230"


def _row(**cells):
    values = {
        "姓名": "周建国",
        "身份证号": BORN_1980,
        "所在工作单位": "广东第1工程建设监理有限公司",
        "统一社会信用代码": "91440101190468342X",
        "资料审核（初审机构）": "广州市建设监理行业协会",
        "普通会员": "有效",
        "普通会籍有效期": date(2027, 1, 1),
        "监理员证书编号": "JLY00000001",
        "监理员有效期": date(2028, 1, 1),
        **cells,
    }
    return read_row(2, tuple(values.get(h) for h in HEADER), column_index(HEADER), TODAY)


@pytest.mark.parametrize(
    ("column", "value", "reason"),
    [
        ("监理员有效期", NEVER, "监理员有效期不能晚于2099-12-31（表中为“9999-12-31”）"),
        ("普通会籍有效期", "0001-01-01", "普通会籍有效期不能早于1900-01-01（表中为“0001-01-01”）"),
        ("入会日期", "0001-01-01", "入会日期不能早于1900-01-01（表中为“0001-01-01”）"),
        (
            "入会日期",
            date(1979, 12, 31),
            "入会日期不能早于出生日期1980-01-01（表中为“1979-12-31”）",
        ),
        ("入会日期", date(2030, 1, 1), "入会日期不能晚于今天（表中为“2030-01-01”）"),
        ("毕业时间", date(2027, 7, 1), "毕业时间不能晚于今天（表中为“2027-07-01”）"),
        ("毕业时间", date(1975, 7, 1), "毕业时间不能早于出生日期1980-01-01（表中为“1975-07-01”）"),
    ],
)
def test_a_date_out_of_its_columns_bounds_is_refused_naming_the_column(column, value, reason):
    row = _row(**{column: value})
    problems = [p for p in row.problems if p[0] != "统一社会信用代码"]
    assert len(problems) == 1 and problems[0][0] == column, row.problems
    assert problems[0][1] == reason
    assert not row.memberships if column == "普通会籍有效期" else True
    assert not row.certificates if column == "监理员有效期" else True


def test_dates_within_the_bounds_are_read():
    row = _row(**{"入会日期": date(1980, 1, 1), "毕业时间": TODAY, "监理员有效期": "2099-12-31"})
    assert [p for p in row.problems if p[0] != "统一社会信用代码"] == []
    assert row.joined_on == date(1980, 1, 1)
    assert row.certificates["监理员"][3] == date(2099, 12, 31)
