"""Logins are unique whatever their letter case, in the database too

`accounts.username` was unique as written, and the letter case was checked in Python only
(`directory._same_login`): two requests at once could still make `Abc` and `abc`. A unique
index on lower(username), on PostgreSQL and SQLite alike, makes the second one fail.

Existing clashes are not renamed — which of two accounts keeps its login is for people to
decide — so the upgrade stops before changing anything, with a message listing each
clashing group of logins (and their account ids); rename or disable-and-rename one of each
group, then run `memberflow db upgrade` again. Going back drops the index.

Revision ID: 0037
Revises: 0036
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from service.db.migrate import MigrationRefused

revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None

INDEX = "uq_accounts_username_lower"


def _clashes(conn) -> list[list[tuple[int, str]]]:
    """Each group of accounts whose logins differ only in letter case, as (id, login)."""
    rows = conn.execute(
        sa.text(
            "SELECT id, username FROM accounts WHERE lower(username) IN ("
            " SELECT lower(username) FROM accounts GROUP BY lower(username)"
            " HAVING count(*) > 1) ORDER BY lower(username), id"
        )
    ).all()
    groups: dict[str, list[tuple[int, str]]] = {}
    for account_id, username in rows:
        groups.setdefault(username.lower(), []).append((account_id, username))
    return list(groups.values())


def upgrade() -> None:
    clashes = _clashes(op.get_bind())
    if clashes:
        listed = "；".join(
            "、".join(f"“{login}”（账号 id {account_id}）" for account_id, login in group)
            for group in clashes
        )
        raise MigrationRefused(
            "数据库升级已停止，未做任何修改：以下登录名仅大小写不同，"
            f"无法建立不区分大小写的唯一索引：{listed}。"
            "请为每组中除一个以外的账号改用其他登录名后，再次运行 memberflow db upgrade。"
        )
    op.create_index(INDEX, "accounts", [sa.text("lower(username)")], unique=True)


def downgrade() -> None:
    op.drop_index(INDEX, table_name="accounts")
