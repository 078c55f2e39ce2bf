"""开票记录's 导出Excel writes what the list shows, on SQLite and PostgreSQL: the list's
filters, its search box included, its order, newest first, and its 合计."""

from __future__ import annotations

import io
import re
from datetime import datetime
from decimal import Decimal

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
    """The rows of an exported 开票记录 (header and 合计 left out): (开票日期, 票号, 单号)."""
    assert reply.status_code == 200, reply.get_data(as_text=True)[:300]
    rows = list(load_workbook(io.BytesIO(reply.data)).worksheets[0].values)
    header, *rows, total = rows
    assert total[0] == "合计", total
    at = [header.index(name) for name in ("开票日期", "票号", "单号")]
    return [(str(row[at[0]])[:10], row[at[1]], row[at[2]]) for row in rows]


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


def test_the_export_ends_with_a_bold_total_of_its_rows_as_the_list_totals_them(
    client, world, confirmed
):
    sign_in(client, world.logins["finance"])
    page = client.get("/finance/invoices").get_data(as_text=True)
    listed = re.search(r"合计（共 3 条）</td><td class=\"num\">¥([\d,.]+)<", page).group(1)

    reply = client.get("/finance/invoices/export.xlsx")
    assert reply.status_code == 200
    sheet = load_workbook(io.BytesIO(reply.data)).worksheets[0]
    header = [c.value for c in sheet[1]]
    assert sheet.max_row == 1 + 3 + 1  # the header, the three documents, the 合计
    amounts = [Decimal(str(sheet.cell(row, header.index("金额") + 1).value)) for row in (2, 3, 4)]
    total = dict(zip(header, sheet[sheet.max_row], strict=True))
    assert total["序号"].value == "合计" and total["开票日期"].value == "共 3 条"
    summed = total["金额"]
    assert Decimal(str(summed.value)) == sum(amounts) == Decimal(listed.replace(",", ""))
    assert sum(amounts) > max(amounts)  # a sum, not one row's amount
    assert summed.data_type == "n" and summed.number_format == "#,##0.00"
    # plain values, never a formula; the other cells empty; the row bold, the rows above not
    assert all(c.data_type != "f" for c in total.values())
    assert {k for k, c in total.items() if c.value is not None} == {"序号", "开票日期", "金额"}
    assert all(c.font.b for c in total.values())
    assert not any(c.font.b for c in sheet[sheet.max_row - 1])

    # the 合计 of a search is of its rows; a range with none says so
    reply = client.get("/finance/invoices/export.xlsx?q=SAME-777")
    *_, last = load_workbook(io.BytesIO(reply.data)).worksheets[0].values
    assert (
        last[:2] == ("合计", "共 1 条") and Decimal(str(last[header.index("金额")])) == (amounts[2])
    )
    reply = client.get("/finance/invoices/export.xlsx?receipt_from=2026-11-28")
    rows = list(load_workbook(io.BytesIO(reply.data)).worksheets[0].values)
    assert len(rows) == 2 and rows[1][:2] == ("合计", "共 0 条")
    assert rows[1][header.index("金额")] == 0
