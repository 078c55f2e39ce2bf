"""A receipt number (票号) is one in any letter case, on SQLite and PostgreSQL: another form's
bill may not register it again, and finance's searches (缴费单, 开票记录) find it."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD, applicant_data, form_values, upload
from conftest import step_task as step

from service.domain.validation import make_resident_id

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
APPROVE = {"decision": "approve", "remark": "同意"}
RECEIPT = {"decision": "approve", "remark": "已到账", "receipt_date": "2026-11-28"}


def join_at_finance(client, login, id_prefix: str) -> dict:
    """A join form of its own applicant, approved and paid: at 财务复核."""
    unit = login("unit")
    data = applicant_data(client, unit, id_number=make_resident_id(id_prefix))
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    inst = reply.get_json()
    values = form_values(client, unit, inst["id"])
    step(client, unit, inst["id"], {**values, "decision": "approve", "member_level": "普通会员"})
    step(client, login("agency"), inst["id"], APPROVE)
    step(client, login("association"), inst["id"], APPROVE)
    step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    return inst


def sign_in(client, username: str) -> None:
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)[:300]


def test_a_number_held_in_capitals_is_refused_in_small_letters_and_found_so(client, login, world):
    finance = login("finance")
    first = join_at_finance(client, login, "44010619850315231")
    second = join_at_finance(client, login, "44010619860416232")
    done = step(client, finance, first["id"], {**RECEIPT, "receipt_number": "GDCZ2026000002"})
    assert done["status"] == "审批完成"

    for typed in ("gdcz2026000002", "Gdcz2026000002 "):
        refused = step(client, finance, second["id"], {**RECEIPT, "receipt_number": typed}, 422)
        assert refused["errors"] == {
            "receipt_number": "票号 GDCZ2026000002 已登记在单号 "
            f"{first['business_key']} 的缴费单上，请核对"
        }
    # kept as typed: a number of its own in small letters registers
    done = step(client, finance, second["id"], {**RECEIPT, "receipt_number": "gdcz2026000003"})
    assert done["status"] == "审批完成"

    sign_in(client, world.logins["finance"])
    for q in ("gdcz2026000002", "GDCZ2026000002"):
        bills = client.get(f"/finance/bills?q={q}")
        assert bills.status_code == 200
        page = bills.get_data(as_text=True)
        assert first["business_key"] in page and second["business_key"] not in page, q
        invoices = client.get(f"/finance/invoices?q={q}")
        assert invoices.status_code == 200
        page = invoices.get_data(as_text=True)
        assert first["business_key"] in page and second["business_key"] not in page, q
        assert "共 1 条" in page, q
    page = client.get("/finance/invoices?q=GDCZ2026000003").get_data(as_text=True)
    assert second["business_key"] in page and first["business_key"] not in page
