"""Migration 0005 on SQLite and PostgreSQL: no plain-text or guessable member password is left."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from conftest import PASSWORD, make_app

from service.db.migrate import alembic_config, upgrade
from service.domain.passwords import UNUSABLE
from service.services.membership.credentials import hash_password

ID_NUMBER = "44010619850315231X"
SIGNED_IN_BEFORE = "440104198807120433"


def _accounts_before(url: str) -> None:
    """Accounts as revision 0004 stored them."""
    rows = [
        ("admin", "secretariat_admin", hash_password(PASSWORD)),
        (ID_NUMBER, "member", "initial$" + ID_NUMBER[-6:]),  # never signed in
        (SIGNED_IN_BEFORE, "member", hash_password(SIGNED_IN_BEFORE[-6:])),  # hashed at sign-in
        ("某单位", "unit_admin", "initial$123456"),  # any other plain-text value
    ]
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        for username, role, stored in rows:
            conn.execute(
                sa.text(
                    "INSERT INTO accounts (username, name, password_hash, role, is_main, active,"
                    " created_at) VALUES (:u, :u, :p, :r, false, true, CURRENT_TIMESTAMP)"
                ),
                {"u": username, "p": stored, "r": role},
            )
    engine.dispose()


def _stored(url: str) -> dict[str, tuple]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT username, password_hash, must_change_password, auth_version FROM accounts"
            )
        ).all()
    engine.dispose()
    return {r[0]: (r[1], bool(r[2]), r[3]) for r in rows}


def test_the_migration_replaces_every_plain_text_and_member_password(blank_url, tmp_path):
    upgrade(blank_url, "0004")
    _accounts_before(blank_url)
    upgrade(blank_url)
    stored = _stored(blank_url)
    assert not any(p.startswith("initial$") for p, _, _ in stored.values())
    for username in (ID_NUMBER, SIGNED_IN_BEFORE, "某单位"):
        assert stored[username][:2] == (UNUSABLE, True)
    admin_hash, admin_must_change, admin_version = stored["admin"]
    assert admin_hash.startswith("$argon2") and not admin_must_change and admin_version == 1

    client = make_app(blank_url, tmp_path).test_client()

    def sign_in(username, password):
        body = {"username": username, "password": password}
        return client.post("/api/v1/auth/token", json=body).status_code

    assert sign_in("admin", PASSWORD) == 200
    assert sign_in(ID_NUMBER, ID_NUMBER[-6:]) == 401
    assert sign_in(SIGNED_IN_BEFORE, SIGNED_IN_BEFORE[-6:]) == 401


def test_the_migration_goes_down_and_up_again(blank_url):
    upgrade(blank_url)
    command.downgrade(alembic_config(blank_url), "0004")
    engine = sa.create_engine(blank_url)
    tables = sa.inspect(engine).get_table_names()
    columns = {c["name"] for c in sa.inspect(engine).get_columns("accounts")}
    engine.dispose()
    assert "revoked_tokens" not in tables and "rate_counters" not in tables
    assert "auth_version" not in columns
    upgrade(blank_url)
