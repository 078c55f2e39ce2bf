"""Benchmark education enrolments of 10 and of 100 persons: does the cost per person stay flat?

One lifecycle = start an initial_education form listing N persons (each checked by the
eligibility table inside the process), agency_review, association_review (fees computed
per person), unit_pay, finance_review (bill confirmed, N learning branches open), then
one learning-records batch passing all N (N messages delivered, N certificates issued,
the form finishes). For each N (default 10 and 100) the script prints the median and p90
ms per lifecycle and the cost per person of

  (a) the engine alone, in memory (facts built in memory; the state dumped and loaded
      between steps, as a request does);
  (c) the REST API through Flask's test client on PostgreSQL (and on SQLite with
      --sqlite), with the median ms of each request of the lifecycle.

Then the ratio of the per-person cost at the largest N to that at the smallest.
Target (issue 12): (c, PostgreSQL) per person at 100 <= 1.5 x per person at 10.

The members are seeded before each timed lifecycle (not timed); the materials are
uploaded once. PostgreSQL uses a private database created and dropped by the script.

Run:  python scripts/bench_education.py [--persons 10,100] [--runs 5] [--warmup 1] [--sqlite]
      python scripts/bench_education.py --engine-only --persons 10,100,200
"""

from __future__ import annotations

import argparse
import io
import itertools
import logging
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bench_lifecycle import (
    REPO,
    USERS,
    expect,
    make_app,
    png_bytes,
    sign_in,
    with_pg_database,
)

from service.db import db
from service.db.models import Unit
from service.domain.person_facts import PersonRecord, person_facts
from service.domain.validation import make_resident_id
from service.engine import Instance, load_definitions
from service.services.membership.roster import MemberSeed, add_member

REVIEW = {"decision": "approve"}
FINANCE = {"decision": "approve", "receipt_number": "FP-1"}  # dated today (Shanghai) at its use
STEPS = ("start", "agency_review", "association_review", "unit_pay", "finance_review", "learning")
_serial = itertools.count(1)


def next_id_number() -> str:
    n = next(_serial)
    born = date(1970, 1, 1) + timedelta(days=n * 7)
    return make_resident_id(f"440106{born:%Y%m%d}{n % 1000:03d}")


def person_line(id_number: str, name: str, ids: dict) -> dict:
    return {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "diploma": ids["diploma"],
        "social_insurance": ids["social_insurance"],
        "verification": ids["verification"],
    }


def _dumped(inst, states: list[str] | None) -> str:
    text = inst.dumps()
    if states is not None:
        states.append(text)
    return text


def engine_lifecycle(defn, persons: int, states: list[str] | None = None) -> None:
    """One enrolment of `persons` through the engine alone, state dumped and loaded per step
    (`states`, if given, gets each state dumped)."""
    today = date(2026, 11, 28)
    numbers = [next_id_number() for _ in range(persons)]
    facts = {
        n: person_facts(
            PersonRecord(
                id_number=n,
                name=f"学员{i}",
                unit_id=1,
                birth_date=date(1985, 1, 1),
                education={
                    "level": "本科",
                    "major_category": "工程建设类",
                    "graduated_on": "2008-07-01",
                },
                memberships=[],
            ),
            n,
            f"学员{i}",
            1,
            today,
        )
        for i, n in enumerate(numbers)
    }
    for f in facts.values():
        f.update(ordinary_membership="valid", membership_until="2027-06-30")
    ids = {k: "a" * 32 for k in ("diploma", "social_insurance", "verification")}
    data = {
        "pledge": "a" * 32,
        "persons": [person_line(n, f"学员{i}", ids) for i, n in enumerate(numbers)],
        "process_key": "initial_education",
        "initiator_role": "unit_admin",
        "submitted_on": today.isoformat(),
        "unit_name": "单位",
        "person_facts": facts,
    }
    inst = Instance.start(defn, data)
    for name, payload in (
        ("agency_review", REVIEW),
        ("association_review", {**REVIEW, "person_facts": facts}),
        ("unit_pay", {"fee_voucher": "a" * 32}),
        ("finance_review", {**FINANCE, "receipt_date": f"{today}", "person_facts": facts}),
    ):
        inst = Instance.load(defn, _dumped(inst, states))
        task = next(t for t in inst.ready_tasks() if t.name == name)
        inst.complete(task.id, payload)
    inst = Instance.load(defn, _dumped(inst, states))
    passes = {n: {"passed": True} for n in numbers}
    assert len(inst.deliver_messages("learning_passed", passes)) == persons
    inst = Instance.load(defn, _dumped(inst, states))
    assert inst.finished, inst.status


def engine_bench(defn, sizes: list[int], runs: int, warmup: int) -> dict[int, list[float]]:
    """For each size, the ms of each lifecycle; the sizes take turns, as in api_bench."""
    times: dict[int, list[float]] = {n: [] for n in sizes}
    for i in range(runs + warmup):
        for persons in sizes:
            started = time.perf_counter()
            engine_lifecycle(defn, persons)
            if i >= warmup:
                times[persons].append((time.perf_counter() - started) * 1000)
    return times


