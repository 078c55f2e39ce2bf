"""What turning a statement and its values into the driver's SQL costs (`uow._expanded`):
SQLAlchemy's expansion at every call against the recipe kept per statement and lengths.

`Reads` sends its statements to psycopg itself; for each it needs the SQL and the values
as SQLAlchemy would send them, its `IN` lists expanded. SQLAlchemy's
`construct_expanded_state` does that anew at every call; `_expanded` asks it once per
statement, lists' lengths and parameters and keeps a recipe. This script times both, in
turns in one process (CPU time), for the statements a join's start sends this way (the
persons' lock, the files' lock, the persons' facts) on PostgreSQL's dialect, and checks
both give the same SQL and values.

Run:  python scripts/bench_expanded.py [--rounds 20] [--batch 2000]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from sqlalchemy.dialects.postgresql import psycopg

from service.db import uow
from service.services.workflow import facts, files, persons

FILE_IDS = [f"{n:032x}" for n in range(6)]  # a join's materials and its fee voucher
NUMBERS = ["440106198503152316"]  # a join: one person


def cases() -> dict[str, tuple[object, dict]]:
    found = {
        "persons' lock (1 person)": (persons._LOCK, {"numbers": NUMBERS}),
        "files' lock (6 files)": (files._LOCK_FILES, {"ids": FILE_IDS}),
    }
    for n, query in enumerate(facts._person_queries(False)):
        found[f"persons' facts {n} (1 person)"] = (query, {"person_ids": NUMBERS})
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args(argv)
    dialect = psycopg.dialect()
    print(f"{'statement':30s} {'recipe µs':>10s} {'SQLAlchemy µs':>14s} {'ratio':>6s}")
    totals = {"recipe": 0.0, "sqlalchemy": 0.0}
    for label, (statement, params) in cases().items():
        compiled = statement.compile(dialect=dialect)
        convert = dict(compiled._bind_processors)
        ours = uow._expanded(dialect, statement, params)
        theirs = uow._expanded_by_sqlalchemy(compiled, convert, params)
        assert ours[0] == theirs[0] and ours[1].keys() == theirs[1].keys(), label
        ways = {
            "recipe": lambda s=statement, p=params: uow._expanded(dialect, s, p),
            "sqlalchemy": lambda c=compiled, v=convert, p=params: uow._expanded_by_sqlalchemy(
                c, v, p
            ),
        }
        times: dict[str, list[float]] = {way: [] for way in ways}
        for _ in range(args.rounds):
            for way, call in ways.items():
                began = time.process_time()
                for _ in range(args.batch):
                    call()
                times[way].append((time.process_time() - began) / args.batch * 1e6)
        r, s = statistics.median(times["recipe"]), statistics.median(times["sqlalchemy"])
        totals["recipe"] += r
        totals["sqlalchemy"] += s
        print(f"{label:30s} {r:10.1f} {s:14.1f} {r / s:6.2f}")
    r, s = totals["recipe"], totals["sqlalchemy"]
    print(f"{'all of a join start':30s} {r:10.1f} {s:14.1f} {r / s:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
