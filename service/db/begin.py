"""PostgreSQL connections that send a transaction's BEGIN together with its first statement.

psycopg starts a transaction by sending BEGIN on its own and waiting for the answer before
the first statement goes out: one round trip per request that carries nothing but BEGIN
(of three for a review step). Here the first statement of a transaction goes out with its
BEGIN in psycopg's pipeline mode, in one round trip; everything else is psycopg's own.

How, with psycopg's public API only: BEGIN can be sent as a statement in a pipeline when
the connection is in autocommit mode (psycopg sends none itself then). So the connection
switches to autocommit, sends BEGIN and the statement together, and is inside a
transaction as before, which only COMMIT or ROLLBACK end. `commit` and `rollback`
switch autocommit off again as soon as the transaction has ended (psycopg allows the
switch only then), so between transactions the connection is exactly psycopg's: every
other way of running SQL (many rows at once, COPY, a raw connection handed to another
library) starts its transaction as psycopg always does.

A connection that SQLAlchemy puts in autocommit mode itself (isolation level AUTOCOMMIT)
is left alone, as is a statement sent inside a pipeline already opened by the caller. A
connection made read-only (SQLAlchemy's `postgresql_readonly`, psycopg's `read_only`)
begins its transactions READ ONLY, as psycopg's own BEGIN would. A transaction asked to run
its statements on their generic plans (`generic_plans`) gets its SET with the same BEGIN.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg import pq

from service.db.pipeline import Prepared

_IDLE = pq.TransactionStatus.IDLE
_PIPELINE_OFF = pq.PipelineStatus.OFF


class Cursor(psycopg.Cursor):
    """psycopg's cursor; the first statement of a transaction takes its BEGIN along."""

    def execute(self, query, params=None, *, prepare=None, binary=None):
        conn = self.connection
        if not _begins_here(conn):
            return super().execute(query, params, prepare=prepare, binary=binary)
        with together(conn):
            super().execute(query, params, prepare=prepare, binary=binary)
        return self


@contextmanager
def together(conn: psycopg.Connection) -> Iterator[None]:
    """Statements executed inside the block go to the server together, in one pipeline:
    one round trip, their answers read when the block ends. When the connection is between
    transactions, our BEGIN goes first (psycopg's own would wait for its answer alone:
    a round trip of its own); on a connection not made here, psycopg's."""
    opening = begun(conn) if _begins_here(conn) else []
    with conn.pipeline():
        for command in opening:
            conn.execute(command)
        yield


def begun(conn: psycopg.Connection) -> list[bytes]:
    """The commands that begin the transaction before what the connection sends next, to
    be sent with it: on one of ours between transactions, our BEGIN (and the SET of
    `generic_plans`), the connection switched to autocommit so that psycopg sends none of
    its own. On another connection between transactions, not in autocommit mode, a BEGIN
    too (what psycopg would send before the statement, were it sent through psycopg). None
    inside a transaction or in autocommit mode."""
    opening = [b"BEGIN READ ONLY" if conn.read_only else b"BEGIN"]
    if not _begins_here(conn):
        plain = not conn.autocommit and conn.info.transaction_status == _IDLE
        return opening if plain else []
    conn.autocommit = True  # psycopg sends no BEGIN of its own: ours goes first
    conn.begun_here = True
    if conn.generic_plans:
        opening.append(_GENERIC_PLANS)
    return opening


def _begins_here(conn: psycopg.Connection) -> bool:
    """Whether what the connection sends next begins a transaction, with our BEGIN: one of
    our connections, between transactions, not in autocommit mode nor in a pipeline."""
    return (
        isinstance(conn, Connection)
        and not conn.autocommit
        and conn.info.transaction_status == _IDLE
        and conn.pgconn.pipeline_status == _PIPELINE_OFF
    )


class Connection(psycopg.Connection):
    """psycopg's connection, making `Cursor`s, back to psycopg's own way of starting a
    transaction as soon as one ends."""

    begun_here = False  # a transaction this connection's Cursor began (autocommit is on)
    # the next transaction begun here plans each prepared statement once (`generic_plans`)
    generic_plans = False

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        # the statements `pipeline.run` prepared on this connection
        self.prepared_here = Prepared()

    def _deallocate(self, name: bytes | None):
        """psycopg's DEALLOCATE (after a ROLLBACK, or a DROP or ALTER it ran: a generator
        of psycopg's internals, as `Connection.commit` runs); DEALLOCATE ALL drops the
        server's every prepared statement, `pipeline.run`'s too, which it forgets."""
        if name is None:
            self.prepared_here.forget()
        return super()._deallocate(name)

    def commit(self) -> None:
        super().commit()
        self._end()

    def rollback(self) -> None:
        super().rollback()
        self._end()

    def _end(self) -> None:
        if self.info.transaction_status == _IDLE:
            self.generic_plans = False
            if self.begun_here:
                self.begun_here = False
                self.autocommit = False


# for the rest of the transaction, a prepared statement runs on its one generic plan
_GENERIC_PLANS = b"SET LOCAL plan_cache_mode = force_generic_plan"


def generic_plans(conn: psycopg.Connection) -> None:
    """The transaction `conn` is in, or begins next, runs each prepared statement on the
    plan PostgreSQL made for it once (its generic plan), instead of planning it anew with
    the values of each run (a custom plan).

    PostgreSQL chooses by itself after a statement's fifth run, comparing the plans'
    estimated costs, and a list's page (LIMIT and OFFSET bound as values, which a generic
    plan must guess) keeps it planning anew at every run once the tables are large: about
    2 ms of a 100,000-form queue's page, for the same plan. Use it only where the plan does
    not depend on the values, measured: the work queues' page is one (its shape, the
    scope, filters and order, picks the indexes); the instance list's is not (its generic
    plan sorts the whole scope instead of reading the newest by index: 50 ms at 100,000).

    Between transactions on a connection of ours, the SET goes with the BEGIN and the first
    statement (no round trip of its own); inside one, it is sent now. A connection in
    autocommit mode, outside a transaction, is left as it is."""
    if _begins_here(conn):
        conn.generic_plans = True
    elif not conn.autocommit or getattr(conn, "begun_here", False):
        conn.execute(_GENERIC_PLANS)


def connect(_dialect, _record, cargs, cparams) -> Connection:
    """SQLAlchemy's `do_connect` event: our connection where psycopg's would be."""
    return Connection.connect(*cargs, **{**cparams, "cursor_factory": Cursor})
