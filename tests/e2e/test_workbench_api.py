"""The reviewers' workbench over HTTP: search, filters, sorts, done list, counts, and the
secretariat's release and reassign — on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import (
    PASSWORD,
    applicant_data,
    form_values,
    in_db,
    start_form,
    step_task,
    token_headers,
)
from plans import explained, plan_nodes
from sqlalchemy import event, select, update
from test_education_api import person, seed

from service.db import db
from service.db.models import Account, AuditRecord
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid
from service.domain.validation import make_resident_id
from service.services.membership import accounts
from service.services.workflow import tasks

CHEN = make_resident_id("44010619850315231")
LI = "44010619870315018X"  # a check character X: searched for in lower case too
WANG = make_resident_id("44050719900101123")
ZHAO = make_resident_id("44010619880808123")
UNIT_APPROVE = {"decision": "approve", "member_level": "普通会员"}


def at(app, moment: str) -> None:
    """Set the service's clock (naive UTC) for what follows."""
    app.extensions["memberflow"].clock = lambda: datetime.fromisoformat(moment)


def join(app, client, login, unit: str, name: str, id_number: str, submitted: str) -> dict:
    at(app, submitted)
    data = applicant_data(client, login(unit), id_number=id_number, name=name)
    return start_form(client, login(unit), "member_join", data)


def step(app, client, headers, inst: dict, when: str, data: dict | None = None) -> dict:
    at(app, when)
    if data is UNIT_APPROVE:  # a form is validated as sent: the applicant's answers go too
        data = {**form_values(client, headers, inst["id"]), **data}
    return step_task(client, headers, inst["id"], data or {"decision": "approve"})


def agency_queue(app, client, login, world) -> dict:
    """Three forms at the Guangzhou agency's review, each waiting, submitted at other times.

    waiting order: li, chen, edu — submitted order (newest first): edu, li, chen.
    li was submitted at 01:00 on 10 November in Shanghai, still 9 November in UTC.
    """
    chen = join(app, client, login, "unit", "陈志强", CHEN, "2026-11-02T03:00:00")
    li = join(app, client, login, "unit", "李小红", LI, "2026-11-09T17:00:00")
    step(app, client, login("unit"), li, "2026-11-10T02:00:00", UNIT_APPROVE)
    step(app, client, login("unit"), chen, "2026-11-12T02:00:00", UNIT_APPROVE)
    zhou = seed(app, world.unit_id, "周建国", "44010619800101123")
    he = seed(app, world.unit_id, "何美玲", "44010619850505234")
    at(app, "2026-11-20T02:00:00")
    unit = login("unit")
    edu = start_form(
        client,
        unit,
        "initial_education",
        {
            "pledge": person(client, unit, zhou, "周建国")["diploma"],
            "persons": [person(client, unit, zhou, "周建国"), person(client, unit, he, "何美玲")],
        },
    )
    return {"chen": chen, "li": li, "edu": edu, "he": he}


def association_queue(app, client, login) -> dict:
    """Two forms at the association's review: one from each agency."""
    zhao = join(app, client, login, "unit", "赵一鸣", ZHAO, "2026-11-02T03:00:00")
    wang = join(app, client, login, "other_unit", "王大明", WANG, "2026-11-05T03:00:00")
    step(app, client, login("other_unit"), wang, "2026-11-05T04:00:00", UNIT_APPROVE)
    step(app, client, login("other_agency"), wang, "2026-11-06T02:00:00")
    step(app, client, login("unit"), zhao, "2026-11-03T02:00:00", UNIT_APPROVE)
    step(app, client, login("agency"), zhao, "2026-11-13T02:00:00")
    return {"zhao": zhao, "wang": wang}


def queue(client, headers, expect: int = 200, path: str = "/api/v1/tasks", **params) -> dict:
    reply = client.get(path, headers=headers, query_string=params)
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def forms(page: dict) -> list[int]:
    return [t["instance"]["id"] for t in page["items"]]


