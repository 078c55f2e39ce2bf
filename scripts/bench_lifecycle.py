"""Benchmark one whole member_join lifecycle: start + every task until 审批完成.

One lifecycle = start, unit_pre_review, agency_review, association_review, unit_pay,
finance_review (all approved). The script prints the median and p90 milliseconds per
lifecycle, measured with time.perf_counter, of:

  (a) the engine alone, in memory: service.engine.Instance, nothing saved;
  (b) the service layer on SQLite: the use cases called directly, each call in its own
      app context and unit of work (what a request does, minus HTTP);
  (c) the REST API through Flask's test client, on SQLite and on PostgreSQL
      (signed in once per role; each reply's open_tasks[0] gives the next task).

Beside each it prints this process's CPU milliseconds per lifecycle and the function calls
of one more lifecycle (cProfile's count: what a neighbour's load cannot move, so two
versions of the code compare fairly on a shared machine), and the ratios of all three.

For (c) on PostgreSQL it also says where a lifecycle's time goes: this process's CPU, the
CPU of the database's backends (the scheduler's count, /proc/PID/schedstat, when the server
runs on this machine) and the rest (waits: each COMMIT's flush to disk, wake-ups), and so
what the ratio would be were our own code to cost nothing beside the engine (the floor the
database sets), and how much of our own CPU per request the target leaves.

Each application has its own valid resident ID (one join application per person); the
materials and fee voucher are uploaded once and reused. Databases are fresh, built by the
migrations; for PostgreSQL a private database memberflow_bench_<pid> is created on
$MEMBERFLOW_BENCH_PG_URL (default below) and dropped at the end (skipped, loudly, if the
server is unreachable).

Run:  python scripts/bench_lifecycle.py [--runs 30] [--warmup 3]
      (--runs: lifecycles for (b) and (c); (a) runs five times as many.)
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import logging
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager, nullcontext
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from PIL import Image

from service import create_app
from service.config import load_config
from service.db import db
from service.db.migrate import upgrade
from service.db.models import Account
from service.db.uow import UnitOfWork
from service.db.wire import traced
from service.domain.validation import make_credit_code, make_resident_id
from service.engine import Instance, load_definitions
from service.services.membership import accounts
from service.services.workflow import files, instances, tasks

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "MEMBERFLOW_BENCH_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "bench-secret"
DONE = "审批完成"
UNIT_NAME = "广州珠江工程建设监理有限公司"
USERS = {
    "unit_admin": UNIT_NAME,
    "agency_reviewer": "jigou",
    "association_reviewer": "xiehui",
    "finance_reviewer": "caiwu",
}
MATERIALS = ("photo", "id_front", "id_back", "diploma", "diploma_verification")
PAYLOADS = {
    "unit_pre_review": {"decision": "approve", "member_level": "普通会员"},
    "finance_review": {"decision": "approve"},
}
_serial = itertools.count()
_receipts = itertools.count(1)  # each bill its own receipt number (another's is refused)


def payload(task_name: str, voucher_id: str, data: dict | None = None) -> dict:
    """The approving form data of each task of the happy path; the unit's pre-review
    sends the application's fields again (the form is submitted whole, never merged)."""
    if task_name == "unit_pay":
        return {"fee_voucher": voucher_id}
    sent = dict(PAYLOADS.get(task_name, {"decision": "approve"}))
    if task_name == "finance_review":  # a receipt of today (Shanghai), numbered afresh
        today = (datetime.now(UTC) + timedelta(hours=8)).date()
        sent.update(receipt_number=f"R-{next(_receipts)}", receipt_date=today.isoformat())
    if task_name == "unit_pre_review" and data is not None:
        sent.update({k: v for k, v in data.items() if k not in ("variant", "declaration")})
    return sent


def next_id_number() -> str:
    """A fresh valid resident ID: born 1980-01-01 onwards (aged 18-65), 1000 a day."""
    i = next(_serial)
    born = date(1980, 1, 1) + timedelta(days=i // 1000)
    return make_resident_id(f"440106{born:%Y%m%d}{i % 1000:03d}")


def application(file_ids: dict) -> dict:
    """A complete (full variant) join application for a new person."""
    return {
        "variant": "full",
        "name": "陈志强",
        "id_type": "resident_id",
        "id_number": next_id_number(),
        "mobile": "13802511234",
        "address": "广州市天河区体育西路100号",
        "education": {
            "level": "本科",
            "school": "华南理工大学",
            "major": "土木工程",
            "graduated_on": "2008-07-01",
        },
        "title": "中级",
        "declaration": True,
        **{k: file_ids[k] for k in MATERIALS},
    }


def png_bytes() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 80), "#c00000").save(buf, format="PNG")
    return buf.getvalue()


