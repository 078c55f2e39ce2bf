"""Migration 0037 on SQLite and PostgreSQL: logins are unique whatever their letter case in
the database itself (a unique index on lower(username), as the model declares it). Logins
that already clash stop the upgrade before anything changes, with a message listing them;
once one of each group is renamed, the upgrade goes through. Going back drops the index."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from service.db.migrate import MigrationRefused, alembic_config, upgrade
from service.db.models import Base

INDEX = "uq_accounts_username_lower"


def _run(url: str, *statements: tuple[str, dict]) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            for sql, values in statements:
                conn.execute(sa.text(sql), values)
    finally:
        engine.dispose()


def _add(url: str, *logins: str) -> None:
    insert = (
        "INSERT INTO accounts (username, name, password_hash, role, is_main, active,"
        " must_change_password, auth_version, created_at)"
        " VALUES (:u, :u, 'x', 'designer', false, true, false, 1, CURRENT_TIMESTAMP)"
    )
    _run(url, *((insert, {"u": login}) for login in logins))


def _state(url: str) -> tuple[str, bool]:
    """The database's revision, and whether the index exists (read from the catalogue:
    reflecting an expression index is not supported on SQLite)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            revision = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            if engine.dialect.name == "sqlite":
                sql = "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = :n"
            else:
                sql = "SELECT count(*) FROM pg_indexes WHERE indexname = :n"
            return revision, bool(conn.scalar(sa.text(sql), {"n": INDEX}))
    finally:
        engine.dispose()


def test_clashing_logins_stop_the_upgrade_with_their_names_and_change_nothing(blank_url):
    upgrade(blank_url, "0036")
    _add(blank_url, "Abc", "admin", "abc", "ABC", "Jigou1", "jigou1", "xiehui")
    with pytest.raises(MigrationRefused) as stopped:
        upgrade(blank_url)
    message = str(stopped.value)
    assert message.startswith("数据库升级已停止，未做任何修改")
    for login in ("“Abc”", "“abc”", "“ABC”", "“Jigou1”", "“jigou1”"):
        assert login in message
    assert "admin" not in message and "xiehui" not in message
    assert "memberflow db upgrade" in message
    assert _state(blank_url) == ("0036", False)

    # one of each group renamed: the upgrade goes through and the database refuses a clash
    _run(
        blank_url,
        ("UPDATE accounts SET username = 'abc_2' WHERE username = 'abc'", {}),
        ("UPDATE accounts SET username = 'abc_3' WHERE username = 'ABC'", {}),
        ("DELETE FROM accounts WHERE username = 'jigou1'", {}),
    )
    upgrade(blank_url, "0037")
    assert _state(blank_url) == ("0037", True)
    with pytest.raises(sa.exc.IntegrityError):
        _add(blank_url, "ADMIN")
    _add(blank_url, "admin2")  # only the letter case is one login

    command.downgrade(alembic_config(blank_url), "0036")
    assert _state(blank_url) == ("0036", False)
    _add(blank_url, "ADMIN")
    with pytest.raises(MigrationRefused, match="“ADMIN”"):
        upgrade(blank_url)


def test_the_model_declares_the_index_the_migration_builds():
    [index] = [i for i in Base.metadata.tables["accounts"].indexes if i.name == INDEX]
    assert index.unique and [str(e) for e in index.expressions] == ["lower(username)"]
