"""The instance list's search box (GET /api/v1/instances?q=) on SQLite and PostgreSQL: a form
is found by any of its listed persons (its subject is one of them), by a person's whole ID
number or its last four characters, or by its whole form number, each form once and counted
once, within the caller's scope and filters; and a form with a name and no ID number, which
no person line can hold, by its own name."""

from __future__ import annotations

from conftest import applicant_data, in_db, start_form
from sqlalchemy import delete, update
from test_education_api import person, seed

from service.db.models import InstancePerson, ProcessInstance
from service.domain.validation import make_resident_id

CHEN = make_resident_id("44010619850315231")
WANG = make_resident_id("44050719900101123")


def forms(app, client, login, world) -> dict:
    """Three forms whose persons are all called …建国: the Guangzhou unit's join (陈建国)
    and its education form listing 周建国 and 何建国, and the Shantou unit's join (王建国)."""
    unit, other = login("unit"), login("other_unit")
    zhou = seed(app, world.unit_id, "周建国", "44010619800101123")
    he = seed(app, world.unit_id, "何建国", "44010619850505234")
    join = start_form(
        client, unit, "member_join", applicant_data(client, unit, id_number=CHEN, name="陈建国")
    )
    edu = start_form(
        client,
        unit,
        "initial_education",
        {
            "pledge": person(client, unit, zhou, "周建国")["diploma"],
            "persons": [person(client, unit, zhou, "周建国"), person(client, unit, he, "何建国")],
        },
    )
    wang = start_form(
        client, other, "member_join", applicant_data(client, other, id_number=WANG, name="王建国")
    )
    return {"join": join, "edu": edu, "wang": wang, "he": he}


def found(client, headers, q: str, **filters) -> tuple[list[int], int]:
    reply = client.get("/api/v1/instances", headers=headers, query_string={"q": q, **filters})
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    return [i["id"] for i in body["items"]], body["total"]


def test_a_form_is_found_by_any_listed_person_once_within_the_caller_s_scope(
    app, client, login, world
):
    made = forms(app, client, login, world)
    join, edu, wang = made["join"]["id"], made["edu"]["id"], made["wang"]["id"]
    association = login("association")
    # both of the education form's persons match: it is listed once and counted once
    assert found(client, association, "建国") == ([wang, edu, join], 3)
    assert found(client, association, "建国", key="initial_education") == ([edu], 1)
    assert found(client, association, "建国", page_size=1) == ([wang], 3)
    assert found(client, association, "何建") == ([edu], 1)  # a person, not the subject
    assert found(client, association, "建") == ([wang, edu, join], 3)  # one character
    assert found(client, association, "国建") == ([], 0)  # both held, not in this order
    assert found(client, association, "周") == ([edu], 1)
    assert found(client, association, "陈建国") == ([join], 1)  # the subject
    assert found(client, association, made["he"].lower()) == ([edu], 1)  # whole ID number
    assert found(client, association, made["he"][:-1]) == ([], 0)
    assert found(client, association, made["he"][-4:]) == ([edu], 1)  # its last four
    assert found(client, login("other_unit"), made["he"][-4:]) == ([], 0)
    assert found(client, association, made["join"]["business_key"].lower()) == ([join], 1)
    assert found(client, association, "%") == ([], 0)
    # each caller within its scope
    assert found(client, login("unit"), "建国") == ([edu, join], 2)
    assert found(client, login("agency"), "建国") == ([edu, join], 2)
    assert found(client, login("other_unit"), "建国") == ([wang], 1)
    assert found(client, login("other_agency"), "周建国") == ([], 0)


def test_a_form_no_person_line_holds_is_found_by_its_own_name(app, client, login, world):
    made = forms(app, client, login, world)
    join, edu = made["join"]["id"], made["edu"]["id"]

    def unlisted(session):  # a form with a name and no ID number: no person line mirrors it
        session.execute(delete(InstancePerson).where(InstancePerson.instance_id == join))
        session.execute(
            update(ProcessInstance).where(ProcessInstance.id == join).values(subject_id_number=None)
        )
        session.commit()

    in_db(app, unlisted)
    association = login("association")
    assert found(client, association, "陈建") == ([join], 1)
    assert found(client, association, "陈建", key="member_join") == ([join], 1)
    assert found(client, login("unit"), "建国") == ([edu, join], 2)
    assert found(client, login("other_unit"), "陈建") == ([], 0)
    assert found(client, association, CHEN) == ([], 0)  # its number is no longer held


def test_a_form_found_both_by_its_number_and_by_a_person_is_listed_once(app, client, login, world):
    made = forms(app, client, login, world)
    edu, number = made["edu"]["id"], made["edu"]["business_key"]

    def named(session):  # a person whose name holds the form number: found both ways
        session.execute(
            update(InstancePerson)
            .where(InstancePerson.instance_id == edu, InstancePerson.name == "何建国")
            .values(name=f"何{number}")
        )
        session.commit()

    in_db(app, named)
    for who in ("association", "unit"):
        assert found(client, login(who), number) == ([edu], 1), who


def test_a_blank_search_is_no_search(app, client, login, world):
    made = forms(app, client, login, world)
    join, edu, wang = made["join"]["id"], made["edu"]["id"], made["wang"]["id"]

    def nameless(session):  # a form listing nobody: no text could find it
        session.execute(delete(InstancePerson).where(InstancePerson.instance_id == join))
        session.execute(
            update(ProcessInstance)
            .where(ProcessInstance.id == join)
            .values(subject_id_number=None, subject_name=None)
        )
        session.commit()

    in_db(app, nameless)
    for q in ("", "  "):
        assert found(client, login("association"), q) == ([wang, edu, join], 3)
        assert found(client, login("unit"), q) == ([edu, join], 2)


def test_dates_the_wrong_way_round_are_a_mistake_not_an_empty_list(client, login, world):
    """As the queue says it: the list answered 0 forms and no reason."""
    reply = client.get(
        "/api/v1/instances",
        headers=login("unit"),
        query_string={"submitted_from": "2026-12-07", "submitted_to": "2026-12-01"},
    )
    assert reply.status_code == 422
    assert reply.get_json()["errors"] == {"submitted_to": "提交日期止不能早于提交日期起"}
