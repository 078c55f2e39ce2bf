"""A done list's name-search total, counted either way (`queue._counted_by_forms`): by
looking up the caller's completed tasks of each form the name's persons list, or by
walking the caller's done tasks against those forms. Both give the same totals, on SQLite
and PostgreSQL; on PostgreSQL the plan says which of them ran."""

from __future__ import annotations

import pytest
from conftest import form_values, in_db, step_task
from plans import explained, plan_nodes
from sqlalchemy import event, select
from test_workbench_api import (
    agency_queue,
    at,
    forms,
    queue,
    step,
    total_counted,
)

from service.db import db
from service.db.models import Account, ProcessInstance, UserTask
from service.services.workflow import queue as queue_module

RETURN = {"decision": "return", "remark": "请补充材料"}


@pytest.fixture
def reviewed(app, client, login, world) -> dict:
    """The Guangzhou agency's reviewer has done four tasks of three forms: li's form twice
    (returned, then passed), chen's and the education form (周建国 and 何美玲) once; the
    association's reviewer has then done li's form once."""
    made = agency_queue(app, client, login, world)
    agency, unit = login("agency"), login("unit")
    step(app, client, agency, made["li"], "2026-11-21T02:00:00", RETURN)
    at(app, "2026-11-21T03:00:00")  # the unit sends it again as it was
    resubmitted = form_values(client, unit, made["li"]["id"])
    step_task(client, unit, made["li"]["id"], resubmitted)
    step(app, client, agency, made["li"], "2026-11-21T04:00:00")
    step(app, client, agency, made["chen"], "2026-11-21T05:00:00")
    step(app, client, agency, made["edu"], "2026-11-21T06:00:00")
    step(app, client, login("association"), made["li"], "2026-11-22T02:00:00")
    return made


# (who, params, total): page_size 1, so that each page is full and its total counted
SEARCHES = [
    ("agency", {"q": "小红"}, 2),  # one form, two of the caller's tasks
    ("agency", {"q": "李小红"}, 2),
    ("agency", {"q": "周建国"}, 1),  # the education form lists him as its subject and a person
    ("agency", {"q": "美玲"}, 1),  # a person who is not the form's subject
    ("agency", {"q": "小红", "key": "member_join"}, 2),
    ("agency", {"q": "志强"}, 1),
    ("agency", {"q": "珠江"}, 4),  # the unit's name: every task of its forms
    ("association", {"q": "小红"}, 1),  # another reviewer's tasks of the same form
]


def test_both_ways_count_the_same_totals(app, client, login, reviewed, db_url, monkeypatch):
    with app.app_context():
        engine = db.engine
    sent: list[tuple] = []

    def on_statement(_conn, _cursor, statement, params, *_args):
        if "FROM user_tasks" in statement:
            sent.append((statement, params))

    def searched(who: str, params: dict) -> tuple[int, list[int]]:
        sent.clear()
        event.listen(engine, "before_cursor_execute", on_statement)
        try:
            page = queue(client, login(who), scope="done", page_size=1, **params)
        finally:
            event.remove(engine, "before_cursor_execute", on_statement)
        assert len(forms(page)) == 1 and len(sent) == 1, (params, page)
        ran = total_counted(explained(engine, *sent[0])) if postgres else []
        return page["total"], ran

    postgres = db_url.startswith("postgresql")
    assert queue_module.DRIVEN_FORMS >= 2
    for who, params, total in SEARCHES:
        # by the forms' lookups: a name no unit's name holds, naming few forms
        by_unit = params["q"] == "珠江"
        ran = ([0, 1] if by_unit else [1, 0]) if postgres else []
        assert searched(who, params) == (total, ran), (who, params)
    # a page past the end counts on its own, the same way
    for who, params, total in SEARCHES:
        past = queue(client, login(who), scope="done", page=9, page_size=1, **params)
        assert (past["items"], past["total"]) == ([], total), (who, params)
    # at the bound: li's join form lists one person, so it is still counted by its lookup
    monkeypatch.setattr(queue_module, "DRIVEN_FORMS", 1)
    assert searched("agency", {"q": "小红"}) == (2, [1, 0] if postgres else [])
    # past it, every search walks the caller's done tasks, to the same totals
    monkeypatch.setattr(queue_module, "DRIVEN_FORMS", 0)
    for who, params, total in SEARCHES:
        assert searched(who, params) == (total, [0, 1] if postgres else []), (who, params)


