"""`db.pipeline.run`: the request path's statements sent through libpq's pipeline mode, as
prepared statements of our own. Each test runs on a real PostgreSQL connection of ours
(`begin.Connection`), as the app's pool makes them, or on psycopg's own where it says so."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
import threading
import time
from decimal import Decimal

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import pq

from service.db import begin, pipeline

pytestmark = pytest.mark.alone  # see scripts/test

_SELECT = "SELECT k, v FROM pipeline_probe WHERE k = %(k)s"
_INSERT = "INSERT INTO pipeline_probe (k, v) VALUES (%(k)s, %(v)s) RETURNING k"


def _conninfo(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture
def conninfo(pg_url):
    info = _conninfo(pg_url)
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pipeline_probe")
        conn.execute("CREATE TABLE pipeline_probe (k bigint PRIMARY KEY, v text)")
    yield info
    with psycopg.connect(info, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS pipeline_probe")


@pytest.fixture
def conn(conninfo):
    with begin.Connection.connect(conninfo) as conn:
        yield conn


def _ours(conn) -> list[str]:
    """The names of the statements `pipeline.run` prepared, as the server holds them."""
    rows = conn.execute("SELECT name FROM pg_prepared_statements ORDER BY name").fetchall()
    return [name for (name,) in rows if name.startswith("_mf_")]


def _parses(conn, action) -> tuple[object, int]:
    """What `action()` returned, and how many of our statements it had the server parse
    (libpq's own trace of the messages sent)."""
    handle, path = tempfile.mkstemp(prefix="memberflow-pipeline-")
    conn.pgconn.trace(os.dup(handle))  # libpq's FILE on a copy, closed by `untrace`
    conn.pgconn.set_trace_flags(pq.Trace.SUPPRESS_TIMESTAMPS | pq.Trace.REGRESS_MODE)
    try:
        found = action()
    finally:
        conn.pgconn.untrace()
        os.close(handle)
        with open(path, encoding="utf-8", errors="replace") as trace:
            text = trace.read()
        os.unlink(path)
    # our statements' Parse (BEGIN and COMMIT go unnamed, parsed as they are sent)
    return found, text.count('\tParse\t "_mf_')


def test_statements_their_begin_and_commit_are_one_transaction(conn):
    rows = pipeline.run(
        conn,
        [(_INSERT, {"k": 1, "v": "甲"}), (_INSERT, [{"k": 2, "v": "乙"}, {"k": 3, "v": None}])],
        begin.begun(conn),
        commit=True,
    )
    assert rows == [[(1,)], [(3,)]]  # each statement's rows; of a list, its last run's
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    conn.commit()  # psycopg's own: nothing left to commit, the connection psycopg's again
    assert not conn.autocommit
    found = conn.execute("SELECT k, v FROM pipeline_probe ORDER BY k").fetchall()
    assert found == [(1, "甲"), (2, "乙"), (3, None)]
    conn.rollback()


def test_values_and_rows_keep_their_types(conn):
    """Each value goes through psycopg's adapters and each column comes back through its
    loaders, as through a cursor: numbers, text, dates, times with their zone, booleans,
    bytes, a NULL and a literal percent sign in the SQL."""
    values = {
        "big": 2**40,
        "small": -3,
        "price": Decimal("1200.50"),
        "day": dt.date(2026, 12, 5),
        "at": dt.datetime(2026, 12, 5, 8, 30, tzinfo=dt.UTC),
        "yes": True,
        "raw": b"\x00\xff",
        "name": "广州市建设监理行业协会",
        "nothing": None,
    }
    sql = (
        "SELECT %(big)s::bigint, %(small)s::int, %(price)s::numeric, %(day)s::date, "
        "%(at)s::timestamptz, %(yes)s::boolean, %(raw)s::bytea, %(name)s::text, "
        "%(nothing)s::text, 'a%%b', %(big)s::bigint + 1"
    )
    [[row]] = pipeline.run(conn, [(sql, values)], begin.begun(conn))
    through_cursor = conn.cursor().execute(sql, values).fetchone()
    assert row == through_cursor
    assert row[:9] == (
        2**40,
        -3,
        Decimal("1200.50"),
        dt.date(2026, 12, 5),
        dt.datetime(2026, 12, 5, 8, 30, tzinfo=dt.UTC),
        True,
        b"\x00\xff",
        "广州市建设监理行业协会",
        None,
    )
    assert row[9:] == ("a%b", 2**40 + 1)  # a name used twice is bound once
    conn.rollback()


def test_a_statement_is_prepared_once_per_connection(conn):
    def twice():
        return [pipeline.run(conn, [(_SELECT, {"k": k})], begin.begun(conn)) for k in (1, 2)]

    _rows, parsed = _parses(conn, twice)
    assert parsed == 1  # the second run binds the statement the first prepared
    assert len(_ours(conn)) == 1
    conn.rollback()


def test_after_psycopgs_deallocate_all_the_statements_are_prepared_anew(conn):
    """psycopg answers a ROLLBACK by dropping every prepared statement of the connection
    (DEALLOCATE ALL) when it prepared any itself: ours are gone from the server too, and
    the next run must prepare them again rather than name one that no longer exists."""
    pipeline.run(conn, [(_SELECT, {"k": 1})], begin.begun(conn))
    conn.cursor().execute("SELECT 1 WHERE %s", [True], prepare=True)  # one of psycopg's
    assert len(_ours(conn)) == 1
    conn.rollback()
    assert _ours(conn) == []
    conn.rollback()
    rows, parsed = _parses(
        conn, lambda: pipeline.run(conn, [(_SELECT, {"k": 1})], begin.begun(conn))
    )
    assert rows == [[]] and parsed == 1
    conn.rollback()


def test_a_failure_raises_psycopgs_error_skips_the_rest_and_leaves_the_transaction_failed(
    conn,
):
    pipeline.run(conn, [(_INSERT, {"k": 1, "v": "甲"})], begin.begun(conn), commit=True)
    conn.commit()
    with pytest.raises(psycopg.errors.UniqueViolation) as raised:
        pipeline.run(
            conn,
            [(_INSERT, {"k": 2, "v": "乙"}), (_INSERT, {"k": 1, "v": "again"})],
            begin.begun(conn),
            commit=True,
        )
    assert raised.value.diag.constraint_name == "pipeline_probe_pkey"
    assert raised.value.sqlstate == "23505"
    assert conn.info.transaction_status == pq.TransactionStatus.INERROR  # no COMMIT ran
    assert conn.pgconn.pipeline_status == pq.PipelineStatus.OFF
    conn.rollback()
    assert conn.execute("SELECT k FROM pipeline_probe").fetchall() == [(1,)]
    conn.rollback()


def test_a_statement_whose_parse_failed_is_prepared_again_at_its_next_use(conn):
    """A Parse the server refused leaves no statement of that name: it is forgotten, so
    that once its table exists the same SQL is parsed anew, not bound to nothing. (On a
    connection where psycopg prepared nothing, whose ROLLBACK drops nothing.)"""
    sql = "SELECT count(*) FROM pipeline_later WHERE n > %(n)s"
    with pytest.raises(psycopg.errors.UndefinedTable):
        pipeline.run(conn, [(sql, {"n": 0})], begin.begun(conn))
    conn.rollback()
    conn.autocommit = True
    conn.execute("CREATE TABLE pipeline_later (n int)")
    try:
        conn.autocommit = False
        assert pipeline.run(conn, [(sql, {"n": 0})], begin.begun(conn)) == [[(0,)]]
        conn.rollback()
    finally:
        conn.autocommit = True
        conn.execute("DROP TABLE pipeline_later")


def test_a_value_that_cannot_be_sent_raises_before_anything_is_sent(conn):
    with pytest.raises(psycopg.ProgrammingError):
        pipeline.run(conn, [(_SELECT, {"k": 1}), (_SELECT, {"k": object()})], [b"BEGIN"])
    # nothing went: no transaction, no pipeline left open, the connection goes on
    assert conn.info.transaction_status == pq.TransactionStatus.IDLE
    assert conn.pgconn.pipeline_status == pq.PipelineStatus.OFF
    assert pipeline.run(conn, [(_SELECT, {"k": 1})], begin.begun(conn)) == [[]]
    conn.rollback()


def test_beyond_the_limit_the_least_recently_used_statement_is_closed(conn, monkeypatch):
    monkeypatch.setattr(pipeline, "MAX_PREPARED", 2)
    for k in range(3):  # three statements, each its own SQL
        pipeline.run(conn, [(_SELECT + f" AND {k} = {k}", {"k": k})], begin.begun(conn))
    conn.rollback()
    assert _ours(conn) == ["_mf_2", "_mf_3"]
    assert list(conn.prepared_here.names.values()) == [b"_mf_2", b"_mf_3"]
    conn.rollback()


def test_a_close_the_failure_skipped_is_remembered(conn, monkeypatch):
    """A pipeline that fails skips the DEALLOCATE of what it evicted: those statements stay
    on the server, so the connection still counts them (and closes them at a later turn);
    what it knows is what the server holds."""
    monkeypatch.setattr(pipeline, "MAX_PREPARED", 2)
    for k in range(2):
        pipeline.run(conn, [(_SELECT + f" AND {k} = {k}", {"k": k})], begin.begun(conn))
    with pytest.raises(psycopg.errors.DivisionByZero):
        pipeline.run(
            conn,
            [("SELECT 1 / %(zero)s", {"zero": 0}), (_SELECT + " AND 2 = 2", {"k": 2})],
            begin.begun(conn),
        )
    conn.rollback()
    known = sorted(name.decode() for name in conn.prepared_here.names.values())
    assert known == _ours(conn)
    assert {"_mf_1", "_mf_2"} <= set(known)  # the two evicted, not closed
    conn.rollback()


def test_on_a_connection_not_ours_statements_go_unprepared_in_a_transaction(conninfo):
    """psycopg's own connection: nothing tells when its statements would be dropped, so
    none is prepared; a BEGIN goes first as psycopg's would."""
    with psycopg.connect(conninfo) as conn:
        opening = begin.begun(conn)
        assert opening == [b"BEGIN"]
        pipeline.run(conn, [(_INSERT, {"k": 7, "v": "丙"})], opening)
        assert conn.info.transaction_status == pq.TransactionStatus.INTRANS
        assert _ours(conn) == []
        conn.rollback()
        assert conn.execute("SELECT count(*) FROM pipeline_probe").fetchone() == (0,)


def test_other_threads_run_while_a_run_waits_for_the_server(conninfo):
    """The wait for the server lets the process's other threads run (a worker's eight share
    one process): while one thread's statement sleeps 0.5 s on the server, another ticks."""
    ticks: list[float] = []
    done = threading.Event()

    def waiting():
        with begin.Connection.connect(conninfo) as conn:
            pipeline.run(conn, [("SELECT pg_sleep(0.5)", None)], begin.begun(conn))
            conn.rollback()
        done.set()

    thread = threading.Thread(target=waiting, daemon=True)
    thread.start()
    while not done.wait(0.01):
        ticks.append(time.monotonic())
    thread.join(10)
    assert len(ticks) >= 20, ticks  # about 50 in the half second, none were it held
