"""Fixtures shared by every tier: databases (SQLite and PostgreSQL), the app, sign-in helpers,
and for the browser tier: Debian's Chromium and a live server."""

from __future__ import annotations

import io
import os
import shutil
import threading
import time
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from PIL import Image
from werkzeug.serving import WSGIRequestHandler, make_server

from service import create_app
from service.config import load_config
from service.db import db
from service.db.migrate import upgrade
from service.db.models import Base
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_credit_code, make_resident_id
from service.engine import catalogue
from service.services.membership import accounts, credentials, sessions

# Argon2id at its smallest cost in this process: the same algorithm through the same code,
# 0.1 ms a hash instead of ~28 ms (nearly every test seeds seven accounts and signs in). A
# hash records its own cost, so servers the tests start in other processes, which keep the
# production cost, still verify these; the cost itself is tested in test_credentials.
credentials._HASHER = credentials.PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)

REPO = Path(__file__).resolve().parent.parent
PG_URL = os.environ.get(
    "MEMBERFLOW_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
PASSWORD = "secret123"
_pg_state: dict = {}


def _pg_available() -> bool:
    if "ok" not in _pg_state:
        try:
            engine = sa.create_engine(PG_URL)
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_state["ok"] = True
        except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
            _pg_state["ok"] = False
            _pg_state["why"] = str(exc).splitlines()[0]
    return _pg_state["ok"]


def pytest_report_header(config):
    if _pg_available():
        return f"PostgreSQL: {PG_URL} (tests run on SQLite and PostgreSQL)"
    return (
        "!!!!!!!! PostgreSQL NOT REACHABLE at " + PG_URL + " — PostgreSQL tests are "
        "SKIPPED (" + _pg_state.get("why", "") + ") !!!!!!!!"
    )


def pytest_collection_modifyitems(config, items):
    """Every page test drives Chromium (the `browser` marker): scripts/test runs them after
    the rest, a file per core, before the files that time threads, processes or servers
    (the `alone` marker, which they say of themselves)."""
    for item in items:
        if item.path.parent.name == "browser":
            item.add_marker(pytest.mark.browser)


def require_pg() -> None:
    """Skip loudly without PostgreSQL — but under CI=true its absence is a failure."""
    if not _pg_available():
        message = f"PostgreSQL not reachable at {PG_URL}: {_pg_state.get('why')}"
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires PostgreSQL. " + message)
        pytest.skip("SKIPPED LOUDLY: " + message)


@pytest.fixture(params=["sqlite", "postgresql"])
def blank_url(request, tmp_path):
    """An empty database of each kind (for the migration tests), dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'migrate.sqlite3'}"
        return
    require_pg()
    name = f"memberflow_mig_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory) -> Path:
    """A migrated SQLite file, copied for each test (migrations run once)."""
    path = tmp_path_factory.mktemp("sqlite") / "template.sqlite3"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_migrated():
    """A private PostgreSQL database for this test run, built by the migrations.

    Created beside the server's `test` database so that concurrent runs never share rows.
    """
    require_pg()
    name = f"memberflow_test_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    upgrade(url)
    yield url
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


_seeded: dict[str, list] = {}


# procrastinate's queue (background jobs) beside our tables, referencing tables first
QUEUE_TABLES = (
    "procrastinate_events",
    "procrastinate_periodic_defers",
    "procrastinate_jobs",
    "procrastinate_workers",
)


def _empty_pg(url: str, truncate: bool = False) -> None:
    """Empty every table (ours and the job queue's: no row outlives its test), start every
    sequence again at 1, then put back the reference rows the migrations seeded.

    DELETE rather than TRUNCATE: TRUNCATE gives each of the 40-odd tables and their indexes
    new files, about 0.25 s a test; deleting the few rows a test leaves takes about 0.04 s.
    A deleted table keeps the planner's statistics of the rows it held: the plan tests
    ANALYZE what they build, and one that reads the plans of an empty database as the
    migrations leave it asks for `truncate` (`fresh_statistics`)."""
    engine = sa.create_engine(url)
    table = Base.metadata.tables["specialties"]
    with engine.begin() as conn:
        if url not in _seeded:
            _seeded[url] = [dict(r._mapping) for r in conn.execute(sa.select(table))]
        ours = [t.name for t in reversed(Base.metadata.sorted_tables)]  # referencing first
        if truncate:
            everything = ", ".join((*QUEUE_TABLES, *ours))
            conn.exec_driver_sql(f"TRUNCATE {everything} RESTART IDENTITY CASCADE")
        else:
            deletes = (f"DELETE FROM {name}" for name in (*QUEUE_TABLES, *ours))
            conn.exec_driver_sql("; ".join(deletes))
            conn.exec_driver_sql("SELECT setval(oid, 1, false) FROM pg_class WHERE relkind = 'S'")
        conn.execute(table.insert(), _seeded[url])
        conn.execute(
            sa.text(
                "SELECT setval(pg_get_serial_sequence('specialties', 'id'), "
                "(SELECT max(id) FROM specialties))"
            )
        )
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path, sqlite_template) -> str:
    """Each database test runs on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        path = tmp_path / "memberflow.sqlite3"
        shutil.copy(sqlite_template, path)
        return f"sqlite:///{path}"
    url = request.getfixturevalue("pg_migrated")
    _empty_pg(url)
    return url


@pytest.fixture
def pg_url(request) -> str:
    """PostgreSQL only (the concurrency proofs)."""
    url = request.getfixturevalue("pg_migrated")
    _empty_pg(url)
    return url


@pytest.fixture
def fresh_statistics(pg_url) -> str:
    """PostgreSQL emptied by TRUNCATE: no table keeps the planner's statistics of an earlier
    test's rows (for the plans of an empty database as the migrations leave it)."""
    _empty_pg(pg_url, truncate=True)
    return pg_url


_apps: list = []


@pytest.fixture(autouse=True)
def _dispose_apps():
    """Close every app's connection pool after each test (no connection outlives its test).

    A live server's request may still be running when its test ends (a page's poll: the
    server stops accepting, but a request it took goes on); the pool is closed once such
    requests have given their connections back, since `dispose` closes only the connections
    in the pool and one returned later would be left to the garbage collector (psycopg's
    ResourceWarning, an error in whichever test it happens to fall in)."""
    yield
    held = []
    while _apps:
        app = _apps.pop()
        with app.app_context():
            db.session.remove()
            engine = db.engine
            deadline = time.monotonic() + 15
            while engine.pool.checkedout() and time.monotonic() < deadline:
                time.sleep(0.02)
            if engine.pool.checkedout():
                held.append(engine.pool.checkedout())
            sessions.uninstall(engine)
            engine.dispose()
    assert not held, f"connections still checked out 15 s after the test: {held}"


def make_app(url: str, tmp_path: Path, **overrides):
    settings = dict(
        database_url=url,
        instance_dir=tmp_path,
        files_dir=tmp_path / "files",
        secret_key="test-secret",
        testing=True,
        join_upload_rate="1000 per minute",
    )
    settings.update(overrides)
    app = create_app(load_config(**settings))
    _apps.append(app)
    return app


@contextmanager
def statements(app):
    """The SQL statements the app sends inside the block (each one a round trip)."""
    sent: list[str] = []
    with app.app_context():
        engine = db.engine

    def on_statement(_conn, _cursor, statement, *_args):
        sent.append(" ".join(statement.split()))

    sa.event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield sent
    finally:
        sa.event.remove(engine, "before_cursor_execute", on_statement)


def design_copy(root: Path, key: str = "member_join", edit=None) -> Path:
    """A copy of one process's files (its BPMN, the rules, its forms) under `root`, as a
    designer's folder to deploy; `edit(root)` changes the copy."""
    (root / "processes").mkdir(parents=True)
    shutil.copy(REPO / "processes" / f"{key}.bpmn", root / "processes")
    shutil.copytree(REPO / "rules", root / "rules")
    (root / "forms").mkdir()
    shutil.copy(REPO / "forms" / "common.schema.json", root / "forms")
    shutil.copytree(REPO / "forms" / key, root / "forms" / key)
    if edit is not None:
        edit(root)
    return root


def parse_anew(monkeypatch) -> None:
    """Apps made from now on parse their diagrams anew, as a new process does (the
    process-wide caches of parsed definitions and of folders read start empty)."""
    monkeypatch.setattr(catalogue, "_BUILT", {})
    monkeypatch.setattr(catalogue, "_LOADED", {})


def app_on_design(url: str, tmp_path: Path, root: Path, **settings):
    """The app on `url` serving the definitions of the folder `root`."""
    return make_app(
        url,
        tmp_path,
        processes_dir=root / "processes",
        rules_dir=root / "rules",
        forms_dir=root / "forms",
        **settings,
    )


def race(n: int, action) -> list:
    """Run `action(i)` in n threads released at the same instant; their results."""
    barrier = threading.Barrier(n)
    results: list = [None] * n

    def run(i: int) -> None:
        barrier.wait()
        results[i] = action(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


@pytest.fixture
def pg_app(pg_url, tmp_path):
    """The app on PostgreSQL only (for races that SQLite would serialize anyway)."""
    return make_app(pg_url, tmp_path)


@pytest.fixture
def app(db_url, tmp_path):
    """The app on a fresh database (each test runs once on SQLite, once on PostgreSQL)."""
    return make_app(db_url, tmp_path)


@pytest.fixture
def client(app):
    return app.test_client()


@dataclass
class World:
    """A small organisation: one agency with a reviewer, two units, association staff."""

    agency_id: int
    other_agency_id: int
    unit_id: int
    unit_name: str
    other_unit_id: int
    other_unit_name: str
    logins: dict[str, str]


def add_certified_member(
    app, unit_id: int, id_number: str, certificate_until: date, unit_name: str | None = None
) -> None:
    """A member of the unit, 普通会员 to the end of next year, holding a 监理员 certificate
    valid until `certificate_until` (with a sign-in account, as the roster makes one), with
    `unit_name` printed on it (default: the unit's name)."""
    from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

    certificate = CertificateSeed("监理员", "JL2023000001", certificate_until, unit_name=unit_name)
    with app.app_context():
        add_member(
            db.session,
            MemberSeed(
                "周建国",
                id_number,
                unit_id,
                memberships={"普通会员": date(date.today().year + 1, 12, 31)},
                certificates=[certificate],
            ),
        )
        db.session.commit()
        db.session.remove()


def seed_world(app) -> World:
    with app.app_context():
        admin_actor = None
        with UnitOfWork(db.session) as uow:
            admin = accounts.create_admin(uow, "admin", PASSWORD)
        admin_actor = Actor(admin["id"], "admin", "secretariat_admin")

        def call(fn, *args):
            with UnitOfWork(db.session) as uow:
                return fn(uow, admin_actor, *args)

        agency = call(accounts.create_agency, "广州市建设监理行业协会", "广州")["id"]
        other_agency = call(accounts.create_agency, "汕头市建筑业协会", "汕头")["id"]
        unit = call(
            accounts.create_unit,
            "广州珠江工程建设监理有限公司",
            make_credit_code("91440101190468342"),
            agency,
            True,
            PASSWORD,
        )
        other = call(
            accounts.create_unit,
            "汕头市潮海建设监理有限公司",
            make_credit_code("91440500192837465"),
            other_agency,
            True,
            PASSWORD,
        )
        call(accounts.create_staff, "jigou", "广州初审员", PASSWORD, "agency_reviewer", agency)
        call(
            accounts.create_staff,
            "jigou_st",
            "汕头初审员",
            PASSWORD,
            "agency_reviewer",
            other_agency,
        )
        call(accounts.create_staff, "xiehui", "协会审核员", PASSWORD, "association_reviewer", None)
        call(accounts.create_staff, "caiwu", "协会财务", PASSWORD, "finance_reviewer", None)
        db.session.remove()
    logins = {
        "admin": "admin",
        "unit": unit["name"],
        "other_unit": other["name"],
        "agency": "jigou",
        "other_agency": "jigou_st",
        "association": "xiehui",
        "finance": "caiwu",
    }
    return World(agency, other_agency, unit["id"], unit["name"], other["id"], other["name"], logins)


@pytest.fixture
def world(app) -> World:
    return seed_world(app)


def token_headers(client, username: str, password: str = PASSWORD) -> dict:
    reply = client.post("/api/v1/auth/token", json={"username": username, "password": password})
    assert reply.status_code == 200, reply.get_json()
    return {"Authorization": f"Bearer {reply.get_json()['access_token']}"}


def member_headers(client, id_number: str, password: str = PASSWORD) -> dict:
    """Bearer headers of a member (login = ID number) whose password is now `password`,
    got as a member gets one: the secretariat issues a one-time password (the unit can too),
    the member signs in with it and replaces it. Needs the `world`'s admin."""
    from service.db.models import Account

    account_id = in_db(
        client.application,
        lambda s: s.scalar(sa.select(Account.id).where(Account.username == id_number)),
    )
    reset = client.post(
        f"/api/v1/accounts/{account_id}/password-reset", headers=token_headers(client, "admin")
    )
    assert reset.status_code == 200, reset.get_json()
    one_time = reset.get_json()["password"]
    changed = client.post(
        "/api/v1/auth/password",
        headers=token_headers(client, id_number, one_time),
        json={"current_password": one_time, "new_password": password},
    )
    assert changed.status_code == 200, changed.get_json()
    return {"Authorization": f"Bearer {changed.get_json()['access_token']}"}


@pytest.fixture
def login(client, world):
    """login('unit') -> Authorization headers for that role's account in `world`."""
    cache: dict[str, dict] = {}

    def _login(who: str) -> dict:
        if who not in cache:
            cache[who] = token_headers(client, world.logins.get(who, who))
        return cache[who]

    return _login


def png_bytes(color: str = "#c00000", size=(60, 80)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, format="PNG")
    return buf.getvalue()


def pdf_bytes(pages: int = 1) -> bytes:
    """A real (blank) PDF of `pages` A4 pages."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=595, height=842)
    buf = io.BytesIO()
    writer.write(buf)
    return buf.getvalue()


def box(kind: bytes, body: bytes) -> bytes:
    """One ISO base media box: its size, its type, its body."""
    return (8 + len(body)).to_bytes(4, "big") + kind + body


def mp4_bytes(brand: bytes = b"isom", payload: bytes = b"\0" * 64) -> bytes:
    """A small, whole MP4 (or with brand `qt  `, a MOV): ftyp, a movie header, media data."""
    ftyp = box(b"ftyp", brand + (512).to_bytes(4, "big") + brand + b"mp41")
    mvhd = box(
        b"mvhd",
        bytes(4)  # version 0, no flags
        + bytes(8)  # created, modified
        + (1000).to_bytes(4, "big")  # time scale
        + (1000).to_bytes(4, "big")  # duration: one second
        + (0x00010000).to_bytes(4, "big")  # rate 1.0
        + (0x0100).to_bytes(2, "big")  # volume 1.0
        + bytes(10)
        + bytes(36)  # the matrix (unused here)
        + bytes(24)
        + (2).to_bytes(4, "big"),  # next track id
    )
    return ftyp + box(b"moov", mvhd) + box(b"mdat", payload)


def upload(client, headers, content: bytes | None = None, name: str = "photo.png") -> str:
    reply = client.post(
        "/api/v1/files", headers=headers, data={"file": (io.BytesIO(content or png_bytes()), name)}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def new_join_code(app) -> str:
    """A full join code of the unit seeded here (`seed_world`), made by its administrator."""
    world = seed_world(app)
    client = app.test_client()
    headers = token_headers(client, world.logins["unit"])
    return client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=headers, json={"variant": "full"}
    ).get_json()["code"]


def join_code_uploads(app, address: str, count: int) -> list[int]:
    """The statuses of `count` uploads through a new join code of the unit seeded here, from
    one client address."""
    code, client = new_join_code(app), app.test_client()
    return [
        client.post(
            f"/api/v1/join-codes/{code}/files",
            environ_base={"REMOTE_ADDR": address},
            data={"file": (io.BytesIO(png_bytes()), "a.png")},
        ).status_code
        for _ in range(count)
    ]


def applicant_data(client, headers, id_number: str | None = None, **overrides) -> dict:
    """A complete (full variant) join application with uploaded materials."""
    files = {
        k: upload(client, headers)
        for k in ("photo", "id_front", "id_back", "diploma", "diploma_verification")
    }
    data = {
        "variant": "full",
        "name": "陈志强",
        "id_type": "resident_id",
        "id_number": id_number or make_resident_id("44010619850315231"),
        "mobile": "13802511234",
        "address": "广州市天河区体育西路100号",
        "education": {
            "level": "本科",
            "school": "华南理工大学",
            "major": "土木工程",
            "graduated_on": "2008-07-01",
        },
        "title": "中级",
        "declaration": True,  # 入会声明 (manual 2.1.1)
        **files,
    }
    data.update(overrides)
    return data


def open_task(client, headers, instance_id: int) -> dict:
    """The single open task of an instance, as the given caller sees it."""
    view = client.get(f"/api/v1/instances/{instance_id}", headers=headers).get_json()
    assert len(view["open_tasks"]) == 1, view
    return view["open_tasks"][0]


@pytest.fixture(scope="session")
def decisions():
    """Every decision in rules/, evaluated as the service does (the rules tier)."""
    from service.engine.decisions import load_decisions

    # noon on 2026-01-01 in Shanghai: the day the cells' today() sees
    return load_decisions(REPO / "rules", now=datetime(2026, 1, 1, 4, tzinfo=UTC))


@pytest.fixture(scope="session")
def reasons(decisions):
    """reasons(process_key, facts={...}, person={...}, **form) -> the failure reasons."""
    from rule_facts import build_context  # tests/rules is importable when its tests run

    def evaluate(process_key: str, facts=None, person=None, **form) -> list[str]:
        context = build_context(process_key, facts, person, **form)
        return decisions.evaluate(f"{process_key}_eligibility", context)["failure_reasons"]

    return evaluate


@pytest.fixture
def pinned_clock(app):
    """Business day 2026-11-28 in Asia/Shanghai (noon UTC+8), restored afterwards."""
    ctx = app.extensions["memberflow"]
    saved = ctx.clock
    ctx.clock = lambda: datetime(2026, 11, 28, 4, 0, 0)
    yield
    ctx.clock = saved


def business_day(app) -> str:
    """The app's business day (Asia/Shanghai) as ISO text, as its clock reads now (the real
    day, or the pinned one): the date of a receipt finance registers today. A receipt may be
    dated neither after today nor before the Shanghai day its form was submitted. `app`: the
    Flask app, or a test client of it."""
    app = getattr(app, "application", app)
    return app.extensions["memberflow"].today().isoformat()


@contextmanager
def on_day(app, day: date):
    """The app's clock at noon of business day `day` (Asia/Shanghai) inside the block, as it
    was afterwards: a form submitted days before finance confirms its payment, so that its
    receipt may be dated on a day of its own, between the two. `app`: as business_day's."""
    ctx = getattr(app, "application", app).extensions["memberflow"]
    saved = ctx.clock
    ctx.clock = lambda: datetime(day.year, day.month, day.day, 4, 0, 0)
    try:
        yield
    finally:
        ctx.clock = saved


def in_db(app, fn):
    """fn(session) inside the app, the session removed afterwards."""
    with app.app_context():
        try:
            return fn(db.session)
        finally:
            db.session.remove()


def start_form(client, headers, key: str, data: dict, expect: int = 201) -> dict:
    """POST a start form; the reply's JSON, after checking its status."""
    reply = client.post(f"/api/v1/processes/{key}/instances", headers=headers, json={"data": data})
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def complete_task(client, headers, task_id: int, data: dict, expect: int = 200) -> dict:
    """Complete a task with form data; the reply's JSON, after checking its status."""
    reply = client.post(f"/api/v1/tasks/{task_id}/complete", headers=headers, json={"data": data})
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def step_task(client, headers, instance_id: int, data: dict, expect: int = 200) -> dict:
    """Complete the instance's first open task that `headers` may act on."""
    task = open_task(client, headers, instance_id)
    return complete_task(client, headers, task["id"], data, expect)


def form_values(client, headers, instance_id: int) -> dict:
    """The open task's form as GET /tasks/{id} fills it in (`values`). A form is validated as
    submitted, never merged with the instance's data: a client sends these back with its
    changes (the unit's pre-review: the applicant's answers with the decision)."""
    task = open_task(client, headers, instance_id)
    reply = client.get(f"/api/v1/tasks/{task['id']}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["values"]


# --- the browser tier: pages driven the way a person uses them ----------------------------
# One Chromium for the whole run; each test gets a live server (a real threaded HTTP server on
# a free port) over a fresh PostgreSQL database and opens its own browser contexts. Without
# Chromium the tests skip loudly, except under CI=true where that is a failure.

CHROMIUM = Path("/usr/bin/chromium")
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium, launched once (Playwright's own browsers are never downloaded)."""
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing (apt-get install chromium fonts-noto-cjk)"
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires Chromium for the browser tests: " + message)
        pytest.skip("SKIPPED LOUDLY: " + message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=FLAGS)
        yield chromium
        chromium.close()


@dataclass
class Live:
    """A served app: its base URL, the app (for seeding) and its organisation."""

    url: str
    app: object
    world: World

    def client(self):
        return self.app.test_client()


class _ClosingHandler(WSGIRequestHandler):
    """Closes the response when the browser drops the connection.

    Werkzeug's development server skips the response's close() when reading the rest of a
    dropped request fails, so a static file's handle would be left to the garbage
    collector (a ResourceWarning, an error under our warning filter)."""

    def connection_dropped(self, error, environ=None):
        body = (environ or {}).get("tests.response")
        if hasattr(body, "close"):
            body.close()


def _keeping_response(app):
    def wsgi(environ, start_response):
        environ["tests.response"] = body = app(environ, start_response)
        return body

    return wsgi


def serve(app):
    server = make_server(
        "127.0.0.1", 0, _keeping_response(app), threaded=True, request_handler=_ClosingHandler
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    return server


@pytest.fixture
def live_settings() -> dict:
    """Settings a test module may override (e.g. a low lookup rate limit)."""
    return {}


@pytest.fixture
def live(pg_url, tmp_path, live_settings):
    """The app on PostgreSQL, served over HTTP for the browser."""
    app = make_app(pg_url, tmp_path, **live_settings)
    world = seed_world(app)
    server = serve(app)
    yield Live(f"http://127.0.0.1:{server.server_port}", app, world)
    server.shutdown()


@pytest.fixture
def contexts(browser):
    """open(width=1280, phone=False) -> a new browser context, closed after the test."""
    opened = []

    def open_context(width: int = 1280, phone: bool = False):
        context = browser.new_context(
            viewport={"width": width, "height": 900 if not phone else 780},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            is_mobile=phone,
            has_touch=phone,
        )
        context.set_default_timeout(15000)
        opened.append(context)
        return context

    yield open_context
    for context in opened:
        context.close()
