"""Benchmark what writing a reply costs: marshmallow's own dump against the planned one.

A private PostgreSQL database (dropped at the end) is filled by `bench_queue.build`,
at 1,000 forms by default: a reply's cost does not grow with the database. Then each
request below goes through the real app (Flask's test client: routing, bearer token, use
cases, SQL, the reply's schema, JSON), alternately with `service.api.planned.PLANNED` off
(marshmallow's `Schema.dump`) and on, in the same process against the same rows, so that
a neighbour's load falls on both alike. The lists are timed, and two small replies (the
queue's counts, the forms' summary) for comparison; a single form's reply is not, since
the seeded forms carry no engine state.

Prints per request the p50 of each and their difference and ratio, and the fields one
reply holds.

Run:  python scripts/bench_replies.py [--instances 1000] [--runs 200]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_queue import build  # noqa: E402
from bench_workbench import DEFAULT_PG  # noqa: E402


def fields_in(value) -> int:
    """How many values a JSON reply holds (what a dump writes one by one)."""
    if isinstance(value, dict):
        return sum(1 + fields_in(v) for v in value.values())
    if isinstance(value, list):
        return sum(fields_in(v) for v in value)
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    from service.api import planned
    from service.db import db

    base = os.environ.get("MEMBERFLOW_TEST_PG_URL", DEFAULT_PG)
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    size = None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            size = build(base, admin, args.instances, Path(tmp))
            client, headers = size.client, size.headers
            requests = [
                ("instance list (assoc.)", "xiehui", "/api/v1/instances"),
                ("instance list, 100 rows", "xiehui", "/api/v1/instances?page_size=100"),
                ("queue available (agency)", "jigou1", "/api/v1/tasks"),
                ("queue done (assoc.)", "xiehui", "/api/v1/tasks?scope=done"),
                ("queue counts (assoc.)", "xiehui", "/api/v1/tasks/counts"),
                ("instance summary (assoc.)", "xiehui", "/api/v1/instances/summary"),
            ]
            print(
                f"{'request':<28}{'fields':>8}{'marshmallow':>13}{'planned':>10}"
                f"{'saved':>8}{'ratio':>7}  (p50, ms)"
            )
            for label, who, path in requests:
                times: dict[bool, list[float]] = {False: [], True: []}
                replies = {}
                for run in range(args.runs + 5):
                    for mode in (False, True):
                        planned.PLANNED = mode
                        started = time.perf_counter()
                        reply = client.get(path, headers=headers[who])
                        took = (time.perf_counter() - started) * 1000
                        assert reply.status_code == 200, (path, reply.get_data(as_text=True))
                        replies[mode] = reply.get_json()
                        if run >= 5:  # the first: the pool, the plans
                            times[mode].append(took)
                assert replies[False] == replies[True], label  # the same reply either way
                off, on = statistics.median(times[False]), statistics.median(times[True])
                print(
                    f"{label:<28}{fields_in(replies[True]):>8}{off:13.2f}{on:10.2f}"
                    f"{off - on:8.2f}{on / off:7.2f}"
                )
            planned.PLANNED = True
            with size.app.app_context():
                db.session.remove()
                db.engine.dispose()
    finally:
        if size is not None:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{size.name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