class Samples(list):
    """Wall-clock milliseconds per lifecycle; `cpu`: this process's CPU milliseconds of each
    (the Flask app runs in this process, PostgreSQL does not), steadier on a shared machine;
    `calls`: the Python function calls of one more lifecycle, the same on a busy machine."""

    cpu: list[float]
    calls: int
    database_cpu: float | None = None  # PostgreSQL's backends, ms per lifecycle (mean)


def timed(
    lifecycle: Callable[[], None], runs: int, warmup: int, backends: Callable | None = None
) -> Samples:
    """Milliseconds of each of `runs` lifecycles, after `warmup` untimed ones; with
    `backends` (a function giving the PostgreSQL backends' pids once the warm-up has opened
    them), the CPU those backends spent per timed lifecycle too."""
    for _ in range(warmup):
        lifecycle()
    pids = backends() if backends is not None else []
    before = _on_cpu_ms(pids)
    samples = Samples()
    samples.cpu = []
    for _ in range(runs):
        t0, c0 = time.perf_counter(), time.process_time()
        lifecycle()
        samples.append((time.perf_counter() - t0) * 1000)
        samples.cpu.append((time.process_time() - c0) * 1000)
    if pids and before is not None:
        after = _on_cpu_ms(pids)
        samples.database_cpu = None if after is None else (after - before) / runs
    samples.calls = python_calls(lifecycle)
    return samples


