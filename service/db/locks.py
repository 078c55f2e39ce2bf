"""Holding a row for the rest of the transaction, on PostgreSQL and SQLite alike.

SELECT … FOR UPDATE holds a row on PostgreSQL but is ignored by SQLite, which has no row
locks: there two transactions may read the same row and both write, the second undoing the
first. A write to the row — an UPDATE that sets its id to itself — holds it on PostgreSQL
(a row lock until COMMIT) and, on SQLite, makes this transaction the one writer before it
reads anything (a second waits for the first to end). Read the row after holding it.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.orm import Session


def hold_row(session: Session, model, row_id) -> None:
    """Hold `model`'s row `row_id` until the transaction ends (nothing if it is missing)."""
    session.execute(
        update(model)
        .where(model.id == row_id)
        .values(id=model.id)
        .execution_options(synchronize_session=False)
    )
