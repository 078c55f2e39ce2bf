"""A replaced certificate stays: reissuing or upgrading writes a new certificate

A certificate reissued after its cancellation, or upgraded (监理员 → 专业监理工程师), used to
be overwritten, so its old number was no longer found by the public lookup. Now the old row
keeps its number and status and records the number that replaced it (`superseded_by`); a
person holds at most one *current* certificate of each type, which a partial unique index
keeps. Going back is refused while replaced certificates exist (they would break the old
one-per-type constraint).

Revision ID: 0031
Revises: 0029
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0031"
down_revision = "0029"
branch_labels = None
depends_on = None

CURRENT = sa.text("superseded_by IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("certificates") as batch:
        batch.add_column(sa.Column("superseded_by", sa.String(30), nullable=True))
        batch.drop_constraint("uq_certificates_member_id", type_="unique")
    op.create_index(
        "uq_certificates_member_id",
        "certificates",
        ["member_id", "type"],
        unique=True,
        sqlite_where=CURRENT,
        postgresql_where=CURRENT,
    )


def downgrade() -> None:
    replaced = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM certificates WHERE superseded_by IS NOT NULL")
    )
    if replaced:
        raise RuntimeError(f"{replaced} replaced certificates exist: cannot go back before 0031")
    op.drop_index("uq_certificates_member_id", table_name="certificates")
    with op.batch_alter_table("certificates") as batch:
        batch.drop_column("superseded_by")
        batch.create_unique_constraint("uq_certificates_member_id", ["member_id", "type"])
