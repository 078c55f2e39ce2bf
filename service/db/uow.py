"""The unit of work: everything one request changes commits together or not at all."""

from __future__ import annotations

from typing import Any

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session


class UnitOfWork:
    """Wraps a session; rolls back on exit unless `commit` was called (only use cases commit)."""

    def __init__(self, session: Session):
        self.session = session

    def __enter__(self) -> UnitOfWork:
        return self

    def __exit__(self, *exc) -> None:
        self.session.rollback()

    def commit(self) -> None:
        self.session.commit()

    def rollback(self) -> None:
        self.session.rollback()

    def commit_with(self, sql: str, params: dict[str, Any]) -> list[tuple]:
        """Run one last statement (the driver's SQL, compiled beforehand) and commit; the rows
        it returns.

        On PostgreSQL, when nothing else waits to be flushed, the statement and the COMMIT go
        to the server together, in psycopg's pipeline mode: one round trip. Should the
        statement fail, the server skips the COMMIT and the transaction stays open in error,
        to be rolled back as any failed request is; the error is raised as SQLAlchemy's
        (DBAPIError), as from any other statement. Elsewhere the statement runs first, then
        the session commits as `commit` does (its pending changes flushed after it)."""
        session = self.session
        connection = session.connection()
        pending = session.new or session.deleted or any(map(session.is_modified, session.dirty))
        if connection.dialect.name != "postgresql" or pending:
            rows = connection.exec_driver_sql(sql, params).all()
            session.commit()
            return rows
        driver = connection.connection.driver_connection
        error = connection.dialect.loaded_dbapi.Error
        try:
            with driver.pipeline():
                cursor = driver.cursor()
                cursor.execute(sql, params)
                driver.cursor().execute("COMMIT")
            rows = cursor.fetchall()
        except error as exc:
            if driver.broken:  # the connection died: the pool must not hand it out again
                connection.invalidate(exc)
            raise DBAPIError.instance(sql, params, exc, error) from exc
        session.commit()  # the server has committed: the session's own COMMIT sends nothing
        return rows
