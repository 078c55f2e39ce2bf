"""Benchmark the reviewers' workbench list: 100,000 instances and 20,000 open tasks on PostgreSQL.

A private PostgreSQL database (created beside the test server and dropped at the end) is
filled in bulk by SQL: four agencies, 400 units, 100,000 forms of the nine business types
(20,000 in review, each with one open task; the rest finished, each with three completed
review tasks), every form's persons (its subject first), a tenth of the open tasks claimed,
the audit trail (a start per form, a completion per completed task, a return on one open
form in ten) and the levels the joins apply for.
Then each workbench page is requested through the real app (Flask's test client: routing,
session, use cases, SQL and the Jinja templates; no network) as the agency reviewer who
sees one city, the association reviewer who sees all and finance, and the time of each
request is taken on the server side of the WSGI call.

Prints p50 / p95 / max per page and the p95 over all of them against the target.

Run:  python scripts/bench_workbench.py [--instances 100000] [--open 20000] [--runs 60]
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
import uuid
from pathlib import Path

import sqlalchemy as sa

TARGET_P95_MS = 50.0
DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PASSWORD = "bench-password"
# (process key, open task, its role, status) — what the open forms wait for
OPEN_TASKS = [
    ("member_join", "agency_review", "agency_reviewer", "机构初审中"),
    ("member_join", "association_review", "association_reviewer", "协会初审中"),
    ("member_join", "finance_review", "finance_reviewer", "财务复核中"),
    ("member_join", "unit_pre_review", "unit_admin", "单位预审中"),
    ("initial_education", "agency_review", "agency_reviewer", "机构初审中"),
    ("initial_education", "association_review", "association_reviewer", "协会初审中"),
    ("continuing_education", "agency_review", "agency_reviewer", "机构初审中"),
    ("continuing_education", "finance_review", "finance_reviewer", "财务复核中"),
    ("certificate_unit_change", "association_review", "association_reviewer", "协会初审中"),
    ("certificate_cancellation", "association_review", "association_reviewer", "协会复核中"),
]
KEYS = [
    "member_join",
    "member_info_change",
    "initial_education",
    "continuing_education",
    "upgrade_education",
    "specialty_change",
    "certificate_unit_change",
    "certificate_cancellation",
    "engineer_cpd",
]


def private_database(base: str) -> tuple[str, sa.Engine, str]:
    name = f"memberflow_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(base).set(database=name).render_as_string(hide_password=False)
    return url, admin, name


def settle(url: str) -> None:
    """VACUUM ANALYZE the database at `url`, as autovacuum keeps a production one (this
    machine's PostgreSQL runs without autovacuum: a database filled by a benchmark would
    otherwise be planned without statistics and read its dead rows)."""
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    finally:
        engine.dispose()


def seed(app, instances: int, open_count: int) -> dict:
    """Reference data through the use cases, the bulk through SQL; a few values to search."""
    from service.db import db
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.services.membership import accounts

    with app.app_context():
        admin = Actor(None, "admin", "secretariat_admin")

        def call(fn, *args):
            with UnitOfWork(db.session) as uow:
                return fn(uow, admin, *args)

        for i, city in enumerate(("广州", "梅州", "汕头", "揭阳")):
            agency = call(accounts.create_agency, f"{city}市建设监理服务机构", city)["id"]
            call(
                accounts.create_staff,
                f"jigou{i + 1}",
                f"{city}初审员",
                PASSWORD,
                "agency_reviewer",
                agency,
            )
        call(accounts.create_staff, "xiehui", "协会审核员", PASSWORD, "association_reviewer", None)
        call(accounts.create_staff, "caiwu", "协会财务", PASSWORD, "finance_reviewer", None)
        conn = db.session.connection()
        conn.execute(
            sa.text(
                "INSERT INTO units (name, credit_code, agency_id, member_unit, created_at) "
                "SELECT '第' || u || '工程监理有限公司', :code_prefix || lpad(u::text, 3, '0'), "
                "1 + (u - 1) / 100, true, now() FROM generate_series(1, 400) u"
            ),
            {"code_prefix": "914401011904683"},
        )
        versions = {key: app.extensions["memberflow"].definitions.latest(key)[0] for key in KEYS}
        values = ", ".join(f"({i}, '{k}', {versions[k]})" for i, k in enumerate(KEYS))
        opens = ", ".join(
            f"({i}, '{k}', '{t}', '{r}', '{s}')" for i, (k, t, r, s) in enumerate(OPEN_TASKS)
        )
        started = time.perf_counter()
        conn.execute(
            sa.text(
                f"""
WITH keys(n, key, version) AS (VALUES {values}),
opens(n, key, task, role, status) AS (VALUES {opens})
INSERT INTO process_instances (id, process_key, definition_version_id, business_key,
  unit_id, agency_id, subject_name, subject_id_number, person_count, status, state, version,
  finished, submitted_at, updated_at)
