"""Numbers from counters: form numbers per day, certificate numbers per year."""

from __future__ import annotations

from datetime import date

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import FormCounter

_COUNTERS = FormCounter.__table__
# a Core statement on the table: the ORM's bulk UPDATE cost twice the Python for nothing here
_BUMP = (
    update(_COUNTERS)
    .where(
        _COUNTERS.c.prefix == bindparam("counter_prefix"),
        _COUNTERS.c.day == bindparam("counter_period"),
    )
    .values(last=_COUNTERS.c.last + 1)
    .returning(_COUNTERS.c.last)
)


def next_number(session: Session, prefix: str, period: str) -> int:
    """The next number of a counter (prefix, period), safe under concurrency."""
    bump = {"counter_prefix": prefix, "counter_period": period}
    number = session.scalar(_BUMP, bump)
    if number is None:
        try:
            with session.begin_nested():
                session.add(FormCounter(prefix=prefix, day=period, last=1))
            number = 1
        except IntegrityError:  # another request started the counter first
            number = session.scalar(_BUMP, bump)
    return number


def next_form_number(session: Session, prefix: str, day: date) -> str:
    """The next form number of the day, e.g. RH-20260402000001 (safe under concurrency)."""
    key = day.strftime("%Y%m%d")
    return f"{prefix}-{key}{next_number(session, prefix, key):06d}"
