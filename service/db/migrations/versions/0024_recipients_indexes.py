"""The recipients of a form's messages found by index

A move that sends messages (a form submitted, returned, billed, approved) reads their
recipients: the unit's active admins and the member's own account
(`messages._recipients`). No index answered either: the unit's accounts were found through
the unique key on (unit_id, sub_slot), every staff and member account of the unit read to
keep the admins, and a member's account by reading every account. A unit's members have
accounts of their own, so each such move cost more as the unit and the association grew:
with 3,000 member accounts in one unit, 0.66 ms and 56 buffers for a form's unit alone,
2.6–3.0 ms and 215 buffers (all accounts and all members read) with its member's account.

Revision ID: 0024
Revises: 0023
"""

from __future__ import annotations

from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_accounts_unit_role": ["unit_id", "role"],
    "ix_accounts_member_id": ["member_id"],
}


def upgrade() -> None:
    for name, columns in INDEXES.items():
        op.create_index(name, "accounts", columns)


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="accounts")
