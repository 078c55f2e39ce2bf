"""问题反馈: units' and members' feedback to the association, its attachments and replies.

Revision ID: 0017
Revises: 0016
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feedback",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("category", sa.String(20), nullable=False),
        sa.Column("title", sa.String(50), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("business_key", sa.String(40), nullable=True),
        sa.Column(
            "instance_id",
            sa.Integer(),
            sa.ForeignKey("process_instances.id", name="fk_feedback_instance_id_process_instances"),
            nullable=True,
        ),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column(
            "submitted_by",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_feedback_submitted_by_accounts"),
            nullable=False,
        ),
        sa.Column("submitter_name", sa.String(200), nullable=False),
        sa.Column(
            "unit_id",
            sa.Integer(),
            sa.ForeignKey("units.id", name="fk_feedback_unit_id_units"),
            nullable=True,
        ),
        sa.Column(
            "member_id",
            sa.Integer(),
            sa.ForeignKey("members.id", name="fk_feedback_member_id_members"),
            nullable=True,
        ),
        sa.Column(
            "closed_by",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_feedback_closed_by_accounts"),
            nullable=True,
        ),
        sa.Column("closed_by_name", sa.String(200), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback"),
    )
    op.create_index("ix_feedback_unit_created", "feedback", ["unit_id", "created_at"])
    op.create_index("ix_feedback_member_created", "feedback", ["member_id", "created_at"])
    op.create_index("ix_feedback_submitter_created", "feedback", ["submitted_by", "created_at"])
    op.create_index("ix_feedback_status_created", "feedback", ["status", "created_at"])
    op.create_table(
        "feedback_files",
        sa.Column(
            "feedback_id",
            sa.Integer(),
            sa.ForeignKey("feedback.id", name="fk_feedback_files_feedback_id_feedback"),
            nullable=False,
        ),
        sa.Column(
            "file_id",
            sa.String(32),
            sa.ForeignKey("files.id", name="fk_feedback_files_file_id_files"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("feedback_id", "file_id", name="pk_feedback_files"),
    )
    op.create_index("ix_feedback_files_file_id", "feedback_files", ["file_id"])
    op.create_table(
        "feedback_replies",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "feedback_id",
            sa.Integer(),
            sa.ForeignKey("feedback.id", name="fk_feedback_replies_feedback_id_feedback"),
            nullable=False,
        ),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column(
            "author_id",
            sa.Integer(),
            sa.ForeignKey("accounts.id", name="fk_feedback_replies_author_id_accounts"),
            nullable=False,
        ),
        sa.Column("author_name", sa.String(200), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feedback_replies"),
    )
    op.create_index("ix_feedback_replies_feedback_id", "feedback_replies", ["feedback_id"])


def downgrade() -> None:
    op.drop_index("ix_feedback_replies_feedback_id", table_name="feedback_replies")
    op.drop_table("feedback_replies")
    op.drop_index("ix_feedback_files_file_id", table_name="feedback_files")
    op.drop_table("feedback_files")
    for name in (
        "ix_feedback_status_created",
        "ix_feedback_submitter_created",
        "ix_feedback_member_created",
        "ix_feedback_unit_created",
    ):
        op.drop_index(name, table_name="feedback")
    op.drop_table("feedback")
