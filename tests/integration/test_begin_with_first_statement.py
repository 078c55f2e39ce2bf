"""`db.begin`: on PostgreSQL a transaction's BEGIN goes with its first statement, and a
transaction stays a transaction: all of it or nothing, however it was begun and however
many the connection has run before."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import make_app

from service.db import begin, db
from service.db.wire import traced


@pytest.fixture
def engine(pg_url, tmp_path):
    app = make_app(pg_url, tmp_path)
    with app.app_context():
        engine = db.engine
        yield engine
        db.session.remove()
        engine.dispose()


def _table(engine) -> None:
    with engine.begin() as conn:
        conn.execute(sa.text("DROP TABLE IF EXISTS begin_probe"))
        conn.execute(sa.text("CREATE TABLE begin_probe (v int PRIMARY KEY)"))


def _values(engine) -> list[int]:
    with engine.connect() as conn:
        return list(conn.execute(sa.text("SELECT v FROM begin_probe ORDER BY v")).scalars())


def test_begin_and_the_first_statement_are_one_round_trip(engine):
    with traced(engine) as wire, engine.connect() as conn:
        assert conn.connection.driver_connection.__class__ is begin.Connection
        conn.execute(sa.text("SELECT 1")).one()
        conn.execute(sa.text("SELECT 2")).one()
        conn.commit()
    first = wire.text[: wire.text.index("ReadyForQuery")]
    assert '"BEGIN"' in first and "SELECT 1" in first, wire.text
    # BEGIN with SELECT 1, SELECT 2, COMMIT (besides the statements' preparing)
    assert wire.trips - wire.prepares == 3, wire.text


def test_each_transaction_on_one_connection_is_all_or_nothing(engine):
    _table(engine)
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (1)"))
        assert driver.autocommit and driver.begun_here  # inside the transaction it began
        conn.commit()
        # between transactions the connection is psycopg's own again
        assert not driver.autocommit and not driver.begun_here
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (2)"))
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO begin_probe VALUES (1)"))
        conn.rollback()
        assert not driver.autocommit and not driver.begun_here
        # a transaction begun by many rows at once (psycopg's own BEGIN) is one too
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (:v)"), [{"v": 3}, {"v": 4}])
        with pytest.raises(sa.exc.IntegrityError):
            conn.execute(sa.text("INSERT INTO begin_probe VALUES (3)"))
        conn.rollback()
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (5)"))
        conn.commit()
    assert _values(engine) == [1, 5]


def test_a_failing_first_statement_rolls_back_and_the_connection_goes_on(engine):
    _table(engine)
    with engine.connect() as conn:
        driver = conn.connection.driver_connection
        with pytest.raises(sa.exc.ProgrammingError):
            conn.execute(sa.text("SELECT no_such_column FROM begin_probe"))
        conn.rollback()
        assert not driver.autocommit and not driver.begun_here
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (7)"))
        conn.rollback()  # not kept: it was inside a transaction
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (8)"))
        conn.commit()
    assert _values(engine) == [8]


def test_what_another_session_sees_before_the_commit(engine):
    _table(engine)
    with engine.connect() as writer, engine.connect() as reader:
        writer.execute(sa.text("INSERT INTO begin_probe VALUES (1)"))
        seen = reader.execute(sa.text("SELECT count(*) FROM begin_probe")).scalar_one()
        reader.rollback()
        assert seen == 0  # the first statement ran inside the transaction, not on its own
        writer.commit()
        assert reader.execute(sa.text("SELECT count(*) FROM begin_probe")).scalar_one() == 1


def test_autocommit_asked_of_sqlalchemy_is_left_alone(engine):
    _table(engine)
    with (
        engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn,
        engine.connect() as reader,
    ):
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (1)"))
        # no transaction: the row is there for everyone at once
        assert reader.execute(sa.text("SELECT count(*) FROM begin_probe")).scalar_one() == 1
        reader.rollback()
        assert not conn.connection.driver_connection.begun_here
    # back in the pool, the connection starts transactions again
    with engine.connect() as conn:
        conn.execute(sa.text("INSERT INTO begin_probe VALUES (2)"))
        conn.rollback()
    assert _values(engine) == [1]
