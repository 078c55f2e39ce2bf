"""One page of a query and the total it came from (every list answers page, size, total)."""

from __future__ import annotations

from sqlalchemy import Result, Select, func, select
from sqlalchemy.orm import Session


def page_of(session: Session, stmt: Select, order, page: int, page_size: int) -> tuple[int, Result]:
    """The total number of rows of `stmt`, and the rows of page `page` in `order`."""
    total = session.scalar(select(func.count()).select_from(stmt.subquery()))
    rows = session.execute(stmt.order_by(order).limit(page_size).offset((page - 1) * page_size))
    return total, rows
