"""Two `memberflow db upgrade` at once on one PostgreSQL database (each host upgrading as it
starts, as containers often do): the second waits for the first, then finds nothing to do.
Without the migrations' advisory lock both created the same tables, and one failed with
UniqueViolation or DuplicateColumn. (SQLite has one writer: nothing to lock.)"""

from __future__ import annotations

import os
import subprocess
import sys
import uuid

import pytest
import sqlalchemy as sa
from conftest import PG_URL, require_pg

from service.db.migrate import code_revisions, upgrade

pytestmark = pytest.mark.alone  # see scripts/test: two processes, timed against each other

UPGRADE = "import sys; from service.db.migrate import upgrade; upgrade(sys.argv[1])"


@pytest.fixture
def pg_blank():
    """An empty PostgreSQL database of this test's own, dropped afterwards."""
    require_pg()
    name = f"memberflow_upg_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(PG_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    yield sa.make_url(PG_URL).set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.mark.parametrize("start", [None, "0034"])
def test_two_upgrades_at_once_both_succeed(pg_blank, start):
    if start:  # a database a release behind: the same columns added twice
        upgrade(pg_blank, start)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", UPGRADE, pg_blank], stderr=subprocess.PIPE, text=True
        )
        for _ in range(2)
    ]
    results = [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    for p in procs:
        p.stderr.close()
    for code, errors in results:
        assert code == 0, errors.strip().splitlines()[-1:]
    engine = sa.create_engine(pg_blank)
    with engine.connect() as conn:
        found = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    engine.dispose()
    assert found == code_revisions()[1]
