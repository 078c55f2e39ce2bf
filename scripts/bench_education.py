"""Benchmark one education enrolment of 10 persons, from start to the last learning pass.

One lifecycle = start an initial_education form listing 10 persons (each checked by the
eligibility table inside the process), agency_review, association_review (fees computed
per person), unit_pay, finance_review (bill confirmed, 10 learning branches open), then
one learning-records batch passing all 10 (10 messages delivered, 10 certificates
issued, the form finishes). Printed: median and p90 ms per lifecycle of

  (a) the engine alone, in memory (facts built in memory, nothing saved);
  (c) the REST API through Flask's test client, on SQLite and on PostgreSQL.

The 10 members are seeded before each timed lifecycle (not timed); the materials are
uploaded once. PostgreSQL uses a private database created and dropped by the script.

Run:  python scripts/bench_education.py [--runs 15] [--warmup 2]
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
from datetime import date, timedelta
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

PERSONS = 10
REVIEW = {"decision": "approve"}
FINANCE = {"decision": "approve", "receipt_number": "FP-1", "receipt_date": "2026-11-28"}
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


def engine_lifecycle(defn) -> None:
    today = date(2026, 11, 28)
    numbers = [next_id_number() for _ in range(PERSONS)]
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
        ("finance_review", {**FINANCE, "person_facts": facts}),
    ):
        inst = Instance.load(defn, inst.dumps())
        task = next(t for t in inst.ready_tasks() if t.name == name)
        inst.complete(task.id, payload)
    inst = Instance.load(defn, inst.dumps())
    passes = {n: {"passed": True} for n in numbers}
    assert len(inst.deliver_messages("learning_passed", passes)) == PERSONS
    inst = Instance.load(defn, inst.dumps())
    assert inst.finished, inst.status


def api_bench(app, runs: int, warmup: int) -> list[float]:
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
    times = []
    for i in range(runs + warmup):
        people = [(next_id_number(), f"学员{k}") for k in range(PERSONS)]
        with app.app_context():
            for n, name in people:
                add_member(
                    db.session,
                    MemberSeed(name, n, unit_id, memberships={"普通会员": date(2027, 6, 30)}),
                )
            db.session.commit()
            db.session.remove()
        started = time.perf_counter()
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
        for data in (REVIEW, REVIEW, {"fee_voucher": ids["fee_voucher"]}, FINANCE):
            task = view["open_tasks"][0]
            view = expect(
                client.post(
                    f"/api/v1/tasks/{task['id']}/complete",
                    headers=heads[task["role"]],
                    json={"data": data},
                ),
                200,
            )
        result = expect(
            client.post(
                "/api/v1/learning-records",
                headers=heads["association_reviewer"],
                json={
                    "records": [
                        {
                            "id_number": n,
                            "name": name,
                            "completed_hours": 24,
                            "exam_status": "已通过",
                            "exam_attempts": 1,
                        }
                        for n, name in people
                    ]
                },
            ),
            200,
        )
        assert result["passed"] == PERSONS, result
        elapsed = (time.perf_counter() - started) * 1000
        if i >= warmup:
            times.append(elapsed)
    return times


def on_app(url: str, workdir: Path, runs: int, warmup: int) -> list[float]:
    app = make_app(url, workdir)
    try:
        return api_bench(app, runs, warmup)
    finally:
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="timed lifecycles for (c)")
    parser.add_argument("--warmup", type=int, default=2, help="untimed lifecycles first")
    args = parser.parse_args(argv)
    runs, warmup = max(args.runs, 1), max(args.warmup, 0)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    defn = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")["initial_education"]
    a = []
    for i in range(runs * 3 + warmup):
        started = time.perf_counter()
        engine_lifecycle(defn)
        if i >= warmup:
            a.append((time.perf_counter() - started) * 1000)
    results = {"(a) engine, in memory": a}
    with tempfile.TemporaryDirectory(prefix="memberflow-bench-edu-") as tmp:
        work = Path(tmp)
        results["(c) API, SQLite"] = on_app(
            f"sqlite:///{work / 'c.sqlite3'}", work / "c", runs, warmup
        )
        pg = with_pg_database(lambda url: on_app(url, work / "pg", runs, warmup))
        if pg is not None:
            results["(c) API, PostgreSQL"] = pg
    print(f"\n{'enrolment of 10 persons':<28}{'median ms':>11}{'p90 ms':>10}{'runs':>7}")
    for label, xs in results.items():
        p90 = statistics.quantiles(xs, n=10)[-1] if len(xs) > 1 else xs[0]
        print(f"{label:<28}{statistics.median(xs):>11.1f}{p90:>10.1f}{len(xs):>7}")
    base = statistics.median(a)
    print("\nratios of medians:")
    for key in ("(c) API, SQLite", "(c) API, PostgreSQL"):
        ratio = f"{statistics.median(results[key]) / base:.1f}" if key in results else "skipped"
        print(f"  {key + ' / (a)':<28}{ratio:>8}")
    if "(c) API, PostgreSQL" in results:
        per_person = statistics.median(results["(c) API, PostgreSQL"]) / PERSONS
        print(f"  (c) PostgreSQL per person on the form: {per_person:.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