SELECT i,
  CASE WHEN i <= :open THEN o.key ELSE k.key END,
  CASE WHEN i <= :open THEN (SELECT version FROM keys WHERE key = o.key) ELSE k.version END,
  'BK-' || lpad(i::text, 14, '0'),
  1 + i % 400, 1 + (i % 400) / 100,
  (ARRAY['王','李','张','刘','陈','杨','黄','赵'])[1 + i % 8]
    || (ARRAY['建国','美玲','志强','秀英','伟','芳','俊杰','婷','浩然','晓明'])[1 + i % 10]
    || (i % 97)::text,
  '4401061985' || lpad(i::text, 8, '0'),
  CASE WHEN i % 3 = 0 THEN 1 + i % 5 ELSE 1 END,
  CASE WHEN i <= :open THEN o.status ELSE '审批完成' END,
  '{{}}', 1, i > :open,
  now() - make_interval(days => i % 365, hours => i % 24),
  now()
FROM generate_series(1, :instances) i
JOIN keys k ON k.n = i % {len(KEYS)}
JOIN opens o ON o.n = i % {len(OPEN_TASKS)}
"""
            ),
            {"open": open_count, "instances": instances},
        )
        conn.execute(
            sa.text(
                f"""
WITH opens(n, key, task, role, status) AS (VALUES {opens})
INSERT INTO user_tasks (instance_id, engine_task_id, process_key, task_name, title, lane,
  role, unit_id, agency_id, status_label, state, claimed_by, claimed_at, submitted_at,
  created_at)
SELECT p.id, md5(p.id::text), p.process_key, o.task, o.task, o.role, o.role, p.unit_id,
  p.agency_id, o.status, 'open',
  CASE WHEN p.id % 10 = 0 AND o.role = 'association_reviewer'
       THEN (SELECT id FROM accounts WHERE username = 'xiehui') END,
  CASE WHEN p.id % 10 = 0 AND o.role = 'association_reviewer' THEN now() END,
  p.submitted_at, p.submitted_at + interval '1 hour'
FROM process_instances p JOIN opens o ON o.n = p.id % {len(OPEN_TASKS)}
WHERE p.id <= :open
"""
            ),
            {"open": open_count},
        )
        for step, (task, username) in enumerate(
            (("agency_review", None), ("association_review", "xiehui"), ("finance_review", "caiwu"))
        ):
            who = (
                f"(SELECT id FROM accounts WHERE username = '{username}')"
                if username
                else "(SELECT id FROM accounts WHERE username = 'jigou' || p.agency_id)"
            )
            role = ("agency_reviewer", "association_reviewer", "finance_reviewer")[step]
            conn.execute(
                sa.text(
                    f"""
INSERT INTO user_tasks (instance_id, engine_task_id, process_key, task_name, title, lane,
  role, unit_id, agency_id, status_label, state, completed_by, completed_at, submitted_at,
  created_at)
SELECT p.id, md5(p.id::text || '{task}'), p.process_key, '{task}', '{task}', '{role}',
  '{role}', p.unit_id, p.agency_id, '审批完成', 'completed', {who},
  p.submitted_at + interval '{step + 1} day', p.submitted_at, p.submitted_at
