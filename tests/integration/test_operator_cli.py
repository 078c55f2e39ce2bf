"""The command line as an operator meets it: demo data never in production, a reset that
asks before dropping a database that is not the demo's own, the administrator's password
kept off the command line, and one line naming the setting instead of a traceback."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from service.cli import main as cli
from service.db.migrate import upgrade

STRONG = "k" * 40


@pytest.fixture
def env(tmp_path, monkeypatch):
    """A development shell on an instance folder of its own (its SQLite by default)."""
    for name in (
        "MEMBERFLOW_ENV",
        "MEMBERFLOW_SECRET_KEY",
        "MEMBERFLOW_DATABASE_URL",
        "MEMBERFLOW_ADMIN_PASSWORD",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path / "instance"))
    return monkeypatch


def run(*args, stdin: str | None = None):
    result = CliRunner().invoke(cli, list(args), input=stdin)
    # a traceback is not an answer: the command says what is wrong and exits
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result.exit_code, result.output


def logins(url: str) -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        found = set(conn.scalars(sa.text("SELECT username FROM accounts")))
    engine.dispose()
    return found


# --- demo data ------------------------------------------------------------------------------


def test_demo_data_is_refused_in_production_even_without_reset(env, tmp_path):
    env.setenv("MEMBERFLOW_ENV", "production")
    env.setenv("MEMBERFLOW_SECRET_KEY", STRONG)
    assert run("db", "upgrade")[0] == 0
    code, output = run("demo-data")
    assert code == 1 and "生产环境" in output and "MEMBERFLOW_ENV=production" in output
    assert logins(f"sqlite:///{tmp_path / 'instance' / 'memberflow.sqlite3'}") == set()


def test_a_reset_of_another_database_asks_first_and_names_it(env, blank_url):
    """The QA's case: MEMBERFLOW_DATABASE_URL names a real database (PostgreSQL, or an SQLite
    file outside the instance folder); the reset is not confirmed: nothing is dropped."""
    env.setenv("MEMBERFLOW_DATABASE_URL", blank_url)
    upgrade(blank_url)
    assert run("create-admin", "--username", "realadmin", "--password", "Xk8#pq2!vb")[0] == 0
    shown = sa.make_url(blank_url).render_as_string(hide_password=True)
    for answer in (None, "n\n", "\n"):  # no terminal (a script), no, just Enter
        code, output = run("demo-data", "--reset", stdin=answer)
        assert code == 1 and shown in output and "--yes" in output, output
        assert "realadmin" in logins(blank_url)


@pytest.mark.parametrize("confirm", [["--yes"], "y\n"])
def test_a_reset_confirmed_or_given_yes_starts_afresh(env, tmp_path, monkeypatch, confirm):
    url = f"sqlite:///{tmp_path / 'elsewhere' / 'demo.sqlite3'}"
    env.setenv("MEMBERFLOW_DATABASE_URL", url)
    assert run("db", "upgrade")[0] == 0
    assert run("create-admin", "--username", "realadmin", "--password", "Xk8#pq2!vb")[0] == 0
    monkeypatch.setattr("service.demo.seed.load_demo", lambda _app: [("秘书处", "admin", "x")])
    flags = confirm if isinstance(confirm, list) else []
    stdin = confirm if isinstance(confirm, str) else None
    code, output = run("demo-data", "--reset", *flags, stdin=stdin)
    assert code == 0, output
    assert logins(url) == set()  # dropped and migrated again (the seed is stubbed here)


def test_the_demos_own_sqlite_file_is_reset_without_a_question(env, tmp_path, monkeypatch):
    """`scripts/demo` on a fresh machine: the instance folder's SQLite file, nobody asked."""
    assert run("db", "upgrade")[0] == 0
    assert run("create-admin", "--username", "realadmin", "--password", "Xk8#pq2!vb")[0] == 0
    monkeypatch.setattr("service.demo.seed.load_demo", lambda _app: [])
    code, output = run("demo-data", "--reset")  # stdin closed: a question would fail
    assert code == 0, output
    assert logins(f"sqlite:///{tmp_path / 'instance' / 'memberflow.sqlite3'}") == set()


# --- create-admin's password ----------------------------------------------------------------


