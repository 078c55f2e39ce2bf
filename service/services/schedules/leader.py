"""The scheduler's leader rule: exactly one of several `memberflow scheduler` processes acts.

On PostgreSQL the leader holds a session-level advisory lock on a dedicated connection for
its whole life; a follower retries and takes over when that connection goes away. On
SQLite (one machine) an exclusive flock beside the database file is the equivalent.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.pool import NullPool

from service.config import Config

log = logging.getLogger("memberflow.scheduler")

LOCK_KEY = 0x6D666C6F77  # "mflow": the advisory lock of the scheduler leader


class PgLeaderLock:
    """Leader = holder of a session-level advisory lock on its own PostgreSQL connection."""

    def __init__(self, url: str):
        self.engine = sa.create_engine(url, poolclass=NullPool)
        self.conn: sa.Connection | None = None

    def try_acquire(self) -> bool:
        """Take the lock if nobody holds it; False while another process does."""
        try:
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
        except SQLAlchemyError as exc:
            log.warning("无法连接数据库，稍后重试 (cannot connect): %s", exc)
            return False
        try:
            got = conn.scalar(sa.text("SELECT pg_try_advisory_lock(:key)"), {"key": LOCK_KEY})
        except SQLAlchemyError as exc:
            log.warning("获取调度锁失败，稍后重试 (lock attempt failed): %s", exc)
            got = False
        if got:
            self.conn = conn
            return True
        conn.close()
        return False

    def held(self) -> bool:
        """Whether the lock's connection is still alive (its death released the lock)."""
        if self.conn is None:
            return False
        try:
            self.conn.scalar(sa.text("SELECT 1"))
            return True
        except SQLAlchemyError:
            self._drop()
            return False

    def release(self) -> None:
        """Give the lock back (closing the connection would too)."""
        if self.conn is not None:
            try:
                self.conn.scalar(sa.text("SELECT pg_advisory_unlock(:key)"), {"key": LOCK_KEY})
            except SQLAlchemyError:
                pass
            self._drop()
        self.engine.dispose()

    def _drop(self) -> None:
        try:
            self.conn.close()
        except SQLAlchemyError:
            pass
        self.conn = None


class FileLeaderLock:
    """Leader = holder of an exclusive flock on a file beside the SQLite database."""

    def __init__(self, path: Path):
        self.path = path
        self.file = None

    def try_acquire(self) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # stays open while this process leads
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            return False
        self.file = handle
        return True

    def held(self) -> bool:
        return self.file is not None

    def release(self) -> None:
        if self.file is not None:
            fcntl.flock(self.file, fcntl.LOCK_UN)
            self.file.close()
            self.file = None


def leader_lock(config: Config) -> PgLeaderLock | FileLeaderLock:
    """The leader rule for the configured database."""
    url = sa.make_url(config.database_url)
    if url.get_backend_name() == "postgresql":
        return PgLeaderLock(config.database_url)
    database = url.database
    if database and database != ":memory:":
        path = Path(database).resolve()
        return FileLeaderLock(path.with_name(path.name + ".scheduler.lock"))
    return FileLeaderLock(Path(config.instance_dir) / "scheduler.lock")


def holder_name() -> str:
    """Who runs jobs, as job_runs records it: host and process id."""
    return f"{socket.gethostname()}:{os.getpid()}"
