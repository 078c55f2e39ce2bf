"""Benchmark the lists QA found growing with the whole table: 开票记录, 缴费单 (its page and
GET /api/v1/bills), 学习进度 and 流程目录, at a small and a large size on PostgreSQL.

For each size a private PostgreSQL database (created beside the test server, dropped at the
end) is filled in bulk by SQL: `bench_workbench.seed`'s agencies, units, staff and N forms of
the nine business types with their tasks, audit trail and persons; then each form gets a
real engine state (those a join saves after each of its steps, `bench_lifecycle`: 4 to 12 KB
of JSON) and one in three sits on one of two older versions of its process (so the catalogue
lists three versions of each); four forms in five have a bill (finished ones confirmed, one
in ten of those void; open ones unpaid or paid), each confirmed bill its document (one in
five two: a support fee's 电子发票 and a membership fee's 电子财政收据) dated over the last
500 days, so about two thirds fall in this year's default range; and every form a learning
task in one of the five states. The database is then rewritten and analysed, as autovacuum
keeps a production one.

Then, through the real app (Flask's test client: routing, session or bearer token, use
cases, SQL, templates; no network), as finance (caiwu) and the association's reviewer
(xiehui), each request is timed at the two sizes in turns (small, large, small, …) so that
a neighbour's load falls on both alike. Printed per request: p50 and p95 at each size, the
growth of p95 (large ÷ small), and at the large size the statements one request sends and
the milliseconds they spent in the database (p50, from SQLAlchemy's cursor events).

Compare two checkouts side by side: the same command once per checkout, `--repo DIR` (or
PYTHONPATH=DIR) naming the one whose `service` package is measured; the seeding is SQL and
the same for both. Keep runs modest on a shared machine; compare runs made one after the other.

Run:  python scripts/bench_lists.py [--sizes 1000 50000] [--runs 30] [--repo DIR] [--only 学习进度]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

HERE = Path(__file__).resolve().parent
OPEN_SHARE = 5  # one form in five waits for a review (bench_workbench's open forms)
FINANCE, RECORDER = "caiwu", "xiehui"


def requests(instances: int) -> list[tuple[str, str, str, bool]]:
    """(label, who, path, bearer) of every timed request; the searched values exist at both
    sizes (bench_workbench numbers its forms BK-00000000000001 …)."""
    form = "BK-" + str(instances // 2 + 3).zfill(14)  # a finished form: confirmed, a receipt
    return [
        ("开票记录 /finance/invoices", FINANCE, "/finance/invoices", False),
        ("开票记录 form number", FINANCE, f"/finance/invoices?q={form}", False),
        ("缴费单 /finance/bills", FINANCE, "/finance/bills", False),
        ("缴费单 status=paid", FINANCE, "/finance/bills?status=paid", False),
        ("缴费单 form number", FINANCE, f"/finance/bills?q={form}", False),
        ("缴费单 GET /api/v1/bills", FINANCE, "/api/v1/bills", True),
        ("缴费单 API status=confirmed", FINANCE, "/api/v1/bills?status=confirmed", True),
        ("学习进度 /learning-records", RECORDER, "/learning-records", False),
        ("学习进度 status=学习中", RECORDER, "/learning-records?status=学习中", False),
        ("学习进度 form number", RECORDER, f"/learning-records?business_key={form[-8:]}", False),
        ("流程目录 /processes/catalogue", RECORDER, "/processes/catalogue", False),
    ]


def real_states() -> list[str]:
    """The states the engine saves through a join's lifecycle (after its start and each
    step): what a form's row holds; a synthetic one of the same size if that fails."""
    try:
        import bench_lifecycle

        from service.engine import load_definitions

        repo = Path(sys.modules["service"].__file__).resolve().parent.parent
        defs = load_definitions(repo / "processes", repo / "rules", repo / "forms")
        states: list[str] = []
        bench_lifecycle.engine_lifecycle(defs["member_join"], states)
        return states
    except Exception as exc:  # noqa: BLE001 - any failure: a state of the same size will do
        print(f"(engine states unavailable, {exc!r}: synthetic ones of the same size)")
        return ['{"data": {' + ", ".join(f'"f{n}": "{n:032x}"' for n in range(200)) + "}}"]


