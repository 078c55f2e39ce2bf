"""Rate-limit counters in PostgreSQL: a `limits` storage over the `rate_counters` table.

For when several workers or hosts share the database and no Redis is configured. Each
increment is one `INSERT … ON CONFLICT DO UPDATE … RETURNING` (atomic, row-locked), in its
own short transaction, so a request that fails and rolls back still counts. Times are the
database's clock, the same for every host.
"""

from __future__ import annotations

import random

import sqlalchemy as sa
from limits.storage import Storage
from sqlalchemy.engine import Engine

NOW = "extract(epoch from clock_timestamp())"
_INCR = sa.text(
    f"""
    INSERT INTO rate_counters (key, count, expires_at) VALUES (:key, :amount, {NOW} + :expiry)
    ON CONFLICT (key) DO UPDATE SET
      count = CASE WHEN rate_counters.expires_at <= {NOW}
                   THEN EXCLUDED.count ELSE rate_counters.count + EXCLUDED.count END,
      expires_at = CASE WHEN rate_counters.expires_at <= {NOW}
                        THEN EXCLUDED.expires_at ELSE rate_counters.expires_at END
    RETURNING count
    """
)
_GET = sa.text(f"SELECT count FROM rate_counters WHERE key = :key AND expires_at > {NOW}")
_EXPIRY = sa.text(
    f"SELECT coalesce((SELECT expires_at FROM rate_counters WHERE key = :key "
    f"AND expires_at > {NOW}), {NOW})"
)
_PURGE = sa.text(f"DELETE FROM rate_counters WHERE expires_at < {NOW} - 60")
PURGE_EVERY = 200  # on average, one increment in this many also deletes expired counters


class PostgresStorage(Storage):
    """Fixed-window counters (flask-limiter's default strategy) in the app's database."""

    def __init__(self, engine: Engine):
        super().__init__()
        self.engine = engine

    @property
    def base_exceptions(self) -> type[Exception]:
        return sa.exc.SQLAlchemyError

    def incr(self, key: str, expiry: int, amount: int = 1) -> int:
        with self.engine.begin() as conn:
            count = conn.execute(_INCR, {"key": key, "amount": amount, "expiry": expiry}).scalar()
            if random.randrange(PURGE_EVERY) == 0:
                conn.execute(_PURGE)
        return int(count)

    def get(self, key: str) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(_GET, {"key": key}).scalar() or 0)

    def get_expiry(self, key: str) -> float:
        with self.engine.connect() as conn:
            return float(conn.execute(_EXPIRY, {"key": key}).scalar())

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
