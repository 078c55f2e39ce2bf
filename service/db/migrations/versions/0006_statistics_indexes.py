"""statistics: an agency's members by index; valid certificates per holder from one index

The 首页 statistics count an agency's members and each holder's valid certificates; with
these two indexes PostgreSQL answers both from indexes (no table reads).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 12:00:00
"""

from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_members_agency_id", "members", ["agency_id"])
    op.create_index(
        "ix_certificates_holder_validity", "certificates", ["member_id", "valid_until", "status"]
    )


def downgrade() -> None:
    op.drop_index("ix_certificates_holder_validity", table_name="certificates")
    op.drop_index("ix_members_agency_id", table_name="members")
