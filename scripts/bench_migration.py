"""Benchmark a migration plan: 1,000 running join applications moved from version 1 to
version 2 of member_join on PostgreSQL, in batches of 200, target under 10 s.

A private PostgreSQL database (created beside the test server, dropped at the end). The
forms are real: one join application is started and pre-reviewed through the API on
version 1 (its engine state, queue row and persons as the service writes them), then
copied by SQL into N forms with their own numbers and subjects, each waiting at the
agency's review. Version 2 is a copy of the files whose agency review says 机构审核中, so
every queue row changes too (the plan locks them). The server is restarted on version 2
and the plan runs as `memberflow migrate member_join --from 1 --to 2` runs it: first the
dry run, then the migration; each is timed.

Run:  python scripts/bench_migration.py [--instances 1000] [--batch 200]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_workbench import DEFAULT_PG, private_database  # noqa: E402

TARGET_SECONDS = 10.0
KEY = "member_join"


def design(root: Path, relabel: bool) -> Path:
    """A copy of member_join's files; version 2 relabels the agency's review."""
    (root / "processes").mkdir(parents=True)
    shutil.copy(ROOT / "processes" / f"{KEY}.bpmn", root / "processes")
    shutil.copytree(ROOT / "rules", root / "rules")
    (root / "forms").mkdir()
    shutil.copy(ROOT / "forms" / "common.schema.json", root / "forms")
    shutil.copytree(ROOT / "forms" / KEY, root / "forms" / KEY)
    if relabel:
        bpmn = root / "processes" / f"{KEY}.bpmn"
        text = bpmn.read_text(encoding="utf-8")
        bpmn.write_text(text.replace('value="机构初审中"', 'value="机构审核中"'), encoding="utf-8")
    return root


def app_on(url: str, tmp: Path, root: Path):
    from service import create_app
    from service.config import load_config

    return create_app(
        load_config(
            database_url=url,
            instance_dir=tmp,
            files_dir=tmp / "files",
            secret_key="bench",
            processes_dir=root / "processes",
            rules_dir=root / "rules",
            forms_dir=root / "forms",
        )
    )


def one_real_form(app) -> int:
    """A join application started and pre-reviewed through the API: at the agency."""
    from conftest import applicant_data, form_values, seed_world, step_task, token_headers

    world = seed_world(app)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    reply = client.post(
        f"/api/v1/processes/{KEY}/instances",
        headers=unit,
        json={"data": applicant_data(client, unit)},
    )
    assert reply.status_code == 201, reply.get_json()
    inst = reply.get_json()["id"]
    values = form_values(client, unit, inst)
    step_task(client, unit, inst, {**values, "decision": "approve", "member_level": "普通会员"})
    return inst


def copy_forms(app, template: int, count: int) -> float:
    """`count - 1` copies of the template form (row, queue row, persons) by SQL; seconds."""
    import sqlalchemy as sa

    from service.db import db
    from service.db.models import InstancePerson, ProcessInstance, UserTask

    started = time.perf_counter()
    with app.app_context():
        session = db.session
        row = session.get(ProcessInstance, template)
        task = session.scalars(sa.select(UserTask).where(UserTask.instance_id == template)).all()
        persons = session.scalars(
            sa.select(InstancePerson).where(InstancePerson.instance_id == template)
        ).all()
        skip = {"id", "business_key", "subject_lock", "idempotency_key", "idempotency_owner"}
        base = {
            c.key: getattr(row, c.key) for c in ProcessInstance.__table__.c if c.key not in skip
        }
        rows = [
            {**base, "business_key": f"RH-BENCH{i:08d}", "subject_lock": f"bench-{i}"}
            for i in range(1, count)
        ]
        ids = session.scalars(sa.insert(ProcessInstance).returning(ProcessInstance.id), rows).all()
        for model, found in ((UserTask, task), (InstancePerson, persons)):
            cols = [c.key for c in model.__table__.c if c.key not in ("id", "instance_id")]
            values = [
                {**{c: getattr(r, c) for c in cols}, "instance_id": i} for i in ids for r in found
            ]
            if values:
                session.execute(sa.insert(model), values)
        session.commit()
        db.session.remove()
    return time.perf_counter() - started


def run(app, dry_run: bool, batch: int) -> dict:
    from service.db import db
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.services.workflow.migration import run_plan

    with app.app_context():
        try:
            return run_plan(
                app.extensions["memberflow"],
                UnitOfWork(db.session),
                Actor(None, "bench", "secretariat_admin"),
                KEY,
                1,
                2,
                dry_run=dry_run,
                batch_size=batch,
            )
        finally:
            db.session.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()

    from service.db import db
    from service.db.migrate import upgrade

    base = os.environ.get("MEMBERFLOW_TEST_PG_URL", DEFAULT_PG)
    url, admin, name = private_database(base)
    apps = []
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            tmp = Path(tmp)
            old = app_on(url, tmp, design(tmp / "v1", relabel=False))
            apps.append(old)
            template = one_real_form(old)
            seconds = copy_forms(old, template, args.instances)
            print(f"{args.instances} forms at 机构初审中 on version 1 (copied in {seconds:.1f} s)")
            new = app_on(url, tmp, design(tmp / "v2", relabel=True))
            apps.append(new)
            dry = run(new, True, args.batch)
            print(
                f"dry run: {dry['total']} forms checked, {dry['movable']} movable, "
                f"in {dry['seconds']:.2f} s"
            )
            started = time.perf_counter()
            done = run(new, False, args.batch)
            wall = time.perf_counter() - started
            print(
                f"migration: {done['migrated']} of {done['total']} forms moved to version 2 "
                f"in {wall:.2f} s ({done['migrated'] / wall:.0f} forms/s, batches of {args.batch})"
            )
            verdict = (
                "PASS" if wall < TARGET_SECONDS and done["migrated"] == args.instances else "FAIL"
            )
            print(f"target: {args.instances} forms under {TARGET_SECONDS:.0f} s → {verdict}")
            for app in apps:
                with app.app_context():
                    db.engine.dispose()
            if verdict == "FAIL":
                sys.exit(1)
    finally:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.dispose()


if __name__ == "__main__":
    main()
