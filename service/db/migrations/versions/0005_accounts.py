"""accounts: forced password change, sign-out everywhere, revoked tokens, rate counters

Member passwords were the ID number's last six characters: stored in plain text
(`initial$…`) until the first sign-in, then as a hash of the same guessable value (members
could not change it). Every member password is therefore replaced by a value no password
matches, with `must_change_password` set: the member's unit issues a new one-time
password (or a QR code that shows it to the person), as for a new member. Any other
`initial$…` value is replaced the same way. No plain-text password is left.

Tokens and page sessions now carry `auth_version`; old ones carry none and end here.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 09:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# the marker service.domain.passwords.UNUSABLE writes: not an argon2 hash, matches nothing
UNUSABLE = "!no-password"


def upgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
        batch_op.add_column(
            sa.Column("auth_version", sa.Integer(), nullable=False, server_default="1")
        )
        batch_op.add_column(sa.Column("password_changed_at", sa.DateTime(), nullable=True))
    accounts = sa.table(
        "accounts",
        sa.column("role", sa.String),
        sa.column("password_hash", sa.String),
        sa.column("must_change_password", sa.Boolean),
    )
    op.execute(
        accounts.update()
        .where(sa.or_(accounts.c.role == "member", accounts.c.password_hash.like("initial$%")))
        .values(password_hash=UNUSABLE, must_change_password=True)
    )
    op.create_table(
        "revoked_tokens",
        sa.Column("jti", sa.String(length=32), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"], ["accounts.id"], name=op.f("fk_revoked_tokens_account_id_accounts")
        ),
        sa.PrimaryKeyConstraint("jti", name=op.f("pk_revoked_tokens")),
    )
    op.create_index(
        op.f("ix_revoked_tokens_expires_at"), "revoked_tokens", ["expires_at"], unique=False
    )
    op.create_table(
        "rate_counters",
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Double(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_rate_counters")),
    )
    op.create_index(
        op.f("ix_rate_counters_expires_at"), "rate_counters", ["expires_at"], unique=False
    )


def downgrade() -> None:
    # the replaced passwords stay replaced: there is nothing to restore them from
    op.drop_index(op.f("ix_rate_counters_expires_at"), table_name="rate_counters")
    op.drop_table("rate_counters")
    op.drop_index(op.f("ix_revoked_tokens_expires_at"), table_name="revoked_tokens")
    op.drop_table("revoked_tokens")
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_column("password_changed_at")
        batch_op.drop_column("auth_version")
        batch_op.drop_column("must_change_password")