def add_lists(url: str, states: list[str]) -> None:
    """Engine states, older versions, bills, their documents and learning tasks (see the
    module's docstring), then the database rewritten and analysed."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("CREATE TEMP TABLE bench_states (n int, state text)"))
            conn.execute(
                sa.text("INSERT INTO bench_states VALUES (:n, :state)"),
                [{"n": n, "state": s} for n, s in enumerate(states)],
            )
            # two older versions of each process (its current files under other digests)
            conn.execute(
                sa.text(
                    "INSERT INTO definition_versions (process_key, number, digest, files, "
                    "created_at, deployed_by) SELECT v.process_key, v.number + k, "
                    "left(md5(v.digest || k), 60), v.files, now(), 'bench' "
                    "FROM definition_versions v, generate_series(1, 2) k"
                )
            )
            conn.execute(
                sa.text(
                    "UPDATE process_instances p SET state = s.state, definition_version_id = "
                    "COALESCE((SELECT v.id FROM definition_versions v WHERE v.process_key = "
                    "p.process_key AND v.number = 1 + p.id % 3), p.definition_version_id) "
                    "FROM bench_states s WHERE s.n = p.id % (SELECT count(*) FROM bench_states)"
                )
            )
            # a bill for four forms in five: finished ones confirmed (one in ten void), open
            # ones unpaid or paid; one in five a support fee with a membership fee beside it
            conn.execute(
                sa.text(
                    """
INSERT INTO bills (instance_id, unit_id, kind, amount, membership_amount, lines, status,
  paid_at, receipt_type, receipt_number, receipt_date, confirmed_at, created_at, updated_at)
SELECT p.id, p.unit_id,
  CASE WHEN p.id % 5 = 1 THEN '会员教育辅助费' ELSE '个人会员费' END,
  CASE WHEN p.id % 5 = 1 THEN 300 ELSE 100 END,
  CASE WHEN p.id % 5 = 1 THEN 100 ELSE 100 END, '[]',
  CASE WHEN NOT p.finished THEN (CASE WHEN p.id % 2 = 0 THEN 'paid' ELSE 'unpaid' END)
       WHEN p.id % 10 = 7 THEN 'void' ELSE 'confirmed' END,
  CASE WHEN p.finished OR p.id % 2 = 0 THEN p.submitted_at + interval '1 day' END,
  CASE WHEN p.id % 5 = 1 THEN '电子发票、电子财政收据' ELSE '电子财政收据' END,
  CASE WHEN p.finished AND p.id % 10 <> 7 THEN 'GDCZ' || lpad(p.id::text, 10, '0') END,
  CASE WHEN p.finished AND p.id % 10 <> 7 THEN current_date - p.id % 500 END,
  CASE WHEN p.finished AND p.id % 10 <> 7 THEN p.submitted_at + interval '2 days' END,
  p.submitted_at, p.submitted_at
FROM process_instances p WHERE p.id % 5 <> 0
"""
                )
            )
            conn.execute(
                sa.text(
                    """
INSERT INTO bill_receipts (bill_id, receipt_type, fee_kind, amount, receipt_number,
  receipt_code, receipt_serial, receipt_date, payer_name)
SELECT b.id, d.receipt_type, d.fee_kind, d.amount,
  d.prefix || lpad(b.instance_id::text, 10, '0'), '44060126', lpad(b.id::text, 8, '0'),
  b.receipt_date, CASE WHEN b.id % 10 = 3 THEN NULL ELSE u.name END
