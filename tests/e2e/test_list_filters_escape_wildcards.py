"""The `q` search of the lists takes % and _ as the characters they are, not as wildcards."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from conftest import applicant_data, in_db, start_form
from test_education_api import seed

from service.db.models import LearningTask
from service.services.membership.roster import CertificateSeed


def totals(client, headers, url: str, *queries: str) -> list[int]:
    found = []
    for q in queries:
        reply = client.get(url, headers=headers, query_string={"q": q})
        assert reply.status_code == 200, reply.get_json()
        found.append(reply.get_json()["total"])
    return found


def test_percent_and_underscore_match_only_themselves_in_every_list(app, client, login, world):
    unit = login("unit")
    inst = start_form(client, unit, "member_join", applicant_data(client, unit, name="陈志强"))
    cert = CertificateSeed("监理员", "JL2024000001", date(2029, 6, 30))
    member = seed(app, world.unit_id, "周建国", "44010619800101123", certificates=[cert])

    def add_learning(session):
        session.add(
            LearningTask(
                instance_id=inst["id"],
                unit_id=world.unit_id,
                id_number=member,
                name="周建国",
                process_key="continuing_education",
                required_hours=Decimal(24),
            )
        )
        session.commit()

    in_db(app, add_learning)
    assert totals(client, unit, "/api/v1/instances", "陈", "%", "_", "陈%") == [1, 0, 0, 0]
    assert totals(client, unit, "/api/v1/certificates", "周", "%", "_") == [1, 0, 0]
    assert totals(client, unit, "/api/v1/learning-tasks", "周", "%", "周_国") == [1, 0, 0]
