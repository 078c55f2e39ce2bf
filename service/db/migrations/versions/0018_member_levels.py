"""The membership levels a join applies for, kept on its instance row for the join list
(申请普通会员 / 申请专业会员), so the list never reads the engine state.

Existing instances are filled in from their saved engine state: the latest `member_level`
and `member_levels` the form's data held (the workflow's data once it finished, else the
last completed task's that set either), read from the JSON alone, without the engine.

Revision ID: 0018
Revises: 0017
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

LEVELS = ("普通会员", "专业会员")
COMPLETED = 64  # SpiffWorkflow's TaskState.COMPLETED
FIELDS = ("member_level", "member_levels")


def upgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.add_column(sa.Column("member_levels", sa.String(20), nullable=True))
    bind = op.get_bind()
    instances = sa.table(
        "process_instances",
        sa.column("id", sa.Integer),
        sa.column("state", sa.Text),
        sa.column("member_levels", sa.String),
    )
    last = 0
    while True:  # in batches by id, so a large table is never held in memory at once
        rows = bind.execute(
            sa.select(instances.c.id, instances.c.state)
            .where(instances.c.id > last, instances.c.state.like("%member_level%"))
            .order_by(instances.c.id)
            .limit(500)
        ).all()
        if not rows:
            break
        last = rows[-1].id
        found = [
            {"row_id": r.id, "levels": levels}
            for r in rows
            if (levels := _levels(r.state)) is not None
        ]
        if found:
            bind.execute(
                instances.update()
                .where(instances.c.id == sa.bindparam("row_id"))
                .values(member_levels=sa.bindparam("levels")),
                found,
            )


def _levels(state: str) -> str | None:
    """The levels the saved state's data applies for, 普通会员、专业会员 (None: none)."""
    try:
        saved = json.loads(state)
    except ValueError:
        return None
    data = _latest_data(saved)
    more = data.get("member_levels")
    asked = {data.get("member_level"), *(more if isinstance(more, list) else [])}
    return "、".join(level for level in LEVELS if level in asked) or None


def _latest_data(saved: dict) -> dict:
    """`member_level` and `member_levels` as the form's data last held them."""
    if saved.get("completed") and isinstance(saved.get("data"), dict):
        return saved["data"]
    latest: dict = {}
    changed: dict = {}
    for task in (saved.get("tasks") or {}).values():
        if not isinstance(task, dict) or task.get("state") != COMPLETED:
            continue
        values = dict(task.get("data") or {})
        values.update((task.get("delta") or {}).get("updates") or {})
        at = task.get("last_state_change") or 0
        for name in FIELDS:
            if name in values and at >= changed.get(name, float("-inf")):
                latest[name], changed[name] = values[name], at
    return latest


def downgrade() -> None:
    with op.batch_alter_table("process_instances") as batch:
        batch.drop_column("member_levels")
