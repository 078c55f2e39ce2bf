"""A draft remembers the key of the new form's page that made it: that page's 留存 sent
again (Back and 留存, a double click) saves the same draft again instead of a second one

`drafts.page_key` (nullable: drafts made before, and by API callers that send no
Idempotency-Key, have none) with a unique index on (owner_id, page_key), which also
settles two simultaneous sends of one page. Going back drops both.

Revision ID: 0040
Revises: 0039
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0040"
down_revision = "0039"
branch_labels = None
depends_on = None

INDEX = "uq_drafts_page_key"


def upgrade() -> None:
    op.add_column("drafts", sa.Column("page_key", sa.String(64), nullable=True))
    op.create_index(INDEX, "drafts", ["owner_id", "page_key"], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="drafts")
    if op.get_bind().dialect.name == "sqlite":
        # in place (SQLite 3.35+): a batch rebuild would reflect the tables the drafts refer
        # to, whose expression indexes it cannot read, and lose AUTOINCREMENT
        op.execute("ALTER TABLE drafts DROP COLUMN page_key")
    else:
        op.drop_column("drafts", "page_key")