FROM bills b JOIN units u ON u.id = b.unit_id
JOIN LATERAL (
  SELECT '电子财政收据' AS receipt_type, '个人会员费' AS fee_kind, 100 AS amount,
         'GDCZ' AS prefix
  UNION ALL
  SELECT '电子发票', '会员教育辅助费', 200, 'FP' WHERE b.kind = '会员教育辅助费'
) d ON true
WHERE b.status = 'confirmed'
"""
                )
            )
            conn.execute(
                sa.text(
                    """
INSERT INTO learning_tasks (instance_id, unit_id, id_number, name, process_key,
  certificate_type, required_hours, completed_hours, exam_attempts, status, deadline,
  opened_at, passed_at, updated_at)
SELECT p.id, p.unit_id, p.subject_id_number, p.subject_name, p.process_key, '监理员', 24,
  (p.id % 5) * 6, p.id % 3,
  (ARRAY['开课未学习', '学习中', '已通过', '未通过', '已过期'])[1 + p.id % 5],
  (p.submitted_at + interval '180 days')::date, p.submitted_at,
  CASE WHEN p.id % 5 = 2 THEN p.submitted_at + interval '30 days' END, p.submitted_at
FROM process_instances p
"""
                )
            )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            # the rows as a production table holds them (the UPDATE left each a dead copy)
            raw.execute(sa.text("VACUUM FULL process_instances"))
            raw.execute(sa.text("VACUUM ANALYZE"))
            counts = {
                t: raw.execute(sa.text(f"SELECT count(*) FROM {t}")).scalar()
                for t in ("bills", "bill_receipts", "learning_tasks", "definition_versions")
            }
            size = raw.execute(
                sa.text("SELECT pg_size_pretty(pg_total_relation_size('process_instances'))")
            ).scalar()
        print(f"  + {counts}, process_instances {size}", flush=True)
    finally:
        engine.dispose()


@dataclass
class Size:
    """One size's database, app and signed-in clients."""

    instances: int
    url: str
    name: str
    app: object = None
    clients: dict = field(default_factory=dict)
    bearer: dict = field(default_factory=dict)


def build(base: str, instances: int, tmp: Path, states: list[str]) -> Size:
    from bench_queue import token
    from bench_workbench import private_database, seed, signed_in

    from service import create_app
    from service.config import load_config
    from service.db.migrate import upgrade

    started = time.perf_counter()
    url, admin, name = private_database(base)
    admin.dispose()
    size = Size(instances, url, name)
    upgrade(url)
    size.app = create_app(
        load_config(
            database_url=url,
            instance_dir=tmp / name,
            files_dir=tmp / name / "files",
            secret_key="bench",
        )
    )
    counts = seed(size.app, instances, instances // OPEN_SHARE)
    print(f"{instances:,} forms seeded in {counts.pop('seconds')} s: {counts}", flush=True)
    add_lists(url, states)
    print(f"  built in {time.perf_counter() - started:.0f} s", flush=True)
    size.clients = {who: signed_in(size.app, who) for who in (FINANCE, RECORDER)}
    size.bearer = {FINANCE: token(size.app.test_client(), FINANCE)}
    return size


class Watch:
    """The statements each request sends and their time in the database (cursor events)."""

    def __init__(self, app):
        from service.db import db

        with app.app_context():
            self.engine = db.engine
        self.count, self.seconds, self._started = 0, 0.0, 0.0
        sa.event.listen(self.engine, "before_cursor_execute", self._before)
        sa.event.listen(self.engine, "after_cursor_execute", self._after)

    def _before(self, *_args):
        self._started = time.perf_counter()

    def _after(self, *_args):
        self.count += 1
        self.seconds += time.perf_counter() - self._started

    def reset(self) -> None:
        self.count, self.seconds = 0, 0.0


def one(size: Size, who: str, path: str, bearer: bool) -> float:
    client = size.clients[who]
    headers = {"Authorization": size.bearer[who]["Authorization"]} if bearer else None
    started = time.perf_counter()
    reply = client.get(path, headers=headers)
    took = (time.perf_counter() - started) * 1000
    assert reply.status_code == 200, (path, reply.status_code, reply.get_data(as_text=True)[:300])
    return took


def padded(label: str, width: int) -> str:
    """`label` padded to `width` columns as a terminal shows it (a Chinese character: two)."""
    shown = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in label)
    return label + " " * max(width - shown, 0)


