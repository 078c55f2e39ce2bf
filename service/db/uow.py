"""The unit of work: everything one request changes commits together or not at all."""

from __future__ import annotations

from typing import Any

from psycopg import pq
from sqlalchemy import Insert, bindparam
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult, Dialect
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session
from sqlalchemy.sql.expression import Executable

from service.db import db, pipeline
from service.db.begin import begun, generic_plans


class UnitOfWork:
    """Wraps a session; rolls back on exit unless `commit` was called (only use cases commit).
    A read-only transaction (a GET's, `begin_read_only`) still sound ends with COMMIT."""

    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, exc_type, *exc) -> None:
        if _read_only(self.session):
            # nothing to undo (PostgreSQL refused any write), even when the request failed:
            # ended by COMMIT, as a ROLLBACK makes psycopg forget every statement it
            # prepared on the connection
            try:
                self.session.commit()
                return
            except SQLAlchemyError:  # the connection went: the transaction is gone anyway
                self.session.rollback()
                if exc_type is None:
                    raise
                return
        self.session.rollback()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def commit_with(self, statements: list[tuple[str, Any]], returning: int = 0) -> list[tuple]:
        """Run the last statements of the request (the driver's SQL, compiled beforehand,
        each with its values: a dict, or a list of dicts for one run per dict) and commit;
        the rows the statement at index `returning` returns.

        On PostgreSQL, when nothing else waits to be flushed, the statements and the COMMIT
        go to the server together, in psycopg's pipeline mode: one round trip. Should one
        fail, the server skips the rest and the COMMIT, and the transaction stays open in
        error, to be rolled back as any failed request is; the error is raised as
        SQLAlchemy's (DBAPIError), as from any other statement. Elsewhere the statements
        run one by one, then the session commits as `commit` does (its pending changes
        flushed after them)."""
        session = self.session
        connection = session.connection()
        pending = session.new or session.deleted or any(map(session.is_modified, session.dirty))
        if connection.dialect.name != "postgresql" or pending:
            found = [connection.exec_driver_sql(sql, params) for sql, params in statements]
            rows = found[returning].all() if found[returning].returns_rows else []
            session.commit()
            return rows
        driver = connection.connection.driver_connection
        error = connection.dialect.loaded_dbapi.Error
        try:
            rows = pipeline.run(driver, statements, begun(driver), commit=True)[returning]
        except error as exc:
            if driver.broken:  # the connection died: the pool must not hand it out again
                connection.invalidate(exc)
            sql, params = statements[0]
            raise DBAPIError.instance(sql, params, exc, error) from exc
        session.commit()  # the server has committed: the session's own COMMIT sends nothing
        return rows


def request_uow() -> UnitOfWork:
    """A unit of work on the app context's session (a request's): the Session itself, not
    flask-sqlalchemy's scoped proxy, each use of which looks the app context's session up
    again (about twenty times in a task's completion)."""
    return UnitOfWork(db.session())


def begin_read_only(session: Session) -> None:
    """The session's next transaction only reads (a GET): on PostgreSQL it begins READ ONLY,
    so the server refuses any write in it, and the unit of work ends it with COMMIT rather
    than ROLLBACK, the request failed or not, unless a statement aborted it (the same for a
    transaction that cannot have written; psycopg deallocates every prepared statement at a
    ROLLBACK, in a round trip of its own). Elsewhere nothing changes."""
    session = _own(session)
    if session.get_bind().dialect.name == "postgresql" and not session.in_transaction():
        session.connection(execution_options={"postgresql_readonly": True})
        session.info[_READ_ONLY] = True


def plan_once(session: Session | scoped_session) -> None:
    """The session's transaction, begun or next, runs each statement on the plan PostgreSQL
    keeps for it (`begin.generic_plans`): for the work queues, whose plans follow their
    shape, not their values. Elsewhere nothing changes."""
    session = _own(session)
    if session.get_bind().dialect.name == "postgresql":
        generic_plans(session.connection().connection.driver_connection)


_READ_ONLY = "memberflow.read_only"  # session.info: a read-only transaction was begun
_FAILED = pq.TransactionStatus.INERROR


