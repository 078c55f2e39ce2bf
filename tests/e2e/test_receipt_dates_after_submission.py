"""Finance's 开票日期 is never before the day the form was submitted (Asia/Shanghai), on
SQLite and PostgreSQL: the payment follows the form, so a receipt dated earlier is a typing
mistake. Refused at its field, naming the submission's day; the bill stays paid and the
task open; the submission's day itself and any day up to today are accepted."""

from __future__ import annotations

from datetime import date, datetime

import pytest
from conftest import in_db, on_day, open_task
from conftest import step_task as step
from sqlalchemy import select
from test_other_education_api import BOTH_RECEIPTS, SUBMITTED, enrol, pay, seed, supervisor
from test_receipt_numbers_any_case import RECEIPT as APPROVED
from test_receipt_numbers_any_case import join_at_finance

from service.db.models import Bill

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28
RECEIPT = {**APPROVED, "receipt_number": "GDCZ2026000009"}  # dated 2026-11-28: today


def bill_status(app, instance_id: int) -> str:
    return in_db(
        app, lambda s: s.scalar(select(Bill.status).where(Bill.instance_id == instance_id))
    )


def test_a_receipt_dated_before_the_forms_submission_is_refused_at_its_field(
    app, client, login, world
):
    with on_day(app, date(2026, 11, 20)):
        form = join_at_finance(client, login, "44010619850315231")
    finance = login("finance")
    task = open_task(client, finance, form["id"])
    for early in ("2026-11-19", "2026-01-01"):
        refused = step(client, finance, form["id"], {**RECEIPT, "receipt_date": early}, 422)
        assert refused["errors"] == {"receipt_date": "开票日期不能早于表单提交日期（2026-11-20）"}
    # nothing changed: the bill is paid, the same task waits for finance
    assert bill_status(app, form["id"]) == "paid"
    assert open_task(client, finance, form["id"])["id"] == task["id"]
    # the submission's own day is accepted (today, 2026-11-28, too: see the other forms)
    done = step(client, finance, form["id"], {**RECEIPT, "receipt_date": "2026-11-20"})
    assert done["status"] == "审批完成" and bill_status(app, form["id"]) == "confirmed"


def test_the_submissions_day_is_shanghais_and_a_return_keeps_no_date_to_check(
    app, client, login, world
):
    """Submitted at 01:00 on 2026-11-20 in Shanghai (17:00 UTC on the 19th): a receipt of
    the 19th is before it. A return sends no receipt: a stale early date is not checked."""
    ctx = app.extensions["memberflow"]
    pinned = ctx.clock
    ctx.clock = lambda: datetime(2026, 11, 19, 17, 0)
    try:
        form = join_at_finance(client, login, "44010619860416232")
    finally:
        ctx.clock = pinned
    finance = login("finance")
    refused = step(client, finance, form["id"], {**RECEIPT, "receipt_date": "2026-11-19"}, 422)
    assert refused["errors"] == {"receipt_date": "开票日期不能早于表单提交日期（2026-11-20）"}
    returned = {
        **RECEIPT,
        "decision": "return",
        "remark": "凭证不清晰",
        "receipt_date": "2026-11-19",
    }
    assert step(client, finance, form["id"], returned)["status"] == "退回"


def test_the_membership_fees_receipt_is_checked_as_well(app, client, login, world):
    """A support fee billed with a lapsed membership's fee: its 电子财政收据 too may not be
    dated before the form; each of the two documents' dates between the two days is kept."""
    unit, finance = login("unit"), login("finance")
    certs = [supervisor(date(2027, 3, 31))]
    n = seed(app, world.unit_id, "罗建平", "44010619840404567", certs, until=date(2026, 6, 30))
    with on_day(app, SUBMITTED):  # 2026-11-27
        inst = enrol(
            client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员"
        )
    pay(app, client, login, inst["id"], "260.00")
    early = {**BOTH_RECEIPTS, "membership_receipt_date": "2026-11-26"}
    refused = step(client, finance, inst["id"], early, 422)
    assert refused["errors"] == {
        "membership_receipt_date": "开票日期不能早于表单提交日期（2026-11-27）"
    }
    assert bill_status(app, inst["id"]) == "paid"
    assert step(client, finance, inst["id"], BOTH_RECEIPTS)["status"] == "审批完成"
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    dates = {r["receipt_type"]: r["receipt_date"] for r in view["bill"]["receipts"]}
    assert dates == {"电子发票": "2026-11-28", "电子财政收据": "2026-11-27"}


def test_a_form_of_today_takes_a_receipt_of_today(app, client, login, world):
    """The everyday case is kept: a form submitted and confirmed the same day."""
    form = join_at_finance(client, login, "44050719820303345")
    assert RECEIPT["receipt_date"] == "2026-11-28"
    done = step(client, login("finance"), form["id"], RECEIPT)
    assert done["status"] == "审批完成" and bill_status(app, form["id"]) == "confirmed"
