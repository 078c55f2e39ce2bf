"""Keyset paging of the instance list and the work queues over HTTP, on SQLite and PostgreSQL:
each page names the next (`next_after`); given back as `after`, the list seeks past the
last row it showed — the same rows as by page number, none repeated when a form arrives
meanwhile — and a cursor that is not one the list gave is a 422 naming `after`."""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime
from html import unescape

import pytest
from conftest import PASSWORD, applicant_data, form_values, start_form, step_task

from service.domain.validation import make_resident_id

# a tie on the sort key (two forms started in the same instant) must still be paged by id
MOMENTS = ["2026-11-02T03:00:00", "2026-11-02T03:00:00", "2026-11-03T03:00:00"]
MOMENTS += ["2026-11-04T03:00:00", "2026-11-04T03:00:00"]
UNIT_APPROVE = {"decision": "approve", "member_level": "普通会员"}


def at(app, moment: str) -> None:
    app.extensions["memberflow"].clock = lambda: datetime.fromisoformat(moment)


@pytest.fixture
def five_forms(app, client, login) -> list[int]:
    """Five join applications of the unit, each waiting for the unit's pre-review."""
    ids = []
    for n, moment in enumerate(MOMENTS):
        at(app, moment)
        unit = login("unit")
        data = applicant_data(client, unit, id_number=make_resident_id(f"44010619850315{n}23"))
        ids.append(start_form(client, unit, "member_join", data)["id"])
    return ids


def get(client, headers, path: str, expect: int = 200, **params) -> dict:
    reply = client.get(path, headers=headers, query_string=params)
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def walk(client, headers, path: str, **params) -> list[dict]:
    """Every page of a list, each reached by the cursor of the one before."""
    pages = [get(client, headers, path, **params)]
    while pages[-1]["next_after"]:
        pages.append(get(client, headers, path, after=pages[-1]["next_after"], **params))
    return pages


def ids(page: dict) -> list[int]:
    return [item["id"] for item in page["items"]]


def test_the_instance_list_by_cursor_gives_the_pages_page_numbers_give(client, login, five_forms):
    unit = login("unit")
    by_cursor = walk(client, unit, "/api/v1/instances", page_size=2)
    by_number = [get(client, unit, "/api/v1/instances", page=n, page_size=2) for n in (1, 2, 3)]
    assert [ids(p) for p in by_cursor] == [ids(p) for p in by_number]
    assert [i for p in by_cursor for i in ids(p)] == sorted(five_forms, reverse=True)
    assert [p["page"] for p in by_cursor] == [1, 2, 3]
    assert {p["total"] for p in by_cursor} == {5}
    assert by_cursor[-1]["next_after"] is None
    assert by_number[-1]["next_after"] is None
    # a filter holds across the cursor's pages
    searched = walk(client, unit, "/api/v1/instances", page_size=1, q="陈志强", key="member_join")
    assert [i for p in searched for i in ids(p)] == sorted(five_forms, reverse=True)


def test_a_form_started_between_two_pages_repeats_nothing_on_the_next(
    app, client, login, five_forms
):
    unit = login("unit")
    first = get(client, unit, "/api/v1/instances", page_size=2)
    at(app, "2026-11-05T03:00:00")
    data = applicant_data(client, unit, id_number=make_resident_id("44010619850315923"))
    newest = start_form(client, unit, "member_join", data)["id"]
    by_number = get(client, unit, "/api/v1/instances", page=2, page_size=2)
    by_cursor = get(client, unit, "/api/v1/instances", page_size=2, after=first["next_after"])
    assert ids(by_number)[0] == ids(first)[-1]  # an offset shifts: the row is shown again
    assert ids(by_cursor) == sorted(five_forms, reverse=True)[2:4]  # a cursor seeks past it
    assert by_cursor["total"] == 6 and by_cursor["page"] == 2
    assert newest not in ids(by_cursor)


@pytest.mark.parametrize("sort", ["waiting", "submitted", "submitted_asc"])
def test_the_work_queue_by_cursor_gives_the_pages_page_numbers_give(
    client, login, five_forms, sort
):
    unit = login("unit")
    by_cursor = walk(client, unit, "/api/v1/tasks", page_size=2, sort=sort)
    by_number = [
        get(client, unit, "/api/v1/tasks", page=n, page_size=2, sort=sort) for n in (1, 2, 3)
    ]
    assert [ids(p) for p in by_cursor] == [ids(p) for p in by_number]
    assert sorted(t["instance"]["id"] for p in by_cursor for t in p["items"]) == five_forms
    assert [p["page"] for p in by_cursor] == [1, 2, 3]
    assert {p["total"] for p in by_cursor} == {5}
    assert by_cursor[-1]["next_after"] is None