def api_bench(app, sizes: list[int], runs: int, warmup: int) -> dict[int, dict[str, list[float]]]:
    """For each size: the whole lifecycle's ms ("total") and each request's ms, per run."""
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
        for name in ("pledge", "diploma", "social_insurance", "verification", "fee_voucher")
    }
    with app.app_context():
        unit_id = db.session.query(Unit.id).scalar()
        db.session.remove()
    # the sizes take turns run by run, so a change in the machine's load (other work on a
    # shared machine) weighs on every size alike and their ratio stays fair
    results = {persons: {step: [] for step in ("total", *STEPS)} for persons in sizes}
    for i in range(runs + warmup):
        for persons in sizes:
            people = [(next_id_number(), f"学员{k}") for k in range(persons)]
            with app.app_context():
                for n, name in people:
                    add_member(
                        db.session,
                        MemberSeed(name, n, unit_id, memberships={"普通会员": date(2027, 6, 30)}),
                    )
                db.session.commit()
                db.session.remove()
            lap: dict[str, float] = {}
            started = clock = time.perf_counter()
            view = expect(
                client.post(
                    "/api/v1/processes/initial_education/instances",
                    headers=heads["unit_admin"],
                    json={
                        "data": {
                            "pledge": ids["pledge"],
                            "persons": [person_line(n, name, ids) for n, name in people],
                        }
                    },
                ),
                201,
            )
            lap["start"], clock = time.perf_counter() - clock, time.perf_counter()
            # each bill its own number; dated today (Shanghai), read after the form was
            # submitted: a receipt dated before its form's day is refused (one past midnight)
            today = (datetime.now(UTC) + timedelta(hours=8)).date().isoformat()
            receipt = {**FINANCE, "receipt_number": f"FP-{view['id']}", "receipt_date": today}
            for data in (REVIEW, REVIEW, {"fee_voucher": ids["fee_voucher"]}, receipt):
                task = view["open_tasks"][0]
                view = expect(
                    client.post(
                        f"/api/v1/tasks/{task['id']}/complete",
                        headers=heads[task["role"]],
                        json={"data": data},
                    ),
                    200,
                )
                lap[task["task_name"]], clock = time.perf_counter() - clock, time.perf_counter()
            records = [
                {
                    "id_number": n,
                    "name": name,
                    "completed_hours": 24,
                    "exam_status": "已通过",
                    "exam_attempts": 1,
                }
                for n, name in people
            ]
            result = expect(
                client.post(
                    "/api/v1/learning-records",
                    headers=heads["association_reviewer"],
                    json={"records": records},
                ),
                200,
            )
            assert result["passed"] == persons, result
            lap["learning"] = time.perf_counter() - clock
            lap["total"] = time.perf_counter() - started
            if i >= warmup:
                for step, seconds in lap.items():
                    results[persons][step].append(seconds * 1000)
    return results


def on_app(url: str, workdir: Path, sizes: list[int], runs: int, warmup: int):
    app = make_app(url, workdir)
    try:
        return api_bench(app, sizes, runs, warmup)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def _p90(xs: list[float]) -> float:
    return statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]


def report(results: dict[str, dict[int, list[float]]], steps: dict[str, dict]) -> None:
    sizes = sorted({n for by_size in results.values() for n in by_size})
    head = f"{'persons':>8}{'median ms':>11}{'p90 ms':>10}{'ms/person':>11}{'runs':>6}"
    print(f"\n{'enrolment':<24}{head}")
    for label, by_size in results.items():
        for n in sizes:
            xs = by_size[n]
            median = statistics.median(xs)
            print(
                f"{label:<24}{n:>8}{median:>11.1f}{_p90(xs):>10.1f}{median / n:>11.2f}{len(xs):>6}"
            )
    for label, by_size in steps.items():
        print(f"\n{label}: median ms of each request")
        print(f"{'persons':>8}" + "".join(f"{s[:18]:>20}" for s in STEPS))
        for n in sizes:
            print(f"{n:>8}" + "".join(f"{statistics.median(by_size[n][s]):>20.1f}" for s in STEPS))
    small = sizes[0]
    print(f"\nper-person cost at N / per-person cost at {small}:")
    print(f"  {'':<24}" + "".join(f"{f'N={n}':>10}" for n in sizes[1:]))
    for label, by_size in results.items():
        base = statistics.median(by_size[small]) / small
        ratios = [statistics.median(by_size[n]) / n / base for n in sizes[1:]]
        print(f"  {label:<24}" + "".join(f"{r:>10.2f}" for r in ratios))
    print("target: (c) API, PostgreSQL at 100 <= 1.5 (issue 12)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--persons", default="10,100", help="form sizes, comma-separated")
    parser.add_argument("--runs", type=int, default=5, help="timed lifecycles per size for (c)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed lifecycles first")
    parser.add_argument("--sqlite", action="store_true", help="also (c) on SQLite")
    parser.add_argument("--engine-only", action="store_true", help="only (a), no database")
    args = parser.parse_args(argv)
    sizes = sorted({int(n) for n in args.persons.split(",")})
    runs, warmup = max(args.runs, 1), max(args.warmup, 0)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    defn = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")["initial_education"]
    results: dict[str, dict[int, list[float]]] = {
        "(a) engine, in memory": engine_bench(defn, sizes, runs, warmup)
    }
    steps: dict[str, dict] = {}
    if args.engine_only:
        report(results, steps)
        return 0
    with tempfile.TemporaryDirectory(prefix="memberflow-bench-edu-") as tmp:
        work = Path(tmp)
        if args.sqlite:
            by_size = on_app(f"sqlite:///{work / 'c.sqlite3'}", work / "c", sizes, runs, warmup)
            results["(c) API, SQLite"] = {n: v["total"] for n, v in by_size.items()}
            steps["(c) API, SQLite"] = by_size
        pg = with_pg_database(lambda url: on_app(url, work / "pg", sizes, runs, warmup))
        if pg is not None:
            results["(c) API, PostgreSQL"] = {n: v["total"] for n, v in pg.items()}
            steps["(c) API, PostgreSQL"] = pg
    report(results, steps)
    return 0


if __name__ == "__main__":
    sys.exit(main())
