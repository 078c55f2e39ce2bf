"""A page left open never acts on a row it did not show

SQLite gave a deleted row's id to the next row of its table (no AUTOINCREMENT): a page still
open on a deleted draft (or an old job) then saved over a newer one of another kind. The two
tables whose rows are deleted and addressed by id from pages, `drafts` and `jobs`, are
rebuilt with AUTOINCREMENT on SQLite (PostgreSQL's sequences never reuse an id). A draft also
gains its `version` (each 留存 bumps it; a page carrying an older one is refused), who saved it
last, and, once submitted, who submitted it under which idempotency key: the row stays as a
marker (its data emptied), so that a page still open on it names the form it became.
A feedback keeps the idempotency key its page sent (unique per submitter): the same 提交反馈
sent again (back, send again) is the first one. Going back drops the columns and the draft
markers; the tables keep AUTOINCREMENT, harmless.

Revision ID: 0035
Revises: 0034
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0035"
down_revision = "0034"
branch_labels = None
depends_on = None


def _rebuilt(table: str):
    """The table's batch: on SQLite rebuilt with AUTOINCREMENT (its rows, ids and next id
    kept), on PostgreSQL altered in place."""
    if op.get_bind().dialect.name != "sqlite":
        return op.batch_alter_table(table)
    return op.batch_alter_table(
        table, recreate="always", table_kwargs={"sqlite_autoincrement": True}
    )


def upgrade() -> None:
    with _rebuilt("jobs"):
        pass
    with _rebuilt("drafts") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))
        for name in ("updated_by", "submitted_by"):
            batch.add_column(sa.Column(name, sa.Integer(), nullable=True))
            batch.create_foreign_key(f"fk_drafts_{name}_accounts", "accounts", [name], ["id"])
        batch.add_column(sa.Column("submitted_key", sa.String(100), nullable=True))
    op.add_column("feedback", sa.Column("idempotency_key", sa.String(64), nullable=True))
    op.create_index(
        "uq_feedback_idempotency", "feedback", ["submitted_by", "idempotency_key"], unique=True
    )


def downgrade() -> None:
    op.drop_index("uq_feedback_idempotency", table_name="feedback")
    with op.batch_alter_table("feedback") as batch:
        batch.drop_column("idempotency_key")
    op.execute("DELETE FROM drafts WHERE submitted_key IS NOT NULL")
    with op.batch_alter_table("drafts") as batch:
        for name in ("updated_by", "submitted_by"):
            batch.drop_constraint(f"fk_drafts_{name}_accounts", type_="foreignkey")
        batch.drop_column("submitted_key")
        batch.drop_column("submitted_by")
        batch.drop_column("updated_by")
        batch.drop_column("version")
