"""终止 ends a form wherever it stands, but not one whose fee finance has confirmed: an
approved enrolment whose learning runs on was ended, its learning voided, and its bill stayed
财务已确认 with nothing said of the money."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import in_db
from sqlalchemy import select
from test_other_education_api import approve, enrol, seed, supervisor
from test_pages_http import sign_in

from service.db.models import Bill, LearningTask, ProcessInstance

pytestmark = pytest.mark.usefixtures("pinned_clock")


def _state(app, instance_id: int) -> tuple:
    def read(s):
        form = s.get(ProcessInstance, instance_id)
        bill = s.scalars(select(Bill.status).where(Bill.instance_id == instance_id)).first()
        learning = s.scalars(
            select(LearningTask.status).where(LearningTask.instance_id == instance_id)
        ).all()
        return form.status, form.finished, bill, learning

    return in_db(app, read)


def test_a_form_whose_fee_finance_confirmed_is_not_terminated(app, client, login, world):
    n = seed(app, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    inst = enrol(
        client, login("unit"), "continuing_education", [(n, "罗建平")], certificate_type="监理员"
    )
    approve(app, client, login, inst["id"], "60.00")
    before = _state(app, inst["id"])
    assert before == ("审批完成", False, "confirmed", ["开课未学习"])

    reply = client.post(
        f"/api/v1/instances/{inst['id']}/terminate", headers=login("admin"), json={"reason": "测试"}
    )
    assert reply.status_code == 409, reply.get_json()
    assert "费用已经财务确认，不能终止" in reply.get_json()["message"]
    assert _state(app, inst["id"]) == before
    # nor does the form's page offer it
    sign_in(client, "admin")
    page = client.get(f"/forms/{inst['id']}").get_data(as_text=True)
    assert "终止原因" not in page and inst["business_key"] in page


def test_a_form_under_review_is_still_terminated(app, client, login, world):
    n = seed(app, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    inst = enrol(
        client, login("unit"), "continuing_education", [(n, "罗建平")], certificate_type="监理员"
    )
    reply = client.post(
        f"/api/v1/instances/{inst['id']}/terminate", headers=login("admin"), json={"reason": "测试"}
    )
    assert reply.status_code == 200, reply.get_json()
    assert _state(app, inst["id"])[:2] == ("已终止", True)


def test_the_page_offers_it_on_a_form_under_review(app, client, login, world):
    n = seed(app, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    inst = enrol(
        client, login("unit"), "continuing_education", [(n, "罗建平")], certificate_type="监理员"
    )
    sign_in(client, "admin")
    assert "终止原因" in client.get(f"/forms/{inst['id']}").get_data(as_text=True)