def add_staff(app, username: str, name: str, role: str, agency_id=None) -> int:
    def create(session):
        with UnitOfWork(session) as uow:
            admin = Actor(1, "admin", "secretariat_admin")
            return accounts.create_staff(uow, admin, username, name, PASSWORD, role, agency_id)[
                "id"
            ]

    return in_db(app, create)


def deactivate(app, account: int) -> None:
    def write(session):
        session.execute(update(Account).where(Account.id == account).values(active=False))
        session.commit()

    in_db(app, write)


def account_id(app, username: str) -> int:
    return in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == username)))


def test_the_search_box_finds_a_form_by_name_id_number_last_four_or_form_number(
    app, client, login, world
):
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    chen, li, edu = made["chen"]["id"], made["li"]["id"], made["edu"]["id"]

    def found(q):
        return sorted(forms(queue(client, agency, q=q)))

    assert found("志强") == [chen]  # part of the subject's name
    assert found("何美") == [edu]  # a person listed on the form, not its subject
    assert found(LI.lower()) == [li]  # the whole ID number, X in either case
    assert found(LI[:-1]) == []  # part of an ID number is not a match
    assert found("018x") == [li]  # its last four
    assert found(made["he"][-4:]) == [edu]  # the last four of a listed person
    assert found(made["chen"]["business_key"].lower()) == [chen]  # the whole form number
    assert found(made["chen"]["business_key"][:-1]) == []
    assert found("珠江") == sorted([chen, li, edu])  # part of the unit's name
    assert found("潮海") == []
    assert found("%") == [] and found("_") == [] and found("\\") == []  # no wildcards
    assert found("  ") == sorted([chen, li, edu])  # blank: no search


def test_a_search_of_one_or_two_characters_finds_them_together_and_in_order(
    app, client, login, world
):
    """Two characters are what people type for a Chinese name (on PostgreSQL they are
    looked up by the index of each name's characters, then as a substring): in the to-do
    list and in the done list."""
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    chen, li, edu = made["chen"]["id"], made["li"]["id"], made["edu"]["id"]

    def found(q, **params):
        return sorted(forms(queue(client, agency, q=q, **params)))

    assert found("强") == [chen]  # one character
    assert found("小红") == [li]
    assert found("美玲") == [edu]  # a listed person, not the subject
    assert found("强志") == [] and found("红小") == []  # each character held, not in order
    assert found("志红") == []  # each held, by different forms
    step(app, client, agency, made["chen"], "2026-11-21T02:00:00")
    assert found("志强", scope="done") == [chen]
    assert found("强", scope="done") == [chen]
    assert found("强志", scope="done") == []
    assert found("小红", scope="done") == []  # li is still to do


def total_counted(plan: dict) -> list[int]:
    """How often the statement's total ran: the loops of each InitPlan that reads
    user_tasks itself (the page's own count reads the page)."""
    return [
        node["Actual Loops"]
        for node in plan_nodes(plan)
        if node.get("Subplan Name", "").startswith("InitPlan")
        and any(n.get("Relation Name") == "user_tasks" for n in plan_nodes(node))
    ]


def reads_of(plan: dict, table: str) -> int:
    """How many of the plan's scans of `table` ran."""
    return sum(1 for n in plan_nodes(plan) if n.get("Relation Name") == table and n["Actual Loops"])


