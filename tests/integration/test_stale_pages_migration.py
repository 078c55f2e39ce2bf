"""Migration 0035 on SQLite and PostgreSQL: `drafts` and `jobs` never give a deleted row's
id again (SQLite: AUTOINCREMENT, its rows and ids kept by the rebuild); a draft gains its
version and its submission marker, which come and go with the migration."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command

from service.db.migrate import alembic_config, upgrade


def columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("drafts")}
    finally:
        engine.dispose()


def test_deleted_ids_are_never_given_again_and_the_columns_come_and_go(blank_url):
    upgrade(blank_url, "0029")
    engine = sa.create_engine(blank_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (username, name, role, password_hash, active, is_main, "
                    "must_change_password, auth_version, created_at) VALUES "
                    "('u', '单位', 'unit_admin', 'x', true, false, false, 1, CURRENT_TIMESTAMP)"
                )
            )
            owner = conn.scalar(sa.text("SELECT id FROM accounts"))
            for name in ("甲", "乙"):
                conn.execute(
                    sa.text(
                        "INSERT INTO drafts (process_key, owner_id, summary, data, created_at, "
                        "updated_at) VALUES ('member_join', :o, :n, '{}', CURRENT_TIMESTAMP, "
                        "CURRENT_TIMESTAMP)"
                    ),
                    {"o": owner, "n": name},
                )
        upgrade(blank_url)
        assert {"version", "updated_by", "submitted_by", "submitted_key"} <= columns(blank_url)
        with engine.begin() as conn:
            kept = conn.execute(sa.text("SELECT id, summary, version FROM drafts ORDER BY id"))
            assert [tuple(r) for r in kept] == [(1, "甲", 1), (2, "乙", 1)]
            conn.execute(sa.text("DELETE FROM drafts WHERE id = 2"))
            conn.execute(
                sa.text(
                    "INSERT INTO drafts (process_key, owner_id, summary, data, created_at, "
                    "updated_at) VALUES ('unit_name_change', :o, '丙', '{}', "
                    "CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)"
                ),
                {"o": owner},
            )
            assert conn.scalar(sa.text("SELECT max(id) FROM drafts")) == 3
        if engine.dialect.name == "sqlite":
            with engine.connect() as conn:
                for table in ("drafts", "jobs"):
                    sql = conn.scalar(
                        sa.text("SELECT sql FROM sqlite_master WHERE name = :t"), {"t": table}
                    )
                    assert "AUTOINCREMENT" in sql, table
        command.downgrade(alembic_config(blank_url), "0029")
        assert "version" not in columns(blank_url)
        upgrade(blank_url)
        assert "submitted_key" in columns(blank_url)
    finally:
        engine.dispose()
