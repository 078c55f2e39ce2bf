"""开票记录's 导出Excel writes what the list shows, on SQLite and PostgreSQL: the list's
filters, its search box included, and its order, newest first."""

from __future__ import annotations

import io
import re
from datetime import datetime

import pytest
from conftest import step_task as step
from openpyxl import load_workbook
from test_receipt_numbers_any_case import RECEIPT, join_at_finance, sign_in

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
KEYS = re.compile(r">(RH-\d+)</a>")


@pytest.fixture
def confirmed(app, client, login, world) -> dict[str, str]:
    """Three join forms submitted on 2026-11-20, their receipts dated the 21st (SAME-777), the
    27th and the 25th; business day 2026-11-28. Receipt number -> business key."""
    ctx = app.extensions["memberflow"]
    saved = ctx.clock
    ctx.clock = lambda: datetime(2026, 11, 20, 2, 0)
    try:
        forms = [
            join_at_finance(client, login, prefix)
            for prefix in ("44010619850315231", "44010619860416232", "44010619870517233")
        ]
        ctx.clock = lambda: datetime(2026, 11, 28, 4, 0)
        keys = {}
        for form, (number, day) in zip(
            forms,
            (("SAME-777", "2026-11-21"), ("FP-0027", "2026-11-27"), ("FP-0025", "2026-11-25")),
            strict=True,
        ):
            receipt = {**RECEIPT, "receipt_number": number, "receipt_date": day}
            assert step(client, login("finance"), form["id"], receipt)["status"] == "审批完成"
            keys[number] = form["business_key"]
        yield keys
    finally:
        ctx.clock = saved


def exported(reply) -> list[tuple]:
    """The rows of an exported 开票记录 (header left out): (开票日期, 票号, 单号)."""
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    rows = list(load_workbook(io.BytesIO(reply.data)).worksheets[0].values)
    header = rows[0]
    at = [header.index(name) for name in ("开票日期", "票号", "单号")]
    return [(str(row[at[0]])[:10], row[at[1]], row[at[2]]) for row in rows[1:]]


def test_the_export_button_takes_the_search_box_and_the_lists_order(client, world, confirmed):
    sign_in(client, world.logins["finance"])
    page = client.get("/finance/invoices?q=same-777").get_data(as_text=True)
    assert KEYS.findall(page) == [confirmed["SAME-777"]] and "共 1 条" in page
    # the export form carries the search, and says it exports what the list shows
    assert '<input type="hidden" name="q" value="same-777">' in page
    assert "票号 / 单号" in page.split("导出Excel")[1].split("</form>")[0]
    token = TOKEN.search(page).group(1)

    reply = client.post("/jobs/exports/invoices", data={"csrf_token": token, "q": "same-777"})
    assert exported(reply) == [("2026-11-21", "SAME-777", confirmed["SAME-777"])]
    reply = client.get("/finance/invoices/export.xlsx?q=SAME-777")
    assert exported(reply) == [("2026-11-21", "SAME-777", confirmed["SAME-777"])]

    # no search: every row, in the list's order (newest receipt first)
    listed = KEYS.findall(client.get("/finance/invoices").get_data(as_text=True))
    newest_first = [
        ("2026-11-27", "FP-0027", confirmed["FP-0027"]),
        ("2026-11-25", "FP-0025", confirmed["FP-0025"]),
        ("2026-11-21", "SAME-777", confirmed["SAME-777"]),
    ]
    assert listed == [key for _day, _number, key in newest_first]
    assert exported(client.post("/jobs/exports/invoices", data={"csrf_token": token})) == (
        newest_first
    )
    assert exported(client.get("/finance/invoices/export.xlsx")) == newest_first
