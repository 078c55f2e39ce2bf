"""Migration 0032 on SQLite and PostgreSQL: what a unit's move to another agency, or a
reviewer's disabling, left behind before they took work along is put right — the unit's
members, accounts, unfinished forms and their open tasks get its agency, and a task held by
a disabled account goes back to its queue; a finished form keeps its agency."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from alembic import command
from conftest import in_db, upload

from service.db.migrate import alembic_config, upgrade
from service.db.models import Account, Member, ProcessInstance, Unit, UserTask
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member


def test_the_migration_moves_what_an_earlier_unit_move_left_behind(
    app, client, login, world, db_url
):
    number = make_resident_id("44010619850303123")

    def add(s):
        memberships = {"普通会员": date(2027, 6, 30)}
        add_member(s, MemberSeed("张三", number, world.unit_id, memberships=memberships))
        s.commit()

    in_db(app, add)
    headers = login("unit")
    person = {
        "id_number": number,
        "name": "张三",
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        **{f: upload(client, headers) for f in ("diploma", "social_insurance", "verification")},
    }
    started = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=headers,
        json={"data": {"pledge": upload(client, headers), "persons": [person]}},
    )
    assert started.status_code == 201, started.get_json()
    form = started.get_json()["id"]
    of_form = sa.select(UserTask.id).where(UserTask.instance_id == form)
    task = in_db(app, lambda s: s.scalar(of_form))
    assert client.post(f"/api/v1/tasks/{task}/claim", headers=login("agency")).status_code == 200

    def old_move(s):  # what moving the unit and disabling its reviewer did before
        s.execute(
            sa.update(Unit).where(Unit.id == world.unit_id).values(agency_id=world.other_agency_id)
        )
        s.execute(sa.update(Account).where(Account.username == "jigou").values(active=False))
        s.commit()

    in_db(app, old_move)
    command.downgrade(alembic_config(db_url), "0029")
    upgrade(db_url)

    def state(s):
        return (
            s.scalar(sa.select(Member.agency_id).where(Member.id_number == number)),
            s.scalar(sa.select(ProcessInstance.agency_id).where(ProcessInstance.id == form)),
            tuple(
                s.execute(
                    sa.select(UserTask.agency_id, UserTask.claimed_by).where(UserTask.id == task)
                ).one()
            ),
            s.scalar(sa.select(Account.agency_id).where(Account.username == world.unit_name)),
        )

    other = world.other_agency_id
    assert in_db(app, state) == (other, other, (other, None), other)
