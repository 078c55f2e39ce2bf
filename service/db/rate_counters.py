"""Rate-limit counters in the app's database: a `limits` storage over `rate_counters`.

For when several workers (or hosts) share the database and no Redis is configured: on
PostgreSQL, and on the embedded SQLite, whose server runs two worker processes too (the
counters of each process's memory let a name fail five times in each). Each increment is
one `INSERT … ON CONFLICT DO UPDATE … RETURNING` (atomic: row-locked on PostgreSQL, under
SQLite's one writer), in its own short transaction, so a request that fails and rolls back
still counts. Times are the database's clock, the same for every worker and host.

On SQLite the increment is a write beside the request's own transaction; every caller
counts before its request writes anything (the limits before the view, the sign-in
limiter before the password is checked), so it never waits on its own request.
"""

from __future__ import annotations

import random

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.engine import Engine

# the database's clock in seconds since 1970 (fractions kept)
NOW = {
    "postgresql": "extract(epoch from clock_timestamp())",
    "sqlite": "((julianday('now') - 2440587.5) * 86400.0)",
}


def _statements(now: str) -> dict[str, sa.TextClause]:
    return {
        "incr": sa.text(
            f"""
    INSERT INTO rate_counters (key, count, expires_at) VALUES (:key, :amount, {now} + :expiry)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN rate_counters.expires_at <= {now}
                   THEN excluded.count ELSE rate_counters.count + excluded.count END,
      expires_at = CASE WHEN rate_counters.expires_at <= {now}
                        THEN excluded.expires_at ELSE rate_counters.expires_at END
    RETURNING count
    """
        ),
        "get": sa.text(f"SELECT count FROM rate_counters WHERE key = :key AND expires_at > {now}"),
        "expiry": sa.text(
            f"SELECT coalesce((SELECT expires_at FROM rate_counters WHERE key = :key "
            f"AND expires_at > {now}), {now})"
        ),
        "purge": sa.text(f"DELETE FROM rate_counters WHERE expires_at < {now} - 60"),
    }


PURGE_EVERY = 200  # on average, one increment in this many also deletes expired counters


class DatabaseStorage(Storage):
    """Fixed-window counters (flask-limiter's default strategy) in the app's database
    (PostgreSQL or SQLite)."""

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine
        self.sql = _statements(NOW[engine.dialect.name])

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self.engine.begin() as conn:
            count = conn.execute(
                self.sql["incr"], {"key": key, "amount": amount, "expiry": expiry}
            ).scalar()
            if random.randrange(PURGE_EVERY) == 0:
                conn.execute(self.sql["purge"])
        return int(count)

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(self.sql["get"], {"key": key}).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            return float(conn.execute(self.sql["expiry"], {"key": key}).scalar())

    def check(self) -> bool:
        try:
            with self.engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            return False
        return True

    def reset(self) -> int | None:
        with self.engine.begin() as conn:
            return conn.execute(sa.text("DELETE FROM rate_counters")).rowcount

    def clear(self, key: str) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM rate_counters WHERE key = :key"), {"key": key})
