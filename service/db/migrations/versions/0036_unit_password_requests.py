"""单位账号密码重置: the requests a unit sends from the sign-in page (manual FAQ 3.9(2))

One row per request: the unit, its contact and mobile, the stamped form (a file), the
status (待处理 / 已重置 / 已拒绝) and who handled it when. A partial unique index keeps one
待处理 request per unit. Going back drops the table.

Revision ID: 0036
Revises: 0035
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0036"
down_revision = "0035"
branch_labels = None
depends_on = None

PENDING = sa.text("status = '待处理'")


def upgrade() -> None:
    op.create_table(
        "unit_password_requests",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unit_password_requests"),
        sa.Column("number", sa.String(30), nullable=True),
        sa.UniqueConstraint("number", name="uq_unit_password_requests_number"),
        sa.Column(
            "unit_id",
            sa.Integer(),
            sa.ForeignKey("units.id", name="fk_unit_password_requests_unit_id_units"),
            nullable=False,
        ),
        sa.Column("contact_name", sa.String(50), nullable=False),
        sa.Column("contact_mobile", sa.String(11), nullable=False),
        sa.Column(
            "file_id",
            sa.String(32),
            sa.ForeignKey("files.id", name="fk_unit_password_requests_file_id_files"),
            nullable=False,
        ),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.String(500), nullable=True),
        sa.Column(
            "account_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_unit_password_requests_account_id_accounts"),
            nullable=True,
        ),
        sa.Column(
            "handled_by",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_unit_password_requests_handled_by_accounts"),
            nullable=True,
        ),
        sa.Column("handled_by_name", sa.String(200), nullable=True),
        sa.Column("handled_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_unit_password_requests_unit_id", "unit_password_requests", ["unit_id"])
    op.create_index("ix_unit_password_requests_file_id", "unit_password_requests", ["file_id"])
    op.create_index(
        "ix_unit_password_requests_status_created",
        "unit_password_requests",
        ["status", "created_at"],
    )
    op.create_index(
        "uq_unit_password_requests_pending",
        "unit_password_requests",
        ["unit_id"],
        unique=True,
        postgresql_where=PENDING,
        sqlite_where=PENDING,
    )


def downgrade() -> None:
    op.drop_table("unit_password_requests")
