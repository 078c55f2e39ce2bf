"""Benchmark the old platform's data import: 50,000 rows on PostgreSQL, time and memory.

Writes a workbook of N made-up persons in the 单位人员档案导出表 layout (400 units, a
membership each, a fifth also 专业会员, 1.33 certificates per person; see
tests/legacy_workbook.py), and a small one of N/5 rows. Each import runs in a fresh child
process on a private PostgreSQL database (created beside the test server, dropped at the
end), the way `memberflow import-legacy FILE` runs it: the first import of each file
creates everything, the second (the same file again) must change nothing.

Prints, per run, the wall and CPU seconds and the child's memory: its resident size before
the import (app and file loaded) and its peak during it. Targets: the large first import
under 60 s; flat memory: the large file's peak no more than 64 MB above the small one's.

Run:  python scripts/bench_legacy_import.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from pathlib import Path
from queue import Empty

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workbench import DEFAULT_PG, private_database  # noqa: E402

TARGET_SECONDS = 60.0
TARGET_GROWTH_MB = 64.0
UNITS = 400
AGENCY = "广州市建设监理行业协会"


def _rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _import(url: str, tmp: str, path: str, queue) -> None:
    """One import in this (child) process; puts (wall, cpu, rss before, peak, result)."""
    from service import create_app
    from service.config import load_config
    from service.db import db
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.services.membership.legacy_import import import_workbook

    app = create_app(
        load_config(
            database_url=url,
            instance_dir=Path(tmp),
            files_dir=Path(tmp) / "files",
            secret_key="bench",
        )
    )
    content = Path(path).read_bytes()
    operator = Actor(None, "bench", "secretariat_admin")
    with app.app_context():
        before = _rss_mb()
        wall, cpu = time.perf_counter(), time.process_time()
        with UnitOfWork(db.session) as uow:
            result = import_workbook(
                app.extensions["memberflow"], uow, operator, content, file_name=Path(path).name
            )
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
        db.session.remove()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    queue.put((wall, cpu, before, peak, result))


def run_import(url: str, tmp: str, path: Path) -> tuple:
    spawn = multiprocessing.get_context("spawn")  # a fresh process: its peak is this import's
    queue = spawn.Queue()
    child = spawn.Process(target=_import, args=(url, tmp, str(path), queue))
    child.start()
    while True:
        try:
            outcome = queue.get(timeout=1)
            break
        except Empty:
            if not child.is_alive():
                raise SystemExit(f"the import failed (exit code {child.exitcode})") from None
    child.join()
    return outcome


def fresh_database(base: str, admin_out: list) -> str:
    from service.db import db
    from service.db.migrate import upgrade
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.services.membership import accounts

    url, admin, name = private_database(base)
    admin_out.append((admin, name))
    upgrade(url)
    from service import create_app
    from service.config import load_config

    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(load_config(database_url=url, instance_dir=Path(tmp), secret_key="b"))
        with app.app_context():
            with UnitOfWork(db.session) as uow:
                accounts.create_agency(
                    uow, Actor(None, "bench", "secretariat_admin"), AGENCY, "广州"
                )
            db.session.remove()
            db.engine.dispose()
    return url


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()

    import sqlalchemy as sa
    from legacy_workbook import write_people

    base = os.environ.get("MEMBERFLOW_TEST_PG_URL", DEFAULT_PG)
    databases: list = []
    lines = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            sizes = {}
            for rows in (args.rows // 5, args.rows):
                path = Path(tmp) / f"legacy_{rows}.xlsx"
                started = time.perf_counter()
                write_people(path, rows, UNITS)
                took = time.perf_counter() - started
                print(
                    f"wrote {rows} rows: {path.stat().st_size / 1e6:.1f} MB in {took:.0f} s",
                    flush=True,
                )
                url = fresh_database(base, databases)
                for run in ("first import", "same file again"):
                    wall, cpu, before, peak, result = run_import(url, tmp, path)
                    counts = result["counts"]
                    print(
                        f"{rows:>6} rows, {run:<15}: {wall:6.1f} s wall, {cpu:6.1f} s CPU, "
                        f"memory {before:.0f} MB before, peak {peak:.0f} MB; "
                        f"members created {counts['members_created']}, "
                        f"unchanged {counts['members_unchanged']}",
                        flush=True,
                    )
                    lines.append((rows, run, wall, peak))
                sizes[rows] = peak
    finally:
        for admin, name in databases:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()
    large = [wall for rows, run, wall, _ in lines if rows == args.rows and run == "first import"]
    small_peak, large_peak = sizes[args.rows // 5], sizes[args.rows]
    growth = large_peak - small_peak
    print(
        f"target: {args.rows} rows imported in {large[0]:.1f} s (≤ {TARGET_SECONDS:.0f} s): "
        f"{'met' if large[0] <= TARGET_SECONDS else 'MISSED'}"
    )
    print(
        f"target: flat memory, peak {large_peak:.0f} MB at {args.rows} rows vs "
        f"{small_peak:.0f} MB at {args.rows // 5} (+{growth:.0f} MB ≤ {TARGET_GROWTH_MB:.0f}): "
        f"{'met' if growth <= TARGET_GROWTH_MB else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