def test_create_admin_asks_for_the_password_twice_without_echoing_it(env):
    assert run("db", "upgrade")[0] == 0
    code, output = run("create-admin", "--username", "mishu", stdin="Xk8#pq2!vb\nXk8#pq2!vb\n")
    assert code == 0 and "已创建秘书处管理员 mishu" in output, output
    assert "Xk8#pq2!vb" not in output
    code, output = run("create-admin", "--username", "mishu2", stdin="Xk8#pq2!vb\nother123x\n")
    assert code != 0 and "已创建" not in output


def test_create_admin_takes_the_password_from_the_environment(env, tmp_path):
    assert run("db", "upgrade")[0] == 0
    env.setenv("MEMBERFLOW_ADMIN_PASSWORD", "Xk8#pq2!vb")
    code, output = run("create-admin", "--username", "mishu")
    assert code == 0 and "已创建秘书处管理员 mishu" in output, output
    assert "mishu" in logins(f"sqlite:///{tmp_path / 'instance' / 'memberflow.sqlite3'}")


# --- one line naming the setting ------------------------------------------------------------


def test_serve_refuses_a_port_out_of_range_in_one_line(env):
    code, output = run("serve", "--port", "99999")
    assert code == 2 and "65535" in output and "Traceback" not in output


def test_db_upgrade_on_an_unreachable_postgresql_names_the_setting(env):
    env.setenv("MEMBERFLOW_DATABASE_URL", "postgresql+psycopg://postgres:s3cret@127.0.0.1:1/x")
    code, output = run("db", "upgrade")
    assert code == 1 and len(output.strip().splitlines()) == 1, output
    assert "MEMBERFLOW_DATABASE_URL=postgresql+psycopg://postgres:***@127.0.0.1:1/x" in output
    assert "s3cret" not in output


def test_db_upgrade_where_the_sqlite_folder_cannot_be_made_names_the_setting(env):
    env.setenv("MEMBERFLOW_DATABASE_URL", "sqlite:////proc/memberflow/memberflow.sqlite3")
    code, output = run("db", "upgrade")
    assert code == 1 and "MEMBERFLOW_DATABASE_URL" in output and "/proc/memberflow" in output


def test_serve_on_an_unreachable_database_names_the_setting_and_the_host(env):
    env.setenv("MEMBERFLOW_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    code, output = run("serve")
    assert code == 1 and len(output.strip().splitlines()) == 1, output
    assert "无法连接数据库" in output and "MEMBERFLOW_DATABASE_URL" in output
    assert "127.0.0.1:1" in output


def test_a_command_on_a_database_not_upgraded_says_to_upgrade(env, tmp_path):
    (tmp_path / "instance").mkdir()
    upgrade(f"sqlite:///{tmp_path / 'instance' / 'memberflow.sqlite3'}", "0034")
    code, output = run("fire-timers")
    assert code == 1 and "数据库版本为 0034" in output and "memberflow db upgrade" in output


def test_db_upgrade_of_a_database_newer_than_the_code_says_so_in_one_line(env, tmp_path):
    url = f"sqlite:///{tmp_path / 'instance' / 'memberflow.sqlite3'}"
    assert run("db", "upgrade")[0] == 0
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE alembic_version SET version_num = '0099'"))
    engine.dispose()
    code, output = run("db", "upgrade")
    assert code == 1 and len(output.strip().splitlines()) == 1, output
    assert "0099" in output and "MEMBERFLOW_DATABASE_URL" in output


@pytest.mark.parametrize(
    "name, value",
    [
        ("MEMBERFLOW_TOKEN_TTL", "8h"),
        ("MEMBERFLOW_SCHEDULER_RETRY", "-1"),
        ("MEMBERFLOW_DATABASE_URL", "postgres://postgres@127.0.0.1/memberflow"),
        ("MEMBERFLOW_LOOKUP_RATE_LIMIT", "lots"),
        ("MEMBERFLOW_RATELIMIT_STORAGE", "bogus://x"),
    ],
)
def test_a_wrong_setting_is_one_line_naming_it(env, name, value):
    env.setenv(name, value)
    code, output = run("fire-timers")
    assert code == 1 and output.startswith(f"错误 {name}"), output
    assert len(output.strip().splitlines()) == 1, output