def _read_only(session: Session) -> bool:
    """Whether the session's transaction is a read-only one of PostgreSQL's, still sound
    (one that failed, or lost its connection, is rolled back as any other)."""
    session = _own(session)
    if not session.info.get(_READ_ONLY):
        return False
    transaction = session.get_transaction()
    if transaction is None or not transaction.is_active:
        return False
    connection = session.connection()
    if connection.invalidated:
        return False
    driver = connection.connection.driver_connection
    # and the server's transaction is sound (not one a failed statement aborted)
    return bool(driver.read_only) and driver.info.transaction_status != _FAILED


def _own(session: Session | scoped_session) -> Session:
    """The session itself (Flask-SQLAlchemy's `db.session` is a registry of them)."""
    return session() if isinstance(session, scoped_session) else session


class Answer:
    """The rows one statement of `Reads` returned (tuples, as the driver gives them; read
    them after `Reads.run`)."""

    __slots__ = ("rows",)

    def __init__(self) -> None:
        self.rows: list[tuple] = []


class Reads:
    """Statements whose answers the request reads before it goes on, sent together rather
    than each waiting for its own round trip: on PostgreSQL in one pipeline (with BEGIN,
    when the transaction has not begun), elsewhere one by one through the session.

    The server runs them one after the other, each with its own snapshot, exactly as when
    sent one at a time: a row lock one statement takes is held when the next one reads.
    Their values are given as to `Session.execute`; each statement is compiled once
    (SQLAlchemy's expanded state: an `IN` of a list gets the list's length of values).
    The rows are the driver's, without SQLAlchemy's result conversions: select columns of
    the driver's own types (numbers, text, dates, booleans)."""

    def __init__(self, session: Session):
        self.session = session
        self._queued: list[tuple[Executable, dict[str, Any], Answer]] = []

    def add(self, statement: Executable, params: dict[str, Any]) -> Answer:
        """Queue a statement; its rows are in the answer once `run` has been called."""
        answer = Answer()
        self._queued.append((statement, params, answer))
        return answer

    def run(self) -> None:
        """Send the statements queued (none: nothing is sent) and fill their answers: on
        PostgreSQL in one pipeline (`db.pipeline`), a single statement too (it costs less
        Python there than SQLAlchemy's execution around it, its result object and its rows'
        conversions); elsewhere each through the session."""
        queued, self._queued = self._queued, []
        if not queued:
            return
        connection = self.session.connection()
        dialect = connection.dialect
        if dialect.name != "postgresql":
            for statement, params, answer in queued:
                result = self.session.execute(statement, params)
                # a write that returns nothing: no rows (as on PostgreSQL), not an error
                nothing = isinstance(result, CursorResult) and not result.returns_rows
                answer.rows = [] if nothing else [tuple(r) for r in result]
            return
        if self.session.autoflush:  # as `Session.execute` would, the reads see what is pending
            self.session.flush()
        sent = [_expanded(dialect, statement, params) for statement, params, _answer in queued]
        driver = connection.connection.driver_connection
        error = dialect.loaded_dbapi.Error
        try:
            found = pipeline.run(driver, sent, begun(driver))
            for rows, (_statement, _params, answer) in zip(found, queued, strict=True):
                answer.rows = rows
        except error as exc:
            if driver.broken:  # the connection died: the pool must not hand it out again
                connection.invalidate(exc)
            # the server answers the first that failed, the pipeline's others are skipped
            sql = ";\n".join(s for s, _ in sent)
            raise DBAPIError.instance(sql, [p for _, p in sent], exc, error) from exc


def loaded(session: Session | scoped_session, cls: type, values: dict[str, Any]) -> Any:
    """The entity of `cls` whose row `values` holds (every column, by attribute key), in the
    session as a query with `populate_existing` would leave it: persistent, every attribute
    loaded and unchanged, read back without SQL. For a row read at the driver level (a
    `Reads` answer): SQLAlchemy's ORM builds its loading machinery anew at every query,
    which for a wide row cost more Python than the statement's whole round trip.

    An entity the session holds already is refreshed with these values (what it had
    changed of them dropped, as `populate_existing` drops it). The values must be the
    column's own Python values, as the ORM's loading would give them (the driver's numbers,
    text, dates and booleans are)."""
    session = _own(session)
    mapper = sa_inspect(cls)
    key = mapper.identity_key_from_primary_key(
        [values[mapper.get_property_by_column(c).key] for c in mapper.primary_key]
    )
    found = session.identity_map.get(key)
    if found is None:
        found = mapper.class_manager.new_instance()
        found.__dict__.update(values)
        make_transient_to_detached(found)  # its key from its primary key, nothing changed
        session.add(found)  # persistent, as a loaded row is; no SQL
        return found
    state = sa_inspect(found)
    state.dict.update(values)
    # what the ORM's own loading does to an entity it populates: its history reset
    state._commit_all(state.dict, session.identity_map)
    return found


