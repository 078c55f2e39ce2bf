"""A form that lists no person counts none

A unit's own business (单位名称变更, 单位会员入会) lists no person, yet its row said
`person_count` 1: the lists and the API showed 报名人数 1 beside an empty 申请人. New forms
count 0 (`persons.subject_of`); this sets the forms already saved that list no person (none
of their persons mirrored in instance_persons) to 0. Going back leaves them at 0: the old
count was wrong.

Revision ID: 0028
Revises: 0027
"""

from __future__ import annotations

from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        "UPDATE process_instances SET person_count = 0 "
        "WHERE subject_id_number IS NULL AND person_count = 1 AND NOT EXISTS "
        "(SELECT 1 FROM instance_persons p WHERE p.instance_id = process_instances.id)"
    )


def downgrade() -> None:
    pass
