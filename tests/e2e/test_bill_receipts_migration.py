"""Migration 0034 on SQLite and PostgreSQL: a bill's documents are rows of their own; a
bill confirmed before, with its one receipt, becomes one row of its whole amount, named and
typed as the bill was, so that 开票记录 and its export show it as they did."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command
from conftest import in_db, on_day, step_task
from test_exports_api import by_header, invoice_workbook
from test_other_education_api import BOTH_RECEIPTS, SUBMITTED, enrol, pay, seed, supervisor
from test_pages_http import sign_in

from service.db.migrate import alembic_config, upgrade

pytestmark = pytest.mark.usefixtures("pinned_clock")


def tables(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return set(sa.inspect(engine).get_table_names())
    finally:
        engine.dispose()


def test_a_bill_confirmed_with_one_receipt_keeps_it_as_one_document(
    app, client, login, world, db_url
):
    unit = login("unit")
    certs = [supervisor(date(2027, 3, 31))]
    n = seed(app, world.unit_id, "罗建平", "44010619840404567", certs, until=date(2026, 6, 30))
    with on_day(app, SUBMITTED):  # BOTH_RECEIPTS' membership receipt is of that day
        inst = enrol(
            client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员"
        )
    pay(app, client, login, inst["id"], "260.00")
    step_task(client, login("finance"), inst["id"], BOTH_RECEIPTS)
    # before 0034 the bill held its one receipt: the bill's own columns, as they are now
    command.downgrade(alembic_config(db_url), "0029")
    assert "bill_receipts" not in tables(db_url)
    upgrade(db_url)

    def documents(s):
        return s.execute(
            sa.text(
                "SELECT receipt_type, fee_kind, amount, receipt_number, receipt_date, "
                "receipt_code FROM bill_receipts"
            )
        ).all()

    ((kind, fee, amount, number, issued, code),) = in_db(app, documents)
    assert (kind, fee, f"{amount:.2f}", number) == (
        "电子发票、电子财政收据",
        "会员教育辅助费",
        "260.00",
        "FP2026000789",
    )
    assert str(issued)[:10] == "2026-11-28" and code is None
    header, rows, _ = invoice_workbook(client.get("/api/v1/bills/export.xlsx", headers=unit))
    (row,) = [{k: c.value for k, c in by_header(header, r).items()} for r in rows]
    assert (row["票据名称"], row["费用类型"], row["金额"], row["票号"]) == (
        "电子发票、电子财政收据",
        "会员教育辅助费",
        260,
        "FP2026000789",
    )
    sign_in(client, "caiwu")
    page = client.get("/finance/invoices").get_data(as_text=True)
    (listed,) = [r for r in page.split("<tr>") if inst["business_key"] in r]
    assert "电子发票、电子财政收据" in listed and "260.00" in listed
    view = client.get(f"/api/v1/instances/{inst['id']}", headers=unit).get_json()
    assert [r["receipt_number"] for r in view["bill"]["receipts"]] == ["FP2026000789"]