def test_a_search_s_total_is_exact_on_every_page_and_counted_only_for_a_full_one(
    app, client, login, world, db_url
):
    """A search's page and total are one statement, whose count runs only when the page is
    full: a page that is not ends the list, so its total is the rows before it and on it."""
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    with app.app_context():
        engine = db.engine
    sent: list[tuple] = []

    def on_statement(_conn, _cursor, statement, params, *_args):
        if "FROM user_tasks" in statement:  # the list's (not the caller's account)
            sent.append((statement, params))

    def searched(q="珠江", page_size=2, **params) -> dict:
        sent.clear()
        event.listen(engine, "before_cursor_execute", on_statement)
        try:
            return queue(client, agency, q=q, page_size=page_size, **params)
        finally:
            event.remove(engine, "before_cursor_execute", on_statement)

    def counted() -> list[int]:  # the loops of the total's count, on PostgreSQL
        return total_counted(explained(engine, *sent[0])) if on_postgresql else []

    on_postgresql = db_url.startswith("postgresql")

    expect = (lambda n: [n]) if on_postgresql else (lambda n: [])
    first = searched()  # full: counted
    assert (len(first["items"]), first["total"], len(sent)) == (2, 3, 1)
    assert counted() == expect(1)
    second = searched(page=2)  # one row: the total without a count
    assert (len(second["items"]), second["total"], len(sent)) == (1, 3, 1)
    assert counted() == expect(0)
    past = searched(page=3)  # past the end: the page, then the count
    assert (past["items"], past["total"], len(sent)) == ([], 3, 2)
    onward = searched(after=first["next_after"])  # a cursor's offset may be stale: counted
    assert (len(onward["items"]), onward["total"], len(sent)) == (1, 3, 1)
    assert forms(second) == forms(onward) and onward["next_after"] is None
    one = searched(q="小红", page_size=20)  # a person's name, the page not full
    assert (forms(one), one["total"], counted()) == ([made["li"]["id"]], 1, expect(0))
    full = searched(q="小红", page_size=1)  # full: the persons read for the page and count
    assert (forms(full), full["total"], counted()) == ([made["li"]["id"]], 1, expect(1))
    if on_postgresql:  # once, by the page and the count alike
        assert reads_of(explained(engine, *sent[0]), "instance_persons") == 1
    step(app, client, agency, made["li"], "2026-11-21T02:00:00")
    done = queue(client, agency, scope="done", q="小红")
    assert (forms(done), done["total"]) == ([made["li"]["id"]], 1)
    done = searched(q="小红", page_size=1, scope="done")
    # a done list's total is counted by the forms' lookups or by the walk (queue.
    # _counted_by_forms): here by the lookups, and the walk never runs
    assert (forms(done), done["total"], counted()) == (
        [made["li"]["id"]],
        1,
        [1, 0] if on_postgresql else [],
    )


def test_filters_narrow_the_queue_by_business_type_task_agency_and_business_day(
    app, client, login, world
):
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    chen, li, edu = made["chen"]["id"], made["li"]["id"], made["edu"]["id"]
    assert sorted(forms(queue(client, agency, key="member_join"))) == [chen, li]
    assert forms(queue(client, agency, key="initial_education")) == [edu]
    assert len(forms(queue(client, agency, task_name="agency_review"))) == 3
    assert forms(queue(client, agency, key="member_join", task_name="association_review")) == []
    # business days in Asia/Shanghai: li (09 Nov 17:00 UTC) was submitted on 10 November
    assert forms(queue(client, agency, submitted_from="2026-11-10", submitted_to="2026-11-10")) == [
        li
    ]
    assert forms(queue(client, agency, submitted_to="2026-11-09")) == [chen]
    assert sorted(forms(queue(client, agency, submitted_from="2026-11-10"))) == [li, edu]

    made = association_queue(app, client, login)
    association = login("association")
    assert forms(queue(client, association, agency_id=world.agency_id)) == [made["zhao"]["id"]]
    assert forms(queue(client, association, agency_id=world.other_agency_id)) == [
        made["wang"]["id"]
    ]
    assert forms(queue(client, association, q="潮海")) == [made["wang"]["id"]]


