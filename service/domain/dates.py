"""Dates as the association's messages and pages write them in a sentence: 2027年4月6日
(no leading zeros, as the manual's notices write them)."""

from __future__ import annotations

from datetime import date

# how a message shows the date a box or a field takes (not the pattern YYYY-MM-DD, which a
# person does not read as a date)
DATE_EXAMPLE = "2026-12-07"


def zh_date(day: date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"
