"""Numbers from counters: form numbers per day, certificate numbers per year."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import bindparam, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import FormCounter
from service.db.uow import Reads

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
    reads = Reads(session)
    number = queue_number(reads, prefix, period)
    reads.run()
    return number()


def queue_number(reads: Reads, prefix: str, period: str) -> Callable[[], int]:
    """`next_number`, the counter's bump queued in `reads` (to go to the server with the
    reads queued with it); once they have run, the function returned gives the number,
    starting the counter first when the period has none yet."""
    bump = {"counter_prefix": prefix, "counter_period": period}
    answer = reads.add(_BUMP, bump)

    def number() -> int:
        if answer.rows:
            return answer.rows[0][0]
        session = reads.session
        try:
            with session.begin_nested():
                session.add(FormCounter(prefix=prefix, day=period, last=1))
            return 1
        except IntegrityError:  # another request started the counter first
            return session.scalar(_BUMP, bump)

    return number


def queue_form_number(reads: Reads, prefix: str, day: date) -> Callable[[], str]:
    """The next form number of the day, e.g. RH-20260402000001 (safe under concurrency),
    its counter's bump queued in `reads` as `queue_number`'s."""
    key = day.strftime("%Y%m%d")
    number = queue_number(reads, prefix, key)
    return lambda: f"{prefix}-{key}{number():06d}"