def sorted_done(app, username: str, subject: str) -> list[int]:
    """The tasks `username` completed of the forms of `subject`, newest completed first."""

    def read(session):
        return session.scalars(
            select(UserTask.id)
            .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
            .join(Account, Account.id == UserTask.completed_by)
            .where(Account.username == username, ProcessInstance.subject_name == subject)
            .order_by(UserTask.completed_at.desc(), UserTask.id.desc())
        ).all()

    return in_db(app, read)


def page_read(plan: dict) -> list[int]:
    """Which way the page of a done list's name search was read: the loops of what lies under
    each branch of the page's CTE, [by the forms, walked]."""
    cte = next(n for n in plan_nodes(plan) if n.get("Subplan Name") == "CTE page")
    branches = next(n for n in plan_nodes(cte) if n["Node Type"] == "Append")["Plans"]
    return [
        next(n for n in branch["Plans"] if n["Parent Relationship"] == "Outer")["Actual Loops"]
        for branch in branches
    ]


def test_both_ways_read_the_same_pages(app, client, login, reviewed, db_url, monkeypatch):
    """A rare name's page is read form by form (the caller's done tasks of each form its
    persons are listed on) instead of walking every done task of the caller to the page's
    end; past `DRIVEN_PAGE` persons, or when a unit's name holds the text, it is walked.
    Either way the pages hold the same tasks in the same order, in each sort, page by page."""
    with app.app_context():
        engine = db.engine
    postgres = db_url.startswith("postgresql")
    sent: list[tuple] = []

    def on_statement(_conn, _cursor, statement, params, *_args):
        if "FROM user_tasks" in statement:
            sent.append((statement, params))

    def pages(who: str, params: dict) -> tuple[list[list[int]], list[list[int]]]:
        """Every page of one task, then the page past the end; how each page was read."""
        tasks, read = [], []
        for number in range(1, 9):
            sent.clear()
            event.listen(engine, "before_cursor_execute", on_statement)
            try:
                page = queue(client, login(who), scope="done", page=number, page_size=1, **params)
            finally:
                event.remove(engine, "before_cursor_execute", on_statement)
            tasks.append([t["id"] for t in page["items"]])
            if postgres:
                read.append(page_read(explained(engine, *sent[0])))
            if not page["items"]:
                return tasks, read
        raise AssertionError(f"more pages than tasks: {params}")

    assert queue_module.DRIVEN_PAGE >= 2  # every name below lists at most two persons
    sorts = ({}, {"sort": "submitted"}, {"sort": "submitted_asc"}, {"sort": "waiting"})
    found = {}
    for who, params, total in SEARCHES:
        for sort in sorts:
            asked = {**params, **sort}
            tasks, read = pages(who, asked)
            assert sum(len(t) for t in tasks) == total, (who, asked, tasks)
            by_unit = params["q"] == "珠江"
            way = [[0, 1]] if by_unit else [[1, 0]]
            assert read == (way * len(tasks) if postgres else []), (who, asked)
            found[who, str(asked)] = tasks
    # the done tasks of li's form, newest completed first, are the agency's two of it
    li = sorted_done(app, "jigou", "李小红")
    assert len(li) == 2 and found["agency", str({"q": "小红"})] == [[t] for t in li] + [[]]
    # walked, every search's pages are the same
    monkeypatch.setattr(queue_module, "DRIVEN_PAGE", 0)
    for who, params, _total in SEARCHES:
        for sort in sorts:
            asked = {**params, **sort}
            tasks, read = pages(who, asked)
            assert tasks == found[who, str(asked)], (who, asked)
            assert read == ([[0, 1]] * len(tasks) if postgres else []), (who, asked)