@pytest.mark.parametrize(
    ("who", "params", "field"),
    [
        ("agency", {"scope": "everything"}, "scope"),
        ("agency", {"scope": "claimed"}, "scope"),  # only the secretariat sees it
        ("agency", {"sort": "oldest"}, "sort"),
        ("agency", {"sort": "completed"}, "sort"),  # done lists only
        ("agency", {"key": "no_such_process"}, "key"),
        ("agency", {"task_name": "no_such_task"}, "task_name"),
        ("agency", {"key": "certificate_cancellation", "task_name": "agency_review"}, "task_name"),
        ("agency", {"agency_id": 1}, "agency_id"),  # an agency sees only its own
        ("association", {"agency_id": 999}, "agency_id"),
        ("association", {"agency_id": "one"}, "agency_id"),
        ("agency", {"submitted_from": "2026-11-31"}, "submitted_from"),
        ("agency", {"submitted_from": "2026-11-10", "submitted_to": "2026-11-09"}, "submitted_to"),
        ("agency", {"page_size": 500}, "page_size"),
        ("agency", {"status": "机构初审中"}, "status"),  # not a parameter of this list
    ],
)
def test_each_invalid_filter_or_unknown_parameter_is_a_422_naming_the_field(
    client, login, who, params, field
):
    for path in ("/api/v1/tasks", "/api/v1/tasks/counts"):  # counts know no sort or paging
        reply = client.get(path, headers=login(who), query_string=params)
        assert reply.status_code == 422, (path, reply.get_json())
        body = reply.get_json()
        assert field in body["errors"], (path, body)
        assert body["message"].startswith(("请求参数有误", "筛选条件有误")), body


def test_sort_orders_longest_waiting_newest_submitted_and_oldest_submitted(
    app, client, login, world
):
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    chen, li, edu = made["chen"]["id"], made["li"]["id"], made["edu"]["id"]
    assert forms(queue(client, agency)) == [li, chen, edu]
    assert forms(queue(client, agency, sort="waiting")) == [li, chen, edu]
    assert forms(queue(client, agency, sort="submitted")) == [edu, li, chen]
    assert forms(queue(client, agency, sort="submitted_asc")) == [chen, li, edu]
    second = queue(client, agency, sort="submitted", page=2, page_size=2)
    assert forms(second) == [chen] and second["total"] == 3
    beyond = queue(client, agency, page=5, page_size=2)
    assert beyond["items"] == [] and beyond["total"] == 3


def test_the_done_list_shows_what_i_completed_newest_first_with_my_name(app, client, login, world):
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    step(app, client, agency, made["edu"], "2026-11-21T02:00:00")
    step(app, client, agency, made["chen"], "2026-11-22T02:00:00")
    done = queue(client, agency, scope="done")
    assert forms(done) == [made["chen"]["id"], made["edu"]["id"]] and done["total"] == 2
    latest = done["items"][0]
    assert latest["completed_by_name"] == "广州初审员"
    assert latest["completed_by"] == latest["claimed_by"]
    assert latest["completed_at"] == "2026-11-22T02:00:00+00:00"
    assert forms(queue(client, agency, scope="done", sort="submitted_asc")) == [
        made["chen"]["id"],
        made["edu"]["id"],
    ]
    assert forms(queue(client, agency, scope="done", q="何美")) == [made["edu"]["id"]]
    assert forms(queue(client, agency)) == [made["li"]["id"]]  # the open queue lost them
    assert queue(client, login("other_agency"), scope="done")["total"] == 0
    counts = queue(client, agency, path="/api/v1/tasks/counts", scope="done")
    assert counts["total"] == 2


def test_a_list_row_names_the_claimer_the_unit_and_the_agency_with_offset_datetimes(
    app, client, login, world
):
    made = agency_queue(app, client, login, world)
    agency = login("agency")
    task = next(
        t for t in queue(client, agency)["items"] if t["instance"]["id"] == made["li"]["id"]
    )
    assert task["claimed_by_name"] is None
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=agency).status_code == 200
    mine = queue(client, agency, scope="mine")
    assert [t["id"] for t in mine["items"]] == [task["id"]]
    row = mine["items"][0]
    assert row["claimed_by_name"] == "广州初审员"
    assert row["waiting_since"] == row["created_at"] == "2026-11-10T02:00:00+00:00"
    assert row["instance"] == {
        "id": made["li"]["id"],
        "business_key": made["li"]["business_key"],
        "process_key": "member_join",
        "process_name": "个人会员入会申请",
        "status": "机构初审中",
        "subject_name": "李小红",
        "subject_id_number": LI,
        "unit_id": world.unit_id,
        "unit_name": world.unit_name,
        "agency_id": world.agency_id,
        "agency_name": "广州市建设监理行业协会",
        "person_count": 1,
        "submitted_at": "2026-11-09T17:00:00+00:00",
    }
    edu = queue(client, agency, key="initial_education")["items"][0]["instance"]
    assert (edu["subject_name"], edu["person_count"]) == ("周建国等2人", 2)
    # someone else's claim takes it out of another reviewer's available queue
    add_staff(app, "jigou2", "广州初审员二", "agency_reviewer", world.agency_id)
    second = token_headers(client, "jigou2")
    assert made["li"]["id"] not in forms(queue(client, second))


