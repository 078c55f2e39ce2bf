"""The unit of work: everything one request changes commits together or not at all."""

from __future__ import annotations

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
