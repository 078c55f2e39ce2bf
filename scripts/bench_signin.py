"""Timing probe: does POST /auth/token tell whether a login name exists?

Signs in through Flask's test client (the whole request: limiter, lookup, argon2 check,
reply) with a wrong password for a real account and for an unknown name, interleaved, and
prints the median and p90 milliseconds of each and their ratio; also a successful sign-in.
Target: the wrong-password medians of a real and an unknown name within ~20% of each
other (before issue 10 they were 24 ms and 2.5 ms). The limiter's thresholds are raised
for the probe (the counters are still kept), or it would lock after five attempts.

Databases are fresh, built by the migrations: SQLite in a temporary folder, and a private
PostgreSQL database memberflow_bench_signin_<pid> on $MEMBERFLOW_BENCH_PG_URL (dropped at
the end; skipped, loudly, when the server is unreachable).

Run:  python scripts/bench_signin.py [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

from service import create_app
from service.config import load_config
from service.db import db
from service.db.migrate import upgrade
from service.db.uow import UnitOfWork
from service.services.membership import accounts

PG_URL = os.environ.get(
    "MEMBERFLOW_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench-secret"
HUGE = 10**9


def probe(url: str, workdir: Path, runs: int) -> dict[str, list[float]]:
    upgrade(url)
    app = create_app(
        load_config(
            database_url=url,
            instance_dir=workdir,
            files_dir=workdir / "files",
            secret_key="bench-secret-key",
            signin_attempts=HUGE,
            signin_address_failures=HUGE,
        )
    )
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            accounts.create_admin(uow, "jigou", PASSWORD)
        db.session.remove()
    client = app.test_client()
    cases = {
        "real name, wrong password": ("jigou", "wrong-password"),
        "unknown name, wrong password": ("nobody-here", "wrong-password"),
        "real name, right password": ("jigou", PASSWORD),
    }
    times: dict[str, list[float]] = {label: [] for label in cases}
    for i in range(runs + 5):
        for label, (username, password) in cases.items():
            started = time.perf_counter()
            reply = client.post(
                "/api/v1/auth/token", json={"username": username, "password": password}
            )
            elapsed = (time.perf_counter() - started) * 1000
            assert reply.status_code in (200, 401), reply.get_json()
            if i >= 5:  # warm-up: connections, the dummy hash
                times[label].append(elapsed)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return times


def report(database: str, times: dict[str, list[float]]) -> None:
    print(f"\n{database + ' POST /auth/token':<34}{'median ms':>11}{'p90 ms':>10}{'runs':>7}")
    for label, xs in times.items():
        p90 = statistics.quantiles(xs, n=10)[-1]
        print(f"  {label:<32}{statistics.median(xs):>11.2f}{p90:>10.2f}{len(xs):>7}")
    real = statistics.median(times["real name, wrong password"])
    unknown = statistics.median(times["unknown name, wrong password"])
    gap = abs(real - unknown) / max(real, unknown) * 100
    verdict = "within" if gap <= 20 else "OUTSIDE"
    print(f"  unknown / real: {unknown / real:.2f}, {gap:.0f}% apart ({verdict} the 20% target)")


def on_postgresql(runs: int, workdir: Path) -> dict[str, list[float]] | None:
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    name = f"memberflow_bench_signin_{os.getpid()}"
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(f"!!!!!!!! PostgreSQL NOT REACHABLE at {PG_URL} — SKIPPED ({exc}) !!!!!!!!")
        admin.dispose()
        return None
    try:
        url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
        return probe(url, workdir, runs)
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        workdir = Path(folder)
        report("SQLite", probe(f"sqlite:///{workdir / 'bench.sqlite3'}", workdir / "s", args.runs))
        times = on_postgresql(args.runs, workdir / "pg")
        if times is not None:
            report("PostgreSQL", times)


if __name__ == "__main__":
    main()
