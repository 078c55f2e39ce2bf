"""Time the claim of a task on PostgreSQL: its instance row read by an ORM select, or by the
driver and made an entity by `uow.loaded` (what `tasks._take` does).

A completion's first statement claims the task and returns the form's row (UPDATE user_tasks
… FROM process_instances … RETURNING both). Until f18ecd4 an ORM select read that RETURNING
as a ProcessInstance entity; SQLAlchemy builds its loading machinery for the entity's 23
columns anew at every query. Now the driver reads the row and `uow.loaded` makes the entity.

Both ways run the same statement on the same open task, alternately, in one process and on
one connection (so a neighbour's load falls on both alike), each inside a savepoint rolled
back after it: the task stays open for the next. The script prints, per way, the median
wall and CPU microseconds of one claim and the Python function calls of one (cProfile's
count, which no neighbour moves), the ratios, and checks that both ways made the same entity.

Run:  python scripts/bench_claim.py [--runs 2000]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import statistics
import sys
import tempfile
import time
from pathlib import Path

import sqlalchemy as sa

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_lifecycle as bl  # noqa: E402

from service.db import db  # noqa: E402
from service.db.models import Account, ProcessInstance  # noqa: E402
from service.db.uow import Reads, loaded  # noqa: E402
from service.services.membership import accounts  # noqa: E402
from service.services.workflow import tasks  # noqa: E402

KEYS = tasks._INSTANCE_KEYS


# the way before read the RETURNING by this ORM select, built once per shape as `_take`
# built it (not anew per claim)
_ORM = {}


def by_orm(session, statement, params):
    """The way before: an ORM select from the UPDATE's RETURNING."""
    orm = _ORM.get(statement)
    if orm is None:
        orm = _ORM[statement] = sa.select(ProcessInstance, *tasks._TAKEN).from_statement(statement)
    found = session.execute(orm, params, execution_options={"populate_existing": True}).first()
    return found[0], tuple(found[1:])


def by_driver(session, statement, params):
    """The way now (`tasks._take`): the driver's row, the entity made by `uow.loaded`."""
    reads = Reads(session)
    answer = reads.add(statement, params)
    reads.run()
    (row,) = answer.rows
    width = len(KEYS)
    return loaded(session, ProcessInstance, dict(zip(KEYS, row[:width], strict=True))), row[width:]


def measure(app, runs: int) -> None:
    client, heads, ids = bl.api_setup(app)
    started = bl.expect(
        client.post(
            "/api/v1/processes/member_join/instances",
            headers=heads["unit_admin"],
            json={"data": bl.application(ids)},
        ),
        201,
    )
    task_id = started["open_tasks"][0]["id"]
    ctx = app.extensions["memberflow"]
    with app.app_context():
        session = db.session()
        account = session.scalars(
            sa.select(Account).where(Account.username == bl.USERS["unit_admin"])
        ).one()
        actor = accounts.actor_of(account)
        statement = tasks._take_statement("postgresql", actor)
        params = tasks._take_params(actor, task_id, ctx.now())
        ways = {"ORM select": by_orm, "driver + loaded": by_driver}

        def once(way):
            nested = session.begin_nested()
            try:
                row, taken = way(session, statement, params)
                values = {k: getattr(row, k) for k in KEYS}
            finally:
                nested.rollback()
                session.expunge_all()  # the next claim makes its entity anew, as a request does
            return values, tuple(taken)

        made = {name: once(way) for name, way in ways.items()}
        first, second = made.values()
        assert first == second, "the two ways made different entities"
        for _ in range(50):  # warm: statements prepared on the connection, caches filled
            for way in ways.values():
                once(way)
        wall = {name: [] for name in ways}
        cpu = {name: [] for name in ways}
        for _ in range(runs):
            for name, way in ways.items():
                w, c = time.perf_counter(), time.process_time()
                once(way)
                wall[name].append((time.perf_counter() - w) * 1e6)
                cpu[name].append((time.process_time() - c) * 1e6)
        calls = {}
        for name, way in ways.items():
            profile = cProfile.Profile()
            profile.runcall(once, way)
            calls[name] = pstats.Stats(profile).total_calls
        session.rollback()
        db.session.remove()
    print(f"one claim, {runs} runs each, alternating (savepoint and its rollback included)")
    print(f"{'way':<18}{'wall µs p50':>12}{'CPU µs p50':>12}{'calls':>8}")
    for name in ways:
        print(
            f"{name:<18}{statistics.median(wall[name]):12.0f}"
            f"{statistics.median(cpu[name]):12.0f}{calls[name]:8d}"
        )
    a, b = ways
    for label, series in (("wall", wall), ("CPU", cpu)):
        before, after = statistics.median(series[a]), statistics.median(series[b])
        print(f"{label}: {after / before:.2f} of before ({before - after:.0f} µs saved per claim)")
    print(f"calls: {calls[b] / calls[a]:.2f} of before ({calls[a] - calls[b]} fewer)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2000)
    args = parser.parse_args(argv)

    def on(url: str) -> bool:
        with tempfile.TemporaryDirectory() as tmp:
            app = bl.make_app(url, Path(tmp))
            try:
                measure(app, args.runs)
            finally:
                with app.app_context():
                    db.session.remove()
                    db.engine.dispose()
        return True

    return 0 if bl.with_pg_database(on) else 1


if __name__ == "__main__":
    sys.exit(main())