def p95(times: list[float]) -> float:
    ordered = sorted(times)
    return ordered[max(int(len(ordered) * 0.95) - 1, 0)]


def side_by_side(sizes: list[Size], runs: int, only: str | None = None) -> list[tuple]:
    """Each request (those whose label starts with `only`, if given) timed at every size in
    turns; with the large size's statements and database milliseconds per request (p50)."""
    watches = [Watch(size.app) for size in sizes]
    found = []
    for items in zip(*(requests(size.instances) for size in sizes), strict=True):
        label, who, _path, bearer = items[0]
        if only and not label.startswith(only):
            continue
        paths = [path for _label, _who, path, _bearer in items]
        for size, path in zip(sizes, paths, strict=True):
            for _ in range(3):  # warm: the pool, the plans, the templates
                one(size, who, path, bearer)
        times: list[list[float]] = [[] for _ in sizes]
        statements, in_db = [], []
        for _ in range(runs):
            for i, (size, path) in enumerate(zip(sizes, paths, strict=True)):
                watches[i].reset()
                times[i].append(one(size, who, path, bearer))
            statements.append(watches[-1].count)
            in_db.append(watches[-1].seconds * 1000)
        found.append((label, times, statistics.median(statements), statistics.median(in_db)))
        cells = "".join(f"{p95(t):10.1f}" for t in times)
        print(f"  {padded(label, 36)}{cells}  (p95, ms)", flush=True)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs=2, default=[1_000, 50_000])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--only", help="time only the requests whose label starts so (学习进度)")
    parser.add_argument(
        "--repo", type=Path, help="the checkout whose service package is measured (default: this)"
    )
    args = parser.parse_args()
    if args.repo is not None:
        sys.path.insert(0, str(args.repo.resolve()))
    sys.path.insert(1 if args.repo is not None else 0, str(HERE))
    from bench_workbench import DEFAULT_PG

    import service

    print(f"measuring {Path(service.__file__).resolve().parent}", flush=True)
    base = os.environ.get("MEMBERFLOW_TEST_PG_URL", DEFAULT_PG)
    small, large = args.sizes
    states = real_states()
    print(f"engine states: {len(states)}, {min(map(len, states))}–{max(map(len, states))} chars")
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    sizes: list[Size] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for instances in (small, large):
                sizes.append(build(base, instances, Path(tmp), states))
            found = side_by_side(sizes, args.runs, args.only)
            for size in sizes:
                with size.app.app_context():
                    from service.db import db

                    db.session.remove()
                    db.engine.dispose()
    finally:
        with admin.connect() as conn:
            for size in sizes:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{size.name}" WITH (FORCE)'))
        admin.dispose()

    head, tail = f"{small:,}", f"{large:,}"
    print(
        f"\n{'request':<36}{'p50 @' + head:>11}{'p50 @' + tail:>13}{'p95 @' + head:>11}"
        f"{'p95 @' + tail:>13}{'growth':>8}{'stmts':>7}{'db ms':>7}"
        f"  (ms; growth of p95; statements and database ms per request at {tail}, p50)"
    )
    for label, (at_small, at_large), statements, in_db in found:
        growth = p95(at_large) / p95(at_small)
        print(
            f"{padded(label, 36)}"
            f"{statistics.median(at_small):11.1f}{statistics.median(at_large):13.1f}"
            f"{p95(at_small):11.1f}{p95(at_large):13.1f}{growth:8.2f}{statements:7.0f}"
            f"{in_db:7.1f}"
        )


if __name__ == "__main__":
    main()
