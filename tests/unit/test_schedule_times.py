"""The weekly cut-off and the job slots: pure time arithmetic (Asia/Shanghai, naive UTC)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import pytest

from service.config import Config
from service.services.schedules.cpd_batches import (
    WeeklyTime,
    latest_cut_off,
    next_cut_off,
    parse_time_of_day,
    parse_weekly,
    period_start,
    to_local,
    to_utc,
)
from service.services.schedules.scheduler import latest_daily, slot_for, tick_slot

TUE_15 = WeeklyTime(1, time(15, 0))
# Tuesday 2026-12-01 15:00 in Shanghai is 07:00 UTC
CUT_OFF = datetime(2026, 12, 1, 7, 0, 0)
PREVIOUS = datetime(2026, 11, 24, 7, 0, 0)
WEEK = timedelta(days=7)


def shanghai(*args) -> datetime:
    """A Shanghai wall time as the naive UTC the service stores."""
    return to_utc(datetime(*args))


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (shanghai(2026, 12, 1, 15, 0, 0), CUT_OFF),  # exactly at the cut-off: that one
        (shanghai(2026, 12, 1, 15, 0, 1), CUT_OFF),
        (shanghai(2026, 12, 1, 14, 59, 59), PREVIOUS),  # a second before: last week's
        (shanghai(2026, 12, 1, 0, 0, 0), PREVIOUS),  # Tuesday morning
        (shanghai(2026, 12, 2, 0, 0, 0), CUT_OFF),  # Wednesday
        (shanghai(2026, 12, 7, 23, 59, 59), CUT_OFF),  # the following Monday night
        (shanghai(2026, 12, 8, 14, 59, 59), CUT_OFF),  # the following Tuesday, before
        (shanghai(2026, 12, 8, 15, 0, 0), datetime(2026, 12, 8, 7, 0, 0)),
        # 23:30 UTC on Monday is already Tuesday 07:30 in Shanghai: still before 15:00
        (datetime(2026, 11, 30, 23, 30), PREVIOUS),
        # 07:30 UTC on Tuesday is 15:30 in Shanghai: after the cut-off
        (datetime(2026, 12, 1, 7, 30), CUT_OFF),
    ],
)
def test_the_latest_cut_off_is_the_last_tuesday_15_00_at_or_before_the_moment(moment, expected):
    assert latest_cut_off(moment, TUE_15) == expected
    assert next_cut_off(moment, TUE_15) == expected + WEEK


def test_the_period_starts_the_previous_wednesday_at_midnight_in_shanghai():
    start = period_start(CUT_OFF)
    assert to_local(start) == datetime(2026, 11, 25, 0, 0, 0)
    assert to_local(start).strftime("%A") == "Wednesday"
    assert start == datetime(2026, 11, 24, 16, 0, 0)  # naive UTC


def test_shanghai_has_no_daylight_saving_so_every_week_is_seven_days_apart():
    moment = shanghai(2026, 1, 6, 16, 0, 0)
    seen = []
    for _ in range(60):  # more than a year of Tuesdays, across the months DST would move
        cut = latest_cut_off(moment, TUE_15)
        assert to_local(cut).strftime("%a %H:%M") == "Tue 15:00"
        seen.append(cut)
        moment = next_cut_off(moment, TUE_15)
    assert {b - a for a, b in zip(seen, seen[1:], strict=False)} == {WEEK}


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("TUE 15:00", WeeklyTime(1, time(15, 0))),
        ("tue 9:30", WeeklyTime(1, time(9, 30))),
        ("  FRI   00:00 ", WeeklyTime(4, time(0, 0))),
    ],
)
def test_a_weekly_time_is_a_weekday_and_a_time(spec, expected):
    assert parse_weekly(spec) == expected


@pytest.mark.parametrize("spec", ["TUESDAY 15:00", "TUE", "TUE 25:00", "TUE 15", "15:00 TUE", ""])
def test_a_bad_weekly_time_says_the_expected_format_in_chinese(spec):
    with pytest.raises(ValueError, match="格式应为"):
        parse_weekly(spec)


def test_a_bad_time_of_day_is_refused():
    assert parse_time_of_day("08:00") == time(8, 0)
    with pytest.raises(ValueError, match="时:分"):
        parse_time_of_day("8点")


def test_the_daily_slot_is_the_last_8_00_in_shanghai():
    assert latest_daily(shanghai(2026, 11, 28, 8, 0, 0), time(8)) == shanghai(2026, 11, 28, 8)
    assert latest_daily(shanghai(2026, 11, 28, 7, 59, 59), time(8)) == shanghai(2026, 11, 27, 8)
    assert latest_daily(shanghai(2026, 11, 28, 23, 0, 0), time(8)) == shanghai(2026, 11, 28, 8)


def test_a_tick_slot_is_the_start_of_its_aligned_interval():
    assert tick_slot(datetime(2026, 11, 28, 4, 0, 59, 999999), 60) == datetime(2026, 11, 28, 4)
    assert tick_slot(datetime(2026, 11, 28, 4, 1, 0), 60) == datetime(2026, 11, 28, 4, 1)
    assert tick_slot(datetime(2026, 11, 28, 4, 0, 7, 500000), 5) == datetime(2026, 11, 28, 4, 0, 5)


def test_each_job_has_its_own_slot():
    config = Config(
        database_url="sqlite://",
        secret_key="x",
        files_dir=None,
        processes_dir=None,
        rules_dir=None,
        forms_dir=None,
        instance_dir=None,
    )
    now = shanghai(2026, 12, 1, 15, 0, 30)
    assert slot_for("timers", now, config) == shanghai(2026, 12, 1, 15, 0, 0)
    assert slot_for("cpd_batch", now, config) == CUT_OFF
    assert slot_for("reminders", now, config) == shanghai(2026, 12, 1, 8, 0, 0)
    config.cpd_cutoff = "WED 09:00"
    assert slot_for("cpd_batch", now, config) == shanghai(2026, 11, 25, 9, 0, 0)