BRIEF = ("id", "task_name", "title", "role", "status", "claimed_by", "claimed_at", "created_at")


def test_a_list_row_shows_its_task_as_the_task_s_own_reply_does(app, client, login, world):
    """The lists read a task's columns, not the task: what they show of it is what the
    task's own reply shows, in the queue (to do, mine, done) and in the form list."""
    made = agency_queue(app, client, login, world)
    agency = login("agency")

    def own(task_id: int) -> dict:
        reply = client.get(f"/api/v1/tasks/{task_id}", headers=agency)
        assert reply.status_code == 200, reply.get_json()
        return {k: reply.get_json()[k] for k in BRIEF}

    waiting = queue(client, agency)["items"]
    assert len(waiting) == 3
    for row in waiting:
        assert {k: row[k] for k in BRIEF} == own(row["id"])
        assert row["waiting_since"] == row["created_at"]
        assert (row["completed_by"], row["completed_at"]) == (None, None)
    chen = next(t for t in waiting if t["instance"]["id"] == made["chen"]["id"])
    assert client.post(f"/api/v1/tasks/{chen['id']}/claim", headers=agency).status_code == 200
    (held,) = queue(client, agency, scope="mine")["items"]
    assert held["claimed_by"] == account_id(app, "jigou") and held["claimed_at"]
    assert {k: held[k] for k in BRIEF} == own(chen["id"])
    listed = client.get("/api/v1/instances", headers=agency).get_json()["items"]
    briefs = {t["id"]: t for form in listed for t in form["open_tasks"]}
    assert set(briefs) == {row["id"] for row in waiting}
    for task_id, brief in briefs.items():
        assert brief == own(task_id)
    step(app, client, agency, made["chen"], "2026-11-21T02:00:00")
    (done,) = queue(client, agency, scope="done")["items"]
    assert done["id"] == chen["id"] and {k: done[k] for k in BRIEF} == own(chen["id"])
    assert done["completed_by"] == held["claimed_by"]
    assert done["completed_at"] == "2026-11-21T02:00:00+00:00"


def test_counts_per_business_type_and_task_match_the_list(app, client, login, world):
    agency_queue(app, client, login, world)
    agency = login("agency")
    counts = queue(client, agency, path="/api/v1/tasks/counts")
    assert counts["total"] == queue(client, agency)["total"] == 3
    by_key = {p["process_key"]: p for p in counts["by_process"]}
    assert set(by_key) == {"member_join", "initial_education"}
    assert by_key["member_join"]["process_name"] == "个人会员入会申请"
    assert by_key["member_join"]["count"] == 2
    assert by_key["member_join"]["tasks"] == [
        {"task_name": "agency_review", "title": "机构初审", "count": 2}
    ]
    assert by_key["initial_education"]["count"] == 1
    narrowed = queue(client, agency, path="/api/v1/tasks/counts", q="志强")
    assert narrowed["total"] == 1 and [p["process_key"] for p in narrowed["by_process"]] == [
        "member_join"
    ]
    assert queue(client, login("other_agency"), path="/api/v1/tasks/counts") == {
        "total": 0,
        "by_process": [],
    }


def audit_rows(app, task_id: int, action: str) -> list[tuple]:
    def read(session):
        rows = session.scalars(
            select(AuditRecord)
            .where(AuditRecord.user_task_id == task_id, AuditRecord.action == action)
            .order_by(AuditRecord.id)
        )
        return [(r.actor_name, r.detail, r.status_before, r.status_after) for r in rows]

    return in_db(app, read)


