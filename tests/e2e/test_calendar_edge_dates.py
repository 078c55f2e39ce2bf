"""A date filter may hold any date a calendar has: 0001-01-01 as a start, 9999-12-31 as an
end. A Shanghai business day's start is 8 hours before its midnight in UTC, and a range's
end the next day's start, which overflowed Python's datetime at those two dates (a 500).
Every list, count, summary and export that filters by date finds what it finds unfiltered."""

from __future__ import annotations

import pytest
from conftest import applicant_data, start_form
from test_pages_http import sign_in

from service.services.workflow.context import day_after, day_start

EDGES = {"from": "0001-01-01", "to": "9999-12-31"}


def test_the_first_and_last_days_of_the_calendar_have_an_instant():
    from datetime import date, datetime

    assert day_start(date(1, 1, 1)) == datetime.min
    assert day_start(date(1, 1, 2)) == datetime(1, 1, 1, 16)
    assert day_after(date(9999, 12, 31)) == datetime.max
    assert day_after(date(9999, 12, 30)) == datetime(9999, 12, 30, 16)
    assert day_after(date(2026, 12, 6)) == datetime(2026, 12, 6, 16)


# (who, path, the filter's parameters, the reply's field that counts what it found)
API = [
    ("association", "/api/v1/tasks", "submitted", "total"),
    ("agency", "/api/v1/tasks", "submitted", "total"),
    ("agency", "/api/v1/tasks/counts", "submitted", "total"),
    ("association", "/api/v1/instances", "submitted", "total"),
    ("admin", "/api/v1/instances/summary", "submitted", None),
    ("unit", "/api/v1/learning-tasks", "opened", "total"),
]


@pytest.fixture
def waiting(client, login, world) -> dict:
    """A join application at the unit's pre-review."""
    unit = login("unit")
    return start_form(client, unit, "member_join", applicant_data(client, unit))


@pytest.mark.parametrize(("who", "path", "name", "field"), API)
def test_lists_filtered_by_the_calendar_s_edges_find_what_they_find_unfiltered(
    client, login, world, waiting, who, path, name, field
):
    headers = login(who)
    whole = client.get(path, headers=headers)
    assert whole.status_code == 200, whole.get_json()
    for edge in ({"from"}, {"to"}, {"from", "to"}):
        params = {f"{name}_{end}": EDGES[end] for end in edge}
        reply = client.get(path, headers=headers, query_string=params)
        assert reply.status_code == 200, (params, reply.get_json())
        if field:
            assert reply.get_json()[field] == whole.get_json()[field], params
        else:
            assert reply.get_json() == whole.get_json(), params


def test_the_archive_and_the_exports_take_the_calendar_s_edges(client, login, world, waiting):
    admin = login("admin")
    members = f"/api/v1/units/{world.unit_id}/members"
    for path, name in (
        (members, "joined"),
        (members + "/export.xlsx", "joined"),
        ("/api/v1/enrolments/export.xlsx", "submitted"),
    ):
        params = {f"{name}_from": EDGES["from"], f"{name}_to": EDGES["to"]}
        # buffered: a streamed export is read and closed, as a WSGI server does
        reply = client.get(path, headers=admin, query_string=params, buffered=True)
        assert reply.status_code == 200, (path, reply.get_data(as_text=True)[:300])


@pytest.mark.parametrize(
    ("who", "page"),
    [("xiehui", "/workbench/todo"), ("xiehui", "/workbench/done"), ("admin", "/forms")],
)
def test_the_pages_take_the_calendar_s_edges(client, world, waiting, who, page):
    sign_in(client, who)
    for params in ({"submitted_from": EDGES["from"]}, {"submitted_to": EDGES["to"]}):
        reply = client.get(page, query_string=params)
        assert reply.status_code == 200, (page, params)
