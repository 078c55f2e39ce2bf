"""The name search reads the persons' trigrams; the forms' own, for unlisted names alone

Every form lists its subject as a person (persons.sync: a one-person form has that line
alone), so a name or ID number is found among the persons, whose narrow table and
indexes answer it; searching the forms' own names as well found each form twice and
read the wide rows of both. A form's own name is searched only where no person holds it:
a form with a name and no ID number, which no person line can mirror. On PostgreSQL the
trigram index of every form's name gives way to one of those forms alone (partial), so
each start writes one index fewer. SQLite has no trigrams: nothing changes there.

Revision ID: 0020
Revises: 0019
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

EVERY = "ix_process_instances_subject_name_trgm"
UNLISTED = "ix_process_instances_unlisted_name_trgm"
UNLISTED_NAME = "subject_id_number IS NULL AND subject_name IS NOT NULL"


def _trigrams(name: str, where: str | None) -> None:
    op.create_index(
        name,
        "process_instances",
        ["subject_name"],
        postgresql_using="gin",
        postgresql_ops={"subject_name": "gin_trgm_ops"},
        postgresql_where=sa.text(where) if where else None,
    )


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _trigrams(UNLISTED, UNLISTED_NAME)  # before the old one goes: never without one
        op.drop_index(EVERY, table_name="process_instances")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _trigrams(EVERY, None)
        op.drop_index(UNLISTED, table_name="process_instances")
