"""`scripts/demo` run again while its server is up (the port taken) stops before touching
the database: it used to reset the live server's database first and only then fail on the
port, leaving the running server on a freshly reseeded demo (users' data gone)."""

from __future__ import annotations

import os
import socket
import subprocess

import pytest
import sqlalchemy as sa
from click.testing import CliRunner
from conftest import REPO

from service.cli import main as cli

pytestmark = pytest.mark.alone  # see scripts/test: runs the script in a process of its own


def test_a_taken_port_stops_the_demo_before_its_reset(tmp_path, monkeypatch):
    instance = tmp_path / "instance"
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(instance))
    for name in ("MEMBERFLOW_DATABASE_URL", "MEMBERFLOW_ENV", "KEEP_DEMO", "HOST"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()
    assert runner.invoke(cli, ["db", "upgrade"]).exit_code == 0
    made = runner.invoke(
        cli, ["create-admin", "--username", "realadmin", "--password", "Xk8#pq2!vb"]
    )
    assert made.exit_code == 0, made.output
    with socket.socket() as server:  # the demo already served there
        server.bind(("127.0.0.1", 0))
        server.listen()
        port = server.getsockname()[1]
        done = subprocess.run(
            ["bash", str(REPO / "scripts" / "demo")],
            env={**os.environ, "PORT": str(port)},
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert done.returncode != 0
    assert f"127.0.0.1:{port}" in done.stderr and "数据库未做任何改动" in done.stderr, done.stderr
    engine = sa.create_engine(f"sqlite:///{instance / 'memberflow.sqlite3'}")
    with engine.connect() as conn:
        assert conn.scalar(sa.text("SELECT count(*) FROM accounts WHERE username = 'realadmin'"))
    engine.dispose()
