"""The done list's total counts only so far (a reviewer's done list grows for years): past
queue.DONE_COUNTED the API says `total_capped`, the page itself is whole."""

from __future__ import annotations

from conftest import applicant_data, start_form, step_task, token_headers

from service.domain.validation import make_resident_id
from service.services.workflow import queue


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
