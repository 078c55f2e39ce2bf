"""One page of a query and the total it came from (every list answers page, size, total).

Deep pages of the long lists (instances, the work queues) may be reached by a cursor
instead of an offset: each page answers `next_after`, an opaque token holding the sort
key of its last row and the number of rows before the next page; given back as `after`,
the next query seeks past that key by index (`seek`) instead of reading and skipping
every row before it (OFFSET).
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Result, Select, func, literal, select, tuple_
from sqlalchemy.orm import Session

from service.domain.errors import FormInvalid

LARGEST = 2**31 - 1  # the id columns' (and a sane offset's) bound: a larger one is no cursor
BAD_CURSOR = "翻页游标 after 无效：请原样使用上一页返回的 next_after，或改用 page 翻页"


def page_of(session: Session, stmt: Select, order, page: int, page_size: int) -> tuple[int, Result]:
    """The total number of rows of `stmt`, and the rows of page `page` in `order` (a column
    or a tuple of them)."""
    return count_of(session, stmt), rows_of_page(session, stmt, order, page, page_size)


def count_of(session: Session, stmt: Select) -> int:
    """The number of rows of `stmt`, counted without its ORDER BY: sorting every row the
    count reads changes nothing but its cost, and keeps PostgreSQL from flattening the
    subquery (an ORDER BY under a LIMIT or a DISTINCT ON chooses the rows: kept there)."""
    limited = (stmt._limit_clause, stmt._offset_clause, stmt._fetch_clause) != (None, None, None)
    if not limited and not stmt._distinct:
        stmt = stmt.order_by(None)
    return session.scalar(select(func.count()).select_from(stmt.subquery()))


def rows_of_page(session: Session, stmt: Select, order, page: int, page_size: int) -> Result:
    """The rows of page `page` of `stmt` in its own order then `order` (a column or a tuple
    of them): for a list that knows its total otherwise (from counts it shows besides)."""
    keys = order if isinstance(order, tuple) else (order,)
    return session.execute(stmt.order_by(*keys).limit(page_size).offset((page - 1) * page_size))


@dataclass(frozen=True)
class Cursor:
    """Where the next page starts: after the row whose sort key is `key`, `offset` rows in."""

    offset: int
    key: tuple


def _text(value):
    return value.isoformat() if isinstance(value, datetime) else value


def cursor_token(order: str, offset: int, key: Sequence) -> str:
    """The opaque `next_after` of a page whose last row has sort key `key` (order `order`)."""
    raw = json.dumps([order, offset, [_text(v) for v in key]], separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def read_cursor(token: str, order: str, kinds: Sequence[Callable]) -> Cursor:
    """The cursor in `token` for a list in `order` whose sort key has `kinds` (int,
    datetime); anything else — altered, truncated, of another list or order — is a 422."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        said, offset, key = json.loads(raw.decode())
        if said != order or len(key) != len(kinds):
            raise ValueError(token)
        offset = _value(int, offset)
        values = tuple(_value(kind, v) for kind, v in zip(kinds, key, strict=True))
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise FormInvalid({"after": BAD_CURSOR}, "请求参数有误：" + BAD_CURSOR) from None
    return Cursor(offset, values)


def _value(kind: Callable, value):
    if kind is datetime:
        if not isinstance(value, str):
            raise TypeError(value)
        moment = datetime.fromisoformat(value)
        if moment.tzinfo is not None:  # the lists' times are naive UTC, and so are cursors
            raise ValueError(value)
        return moment
    if type(value) is not int or not 0 <= value <= LARGEST:
        raise TypeError(value)
    return value


def seek(columns: Sequence, descending: bool, key: tuple):
    """The rows after `key` in the order of `columns` (all ascending or all descending): a
    row-value comparison, which PostgreSQL and SQLite both start an index range scan from."""
    row = tuple_(*columns)
    bound = tuple_(*(literal(v, type_=c.type) for c, v in zip(columns, key, strict=True)))
    return row < bound if descending else row > bound