def _on_cpu_ms(pids: list[int]) -> float | None:
    """The milliseconds these processes (this machine's) have run on a CPU so far: the
    scheduler's own count in nanoseconds (/proc/PID/schedstat), finer than /proc/PID/stat's
    ticks of 10 ms; None where it cannot be read (another machine's server, not Linux)."""
    total = 0
    try:
        for pid in pids:
            total += int(Path(f"/proc/{pid}/schedstat").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None
    return total / 1e6


def backend_pids(app) -> list[int]:
    """The pids of the PostgreSQL backends serving the app's database (its pool's)."""
    here = str(Path(__file__).resolve().parent)  # on the path unless imported by a test
    if here not in sys.path:
        sys.path.insert(0, here)
    from bench_throughput import _backend_pids

    with app.app_context():
        return _backend_pids(db.engine.url.render_as_string(hide_password=False))


def python_calls(lifecycle: Callable[[], None]) -> int:
    """The function calls (Python's and built-in ones) of one lifecycle, counted by cProfile:
    a figure the neighbours' load does not move, to compare two versions of the code."""
    profile = cProfile.Profile()
    profile.runcall(lifecycle)
    return pstats.Stats(profile).total_calls


def engine_lifecycle(defn, states: list[str] | None = None) -> None:
    """One lifecycle through the engine alone; `states` (if given) gets the state as each
    request would save it: after the start and after each task."""
    inst = Instance.start(
        defn,
        dict(
            variant="full",
            name="张三",
            id_type="resident_id",
            id_number="440308199901101512",
            birth_date=None,
            mobile="13800138000",
            submitted_on="2026-11-28",
            is_member=False,
            held_levels=[],
            member_elsewhere=False,
            join_in_flight=False,
        ),
    )
    if states is not None:
        states.append(inst.dumps())
    while not inst.finished:
        task = inst.ready_tasks()[0]
        inst.complete(task.id, payload(task.name, "a" * 32, inst.data))
        if states is not None:
            states.append(inst.dumps())
    assert inst.status == DONE, inst.status


def make_app(url: str, workdir: Path):
    """Migrate the database, build the app on it, seed an agency, a unit and staff."""
    upgrade(url)
    app = create_app(
        load_config(
            database_url=url,
            instance_dir=workdir,
            files_dir=workdir / "files",
            secret_key="bench",
            join_upload_rate="100000 per minute",
        )
    )
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            admin_id = accounts.create_admin(uow, "admin", PASSWORD)["id"]
        admin = accounts.actor_of(db.session.get(Account, admin_id))

        def call(fn, *args):
            with UnitOfWork(db.session) as uow:
                return fn(uow, admin, *args)

        agency = call(accounts.create_agency, "广州市建设监理行业协会", "广州")["id"]
        call(
            accounts.create_unit,
            UNIT_NAME,
            make_credit_code("91440101190468342"),
            agency,
            True,
            PASSWORD,
        )
        call(accounts.create_staff, "jigou", "广州初审员", PASSWORD, "agency_reviewer", agency)
        call(accounts.create_staff, "xiehui", "协会审核员", PASSWORD, "association_reviewer", None)
        call(accounts.create_staff, "caiwu", "协会财务", PASSWORD, "finance_reviewer", None)
        db.session.remove()
    return app


def service_bench(app, runs: int, warmup: int) -> list[float]:
    """(b): the use cases, each call in its own app context and unit of work."""
    ctx = app.extensions["memberflow"]
    with app.app_context():
        actors = {
            role: accounts.actor_of(
                db.session.scalars(sa.select(Account).where(Account.username == name)).one()
            )
            for role, name in USERS.items()
        }
        ids = {
            name: files.store_upload(
                ctx,
                UnitOfWork(db.session),
                actors["unit_admin"],
                f"{name}.png",
                png_bytes(),
            )["id"]
            for name in (*MATERIALS, "fee_voucher")
        }

    def lifecycle() -> None:
        data = application(ids)
        with app.app_context(), UnitOfWork(db.session) as uow:
            view, _ = instances.start_process(ctx, uow, actors["unit_admin"], "member_join", data)
        while not view["finished"]:
            task = view["open_tasks"][0]
            with app.app_context(), UnitOfWork(db.session) as uow:
                view = tasks.complete_task(
                    ctx,
                    uow,
                    actors[task["role"]],
                    task["id"],
                    payload(task["task_name"], ids["fee_voucher"], data),
                )
        assert view["status"] == DONE, view

    return timed(lifecycle, runs, warmup)


def expect(reply, status: int) -> dict:
    assert reply.status_code == status, (reply.status_code, reply.get_json())
    return reply.get_json()


def sign_in(client, users: dict[str, str]) -> dict[str, dict]:
    """Authorization headers per role, signing in each username once."""
    heads = {}
    for role, username in users.items():
        token = expect(
            client.post("/api/v1/auth/token", json={"username": username, "password": PASSWORD}),
            200,
        )["access_token"]
        heads[role] = {"Authorization": f"Bearer {token}"}
    return heads


def api_setup(app):
    """A test client, Authorization headers per role and the uploaded file ids."""
    client = app.test_client()
    heads = sign_in(client, USERS)
    ids = {
        name: expect(
            client.post(
                "/api/v1/files",
                headers=heads["unit_admin"],
                data={"file": (io.BytesIO(png_bytes()), f"{name}.png")},
            ),
            201,
        )["id"]
        for name in (*MATERIALS, "fee_voucher")
    }
    return client, heads, ids


def api_lifecycle(client, heads: dict, ids: dict, step=nullcontext) -> None:
    """One lifecycle through the API; each request inside `step(name)` (the start, then
    the task's name)."""
    data = application(ids)
    with step("start"):
        view = expect(
            client.post(
                "/api/v1/processes/member_join/instances",
                headers=heads["unit_admin"],
                json={"data": data},
            ),
            201,
        )
    while not view["finished"]:
        task = view["open_tasks"][0]
        with step(task["task_name"]):
            view = expect(
                client.post(
                    f"/api/v1/tasks/{task['id']}/complete",
                    headers=heads[task["role"]],
                    json={"data": payload(task["task_name"], ids["fee_voucher"], data)},
                ),
                200,
            )
    assert view["status"] == DONE, view


def api_bench(app, runs: int, warmup: int) -> list[float]:
    """(c): the REST API through Flask's test client."""
    client, heads, ids = api_setup(app)
    postgres = app.extensions["memberflow"].config.database_url.startswith("postgresql")
    samples = timed(
        lambda: api_lifecycle(client, heads, ids),
        runs,
        warmup,
        (lambda: backend_pids(app)) if postgres else None,
    )
    ROUND_TRIPS[app.extensions["memberflow"].config.database_url.split(":")[0]] = round_trips(
        app, lambda step: api_lifecycle(client, heads, ids, step)
    )
    return samples


ROUND_TRIPS: dict[str, tuple[float, str]] = {}
STEP_TRIPS: dict[str, int] = {}  # PostgreSQL's round trips of each request of a lifecycle


def round_trips(app, lifecycle: Callable) -> tuple[float, str]:
    """Statements, transaction starts and commits the database received per request, over
    one lifecycle of six requests. On SQLite each statement counts (the driver sends each on
    its own). On PostgreSQL libpq's own trace counts what waited for the server: each Sync
    or simple Query (BEGIN); a statement sent with the COMMIT in psycopg's pipeline is one
    round trip with it, and a statement's first use on a connection, which only prepares
    it, is left out (and counted apart). The round trips per request, and what they are;
    on PostgreSQL each request's too (`STEP_TRIPS`). `lifecycle(step)` runs one lifecycle,
    each request inside `step(name)`."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "postgresql":
        prepares = 0

        @contextmanager
        def traced_step(name: str):
            nonlocal prepares
            with traced(engine) as wire:
                yield
            STEP_TRIPS[name] = wire.trips - wire.prepares
            prepares += wire.prepares

        lifecycle(traced_step)
        return sum(STEP_TRIPS.values()) / 6, (
            "on the wire, BEGIN and COMMIT included (libpq's trace; besides "
            f"{prepares / 6:.1f} that only prepared a statement at its first use)"
        )
    counts = {"statements": 0, "begins": 0, "commits": 0}

    def on_statement(*_args, **_kw):
        counts["statements"] += 1

    def on_begin(*_args, **_kw):
        counts["begins"] += 1

    def on_commit(*_args, **_kw):
        counts["commits"] += 1

    events = (("before_cursor_execute", on_statement), ("begin", on_begin), ("commit", on_commit))
    for name, fn in events:
        sa.event.listen(engine, name, fn)
    try:
        lifecycle(nullcontext)
    finally:
        for name, fn in events:
            sa.event.remove(engine, name, fn)
    statements, commits = counts["statements"] / 6, counts["commits"] / 6
    return statements + commits, (
        f"= {statements:.1f} statements + {commits:.1f} COMMIT (SQLite's BEGIN is no round trip)"
    )


@contextmanager
def pg_databases(count: int = 1, skipped: str = "SKIPPED"):
    """`count` private, fresh PostgreSQL databases (their URLs), dropped afterwards; None,
    said loudly (`skipped`: what is left out), if the server is unreachable."""
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    names = [
        f"memberflow_bench_{os.getpid()}" + (f"_{n}" if count > 1 else "") for n in range(count)
    ]
    try:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    except sa.exc.OperationalError as exc:
        print(
            f"!!!!!!!! PostgreSQL NOT REACHABLE at {PG_URL} — {skipped} "
            f"({str(exc).splitlines()[0]}) !!!!!!!!",
            flush=True,
        )
        admin.dispose()
        yield None
        return
    try:
        yield [
            sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
            for name in names
        ]
    finally:
        with admin.connect() as conn:
            for name in names:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def with_pg_database(fn: Callable[[str], object]):
    """fn(url) on a private, fresh PostgreSQL database; None if the server is unreachable."""
    with pg_databases(1, "(c, PostgreSQL) SKIPPED") as urls:
        return None if urls is None else fn(urls[0])


def on_app(url: str, workdir: Path, bench, runs: int, warmup: int) -> list[float]:
    app = make_app(url, workdir)
    try:
        return bench(app, runs, warmup)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def report(results: dict[str, list[float]]) -> None:
    print(
        f"\n{'lifecycle (start + 5 tasks)':<28}{'median ms':>11}{'p90 ms':>10}{'runs':>7}"
        f"{'CPU ms':>9}{'calls':>9}"
    )
    for label, xs in results.items():
        p90 = statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]
        cpu = statistics.median(getattr(xs, "cpu", None) or [float("nan")])
        print(
            f"{label:<28}{statistics.median(xs):>11.1f}{p90:>10.1f}{len(xs):>7}{cpu:>9.1f}"
            f"{getattr(xs, 'calls', 0):>9}"
        )
    base_key = "(a) engine, in memory"
    base = statistics.median(results[base_key])
    print("\nratios of medians:")
    for label, key in (
        ("(b)/(a)", "(b) service, SQLite"),
        ("(c SQLite)/(a)", "(c) API, SQLite"),
        ("(c PostgreSQL)/(a)", "(c) API, PostgreSQL"),
    ):
        ratio = f"{statistics.median(results[key]) / base:.1f}" if key in results else "skipped"
        cpu = (
            f"{statistics.median(results[key].cpu) / statistics.median(results[base_key].cpu):.1f}"
            if key in results
            else "skipped"
        )
        calls = (
            f"{results[key].calls / results[base_key].calls:.1f}" if key in results else "skipped"
        )
        print(f"  {label:<20}{ratio:>8}   (CPU of this process: {cpu}; function calls: {calls})")
    if "(c) PostgreSQL, no fsync" in results:
        ratio = statistics.median(results["(c) PostgreSQL, no fsync"]) / base
        print(f"  {'(c PG, no fsync)/(a)':<20}{ratio:>8.1f}   (diagnostic: synchronous_commit=off)")
    print("target: (c, PostgreSQL)/(a) <= 8")
    pg = results.get("(c) API, PostgreSQL")
    if pg is not None and pg.database_cpu is not None:
        wall, ours = statistics.median(pg), statistics.median(pg.cpu)
        database, engine = pg.database_cpu, statistics.median(results[base_key].cpu)
        rest = max(wall - ours - database, 0.0)
        print(
            "where a lifecycle's time goes on PostgreSQL (ms): this process's CPU "
            f"{ours:.1f} (the engine's own {engine:.1f} of it), PostgreSQL's backends' CPU "
            f"{database:.1f}, the rest {rest:.1f} (waits: each COMMIT's flush to disk, wake-ups)"
        )
        floor = (engine + database + rest) / base
        budget = 8 * base - engine - database - rest
        print(
            f"  with nothing of ours but the engine the ratio would be {floor:.1f}; the target "
            f"leaves {budget:.1f} ms of our own CPU per lifecycle besides the engine "
            f"({budget / 6:.2f} per request; now {(ours - engine) / 6:.2f})"
        )
    for name, (trips, what) in ROUND_TRIPS.items():
        print(f"round trips per request, {name}: {trips:.1f} {what} (target <= 3)")
    if STEP_TRIPS:
        steps = ", ".join(f"{name} {trips}" for name, trips in STEP_TRIPS.items())
        print(f"round trips per step on PostgreSQL: {steps}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=int, default=30, help="timed lifecycles for (b) and (c); (a) runs 5x as many"
    )
    parser.add_argument("--warmup", type=int, default=3, help="untimed lifecycles first")
    args = parser.parse_args(argv)
    runs, warmup = max(args.runs, 1), max(args.warmup, 0)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    defn = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")["member_join"]
    results = {"(a) engine, in memory": timed(lambda: engine_lifecycle(defn), runs * 5, warmup)}
    with tempfile.TemporaryDirectory(prefix="memberflow-bench-") as tmp:
        work = Path(tmp)
        results["(b) service, SQLite"] = on_app(
            f"sqlite:///{work / 'b.sqlite3'}", work / "b", service_bench, runs, warmup
        )
        results["(c) API, SQLite"] = on_app(
            f"sqlite:///{work / 'c.sqlite3'}", work / "c", api_bench, runs, warmup
        )
        pg = with_pg_database(lambda url: on_app(url, work / "pg", api_bench, runs, warmup))
        if pg is not None:
            results["(c) API, PostgreSQL"] = pg
            # Diagnostic only: how much of (c) is the wait for PostgreSQL to flush each
            # COMMIT to disk. The service never runs like this (a commit must be durable).
            results["(c) PostgreSQL, no fsync"] = with_pg_database(
                lambda url: on_app(
                    sa.make_url(url)
                    .update_query_dict({"options": "-c synchronous_commit=off"})
                    .render_as_string(hide_password=False),
                    work / "pg2",
                    api_bench,
                    runs,
                    warmup,
                )
            )
    report(results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