# each mapped class's attribute keys and class manager (`transient`)
_MAKERS: dict[type, tuple[frozenset[str], Any]] = {}


def transient(cls: type, values: dict[str, Any]) -> Any:
    """What `cls(**values)` makes of column values: a transient entity (in no session) with
    those attributes, without the constructor's attribute events (a check, a set and a
    history entry per value: for a queue row of 17 columns, most of its making). A name
    that is no attribute of `cls` is refused as the constructor refuses it (TypeError)."""
    maker = _MAKERS.get(cls)
    if maker is None:
        mapper = sa_inspect(cls)
        maker = _MAKERS[cls] = (frozenset(mapper.attrs.keys()), mapper.class_manager)
    keys, manager = maker
    if not keys.issuperset(values):
        unknown = sorted(set(values) - keys)
        raise TypeError(f"{unknown[0]!r} is an invalid keyword argument for {cls.__name__}")
    made = manager.new_instance()
    made.__dict__.update(values)
    return made


def _expanded(dialect: Dialect, statement: Executable, params: dict[str, Any]) -> tuple[str, dict]:
    """A statement's driver SQL and values, as SQLAlchemy would send them: each value
    converted by its column's type (a JSON column's, for one), an expanded `IN`'s too.

    SQLAlchemy expands a statement's `IN` lists and sorts its values anew at every call
    (`construct_expanded_state`), though what it writes depends only on the lists'
    lengths: so it is asked once per statement and lengths, with a marker for each value,
    and what it wrote is kept as a recipe (the SQL, and for each value the driver gets:
    which parameter and item it is, or the statement's own constant, and its
    conversion). A statement whose SQL may hold the values themselves (literal binds) or
    whose lists are of tuples is expanded by SQLAlchemy at every call, as before."""
    key = (dialect.name, statement)
    found = _READS.get(key)
    if found is None:
        compiled = statement.compile(dialect=dialect)
        binds = compiled.binds.values()
        expanding = tuple(sorted({b.key for b in binds if b.expanding}))
        plain = not compiled.literal_execute_params and not any(
            b.expanding and b.type._is_tuple_type for b in binds
        )
        # the conversions of the statement's own values (as `Later`'s, SQLAlchemy's table);
        # the expanded state's processors are only those of the values an `IN` expanded to
        found = _READS[key] = (compiled, dict(compiled._bind_processors), expanding, plain)
    compiled, convert, expanding, plain = found
    if not plain:
        return _expanded_by_sqlalchemy(compiled, convert, params)
    # (an expanding parameter not given holds its list in the statement: a constant)
    shape = (key, tuple(len(params[n]) for n in expanding if n in params), frozenset(params))
    recipe = _RECIPES.get(shape)
    if recipe is None:
        if len(_RECIPES) >= _MAX_RECIPES:  # lengths seldom seen: start afresh, not grow
            _RECIPES.clear()
        recipe = _RECIPES[shape] = _recipe(compiled, convert, expanding, params)
    sql, parts = recipe
    values = {}
    for out, name, index, constant, processor in parts:
        value = constant if name is None else params[name] if index is None else params[name][index]
        values[out] = value if processor is None else processor(value)
    return sql, values


class _Marker:
    """A value's place in what SQLAlchemy expands (`_recipe`): parameter and list item."""

    __slots__ = ("index", "name")

    def __init__(self, name: str, index: int | None):
        self.name, self.index = name, index


def _recipe(compiled, convert: dict, expanding: tuple[str, ...], params: dict[str, Any]):
    """What SQLAlchemy writes for `params`' names and lists' lengths: the SQL, and for each
    value sent (in its order) its key, its parameter and list item (or the statement's own
    constant) and its conversion."""
    markers = {
        name: [_Marker(name, i) for i in range(len(value))]
        if name in expanding
        else _Marker(name, None)
        for name, value in params.items()
    }
    state = compiled.construct_expanded_state(markers)
    processors = {**convert, **state.processors} if state.processors else convert
    parts = []
    for out, value in state.parameters.items():
        processor = processors.get(out)
        if isinstance(value, _Marker):
            parts.append((out, value.name, value.index, None, processor))
        else:  # a value the statement holds itself
            parts.append((out, None, None, value, processor))
    return state.statement, tuple(parts)