def test_the_done_list_pages_by_cursor_newest_completed_first(app, client, login, five_forms):
    unit = login("unit")
    for n, instance_id in enumerate(five_forms):
        at(app, f"2026-11-10T0{n % 2}:00:00")  # completed in two instants: ties on the key
        data = {**form_values(client, unit, instance_id), **UNIT_APPROVE}
        step_task(client, unit, instance_id, data)
    by_cursor = walk(client, unit, "/api/v1/tasks", scope="done", page_size=2)
    by_number = [
        get(client, unit, "/api/v1/tasks", scope="done", page=n, page_size=2) for n in (1, 2, 3)
    ]
    assert [ids(p) for p in by_cursor] == [ids(p) for p in by_number]
    assert len({i for p in by_cursor for i in ids(p)}) == 5
    completed = [t["completed_at"] for p in by_cursor for t in p["items"]]
    assert completed == sorted(completed, reverse=True)


def token(*parts) -> str:
    raw = json.dumps(list(parts)).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "path, after",
    [
        ("/api/v1/instances", "不是游标"),
        ("/api/v1/instances", "%%%"),
        ("/api/v1/instances", token("instances", -2, [5])),  # a negative offset
        ("/api/v1/instances", token("instances", 2, ["5"])),  # an id that is not a number
        ("/api/v1/instances", token("instances", 2, [5, 6])),  # a key of another shape
        ("/api/v1/instances", token("instances", 2, [2**40])),  # past any id column
        ("/api/v1/tasks", token("available:waiting", 2, ["2026-11-02T03:00:00+08:00", 5])),
        ("/api/v1/instances", token("available:waiting", 2, ["2026-11-02T03:00:00", 5])),
        ("/api/v1/tasks", token("instances", 2, [5])),  # the instance list's, on the queue
        ("/api/v1/tasks", token("available:submitted", 2, ["2026-11-02T03:00:00", 5])),
        ("/api/v1/tasks", token("available:waiting", 2, ["11月2日", 5])),  # not a time
        ("/api/v1/tasks", "x" * 401),  # longer than any cursor
    ],
)
def test_a_cursor_the_list_did_not_give_is_a_422_naming_after(client, login, path, after):
    reply = client.get(path, headers=login("unit"), query_string={"after": after})
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert "after" in body["errors"]
    assert "after" in body["message"]
    assert any("\u4e00" <= ch <= "\u9fff" for ch in body["message"])  # said in Chinese


def test_the_openapi_document_describes_the_cursor(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path, page in (("/api/v1/instances", "InstancePage"), ("/api/v1/tasks", "TaskPage")):
        params = {p["name"]: p for p in spec["paths"][path]["get"]["parameters"]}
        assert params["after"]["schema"]["type"] == "string"
        assert "next_after" in params["after"]["description"]
        schema = spec["components"]["schemas"][page]["properties"]
        assert schema["next_after"]["type"] == ["string", "null"] or schema["next_after"].get(
            "nullable"
        )


def page_links(html: str) -> dict[str, str]:
    found = re.findall(r'<a href="\?([^"]+)" aria-label="(上一页|下一页)">', html)
    return {label: unescape(query) for query, label in found}


def test_the_forms_and_queue_pages_link_their_next_page_by_cursor(app, client, world, five_forms):
    page = client.get("/login").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    signed = client.post(
        "/login", data={"username": world.unit_name, "password": PASSWORD, "csrf_token": csrf}
    )
    assert signed.status_code == 302
    for path in ("/forms", "/workbench/todo"):
        shown: list[set[str]] = []
        reply = client.get(f"{path}?page_size=2")
        for number in (1, 2, 3):
            assert reply.status_code == 200, reply.get_data(as_text=True)
            html = reply.get_data(as_text=True)
            assert f"第 {number} / 3 页" in html
            shown.append(set(re.findall(r"RH\d{10,}|RH-\d+", html)))
            links = page_links(html)
            if number < 3:
                assert "after=" in links["下一页"], links
                reply = client.get(f"{path}?{links['下一页']}")
        assert [len(forms) for forms in shown] == [2, 2, 1]  # each form once, on one page
        assert len(set().union(*shown)) == 5
        bad = client.get(f"{path}?after=不是游标")
        assert bad.status_code == 422
        assert "翻页游标" in bad.get_data(as_text=True)
