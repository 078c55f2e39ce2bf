"""Statements sent to PostgreSQL together, through libpq's pipeline mode directly.

The request path's statements (`uow.Reads`, `UnitOfWork.commit_with`) go to the server in
one pipeline each time: a round trip. Through psycopg's cursors each statement costs about
20 µs of Python (a cursor, its transformer and adapters, the query object, the prepared
statements' bookkeeping, a generator per step), and psycopg flushes after each, so the
server answers them one by one. Here the same statements go through psycopg's libpq layer
(`psycopg.pq`): their values converted by psycopg's own adapters (the connection's, as a
cursor's are), sent as prepared statements of our own, one Sync and one flush for all;
the rows converted back by psycopg's own loaders. Measured (stop 43): 31–35 µs of client
CPU for six statements against 155 through cursors, and the server's 30–33 against 53–57.

Prepared statements: each connection keeps its own (`_mf_<n>`), prepared in the pipeline
that first sends them (a Parse before their first Bind: no round trip of their own), and
forgotten when psycopg sends DEALLOCATE ALL (after a ROLLBACK, or a DROP or ALTER it ran),
which drops them on the server too (`begin.Connection._deallocate`). At most
`MAX_PREPARED` per connection: the least recently used is closed beyond that.

What the server answers is psycopg's: a failed statement raises psycopg's own exception
for its SQLSTATE (its `diag` read from the result), the statements after it skipped and
the transaction left in error, to be rolled back as any failed request is."""

from __future__ import annotations

import re
import select
from collections import OrderedDict
from typing import Any

import psycopg
from psycopg import errors, pq
from psycopg.adapt import PyFormat, Transformer

MAX_PREPARED = 256  # statements prepared per connection (psycopg's own keeps 100)

_OK = (pq.ExecStatus.COMMAND_OK, pq.ExecStatus.TUPLES_OK, pq.ExecStatus.EMPTY_QUERY)
_SYNC = pq.ExecStatus.PIPELINE_SYNC
_ABORTED = pq.ExecStatus.PIPELINE_ABORTED
_FATAL = pq.ExecStatus.FATAL_ERROR


class Prepared:
    """A connection's own prepared statements: name by (SQL, the values' types), least
    recently used first."""

    __slots__ = ("count", "names", "transformer", "unnamed")

    def __init__(self) -> None:
        self.names: OrderedDict[tuple[bytes, tuple[int, ...]], bytes] = OrderedDict()
        self.count = 0
        self.transformer: Transformer | None = None
        self.unnamed = False  # statements sent unprepared (on a connection not ours)

    def forget(self) -> None:
        """The server dropped them all (DEALLOCATE ALL): prepare anew at their next use."""
        self.names.clear()


# a statement's SQL as SQLAlchemy compiles it for psycopg (`%(name)s`, `%%`), as libpq
# takes it (`$1`…, a name used twice bound once) and the names in their order, by SQL
_CONVERTED: dict[str, tuple[bytes, tuple[str, ...]]] = {}
_PLACEHOLDER = re.compile(r"%(?:\(([^)]+)\)s|%)")


def _converted(sql: str) -> tuple[bytes, tuple[str, ...]]:
    found = _CONVERTED.get(sql)
    if found is None:
        order: dict[str, int] = {}

        def number(match: re.Match) -> str:
            name = match.group(1)
            if name is None:
                return "%"
            if name not in order:
                order[name] = len(order) + 1
            return f"${order[name]}"

        if len(_CONVERTED) >= 4096:  # SQL seldom seen (an IN of a rare length): afresh
            _CONVERTED.clear()
        if "%s" in _PLACEHOLDER.sub("", sql):
            raise ValueError(f"positional placeholder in {sql!r}: only %(name)s is taken")
        found = _CONVERTED[sql] = (_PLACEHOLDER.sub(number, sql).encode(), tuple(order))
    return found