def _expanded_by_sqlalchemy(compiled, convert: dict, params: dict[str, Any]) -> tuple[str, dict]:
    """What `_expanded` gives, asked of SQLAlchemy at this call."""
    state = compiled.construct_expanded_state(params)
    if state.processors:
        convert = {**convert, **state.processors}
    values = {k: convert[k](v) if k in convert else v for k, v in state.parameters.items()}
    return state.statement, values


# `Reads`'s compiled statements, their values' conversions, their expanding parameters'
# names and whether a recipe serves them, by dialect and statement (module-level
# constants or built once per shape, so this stays small); and their recipes, by
# statement, lists' lengths and parameters' names (a few per statement)
_READS: dict[tuple[str, Executable], tuple[Any, dict, tuple[str, ...], bool]] = {}
_RECIPES: dict[tuple, tuple[str, tuple]] = {}
_MAX_RECIPES = 4096


class Later:
    """Writes whose outcome the request does not read (they return nothing, and nothing
    after them in the request reads what they wrote), kept to be sent with the COMMIT
    (`UnitOfWork.commit_with`) rather than each waiting for its own round trip. Each is a
    Core statement built once and reused (its driver SQL is compiled once, on first use),
    with its values: a dict, or a list of dicts, given as to `Session.execute` (the
    columns' own conversions, a JSON column's for one, are applied here)."""

    def __init__(self, dialect: Dialect):
        self.dialect = dialect
        self.statements: list[tuple[str, Any]] = []

    def add(self, statement: Executable, params: dict[str, Any] | list[dict[str, Any]]) -> None:
        key = (self.dialect.name, statement)
        found = _COMPILED.get(key)
        if found is None:
            compiled = statement.compile(dialect=self.dialect)
            # the conversions Session.execute would apply: SQLAlchemy's own table of them
            # (not public; were it gone from a later release, every kept write would fail)
            found = _COMPILED[key] = (str(compiled), dict(compiled._bind_processors))
        sql, convert = found
        if convert:
            params = (
                [_converted(p, convert) for p in params]
                if isinstance(params, list)
                else _converted(params, convert)
            )
        self.statements.append((sql, params))


def _converted(params: dict[str, Any], convert: dict) -> dict[str, Any]:
    return {k: convert[k](v) if k in convert else v for k, v in params.items()}


# each kept statement's driver SQL and its values' conversions, by dialect and statement
# (statements are module-level constants or built once per shape, so this stays small)
_COMPILED: dict[tuple[str, Executable], tuple[str, dict]] = {}


# `insert_statement`'s statements, per dialect, table and shape: built once
_INSERTS: dict[tuple, Insert] = {}


def insert_statement(
    dialect: str,
    model,
    keys: tuple[str, ...],
    columns: tuple[str, ...],
    updated: tuple[str, ...] | None = None,
    returning: tuple = (),
) -> Insert:
    """INSERT of one row of `model`, its `columns`' values bound by their names, that when
    a row with the same unique `keys` exists updates its `updated` columns instead (all the
    columns but the keys when None; none when empty: the row is left as it is), returning
    the `returning` columns. Built once per shape, so `Later` compiles it once too."""
    shape = (dialect, model, keys, columns, updated, returning)
    found = _INSERTS.get(shape)
    if found is None:
        table = model.__table__
        insert = (postgresql.insert if dialect == "postgresql" else sqlite.insert)(table)
        insert = insert.values({c: bindparam(c, type_=table.c[c].type) for c in columns})
        if updated is None:
            updated = tuple(c for c in columns if c not in keys)
        if updated:
            insert = insert.on_conflict_do_update(
                index_elements=list(keys), set_={c: insert.excluded[c] for c in updated}
            )
        else:
            insert = insert.on_conflict_do_nothing(index_elements=list(keys))
        found = _INSERTS[shape] = insert.returning(*returning) if returning else insert
    return found


def write(
    session: Session,
    statement: Executable,
    params: dict[str, Any] | list[dict[str, Any]],
    later: Later | None = None,
) -> None:
    """Run a write whose outcome nobody reads: now, or kept in `later` for the COMMIT."""
    if later is None:
        session.execute(statement, params)
    else:
        later.add(statement, params)
