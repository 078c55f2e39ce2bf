"""A PostgreSQL LISTEN connection read without waiting: what other processes announced.

One connection per process and channel, in autocommit mode, that only listens. `drain`
reads what the server has already sent it (a non-blocking read of the socket: no round
trip, no statement), so a process can ask "did anyone announce a change?" on every request
for the cost of a system call. A NOTIFY is sent when its transaction commits; the server
passes it to every listening connection at once.
"""

from __future__ import annotations

import os
import threading
import weakref

import psycopg
import sqlalchemy as sa


class Listener:
    """The payloads announced on `channel`; None from `drain` when the connection is new
    (made in this call: what was announced before it is unknown) or lost.

    It keeps the engine's connection arguments, not the engine, and adds no event to it (an
    engine event, even one that never fires, sends every statement through SQLAlchemy's
    event dispatch): its owner calls `close` when it is done with the engine, and a listener
    that is dropped without it closes its connection as it goes."""

    def __init__(self, engine: sa.Engine, channel: str):
        self.channel = channel
        self._args = engine.dialect.create_connect_args(engine.url)
        self._conn: psycopg.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()
        self._finalizer: weakref.finalize | None = None

    def drain(self) -> list[str] | None:
        """The payloads announced since the last call, or None when they are not known (a
        new or broken connection: the caller must trust nothing it kept)."""
        with self._lock:
            if self._conn is None or self._pid != os.getpid() or self._conn.closed:
                self._connect()
                return None
            pgconn = self._conn.pgconn
            try:
                pgconn.consume_input()
            except psycopg.OperationalError:
                self._drop()
                return None
            found = []
            while (notice := pgconn.notifies()) is not None:
                found.append(notice.extra.decode())
            return found

    def close(self) -> None:
        with self._lock:
            self._drop()

    def _connect(self) -> None:
        self._drop()
        cargs, cparams = self._args
        try:
            conn = psycopg.connect(*cargs, **{**cparams, "autocommit": True})
            conn.execute(f'LISTEN "{self.channel}"')
        except psycopg.Error:
            return  # no listener this time: the caller trusts nothing and reads
        self._conn, self._pid = conn, os.getpid()
        self._finalizer = weakref.finalize(self, _close, conn, self._pid)

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if self._finalizer is not None:
            self._finalizer.detach()
            self._finalizer = None
        if conn is not None:
            _close(conn, self._pid)


def _close(conn: psycopg.Connection, pid: int) -> None:
    """Close a listening connection made in this process (a forked child leaves its
    parent's socket alone)."""
    if pid == os.getpid():
        try:
            conn.close()
        except psycopg.Error:
            pass