def test_the_secretariat_releases_a_claimed_task_and_the_release_is_audited(
    app, client, login, world
):
    made = association_queue(app, client, login)
    association, admin = login("association"), login("admin")
    task = queue(client, association, agency_id=world.agency_id)["items"][0]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=association).status_code == 200

    claimed = queue(client, admin, scope="claimed")
    assert [t["id"] for t in claimed["items"]] == [task["id"]]
    assert claimed["items"][0]["claimed_by_name"] == "协会审核员"
    assert queue(client, admin, scope="claimed", agency_id=world.other_agency_id)["total"] == 0

    reply = client.post(f"/api/v1/tasks/{task['id']}/release", headers=admin)
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["claimed_by"] is None and reply.get_json()["claimed_by_name"] is None
    holder = account_id(app, "xiehui")
    assert audit_rows(app, task["id"], "release") == [
        ("秘书处管理员", {"from": holder}, "协会初审中", "协会初审中")
    ]
    assert queue(client, admin, scope="claimed")["total"] == 0
    again = client.post(f"/api/v1/tasks/{task['id']}/release", headers=admin)
    assert again.status_code == 409 and "未被认领" in again.get_json()["message"]
    # the reviewer whose claim was released is told so, not that the task does not exist
    for path in ("release", "unclaim"):
        late = client.post(f"/api/v1/tasks/{task['id']}/{path}", headers=association)
        assert (late.status_code, late.get_json()["message"]) == (409, "该任务当前未被认领"), path
    # back in the queue: another association reviewer may take it now
    add_staff(app, "xiehui2", "协会审核员二", "association_reviewer")
    second = token_headers(client, "xiehui2")
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=second).status_code == 200
    step(app, client, second, made["zhao"], "2026-11-14T02:00:00")
    done = client.post(f"/api/v1/tasks/{task['id']}/release", headers=admin)
    assert done.status_code == 409 and "已办结" in done.get_json()["message"]


def test_the_secretariat_reassigns_only_to_an_active_account_that_may_act_and_it_is_audited(
    app, client, login, world
):
    made = association_queue(app, client, login)
    association, admin = login("association"), login("admin")
    task = queue(client, association, agency_id=world.agency_id)["items"][0]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=association).status_code == 200
    second = add_staff(app, "xiehui2", "协会审核员二", "association_reviewer")
    gone = add_staff(app, "xiehui3", "已离职审核员", "association_reviewer")
    deactivate(app, gone)

    people = client.get(f"/api/v1/tasks/{task['id']}/assignees", headers=admin)
    assert people.status_code == 200, people.get_json()
    assert sorted(p["username"] for p in people.get_json()) == ["xiehui", "xiehui2"]

    for unfit in (gone, account_id(app, "jigou"), account_id(app, "caiwu"), 99999):
        reply = client.post(
            f"/api/v1/tasks/{task['id']}/reassign", headers=admin, json={"account_id": unfit}
        )
        assert reply.status_code == 422, reply.get_json()
        assert "account_id" in reply.get_json()["errors"]
    missing = client.post(f"/api/v1/tasks/{task['id']}/reassign", headers=admin, json={})
    assert missing.status_code == 422 and "account_id" in missing.get_json()["errors"]

    moved = client.post(
        f"/api/v1/tasks/{task['id']}/reassign", headers=admin, json={"account_id": second}
    )
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["claimed_by"] == second
    assert moved.get_json()["claimed_by_name"] == "协会审核员二"
    holder = account_id(app, "xiehui")
    assert audit_rows(app, task["id"], "reassign") == [
        ("秘书处管理员", {"from": holder, "to": second}, "协会初审中", "协会初审中")
    ]
    # the former holder may no longer act; the new one may
    lost = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=association,
        json={"data": {"decision": "approve"}},
    )
    assert lost.status_code == 409
    assert forms(queue(client, token_headers(client, "xiehui2"), scope="mine")) == [
        made["zhao"]["id"]
    ]
    step(app, client, token_headers(client, "xiehui2"), made["zhao"], "2026-11-14T02:00:00")
    late = client.post(
        f"/api/v1/tasks/{task['id']}/reassign", headers=admin, json={"account_id": holder}
    )
    assert late.status_code == 409 and "已办结" in late.get_json()["message"]

    # an agency's task goes only to that agency's reviewers; a unit's only to that unit
    fresh = join(app, client, login, "unit", "李小红", LI, "2026-11-15T02:00:00")
    unit_task = fresh["open_tasks"][0]
    people = client.get(f"/api/v1/tasks/{unit_task['id']}/assignees", headers=admin).get_json()
    assert [p["name"] for p in people] == [world.unit_name]
    step(app, client, login("unit"), fresh, "2026-11-15T03:00:00", UNIT_APPROVE)
    agency_task = queue(client, login("agency"))["items"][0]
    people = client.get(f"/api/v1/tasks/{agency_task['id']}/assignees", headers=admin).get_json()
    assert [p["username"] for p in people] == ["jigou"]
    wrong_agency = client.post(
        f"/api/v1/tasks/{agency_task['id']}/reassign",
        headers=admin,
        json={"account_id": account_id(app, "jigou_st")},
    )
    assert wrong_agency.status_code == 422


