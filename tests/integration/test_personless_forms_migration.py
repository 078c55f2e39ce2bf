"""Migration 0028 and `persons.subject_of`: a unit's own business lists no person, so it
counts none (报名人数), on SQLite and PostgreSQL. A form saved before, which counted 1, is
set to 0 by the migration; a form listing a person keeps its count."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from conftest import applicant_data, in_db, upload
from conftest import start_form as start

from service.db.migrate import alembic_config, upgrade
from service.db.models import ProcessInstance


def counts(app) -> dict[str, int]:
    return in_db(
        app,
        lambda s: dict(
            s.execute(sa.select(ProcessInstance.process_key, ProcessInstance.person_count)).all()
        ),
    )


def test_a_form_naming_no_person_counts_none_and_old_ones_are_corrected(
    app, client, login, world, db_url
):
    unit = login("unit")
    rename = {"new_name": "广州珠江工程咨询集团有限公司", "business_licence": upload(client, unit)}
    renamed = start(client, unit, "unit_name_change", rename)
    start(client, unit, "member_join", applicant_data(client, unit))
    assert counts(app) == {"unit_name_change": 0, "member_join": 1}
    listed = client.get(f"/api/v1/instances/{renamed['id']}", headers=unit).get_json()
    assert listed["person_count"] == 0

    def as_before(s):  # what the old code saved
        s.execute(sa.update(ProcessInstance).values(person_count=1))
        s.commit()

    in_db(app, as_before)
    command.downgrade(alembic_config(db_url), "0027")
    upgrade(db_url)  # through 0028, and back to the head the other tests run on
    assert counts(app) == {"unit_name_change": 0, "member_join": 1}
