"""QR confirmations racing with real threads on PostgreSQL: the unit's transfer code serves
many people but moves each person once, and no confirmation slips past a form started for
the same person at the same moment."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import in_db, member_headers, race, seed_world, token_headers, upload
from sqlalchemy import func, select

from service.db.models import (
    AuditRecord,
    ConfirmationCode,
    InstancePerson,
    Member,
    ProcessInstance,
)
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

pytestmark = pytest.mark.alone  # see scripts/test

API = "/api/v1"


def seed(app, unit_id: int, name: str, prefix: str) -> tuple[str, int]:
    id_number = make_resident_id(prefix)

    def add(s):
        seed = MemberSeed(name, id_number, unit_id, memberships={"普通会员": date(2099, 6, 30)})
        member = add_member(s, seed)
        s.commit()
        return member.id

    return id_number, in_db(app, add)


def count(app, stmt) -> int:
    return in_db(app, lambda s: s.scalar(stmt))


def confirm_in_thread(app, headers: dict, code: str):
    reply = app.test_client().post(f"{API}/confirmations/{code}/confirm", headers=headers)
    return reply.status_code, reply.get_json()


@pytest.mark.parametrize("same_person", [True, False])
def test_two_simultaneous_confirmations_of_one_transfer_code_move_each_person_once(
    pg_app, same_person
):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    people = [
        seed(pg_app, world.other_unit_id, "邹明轩", "44010619800101123"),
        seed(pg_app, world.other_unit_id, "尹雪梅", "44010619810202234"),
    ]
    if same_person:
        people = [people[0], people[0]]
    signed_in = {n: member_headers(client, n) for n, _ in people}  # once per person
    headers = [signed_in[n] for n, _ in people]
    unit = token_headers(client, world.logins["unit"])
    code = client.post(f"{API}/units/{world.unit_id}/transfer-codes", headers=unit).get_json()

    results = race(2, lambda i: confirm_in_thread(pg_app, headers[i], code["code"]))
    moved = count(
        pg_app, select(func.count()).select_from(Member).where(Member.unit_id == world.unit_id)
    )
    audits = count(
        pg_app,
        select(func.count()).select_from(AuditRecord).where(AuditRecord.action == "confirm"),
    )
    if same_person:  # the person's row is locked: the second sees the move already made
        assert sorted(status for status, _ in results) == [200, 409], results
        refused = next(body for status, body in results if status == 409)
        assert "无需变更单位" in refused["message"]
        assert (moved, audits) == (1, 1)
    else:  # the unit's one code serves both
        assert [status for status, _ in results] == [200, 200], results
        assert (moved, audits) == (2, 2)
    row = in_db(pg_app, lambda s: s.scalars(select(ConfirmationCode)).one())
    assert row.used_at is None  # still there for the next person


def enrolment(client, headers, id_number: str, name: str) -> dict:
    line = {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        **{k: upload(client, headers) for k in ("diploma", "social_insurance", "verification")},
    }
    return {"pledge": upload(client, headers), "persons": [line]}


@pytest.mark.parametrize("kind", ["transfer", "resignation"])
def test_a_confirmation_racing_a_form_start_never_both_succeed(pg_app, kind):
    """The unit enrols the person while the person confirms leaving: one of them wins."""
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    other = token_headers(client, world.logins["other_unit"])
    outcomes = []
    for round_ in range(4):
        name = f"竞速{round_}"
        n, member_id = seed(pg_app, world.unit_id, name, f"44010619850301{round_}23")
        member = member_headers(client, n)
        if kind == "transfer":
            path = f"/units/{world.other_unit_id}/transfer-codes"
            code = client.post(f"{API}{path}", headers=other).get_json()["code"]
        else:
            path = f"/units/{world.unit_id}/members/{member_id}/resignation-codes"
            code = client.post(f"{API}{path}", headers=unit).get_json()["code"]
        form = enrolment(client, unit, n, name)

        def act(i, code=code, member=member, form=form):
            if i == 0:
                return confirm_in_thread(pg_app, member, code)[0]
            reply = pg_app.test_client().post(
                f"{API}/processes/initial_education/instances", headers=unit, json={"data": form}
            )
            return reply.status_code

        confirmed, started = race(2, act)
        assert (confirmed, started) in ((200, 422), (409, 201)), (confirmed, started)
        outcomes.append(confirmed)
        listed = count(
            pg_app,
            select(func.count())
            .select_from(InstancePerson)
            .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
            .where(InstancePerson.id_number == n),
        )
        still_here = in_db(pg_app, lambda s, m=member_id: s.get(Member, m).unit_id)
        used = in_db(
            pg_app,
            lambda s, m=member_id: s.scalar(
                select(func.count())
                .select_from(ConfirmationCode)
                .where(ConfirmationCode.used_by_member_id == m)
            ),
        )
        # the unit-wide transfer code is never marked used; a resignation code is
        used_when_confirmed = 0 if kind == "transfer" else 1
        if confirmed == 200:
            assert (listed, used) == (0, used_when_confirmed) and still_here != world.unit_id
        else:
            assert (listed, used) == (1, 0) and still_here == world.unit_id
    assert set(outcomes) <= {200, 409}
