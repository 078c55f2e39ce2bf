"""An instance's engine state compressed with LZ4 on PostgreSQL

Every move rewrites an instance's state (5–13 KB of JSON for a join, far more for a form
of many persons) and every completion reads it back. PostgreSQL compresses a value that
large before it stores it, by default with its own pglz; LZ4 compresses and decompresses
it in less of the database's CPU, to about the same size (`scripts/bench_state_storage.py`
measures both on real states). A column's compression applies to the values written
after it is set: each instance's state changes to LZ4 at its next move, and an old value
is read as it was written.

PostgreSQL 14 and later, built with LZ4 (Debian's and the official images are): on a
server without it the column is left as it was, and said so in the migration's log.
SQLite stores text as it is: nothing changes there.

Revision ID: 0022
Revises: 0021
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from alembic import op

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None

log = logging.getLogger("alembic.runtime.migration")

SET_LZ4 = "ALTER TABLE process_instances ALTER COLUMN state SET COMPRESSION lz4"
SET_DEFAULT = "ALTER TABLE process_instances ALTER COLUMN state SET COMPRESSION default"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    try:
        with bind.begin_nested():
            bind.execute(sa.text(SET_LZ4))
    except sa.exc.DBAPIError as exc:  # before 14: no such clause; built without LZ4
        log.warning("state left with the server's compression: %s", str(exc.orig).strip())


def downgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    if int(bind.execute(sa.text("SHOW server_version_num")).scalar_one()) >= 140000:
        bind.execute(sa.text(SET_DEFAULT))
