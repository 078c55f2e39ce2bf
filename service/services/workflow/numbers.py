"""Numbers from counters: form numbers per day, certificate numbers per year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import FormCounter


def next_number(session: Session, prefix: str, period: str) -> int:
    """The next number of a counter (prefix, period), safe under concurrency."""
    bump = (
        update(FormCounter)
        .where(FormCounter.prefix == prefix, FormCounter.day == period)
        .values(last=FormCounter.last + 1)
        .returning(FormCounter.last)
    )
    number = session.scalar(bump)
    if number is None:
        try:
            with session.begin_nested():
                session.add(FormCounter(prefix=prefix, day=period, last=1))
            number = 1
        except IntegrityError:  # another request started the counter first
            number = session.scalar(bump)
    return number


def next_form_number(session: Session, prefix: str, day: date) -> str:
    """The next form number of the day, e.g. RH-20260402000001 (safe under concurrency)."""
    key = day.strftime("%Y%m%d")
    return f"{prefix}-{key}{next_number(session, prefix, key):06d}"
