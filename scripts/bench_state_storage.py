"""What storing an instance's state costs PostgreSQL: pglz (its default) against LZ4.

Every move reads an instance's state (the claim's RETURNING) and writes the new one; a
state of more than about 2 KB is compressed by PostgreSQL, and stored beside the row
(TOAST) when it stays larger. Migration 0022 sets LZ4 for the column. This script
measures the two methods on real states, in one private database, in turns:

- the states are those the engine saves (`Instance.dumps()`) after each step of a join
  lifecycle (`bench_lifecycle.engine_lifecycle`) and of education forms of 10 and of 100
  persons (`bench_education.engine_lifecycle`);
- one table per method (an id, a version and the state, the column set to the method),
  its rows holding those states;
- one operation is what a request does to the state, in one transaction: read a row's
  state, write the next state of the same kind into that row (and bump its version),
  COMMIT; the methods take turns every `--batch` operations, so a neighbour's load falls
  on both alike.

Prints, for each kind of state and method: the state's length and stored size, the
database backend's CPU per operation (from /proc, what the server spends) and the wall
time per operation (p50, as the client sees it), and the ratio LZ4 ÷ pglz.

Run:  python scripts/bench_state_storage.py [--rounds 20] [--batch 100]
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import statistics
import sys
import time
from pathlib import Path

import psycopg
import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_education  # noqa: E402
import bench_lifecycle  # noqa: E402
from bench_lifecycle import REPO, with_pg_database  # noqa: E402

from service.engine import load_definitions  # noqa: E402

METHODS = ("pglz", "lz4")
ROWS = 50  # rows per kind of state in each table


def collect_states() -> dict[str, list[str]]:
    """The states the engine saves along a join and along two education forms."""
    defs = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
    states: dict[str, list[str]] = {"join": [], "education, 10 persons": []}
    states["education, 100 persons"] = []
    for _ in range(3):
        bench_lifecycle.engine_lifecycle(defs["member_join"], states["join"])
    bench_education.engine_lifecycle(defs["initial_education"], 10, states["education, 10 persons"])
    bench_education.engine_lifecycle(
        defs["initial_education"], 100, states["education, 100 persons"]
    )
    return states


def backend_cpu(pid: int) -> float:
    """Seconds of CPU (user and system) the backend `pid` has used."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run(url: str, states: dict[str, list[str]], rounds: int, batch: int) -> None:
    dsn = sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(dsn, autocommit=True) as conn:
        for method in METHODS:
            conn.execute(
                f"CREATE TABLE states_{method} (id int PRIMARY KEY, version int, kind text,"
                f" state text COMPRESSION {method})"
            )
            for kind, texts in states.items():
                base = list(states).index(kind) * ROWS
                with conn.transaction():
                    for i in range(ROWS):
                        conn.execute(
                            f"INSERT INTO states_{method} VALUES (%s, 1, %s, %s)",
                            (base + i, kind, texts[i % len(texts)]),
                        )
        pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        conn.execute("VACUUM ANALYZE")
        cpu = {(k, m): 0.0 for k in states for m in METHODS}
        walls: dict[tuple[str, str], list[float]] = {key: [] for key in cpu}
        counts = dict.fromkeys(cpu, 0)
        for kind, texts in states.items():
            base = list(states).index(kind) * ROWS
            turn = {m: itertools.count() for m in METHODS}
            for _ in range(rounds):
                for method in METHODS:
                    read = f"SELECT state FROM states_{method} WHERE id = %s"
                    write = (
                        f"UPDATE states_{method} SET state = %s, version = version + 1"
                        " WHERE id = %s"
                    )
                    start = backend_cpu(pid)
                    for _ in range(batch):
                        n = next(turn[method])
                        row = base + n % ROWS
                        began = time.perf_counter()
                        with conn.transaction():
                            conn.execute(read, (row,)).fetchone()
                            conn.execute(write, (texts[n % len(texts)], row))
                        walls[kind, method].append(time.perf_counter() - began)
                    cpu[kind, method] += backend_cpu(pid) - start
                    counts[kind, method] += batch
        sizes = {
            (kind, method): conn.execute(
                f"SELECT avg(octet_length(state)), avg(pg_column_size(state)) FROM states_{method}"
                " WHERE kind = %s",
                (kind,),
            ).fetchone()
            for kind in states
            for method in METHODS
        }
    print(
        f"{'state':24s} {'method':6s} {'length B':>9s} {'stored B':>9s}"
        f" {'DB CPU µs/op':>13s} {'wall µs p50':>12s}"
    )
    for kind in states:
        for method in METHODS:
            length, stored = sizes[kind, method]
            print(
                f"{kind:24s} {method:6s} {float(length):9.0f} {float(stored):9.0f}"
                f" {1e6 * cpu[kind, method] / counts[kind, method]:13.0f}"
                f" {1e6 * statistics.median(walls[kind, method]):12.0f}"
            )
        ratio_cpu = cpu[kind, "lz4"] / cpu[kind, "pglz"] if cpu[kind, "pglz"] else float("nan")
        ratio_wall = statistics.median(walls[kind, "lz4"]) / statistics.median(walls[kind, "pglz"])
        print(f"{'':24s} lz4 ÷ pglz: DB CPU {ratio_cpu:.2f}, wall {ratio_wall:.2f}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="turns of each method per kind")
    parser.add_argument("--batch", type=int, default=100, help="operations per turn")
    args = parser.parse_args(argv)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    states = collect_states()
    for kind, texts in states.items():
        print(f"{kind}: {len(texts)} states, {min(map(len, texts))}–{max(map(len, texts))} chars")
    done = with_pg_database(lambda url: run(url, states, args.rounds, args.batch))
    return 0 if done is not False else 1


if __name__ == "__main__":
    sys.exit(main())
