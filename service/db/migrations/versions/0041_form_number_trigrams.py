"""学习进度's 申请单号 box finds the forms whose number contains what was typed (often its
last digits): a trigram index on the forms' numbers answers that on PostgreSQL, where it
read every form before (41.9 ms at 50,000 forms). SQLite has no trigrams: nothing changes
there.

Revision ID: 0041
Revises: 0040
"""

from __future__ import annotations

from alembic import op

revision = "0041"
down_revision = "0040"
branch_labels = None
depends_on = None

INDEX = "ix_process_instances_business_key_trgm"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.create_index(
            INDEX,
            "process_instances",
            ["business_key"],
            postgresql_using="gin",
            postgresql_ops={"business_key": "gin_trgm_ops"},
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="process_instances")
