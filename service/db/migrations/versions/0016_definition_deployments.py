"""Deployments: which version of each process new instances start on, newest row current.

A deploy (memberflow deploy, POST /processes/deploy) or a server starting on files never
deployed before adds a row; every worker compares the newest id every few seconds and
rebuilds its current definitions from the stored versions when it changed.

Revision ID: 0016
Revises: 0015
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "definition_deployments",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("versions", sa.JSON(), nullable=False),
        sa.Column("created", sa.JSON(), nullable=False),
        sa.Column("bundle_digest", sa.String(64), nullable=False),
        sa.Column("messages", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("deployed_by", sa.String(200), nullable=False),
    )
    op.create_index(
        "ix_definition_deployments_bundle_digest", "definition_deployments", ["bundle_digest"]
    )
    # no row yet: the next server to start records one for the files it starts with (its
    # bundle has never been deployed), which is what it would have run before this revision


def downgrade() -> None:
    op.drop_index("ix_definition_deployments_bundle_digest", table_name="definition_deployments")
    op.drop_table("definition_deployments")
