"""A login typed in another width finds its account: a unit's name entered with full-width
brackets （） is signed in with half-width ones () on a phone, a staff login typed in
full-width letters is the same login. On PostgreSQL an expression index on the login's key
(lower(normalize(username, NFKC))) answers that look-up; SQLite computes the key per row
(a Python function each connection registers), which its few accounts allow.

Revision ID: 0042
Revises: 0041
"""

from __future__ import annotations

from alembic import op

revision = "0042"
down_revision = "0041"
branch_labels = None
depends_on = None

INDEX = "ix_accounts_login_key"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"CREATE INDEX {INDEX} ON accounts (lower(normalize(username, NFKC)))")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="accounts")