def run(
    conn: psycopg.Connection,
    statements: list[tuple[str, Any]],
    begin: list[bytes] = (),
    commit: bool = False,
) -> list[list[tuple]]:
    """Send `statements` (SQL as SQLAlchemy compiles it for psycopg, each with its values: a
    dict, a list of dicts for one run per dict, or None), after the `begin` commands and
    before a COMMIT when `commit`, in one pipeline: one round trip. The rows each returned,
    in order (of its last run, for a list of values; [] for one that returns none).

    Raises psycopg's exception for the first statement that failed (the rest skipped)."""
    pgconn = conn.pgconn
    prepared: Prepared | None = getattr(conn, "prepared_here", None)
    if prepared is None:  # not one of ours: nothing tells when the server drops statements
        prepared = Prepared()
        prepared.unnamed = True
    tx = prepared.transformer
    if tx is None:
        tx = prepared.transformer = Transformer(conn)
    # every value converted before anything is sent: a value psycopg cannot adapt raises
    # here, with the connection as it was
    runs: list[tuple[bytes, Any, tuple[int, ...], Any, int]] = []
    for number, (sql, params) in enumerate(statements):
        query, order = _converted(sql)
        many = params if isinstance(params, list) else [params]
        for index, values in enumerate(many):
            kept = number if index == len(many) - 1 else -1  # its rows: the last run's
            if order:
                dumped = tx.dump_sequence(
                    [values[name] for name in order], [PyFormat.AUTO] * len(order)
                )
                runs.append((query, dumped, tuple(tx.types), list(tx.formats), kept))
            else:
                runs.append((query, None, (), None, kept))
    names = prepared.names
    # per result awaited: the statement whose rows it holds (-1: none), the key of a
    # statement prepared here (a tuple), to forget should its Parse not be done, or a
    # statement closed here, to remember should its DEALLOCATE not be done
    expected: list[int | tuple] = [-1] * len(begin)
    closing: list[_Closing] = []
    pgconn.enter_pipeline_mode()
    try:
        for command in begin:
            pgconn.send_query_params(command, None)
        for query, dumped, types, formats, kept in runs:
            if prepared.unnamed:
                pgconn.send_query_params(query, dumped, param_types=types, param_formats=formats)
                expected.append(kept)
                continue
            key = (query, types)
            name = names.get(key)
            if name is None:
                prepared.count += 1
                name = names[key] = b"_mf_%d" % prepared.count
                pgconn.send_prepare(name, query, param_types=types)
                expected.append(key)
                if len(names) > MAX_PREPARED:
                    closing.append(_Closing(*names.popitem(last=False)))
            else:
                names.move_to_end(key)
            pgconn.send_query_prepared(name, dumped, param_formats=formats)
            expected.append(kept)
        if commit:
            pgconn.send_query_params(b"COMMIT", None)
            expected.append(-1)
        for closed in closing:
            pgconn.send_query_params(b"DEALLOCATE " + closed.name, None)
            expected.append(closed)
        pgconn.pipeline_sync()
        _flush(pgconn)
        rows: list[list[tuple]] = [[] for _ in statements]
        _answers(conn, pgconn, tx, expected, rows, names)
        return rows
    finally:
        if pgconn.status == pq.ConnStatus.OK and pgconn.pipeline_status:
            try:
                pgconn.exit_pipeline_mode()
            except psycopg.Error:
                # what was sent was not read out (a failure of this process's, not the
                # server's): nobody knows what the server still owes, so the connection
                # ends here (broken, the pool drops it) and the failure goes on as it was
                pgconn.finish()


class _Closing:
    """A prepared statement closed in this pipeline (beyond `MAX_PREPARED`)."""

    __slots__ = ("key", "name")

    def __init__(self, key: tuple[bytes, tuple[int, ...]], name: bytes):
        self.key, self.name = key, name


def _flush(pgconn: pq.abc.PGconn) -> None:
    """Everything sent leaves the client (reading the server's answers meanwhile, so neither
    side waits on a full buffer)."""
    while pgconn.flush():
        readable, _, _ = select.select([pgconn.socket], [pgconn.socket], [])
        if readable:
            pgconn.consume_input()


def _result(pgconn: pq.abc.PGconn) -> pq.abc.PGresult | None:
    """The next result, waiting for the server without holding Python's lock."""
    while pgconn.is_busy():
        select.select([pgconn.socket], [], [])
        pgconn.consume_input()
    return pgconn.get_result()


def _answers(conn, pgconn, tx, expected: list, rows: list[list[tuple]], names) -> None:
    """Read each awaited result (and the NULL that ends it), then the Sync's: the rows of
    the statements kept in `rows`; a statement prepared here whose Parse was not done
    forgotten. The first error is raised once the pipeline is read out."""
    failure: Exception | None = None
    for awaited in expected:
        result = _result(pgconn)
        if result is None:  # the connection went
            raise psycopg.OperationalError(
                pgconn.get_error_message() or "the connection to the server was lost"
            )
        status = result.status
        if status not in _OK:
            if isinstance(awaited, tuple):
                names.pop(awaited, None)
            elif isinstance(awaited, _Closing):  # still on the server: closed at a later turn
                names[awaited.key] = awaited.name
                names.move_to_end(awaited.key, last=False)
            if status == _FATAL:
                failure = failure or errors.error_from_result(result, encoding=conn.info.encoding)
            elif status != _ABORTED:
                failure = failure or psycopg.InterfaceError(f"unexpected result {status!r}")
        elif isinstance(awaited, int) and awaited >= 0 and result.ntuples:
            try:
                tx.set_pgresult(result)
                rows[awaited] = tx.load_rows(0, result.ntuples, tuple)
            except psycopg.Error as exc:  # a value psycopg cannot load: read the rest out
                failure = failure or exc
        _result(pgconn)  # the NULL after each statement's result
    while True:  # the Sync's own result ends the pipeline
        result = _result(pgconn)
        if result is None or result.status == _SYNC:
            break
    if failure is not None:
        raise failure
