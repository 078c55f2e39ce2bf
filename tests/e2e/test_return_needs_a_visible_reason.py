"""A return needs a reason one can read: a reason of spaces only (ASCII, full-width, no-break)
or of zero-width characters only (U+200B…U+200F, U+2060, U+FEFF, which a paste from a
chat or a web page carries) is refused at 审核意见, nothing changed; a reason holding them
beside words is taken. SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from conftest import applicant_data, form_values, in_db, open_task, start_form

from service.db.models import ProcessInstance

BLANK = ["   ", "\u3000", "\u00a0", "\u200b", "\u200b\u200c\u200d", "\ufeff", "\u2060 \u200e"]
BLANK += ["\u180e", "\u3164", "\u115f\u1160", "\uffa0", "\u2061\u2064"]  # blank letters, too


@pytest.fixture
def pre_review(client, login, world) -> dict:
    """A join application waiting for the unit's pre-review."""
    unit = login("unit")
    return start_form(client, unit, "member_join", applicant_data(client, unit))


def _return(client, headers, instance_id: int, remark: str):
    task = open_task(client, headers, instance_id)
    values = form_values(client, headers, instance_id)
    body = {"data": {**values, "decision": "return", "remark": remark}}
    return client.post(f"/api/v1/tasks/{task['id']}/complete", headers=headers, json=body)


def test_a_reason_of_spaces_or_zero_width_characters_is_refused(app, client, login, pre_review):
    unit = login("unit")
    for remark in BLANK:
        reply = _return(client, unit, pre_review["id"], remark)
        assert reply.status_code == 422, (repr(remark), reply.get_json())
        assert "退回时必须填写退回原因" in reply.get_json()["errors"]["remark"], repr(remark)
    status = in_db(app, lambda s: s.get(ProcessInstance, pre_review["id"]).status)
    assert status == "单位预审中"
    taken = _return(client, unit, pre_review["id"], "\u200b学历证明不清晰\u200b")
    assert taken.status_code == 200, taken.get_json()
    assert taken.get_json()["status"] == "退回"
