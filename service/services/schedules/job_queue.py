"""Where background jobs wait: procrastinate's queue on PostgreSQL, the `jobs` table on SQLite.

A job's state is always our `jobs` row (see `jobs`). On PostgreSQL the row is also handed
to procrastinate (a kept, PostgreSQL-backed queue: no new server) in the same transaction
that creates the row, so a job is queued exactly when its row exists; `memberflow worker`
runs procrastinate's worker, which calls `jobs.run` for each entry. On SQLite there is no
queue: the app's local worker thread (`service.worker`) reads the `jobs` table itself.
"""

from __future__ import annotations

import procrastinate
import sqlalchemy as sa
from sqlalchemy.orm import Session

QUEUE = "memberflow"
TASK = "memberflow.run_job"
_apps: dict[str, procrastinate.App] = {}


def conninfo(database_url: str) -> str:
    """The libpq address of a SQLAlchemy PostgreSQL URL (procrastinate speaks psycopg)."""
    url = sa.make_url(database_url)
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def queue_app(database_url: str) -> procrastinate.App:
    """A procrastinate App for deferring into the database's queue (one per URL)."""
    if database_url not in _apps:
        connector = procrastinate.PsycopgConnector(conninfo=conninfo(database_url))
        _apps[database_url] = procrastinate.App(connector=connector)
    return _apps[database_url]


def uses_queue(session: Session) -> bool:
    """PostgreSQL: jobs go through procrastinate's queue."""
    return session.get_bind().dialect.name == "postgresql"


def defer(session: Session, job_id: int, token: str) -> None:
    """Queue a job inside the session's transaction (it commits or rolls back with the row).

    On SQLite nothing is queued: the local worker finds the row.
    """
    if not uses_queue(session):
        return
    bind = session.get_bind()
    raw = session.connection().connection.driver_connection
    app = queue_app(bind.url.render_as_string(hide_password=False))
    app.configure_task(name=TASK, queue=QUEUE, connection=raw).defer(job_id=job_id, token=token)
