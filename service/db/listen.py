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

import psycopg
import sqlalchemy as sa


class Listener:
    """The payloads announced on `channel`; None from `drain` when the connection is new
    (made in this call: what was announced before it is unknown) or lost."""

    def __init__(self, engine: sa.Engine, channel: str):
        self.engine, self.channel = engine, channel
        self._conn: psycopg.Connection | None = None
        self._pid = 0
        self._lock = threading.Lock()
        sa.event.listen(engine, "engine_disposed", lambda _engine: self.close())

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
        cargs, cparams = self.engine.dialect.create_connect_args(self.engine.url)
        try:
            conn = psycopg.connect(*cargs, **{**cparams, "autocommit": True})
            conn.execute(f'LISTEN "{self.channel}"')
        except psycopg.Error:
            return  # no listener this time: the caller trusts nothing and reads
        self._conn, self._pid = conn, os.getpid()

    def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None and self._pid == os.getpid():
            try:
                conn.close()
            except psycopg.Error:
                pass
