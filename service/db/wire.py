"""What a PostgreSQL connection says on the wire: libpq's own trace of the messages sent.

A diagnostic for the benchmarks and the tests: statements counted by SQLAlchemy's events
miss what goes to psycopg directly (a pipeline: a statement and the COMMIT sent together)
and cannot tell a round trip from a message. libpq's trace can: each Sync or simple Query
the client sends waits for the server's ReadyForQuery, one round trip each."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import sqlalchemy as sa
from psycopg import pq


@dataclass
class Wire:
    """Round trips of the connections traced: `trips` in all, of which `prepares` only
    prepared a statement (its first use on a connection: Parse, then Sync, alone)."""

    trips: int = 0
    prepares: int = 0
    text: str = ""

    def count(self, trace: str) -> None:
        self.text += trace
        parsed_alone = False
        for line in trace.splitlines():
            parts = line.split("\t")
            if len(parts) < 3 or parts[0] != "F":
                continue
            message = parts[2].split(" ")[0]
            if message in ("Sync", "Query"):
                self.trips += 1
                self.prepares += message == "Sync" and parsed_alone
                parsed_alone = False
            elif message == "Parse":
                parsed_alone = True
            elif message in ("Bind", "Execute"):
                parsed_alone = False


_FLAGS = pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE  # lines alike from run to run


@contextmanager
def traced(engine: sa.Engine) -> Iterator[Wire]:
    """Trace every connection the engine hands out inside the block (PostgreSQL's psycopg
    alone); the round trips they made, counted as each goes back to the pool."""
    wire = Wire()
    logs: dict[int, tuple[object, int, str]] = {}

    def on_checkout(dbapi_connection, _record, _proxy):
        fd, path = tempfile.mkstemp(prefix="memberflow-wire-")
        logs[id(dbapi_connection)] = (dbapi_connection, fd, path)
        # libpq writes through a FILE of its own on a copy of the descriptor, closed by untrace
        dbapi_connection.pgconn.trace(os.dup(fd))
        dbapi_connection.pgconn.set_trace_flags(
            pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE
        )

    def on_checkin(dbapi_connection, _record):
        found = logs.pop(id(dbapi_connection), None)
        if found is not None:
            _read(*found, wire)

    sa.event.listen(engine, "checkout", on_checkout)
    sa.event.listen(engine, "checkin", on_checkin)
    try:
        yield wire
    finally:
        sa.event.remove(engine, "checkout", on_checkout)
        sa.event.remove(engine, "checkin", on_checkin)
        for found in list(logs.values()):  # still checked out: counted as far as they went
            _read(*found, wire)


def _read(dbapi_connection, fd: int, path: str, wire: Wire) -> None:
    dbapi_connection.pgconn.untrace()
    os.close(fd)
    with open(path, encoding="utf-8", errors="replace") as log:
        wire.count(log.read())
    os.unlink(path)
