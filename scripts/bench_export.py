"""Benchmark the member archive export (单位人员档案导出表) of 10,000 members.

A fresh database (SQLite by default; --pg: a private PostgreSQL database created beside
$MEMBERFLOW_DATABASE_URL when that is a PostgreSQL URL, else beside the test server, and
dropped at the end) gets one unit with N members, each with memberships (some expired, a
fifth also 专业会员) and one or two certificates, inserted in bulk by one child process.
The export then runs in another child process, a fresh interpreter started by this small
parent (Linux carries a parent's peak RSS over fork and exec into ru_maxrss, so neither
the parent nor the seeding may be big), which reports:

  - seconds per export, end to end: the use case (query + workbook, written to a
    spooled temporary file and read back, as the API does), and the whole HTTP request
    through Flask's test client;
  - peak resident memory of the child (ru_maxrss, and VmHWM from /proc where there is
    one) after building the app, before the first export and after all of them;
  - the tracemalloc peak of one more export (Python allocations during the export).

Targets: under 3 s and under 150 MB peak.

Run:  python scripts/bench_export.py [--members 10000] [--runs 3] [--pg]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path

# the app, the models and openpyxl are imported by the child processes only (see above)

TARGET_SECONDS = 3.0
TARGET_MB = 150.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ("建国", "美玲", "志强", "秀英", "伟", "芳", "俊杰", "婷", "浩然", "晓明")
PREFIXES = {"监理员": "JL", "安全监理员": "AQ", "专业监理工程师": "ZJ"}
SPECIALTIES = ("房屋建筑工程", "市政公用工程", "机电安装工程", "公路工程")


def _member_rows(n: int, unit, now: datetime) -> list[dict]:
    from service.domain.validation import make_resident_id

    rows = []
    for i in range(n):
        born = date(1966, 1, 1) + timedelta(days=(i * 3) % 12000)
        seq = i // 4000  # with `born`, unique for the first 40,000 rows
        id_number = make_resident_id(f"440106{born:%Y%m%d}{seq:03d}")
        rows.append(
            {
                "name": SURNAMES[i % len(SURNAMES)] + GIVEN[i // len(SURNAMES) % len(GIVEN)],
                "id_type": "resident_id",
                "id_number": id_number,
                "gender": "男" if int(id_number[16]) % 2 else "女",
                "birth_date": born,
                "mobile": f"138{i:08d}",
                "education": {
                    "level": ("大专", "本科", "硕士")[i % 3],
                    "school": "华南理工大学",
                    "major": "土木工程",
                    "major_category": "工程建设类",
                    "graduated_on": "2010-07-01",
                },
                "title": ("初级", "中级", "高级", None)[i % 4],
                "unit_id": unit.id,
                "agency_id": unit.agency_id,
                "status": "自由态",
                "created_at": now - timedelta(days=i % 900),
            }
        )
    return rows


def _memberships(ids: list[int], today: date) -> list[dict]:
    rows = []
    for k, member_id in enumerate(ids):
        until = today + timedelta(days=(k % 700) - 100)  # about one in seven has expired
        rows.append(
            {
                "member_id": member_id,
                "level": "普通会员",
                "valid_from": until - timedelta(days=364),
                "valid_until": until,
            }
        )
        if k % 5 == 0:
            rows.append({**rows[-1], "level": "专业会员"})
    return rows


def _certificates(ids: list[int], unit_name: str, today: date) -> list[dict]:
    rows = []
    for k, member_id in enumerate(ids):
        types = ("监理员", "安全监理员") if k % 2 else ("专业监理工程师",)
        for t, cert_type in enumerate(types):
            until = today + timedelta(days=(k * 7 + t) % 1500 - 200)
            rows.append(
                {
                    "member_id": member_id,
                    "type": cert_type,
                    "number": f"{PREFIXES[cert_type]}{k:09d}",
                    "specialty_1": SPECIALTIES[k % len(SPECIALTIES)],
                    "specialty_2": SPECIALTIES[(k + 1) % len(SPECIALTIES)] if k % 3 else None,
                    "first_issued_on": until - timedelta(days=3 * 365),
                    "valid_until": until,
                    "unit_name": unit_name,
                    "status": "cancelled" if k % 97 == 0 else "valid",
                }
            )
    return rows


def seed(url: str, workdir: Path, n: int) -> dict:
    """Migrate, build the app's reference data, bulk-insert `n` members; the unit's id."""
    import sqlalchemy as sa
    from bench_lifecycle import UNIT_NAME, make_app

    from service.db import db
    from service.db.models import Certificate, Member, Membership, Unit

    started = time.perf_counter()
    app = make_app(url, workdir)
    with app.app_context():
        session = db.session
        unit = session.scalars(sa.select(Unit).where(Unit.name == UNIT_NAME)).one()
        now, today = datetime.now(), date.today()
        ids = list(
            session.scalars(
                sa.insert(Member).returning(Member.id, sort_by_parameter_order=True),
                _member_rows(n, unit, now),
            )
        )
        session.execute(sa.insert(Membership), _memberships(ids, today))
        certs = _certificates(ids, unit.name, today)
        session.execute(sa.insert(Certificate), certs)
        session.commit()
        unit_id = unit.id
        db.session.remove()
        db.engine.dispose()
    return {
        "unit_id": unit_id,
        "certificates": len(certs),
        "seconds": time.perf_counter() - started,
    }


def _rss_mb() -> float:
    """Peak resident memory of this process so far (ru_maxrss is KB on Linux)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def _hwm_mb() -> float | None:
    """VmHWM (this process's own peak RSS) from /proc, where there is one."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def child(url: str, workdir: str, unit_id: int, runs: int) -> dict:
    """In a fresh interpreter: time the export, measure its memory; a JSON-able report."""
    import sqlalchemy as sa
    from bench_lifecycle import PASSWORD, UNIT_NAME
    from openpyxl import load_workbook

    from service import create_app
    from service.config import load_config
    from service.db import db
    from service.db.models import Account
    from service.db.uow import UnitOfWork
    from service.services.documents import exports
    from service.services.membership import accounts
    from service.services.membership.members import ArchiveFilters

    app = create_app(
        load_config(
            database_url=url,
            instance_dir=Path(workdir),
            secret_key="bench",
            job_sync_rows=10**9,  # the synchronous GET under measure: past 1000 rows a 409
        )
    )
    rss_app = _rss_mb()
    ctx = app.extensions["memberflow"]
    with app.app_context():
        unit_admin = accounts.actor_of(
            db.session.scalars(sa.select(Account).where(Account.username == UNIT_NAME)).one()
        )
        db.session.remove()

    def export() -> tuple[int, bytes]:
        with app.app_context():
            with UnitOfWork(db.session) as uow:
                with tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024) as buf:
                    rows = exports.export_archive(
                        ctx, uow, unit_admin, unit_id, ArchiveFilters(), buf
                    )
                    buf.seek(0)
                    content = buf.read()
            db.session.remove()
        return rows, content

    rss_before = _rss_mb()
    service_s, service_cpu, http_s = [], [], []
    rows, content = 0, b""
    for _ in range(runs):
        started, cpu = time.perf_counter(), time.process_time()
        rows, content = export()
        service_s.append(time.perf_counter() - started)
        service_cpu.append(time.process_time() - cpu)
    rss_service = _rss_mb()
    client = app.test_client()  # signing in hashes a password: its memory is not the export's
    token = client.post("/api/v1/auth/token", json={"username": UNIT_NAME, "password": PASSWORD})
    headers = {"Authorization": f"Bearer {token.get_json()['access_token']}"}
    for _ in range(runs):
        started = time.perf_counter()
        reply = client.get(f"/api/v1/units/{unit_id}/members/export.xlsx", headers=headers)
        assert reply.status_code == 200, reply.status_code
        http_bytes = len(reply.data)
        reply.close()
        http_s.append(time.perf_counter() - started)
    rss_after = _rss_mb()
    tracemalloc.start()
    export()
    traced_peak = tracemalloc.get_traced_memory()[1] / (1024 * 1024)
    tracemalloc.stop()
    sheet = load_workbook(io.BytesIO(content), read_only=True).worksheets[0]
    data_rows = sum(1 for _ in sheet.iter_rows(min_row=2, values_only=True))
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
    return {
        "rows": rows,
        "rows_read_back": data_rows,
        "bytes": len(content),
        "http_bytes": http_bytes,
        "service_s": service_s,
        "service_cpu_s": service_cpu,
        "http_s": http_s,
        "rss_app_mb": rss_app,
        "rss_before_mb": rss_before,
        "rss_service_mb": rss_service,
        "rss_peak_mb": rss_after,
        "hwm_peak_mb": _hwm_mb(),
        "traced_peak_mb": traced_peak,
    }


def run_child(*args) -> dict:
    """Run this script with `args` in a fresh interpreter; the JSON it prints last."""
    command = [sys.executable, __file__, *map(str, args)]
    out = subprocess.run(command, check=True, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def pg_server_url() -> str:
    env = os.environ.get("MEMBERFLOW_DATABASE_URL", "")
    return env if env.startswith("postgresql") else DEFAULT_PG


def with_private_pg(fn):
    """fn(url) on a fresh private PostgreSQL database, dropped afterwards."""
    import sqlalchemy as sa

    server = pg_server_url()
    name = f"memberflow_bench_export_{os.getpid()}"
    admin = sa.create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        return fn(sa.make_url(server).set(database=name).render_as_string(hide_password=False))
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


def report(label: str, n: int, r: dict) -> None:
    assert r["rows"] == r["rows_read_back"] == n, r
    service, http = statistics.median(r["service_s"]), statistics.median(r["http_s"])
    print(f"\n{label}: {r['rows']} rows, {r['bytes'] / 1024 / 1024:.2f} MB workbook")
    print(f"  {'export (query + workbook)':<34}{'median s':>9}{'min s':>8}{'max s':>8}")
    for name, xs in (
        ("use case, wall clock", r["service_s"]),
        ("use case, CPU time", r["service_cpu_s"]),
        ("HTTP request, wall clock", r["http_s"]),
    ):
        print(f"  {name:<34}{statistics.median(xs):>9.2f}{min(xs):>8.2f}{max(xs):>8.2f}")
    print("  peak RSS of the process (ru_maxrss), high-water mark:")
    print(f"    after create_app                  {r['rss_app_mb']:>8.1f} MB")
    print(f"    before the first export           {r['rss_before_mb']:>8.1f} MB")
    print(f"    after the use-case exports        {r['rss_service_mb']:>8.1f} MB")
    print(f"    at the end (sign-in, HTTP exports){r['rss_peak_mb']:>8.1f} MB")
    if r["hwm_peak_mb"] is not None:
        print(f"    (VmHWM at the end, to compare)    {r['hwm_peak_mb']:>8.1f} MB")
    print(f"  tracemalloc peak of one export      {r['traced_peak_mb']:>8.1f} MB")
    print(f"  ratio to target: time {max(service, http) / TARGET_SECONDS:.2f} of 3 s, ", end="")
    print(f"memory {r['rss_peak_mb'] / TARGET_MB:.2f} of 150 MB (whole process peak)")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "--seed":
        url, workdir, n = argv[1:4]
        print(json.dumps(seed(url, Path(workdir), int(n))))
        return 0
    if argv and argv[0] == "--child":
        url, workdir, unit_id, runs = argv[1:5]
        print(json.dumps(child(url, workdir, int(unit_id), int(runs))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--members", type=int, default=10_000, help="members in the unit (at most 40,000)"
    )
    parser.add_argument("--runs", type=int, default=3, help="timed exports of each kind")
    parser.add_argument("--pg", action="store_true", help="PostgreSQL instead of SQLite")
    args = parser.parse_args(argv)
    n, runs = min(max(args.members, 1), 40_000), max(args.runs, 1)
    with tempfile.TemporaryDirectory(prefix="memberflow-bench-export-") as tmp:
        work = Path(tmp)

        def bench(url: str) -> dict:
            seeded = run_child("--seed", url, work, n)
            print(
                f"seeded {n} members and {seeded['certificates']} certificates "
                f"in {seeded['seconds']:.1f} s",
                flush=True,
            )
            return run_child("--child", url, work, seeded["unit_id"], runs)

        if args.pg:
            report("PostgreSQL", n, with_private_pg(bench))
        else:
            report("SQLite", n, bench(f"sqlite:///{work / 'bench.sqlite3'}"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
