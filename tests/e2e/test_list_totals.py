"""Long lists count their total only so far (a reviewer's done list and the association's
forms grow for years): past the limit the API says `total_capped`, the pages are whole and
the cursor still reaches every row."""

from __future__ import annotations

from conftest import applicant_data, start_form, step_task, token_headers

from service.domain.validation import make_resident_id
from service.services.workflow import instances, queue


def _done(client, headers) -> dict:
    reply = client.get("/api/v1/tasks?scope=done", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_the_done_total_stops_counting_at_its_limit(app, world, monkeypatch):
    monkeypatch.setattr(queue, "DONE_COUNTED", 2)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    for i in range(3):
        data = applicant_data(client, unit, make_resident_id(f"44010619850315{i:03d}"))
        started = start_form(client, unit, "member_join", data)
        step_task(client, unit, started["id"], {"decision": "return", "remark": "补材料"})
        page = _done(client, unit)
        assert len(page["items"]) == i + 1
        assert (page["total"], page["total_capped"]) == (min(i + 1, 2), i + 1 > 2), page
    # the other lists count every row and do not carry the flag
    available = client.get("/api/v1/tasks?scope=available", headers=unit).get_json()
    assert available["total"] == 3 and "total_capped" not in available, available


def test_the_instance_list_total_stops_counting_at_its_limit(app, world, monkeypatch):
    monkeypatch.setattr(instances, "LIST_COUNTED", 2)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    started = [
        start_form(
            client,
            unit,
            "member_join",
            applicant_data(client, unit, make_resident_id(f"44010619850316{i:03d}")),
        )["id"]
        for i in range(3)
    ]
    first = client.get("/api/v1/instances?page_size=2", headers=unit).get_json()
    assert (first["total"], first["total_capped"]) == (2, True), first
    assert [i["id"] for i in first["items"]] == started[:0:-1]
    rest = client.get(
        f"/api/v1/instances?page_size=2&after={first['next_after']}", headers=unit
    ).get_json()
    assert [i["id"] for i in rest["items"]] == started[:1] and rest["next_after"] is None, rest
    # a search counts the same way; under the limit the total is exact
    found = client.get("/api/v1/instances?q=陈志强", headers=unit).get_json()
    assert (found["total"], found["total_capped"], len(found["items"])) == (2, True, 3)
    monkeypatch.setattr(instances, "LIST_COUNTED", 10)
    exact = client.get("/api/v1/instances", headers=unit).get_json()
    assert (exact["total"], exact["total_capped"]) == (3, False), exact