FROM process_instances p WHERE p.id > :open
"""
                ),
                {"open": open_count},
            )
        # the audit trail the lists read 退回原因 from: a start per form, a completion per
        # completed task, and one open form in ten returned once before it was resubmitted
        conn.execute(
            sa.text(
                "INSERT INTO audit_records (instance_id, actor_name, action, status_after, at) "
                "SELECT id, '单位管理员', 'start', status, submitted_at FROM process_instances"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO audit_records (instance_id, user_task_id, actor_id, actor_name, "
                "action, task_name, decision, remark, status_after, at) "
                "SELECT t.instance_id, t.id, t.completed_by, '审核员', 'complete', t.task_name, "
                "'approve', '同意', t.status_label, t.completed_at FROM user_tasks t "
                "WHERE t.state = 'completed' ORDER BY t.completed_at"
            )
        )
        conn.execute(
            sa.text(
                "INSERT INTO audit_records (instance_id, actor_name, action, task_name, "
                "decision, remark, status_after, at) "
                "SELECT id, '初审员', 'return', 'agency_review', 'return', '学历证明不清晰', "
                "'退回', submitted_at + interval '1 hour' FROM process_instances "
                "WHERE id <= :open AND id % 10 = 3"
            ),
            {"open": open_count},
        )
        columns = {c["name"] for c in sa.inspect(conn).get_columns("process_instances")}
        if "member_levels" in columns:  # the join list's levels (migration 0018)
            conn.execute(
                sa.text(
                    "UPDATE process_instances SET member_levels = CASE WHEN id % 7 = 0 "
                    "THEN '普通会员、专业会员' ELSE '普通会员' END "
                    "WHERE process_key = 'member_join'"
                )
            )
        # every form's persons as persons.sync mirrors them: its subject first (a one-person
        # form has that line alone), then the others; a form of several is listed under its
        # first person's name with their count, "王建国12等3人"
        conn.execute(
            sa.text(
                "INSERT INTO instance_persons (instance_id, id_number, name, line, position) "
                "SELECT p.id, CASE WHEN n = 1 THEN p.subject_id_number "
                "ELSE '4402031990' || lpad((p.id * 10 + n)::text, 8, '0') END, "
                "CASE WHEN n = 1 THEN p.subject_name ELSE '报名人' || p.id || '_' || n END, "
                "'{}', n - 1 FROM process_instances p, generate_series(1, 5) n "
                "WHERE n <= p.person_count"
            )
        )
        conn.execute(
            sa.text(
                "UPDATE process_instances SET subject_name = subject_name || '等' "
                "|| person_count || '人' WHERE person_count > 1"
            )
        )
        for table in (
            "process_instances",
            "user_tasks",
            "instance_persons",
            "units",
            "audit_records",
        ):
            conn.execute(
                sa.text(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                    f"(SELECT max(id) FROM {table}))"
                )
            )
        db.session.commit()
        counts = {
            t: db.session.scalar(sa.text(f"SELECT count(*) FROM {t}"))
            for t in ("process_instances", "user_tasks", "instance_persons")
        }
        counts["open user_tasks"] = db.session.scalar(
            sa.text("SELECT count(*) FROM user_tasks WHERE state = 'open'")
        )
        db.session.remove()
        # a settled database, as autovacuum keeps production (this server runs without it)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as raw:
            raw.execute(sa.text("VACUUM ANALYZE"))
        counts["seconds"] = round(time.perf_counter() - started, 1)
    return counts


def signed_in(app, username: str):
    client = app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.status_code
    return client


def timed(client, path: str, runs: int) -> list[float]:
    for _ in range(3):  # warm: the definitions' templates, the pool, the plans
        assert client.get(path).status_code == 200, path
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        reply = client.get(path)
        times.append((time.perf_counter() - started) * 1000)
        assert reply.status_code == 200, (path, reply.status_code)
    return times


def report(rows: list[tuple[str, str, list[float]]]) -> float:
    print(f"\n{'who':<10}{'page':<58}{'p50':>8}{'p95':>8}{'max':>8}  (ms)")
    everything: list[float] = []
    for who, path, times in rows:
        ordered = sorted(times)
        p95 = ordered[int(len(ordered) * 0.95) - 1]
        everything += times
        print(f"{who:<10}{path:<58}{statistics.median(times):8.1f}{p95:8.1f}{max(times):8.1f}")
    ordered = sorted(everything)
    overall = ordered[int(len(ordered) * 0.95) - 1]
    return overall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", type=int, default=100_000)
    parser.add_argument("--open", type=int, default=20_000)
    parser.add_argument("--runs", type=int, default=60)
    args = parser.parse_args()

    from service import create_app
    from service.config import load_config
    from service.db.migrate import upgrade

    base = os.environ.get("MEMBERFLOW_TEST_PG_URL", DEFAULT_PG)
    url, admin, name = private_database(base)
    try:
        upgrade(url)
        with tempfile.TemporaryDirectory() as tmp:
            app = create_app(
                load_config(
                    database_url=url,
                    instance_dir=Path(tmp),
                    files_dir=Path(tmp) / "files",
                    secret_key="bench",
                )
            )
            counts = seed(app, args.instances, args.open)
            print(f"seeded in {counts.pop('seconds')} s: {counts}")
            sample = "BK-" + str(7).zfill(14)
            last4 = "4401061985" + str(1234).zfill(8)
            pages = {
                "jigou1": [
                    "/workbench/todo",
                    f"/workbench/todo?q={last4[-4:]}",
                    "/workbench/todo?sort=submitted",
                    "/workbench/todo?key=member_join&task_name=agency_review",
                    "/workbench/todo?page=20",
                    "/workbench/done",
                ],
                "xiehui": [
                    "/workbench/todo",
                    f"/workbench/todo?q={last4[-4:]}",
                    "/workbench/todo?q=王建国",
                    "/workbench/todo?q=张伟",  # two characters: no trigram
                    f"/workbench/todo?q={sample}",
                    "/workbench/todo?q=第12工程",
                    "/workbench/todo?sort=submitted&agency_id=2",
                    "/workbench/todo?submitted_from=2026-06-01&submitted_to=2026-09-30",
                    "/workbench/todo?page=100&page_size=20",
                    "/workbench/mine",
                    "/workbench/done",
                ],
                "caiwu": ["/workbench/todo", "/workbench/done?page=50"],
            }
            rows = []
            for who, paths in pages.items():
                client = signed_in(app, who)
                for path in paths:
                    rows.append((who, path, timed(client, path, args.runs)))
            overall = report(rows)
            verdict = "met" if overall <= TARGET_P95_MS else "MISSED"
            print(
                f"\nworkbench pages, p95 over all {sum(len(r[2]) for r in rows)} requests: "
                f"{overall:.1f} ms (target ≤ {TARGET_P95_MS:.0f} ms: {verdict}; "
                f"ratio {overall / TARGET_P95_MS:.2f})"
            )
            with app.app_context():
                from service.db import db

                db.session.remove()
                db.engine.dispose()
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


if __name__ == "__main__":
    main()
