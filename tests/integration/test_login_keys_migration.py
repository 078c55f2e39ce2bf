"""Migration 0042 on SQLite and PostgreSQL: on PostgreSQL the logins get an index of their
key (lower(normalize(username, NFKC))), it goes down and up again, SQLite is left as it
was; the indexes at the head are the ones the models declare; and a sign-in typed in
another width finds its account by that index."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from test_recipients_indexes import account_indexes as indexes
from test_recipients_indexes import declared_account_indexes

from service.db.migrate import alembic_config, upgrade
from service.services.membership.signin import account_signing_in

INDEX = "ix_accounts_login_key"


def test_the_logins_get_a_key_index_on_postgresql(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0041")
    before = indexes(blank_url)
    assert INDEX not in before
    upgrade(blank_url)
    after = indexes(blank_url)
    assert after == declared_account_indexes("postgresql" if postgres else "sqlite")
    assert (INDEX in after) == postgres
    command.downgrade(alembic_config(blank_url), "0041")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert indexes(blank_url) == after


def test_a_login_in_another_width_is_found_by_the_index(fresh_statistics):
    """With reading the whole table ruled out, PostgreSQL finds the account of a login typed
    in full-width letters through the key's index (and the exact login through its own)."""
    engine = sa.create_engine(fresh_statistics)
    captured: list[tuple] = []

    def keep(conn, cursor, statement, parameters, context, executemany):
        captured.append((statement, parameters))

    try:
        with engine.connect() as conn:
            sa.event.listen(conn, "before_cursor_execute", keep)
            for scan in ("seqscan", "indexscan", "indexonlyscan"):
                conn.execute(sa.text(f"SET LOCAL enable_{scan} = off"))
            with sa.orm.Session(bind=conn) as session:
                assert account_signing_in(session, "ＪＩＧＯＵ") is None  # no accounts yet
            sql, parameters = captured[-1]
            found = conn.exec_driver_sql("EXPLAIN " + sql, parameters).scalars()
            text = "\n".join(found)
            assert INDEX in text, text
            assert "uq_accounts_username_lower" in text, text
            conn.rollback()
    finally:
        engine.dispose()
