"""Work follows agency changes made before they moved it

Before a unit moved to another agency took its members and unfinished forms along, and
before disabling or re-scoping a reviewer released the tasks they held, such changes left
members, forms and open tasks with the old agency and tasks held by accounts that can no
longer act on them. This puts them right once: each member of a unit, and each unit
account, gets its unit's agency; each unfinished form of a unit its unit's agency (its
version bumped, as a move does), and each open task its form's; and a task held by an
account that is disabled, of another role or, for a 机构初审 task, of another agency goes
back to its queue. Going back changes nothing: the old values were wrong.

Revision ID: 0032
Revises: 0031
"""

from __future__ import annotations

from alembic import op

revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None

UNIT_AGENCY = "(SELECT u.agency_id FROM units u WHERE u.id = {table}.unit_id)"


def upgrade() -> None:
    for table in ("members", "accounts"):
        unit_agency = UNIT_AGENCY.format(table=table)
        op.execute(
            f"UPDATE {table} SET agency_id = {unit_agency} "
            f"WHERE unit_id IS NOT NULL AND (agency_id IS NULL OR agency_id <> {unit_agency})"
            + (" AND role = 'unit_admin'" if table == "accounts" else "")
        )
    unit_agency = UNIT_AGENCY.format(table="process_instances")
    op.execute(
        f"UPDATE process_instances SET agency_id = {unit_agency}, version = version + 1 "
        f"WHERE NOT finished AND unit_id IS NOT NULL AND agency_id <> {unit_agency}"
    )
    form_agency = (
        "(SELECT i.agency_id FROM process_instances i WHERE i.id = user_tasks.instance_id)"
    )
    op.execute(
        f"UPDATE user_tasks SET agency_id = {form_agency} "
        f"WHERE state = 'open' AND agency_id <> {form_agency}"
    )
    op.execute(
        "UPDATE user_tasks SET claimed_by = NULL, claimed_at = NULL "
        "WHERE state = 'open' AND claimed_by IS NOT NULL AND NOT EXISTS ("
        "SELECT 1 FROM accounts a WHERE a.id = user_tasks.claimed_by AND a.active "
        "AND a.role = user_tasks.role AND (user_tasks.role <> 'agency_reviewer' "
        "OR a.agency_id = user_tasks.agency_id))"
    )


def downgrade() -> None:
    pass
