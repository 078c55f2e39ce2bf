"""An index of the persons' names' characters, for a search of one or two characters

A trigram index answers LIKE '%…%' from three characters on; a shorter search has no
trigram, so PostgreSQL read every person for it (and, in a work queue, every task of the
list with them). Chinese names are two to four characters, and a two-character search
(张三) is the common one. A GIN index of each name's characters answers it: the search
asks for the rows holding each character, then for the text among them (strpos;
`service.db.search`).
PostgreSQL only; SQLite has neither index.

Revision ID: 0021
Revises: 0020
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None

CHARACTERS = "ix_instance_persons_name_chars"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(
            CHARACTERS,
            "instance_persons",
            [sa.text("string_to_array(name, NULL)")],
            postgresql_using="gin",
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(CHARACTERS, table_name="instance_persons")