def test_release_reassign_and_the_claimed_list_are_the_secretariats_alone(
    app, client, login, world
):
    association_queue(app, client, login)
    association = login("association")
    task = queue(client, association)["items"][0]
    assert client.post(f"/api/v1/tasks/{task['id']}/claim", headers=association).status_code == 200
    for who in ("association", "agency", "unit", "finance"):
        headers = login(who)
        for path, body in (("release", None), ("reassign", {"account_id": 1})):
            reply = client.post(f"/api/v1/tasks/{task['id']}/{path}", headers=headers, json=body)
            # the holder sees the task: told the secretariat releases it, not that it is gone
            expected = 403 if (who, path) == ("association", "release") else 404
            assert reply.status_code == expected, (who, path, reply.get_json())
        assert (
            client.get(f"/api/v1/tasks/{task['id']}/assignees", headers=headers).status_code == 404
        )
    admin = login("admin")
    assert client.post("/api/v1/tasks/99999/release", headers=admin).status_code == 404
    assert client.get("/api/v1/tasks/99999/assignees", headers=admin).status_code == 404
    # the holder's own unclaim still works as before
    assert (
        client.post(f"/api/v1/tasks/{task['id']}/unclaim", headers=association).status_code == 200
    )
    assert client.post(f"/api/v1/tasks/{task['id']}/release", headers=admin).status_code == 409


def test_the_openapi_document_describes_the_workbench_routes(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/tasks/counts",
        "/api/v1/tasks/{task_id}/release",
        "/api/v1/tasks/{task_id}/reassign",
        "/api/v1/tasks/{task_id}/assignees",
    ):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/tasks"]["get"]["parameters"]}
    assert {"scope", "key", "task_name", "q", "agency_id", "submitted_from", "submitted_to"} <= (
        params
    )
    assert {"sort", "page", "page_size"} <= params
    item = spec["components"]["schemas"]["TaskListItem"]["properties"]
    assert item["instance"]["$ref"].endswith("/TaskInstance")
    assert spec["components"]["schemas"]["TaskInstance"]["properties"]["submitted_at"] == {
        "type": "string",
        "format": "date-time",
    }


def test_the_use_cases_the_pages_call_check_paging_and_filters_themselves(app, world):
    def call(session, **args):
        actor = Actor(account_id(app, "jigou"), "广州初审员", "agency_reviewer", world.agency_id)
        with UnitOfWork(session) as uow:
            return tasks.list_tasks(app.extensions["memberflow"], uow, actor, **args)

    for args, field in (
        ({"page": 0}, "page"),
        ({"page_size": 201}, "page_size"),
        ({"scope": "all"}, "scope"),
        ({"sort": "random"}, "sort"),
    ):
        with pytest.raises(FormInvalid) as refused:
            in_db(app, lambda s, args=args: call(s, **args))
        assert field in refused.value.errors
    page = in_db(app, lambda s: call(s, page=3))
    assert page == {"items": [], "total": 0, "page": 3, "page_size": 20, "next_after": None}
