"""Inserting tens of thousands of rows in the session's transaction, fast.

On PostgreSQL the rows go through COPY (one stream, no SQL text per row: an INSERT of many
VALUES costs psycopg more to prepare than the server to run), and new ids are drawn from
the table's sequence first, so the caller learns them. Elsewhere (SQLite) it is an
executemany INSERT … RETURNING. Column defaults declared in the models are applied here,
since COPY does not run them.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.orm import Session


def _defaults(table: sa.Table, given: set[str]) -> dict:
    """The model's Python-side defaults for the columns a row does not give."""
    values = {}
    for column in table.columns:
        if column.name in given or column.primary_key or column.default is None:
            continue
        default = column.default
        if default.is_scalar:
            values[column.name] = default.arg
        elif default.is_callable:
            values[column.name] = default.arg({})  # SQLAlchemy wraps it to take a context
    return values


def insert_rows(session: Session, table: sa.Table, rows: Sequence[dict]) -> list[int]:
    """Insert `rows` (dicts with the same keys) into `table`; their new ids, in order."""
    if not rows:
        return []
    keys = list(rows[0])
    defaults = _defaults(table, set(keys))
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        stmt = sa.insert(table).returning(table.c.id, sort_by_parameter_order=True)
        result = connection.execute(stmt, [{**defaults, **row} for row in rows])
        return [row_id for (row_id,) in result]
    ids = list(
        connection.execute(
            sa.text("SELECT nextval(pg_get_serial_sequence(:t, 'id')) FROM generate_series(1, :n)"),
            {"t": table.name, "n": len(rows)},
        ).scalars()
    )
    # PostgreSQL's driver, present wherever this runs
    from psycopg import IntegrityError
    from psycopg.types.json import Json

    columns = ["id", *keys, *defaults]
    json_columns = {c.name for c in table.columns if isinstance(c.type, sa.JSON)}
    names = ", ".join(f'"{name}"' for name in columns)
    copy_sql = f'COPY "{table.name}" ({names}) FROM STDIN'
    try:
        with (
            connection.connection.dbapi_connection.cursor() as cursor,
            cursor.copy(copy_sql) as copy,
        ):
            for row_id, row in zip(ids, rows, strict=True):
                values = [row_id, *(row[k] for k in keys), *defaults.values()]
                copy.write_row(
                    [
                        Json(v) if name in json_columns and v is not None else v
                        for name, v in zip(columns, values, strict=True)
                    ]
                )
    except IntegrityError as exc:  # the driver's own, as SQLAlchemy's would be
        raise sa.exc.IntegrityError(copy_sql, None, exc) from exc
    return ids
