"""Migration 0040 on SQLite and PostgreSQL: a draft gains the key of the page that made it,
one per owner; the drafts kept, and going back keeps them (SQLite: still AUTOINCREMENT)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command

from service.db.migrate import alembic_config, upgrade

DRAFT = sa.text(
    "INSERT INTO drafts (process_key, owner_id, summary, data, created_at, updated_at, "
    "version{extra}) VALUES ('member_join', :o, :n, '{{}}', CURRENT_TIMESTAMP, "
    "CURRENT_TIMESTAMP, 1{value})"
)


def insert(conn, owner: int, name: str, page_key: str | None = None) -> None:
    extra, value = (", page_key", ", :k") if page_key else ("", "")
    sql = DRAFT.text.format(extra=extra, value=value)
    conn.execute(sa.text(sql), {"o": owner, "n": name, "k": page_key})


def test_the_page_key_is_one_per_owner_and_comes_and_goes(blank_url):
    upgrade(blank_url, "0039")
    engine = sa.create_engine(blank_url)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (username, name, role, password_hash, active, is_main, "
                    "must_change_password, auth_version, created_at) VALUES "
                    "('u', '单位', 'unit_admin', 'x', true, false, false, 1, CURRENT_TIMESTAMP),"
                    "('v', '单位', 'unit_admin', 'x', true, false, false, 1, CURRENT_TIMESTAMP)"
                )
            )
            owner, other = conn.scalars(sa.text("SELECT id FROM accounts ORDER BY id")).all()
            insert(conn, owner, "甲")
        upgrade(blank_url)
        with engine.begin() as conn:
            insert(conn, owner, "乙", "k1")
            insert(conn, other, "丙", "k1")  # another owner's page may hold the same key
            insert(conn, owner, "丁")  # no key: any number of them
        with pytest.raises(sa.exc.IntegrityError), engine.begin() as conn:
            insert(conn, owner, "戊", "k1")
        command.downgrade(alembic_config(blank_url), "0039")
        with engine.connect() as conn:
            names = conn.scalars(sa.text("SELECT summary FROM drafts ORDER BY id")).all()
            assert names == ["甲", "乙", "丙", "丁"]
            columns = {c["name"] for c in sa.inspect(conn).get_columns("drafts")}
            assert "page_key" not in columns and "submitted_key" in columns
            if engine.dialect.name == "sqlite":
                sql = conn.scalar(sa.text("SELECT sql FROM sqlite_master WHERE name = 'drafts'"))
                assert "AUTOINCREMENT" in sql
    finally:
        engine.dispose()
