"""What the long lists read, on both databases: 开票记录, 缴费单 (the page and GET /api/v1/bills),
学习进度 and 流程目录.

A list reads the columns it shows, never a form's engine state (process_instances.state, the
largest column there is); it counts without sorting and without joining the forms unless a
filter reads them, and takes its total from the counts it shows besides; the catalogue reads
the same few statements however many processes and versions there are. The totals, sums and
counts stay what they were (each list's own tests keep its items, order and filters)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from conftest import app_on_design, design_copy, make_app, seed_world, statements
from conftest import token_headers as bearer
from test_pages_http import sign_in, text

from service.db import db
from service.db.models import Bill, BillReceipt, DefinitionVersion, LearningTask, ProcessInstance
from service.db.uow import UnitOfWork
from service.db.wire import traced
from service.domain.actor import Actor
from service.services.finance import invoices
from service.services.membership import learning_desk
from service.services.workflow import definitions

ENGINE_STATE = "process_instances.state"  # as SQLAlchemy names the column in a SELECT
STATE = '{"tasks": "' + "x" * 4000 + '"}'  # a form's engine state: large, never listed
SETTLED = {"definitions_recheck_seconds": 3600, "session_recheck_seconds": 3600}


def _seed(app, world) -> dict:
    """Four member_join forms with their bills (two confirmed: the first unit's with two
    documents, 200.00 + 100.00, the other unit's with one of 100.00; one paid; one unpaid)
    and three learning tasks on the first form and one on the third; the forms' numbers."""
    ctx = app.extensions["memberflow"]
    version = ctx.definitions.latest("member_join")[0]
    with app.app_context():
        s = db.session
        forms = [
            ProcessInstance(
                process_key="member_join",
                definition_version_id=version,
                business_key=f"LR-2026112800000{n}",
                unit_id=unit,
                subject_name=f"列表{n}号",
                status="审批完成",
                state=STATE,
                finished=True,
            )
            for n, unit in (
                (1, world.unit_id),
                (2, world.unit_id),
                (3, world.other_unit_id),
                (4, world.unit_id),
            )
        ]
        s.add_all(forms)
        s.flush()
        money = Decimal
        bills = [
            Bill(
                instance_id=form.id,
                unit_id=form.unit_id,
                kind=kind,
                amount=money(amount),
                membership_amount=money(membership),
                lines=[],
                status=status,
                receipt_type=receipt,
            )
            for form, kind, amount, membership, status, receipt in (
                (forms[0], "会员教育辅助费", "300", "100", "confirmed", "电子发票、电子财政收据"),
                (forms[1], "个人会员费", "100", "100", "paid", "电子财政收据"),
                (forms[2], "个人会员费", "100", "100", "confirmed", "电子财政收据"),
                (forms[3], "个人会员费", "100", "100", "unpaid", "电子财政收据"),
            )
        ]
        s.add_all(bills)
        s.flush()
        s.add_all(
            [
                BillReceipt(
                    bill_id=bill.id,
                    receipt_type=receipt,
                    fee_kind=kind,
                    amount=money(amount),
                    receipt_number=number,
                    receipt_date=day,
                    payer_name=payer,
                )
                for bill, receipt, kind, amount, number, day, payer in (
                    (
                        bills[0],
                        "电子发票",
                        "会员教育辅助费",
                        "200",
                        "FP-0001",
                        date(2026, 11, 20),
                        world.unit_name,
                    ),
                    (
                        bills[0],
                        "电子财政收据",
                        "个人会员费",
                        "100",
                        "CZ-0001",
                        date(2026, 11, 21),
                        None,  # registered before payer names were kept: the unit's name now
                    ),
                    (
                        bills[2],
                        "电子财政收据",
                        "个人会员费",
                        "100",
                        "CZ-0002",
                        date(2026, 10, 1),
                        world.other_unit_name,
                    ),
                )
            ]
        )
        s.add_all(
            [
                LearningTask(
                    instance_id=form.id,
                    unit_id=form.unit_id,
                    id_number=f"44010619800101{n:04d}",
                    name=f"学员{n}",
                    process_key="initial_education",
                    required_hours=Decimal("24"),
                    status=status,
                    opened_at=datetime(2026, 11, 1, 2, 0),
                )
                for n, form, status in (
                    (1, forms[0], "学习中"),
                    (2, forms[0], "已通过"),
                    (3, forms[0], "学习中"),
                    (4, forms[2], "开课未学习"),
                )
            ]
        )
        s.commit()
        keys = [form.business_key for form in forms]
        s.remove()
    return {"forms": keys}


@pytest.fixture
def seeded(app, world, pinned_clock):
    """The forms, bills and learning tasks of `_seed` on business day 2026-11-28."""
    return _seed(app, world)


def _use(app, fn, *args, **kwargs):
    """A use case `fn(ctx, uow, *args, **kwargs)` in its own unit of work."""
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            return fn(app.extensions["memberflow"], uow, *args, **kwargs)


FINANCE = Actor(None, "协会财务", "finance_reviewer")
RECORDER = Actor(None, "协会审核员", "association_reviewer")


def _signed_in(app, who: str):
    client = app.test_client()
    sign_in(client, who)
    return client


def _read(app, client, path: str, headers: dict | None = None) -> list[str]:
    """The statements GET `path` sends (after a first request, which warms the caches)."""
    assert client.get(path, headers=headers).status_code == 200, path
    with statements(app) as sent:
        reply = client.get(path, headers=headers)
    assert reply.status_code == 200, (path, text(reply)[:300])
    return sent


def _counting(sent: list[str], table: str) -> list[str]:
    """The statements among `sent` counting rows of `table` (a total, a status panel)."""
    return [s for s in sent if "count(" in s.lower() and f"FROM {table}" in s]


# --- 开票记录 ------------------------------------------------------------------------------


def test_invoice_records_read_no_engine_state_and_count_them_once_without_sorting(
    app, world, seeded
):
    client = _signed_in(app, "caiwu")
    for path in ("/finance/invoices", f"/finance/invoices?q={seeded['forms'][0].lower()}"):
        sent = _read(app, client, path)
        assert not [s for s in sent if ENGINE_STATE in s], path
        (counted,) = _counting(sent, "bill_receipts")  # the total and the amount together
        assert "sum(" in counted.lower() and "ORDER BY" not in counted, counted
        # the forms are joined for a search of a form's number alone
        assert ("JOIN process_instances" in counted) is ("?q=" in path), counted


def test_invoice_records_total_and_amount_count_every_row_not_just_the_page(app, world, seeded):
    first = _use(app, invoices.list_invoices, FINANCE, page_size=1)
    assert (first["total"], first["amount"], len(first["items"])) == (3, "400.00", 1)
    newest = first["items"][0]
    assert (newest["receipt_number"], newest["amount"]) == ("CZ-0001", "100.00")
    # a document registered before payer names were kept is the unit's under its name now
    assert newest["unit_name"] == newest["payer"] == world.unit_name
    assert newest["business_key"] == seeded["forms"][0] and newest["persons"] == "列表1号"
    assert newest["process_name"] and newest["bill_id"] and newest["instance_id"]
    second = _use(app, invoices.list_invoices, FINANCE, page=2, page_size=1)
    assert [i["receipt_number"] for i in second["items"]] == ["FP-0001"]
    assert (second["total"], second["amount"]) == (3, "400.00")
    form = _use(app, invoices.list_invoices, FINANCE, q=seeded["forms"][0].lower())
    assert (form["total"], form["amount"]) == (2, "300.00")
    assert [i["receipt_number"] for i in form["items"]] == ["CZ-0001", "FP-0001"]
    other = _use(app, invoices.list_invoices, FINANCE, unit=world.other_unit_name[:4])
    assert (other["total"], other["amount"]) == (1, "100.00")
    assert [i["unit_name"] for i in other["items"]] == [world.other_unit_name]
    late = _use(app, invoices.list_invoices, FINANCE, receipt_from=date(2026, 11, 21))
    assert (late["total"], late["amount"]) == (1, "100.00")
    unit = Actor(None, world.unit_name, "unit_admin", unit_id=world.unit_id)
    own = _use(app, invoices.list_invoices, unit)
    assert (own["total"], own["amount"]) == (2, "300.00")
    none = _use(app, invoices.list_invoices, FINANCE, q="no-such-number")
    assert (none["total"], none["amount"], none["items"]) == (0, "0.00", [])


# --- 缴费单 -------------------------------------------------------------------------------


def test_bill_lists_read_no_engine_state_and_total_from_the_counts_by_state(app, world, seeded):
    client = _signed_in(app, "caiwu")
    for path in ("/finance/bills", "/finance/bills?status=paid", "/finance/bills?q=列表"):
        sent = _read(app, client, path)
        assert not [s for s in sent if ENGINE_STATE in s], path
        (by_state,) = _counting(sent, "bills")  # the panel; the total is taken from it
        assert ("JOIN process_instances" in by_state) is ("?q=" in path), by_state


def test_the_api_s_bills_read_no_engine_state_and_count_the_bills_alone(app, world, seeded):
    client = app.test_client()
    headers = bearer(client, "caiwu")
    for path in ("/api/v1/bills", "/api/v1/bills?status=confirmed"):
        sent = _read(app, client, path, headers)
        assert not [s for s in sent if ENGINE_STATE in s], path
        (counted,) = _counting(sent, "bills")
        assert "process_instances" not in counted, counted


def test_bills_by_state_count_each_state_and_total_what_is_listed(app, world, seeded):
    every = _use(app, invoices.list_bills, FINANCE)
    counts = {"unpaid": 1, "paid": 1, "confirmed": 2, "void": 0}
    assert (every["counts"], every["all"], every["total"]) == (counts, 4, 4)
    assert [i["business_key"] for i in every["items"]] == seeded["forms"][::-1]
    confirmed = _use(app, invoices.list_bills, FINANCE, status="confirmed", page_size=1)
    assert (confirmed["total"], len(confirmed["items"]), confirmed["counts"]) == (2, 1, counts)
    item = confirmed["items"][0]
    assert (item["business_key"], item["unit_name"]) == (seeded["forms"][2], world.other_unit_name)
    assert (item["persons"], item["receipt_number"]) == ("列表3号", "CZ-0002")
    assert item["added_membership"] is None and item["status_label"] == "已确认"
    first = _use(app, invoices.list_bills, FINANCE, q=seeded["forms"][0].lower())
    assert first["total"] == first["all"] == 1
    assert first["counts"] == {"unpaid": 0, "paid": 0, "confirmed": 1, "void": 0}
    (found,) = first["items"]
    assert (found["receipt_number"], found["added_membership"]) == ("FP-0001、CZ-0001", "100.00")
    assert [r["receipt_number"] for r in found["receipts"]] == ["FP-0001", "CZ-0001"]
    by_number = _use(app, invoices.list_bills, FINANCE, q="cz-0002")
    assert [i["business_key"] for i in by_number["items"]] == [seeded["forms"][2]]
    by_unit = _use(app, invoices.list_bills, FINANCE, status="unpaid", q=world.unit_name[:4])
    assert (by_unit["total"], by_unit["all"]) == (1, 3)
    none = _use(app, invoices.list_bills, FINANCE, status="void")
    assert (none["total"], none["items"], none["all"]) == (0, [], 4)


def test_the_api_s_bills_are_the_caller_s_with_their_forms(app, client, world, seeded):
    unit = bearer(client, world.unit_name)
    mine = client.get("/api/v1/bills?page_size=2", headers=unit).get_json()
    assert (mine["total"], len(mine["items"])) == (3, 2)
    assert [i["business_key"] for i in mine["items"]] == [seeded["forms"][3], seeded["forms"][1]]
    assert {i["process_key"] for i in mine["items"]} == {"member_join"}
    confirmed = client.get("/api/v1/bills?status=confirmed", headers=unit).get_json()
    assert confirmed["total"] == 1
    (bill,) = confirmed["items"]
    assert bill["business_key"] == seeded["forms"][0] and len(bill["receipts"]) == 2
    every = client.get("/api/v1/bills", headers=bearer(client, "caiwu")).get_json()
    assert every["total"] == 4


# --- 学习进度 -----------------------------------------------------------------------------


def test_learning_records_join_the_forms_only_to_find_a_form_number(app, world, seeded):
    client = _signed_in(app, "xiehui")
    number = seeded["forms"][0][-6:]
    for path in (
        "/learning-records",
        "/learning-records?status=学习中",
        f"/learning-records?business_key={number}",
    ):
        sent = _read(app, client, path)
        assert not [s for s in sent if ENGINE_STATE in s], path
        counted = _counting(sent, "learning_tasks")
        assert counted, path
        for statement in counted:
            assert "JOIN process_instances" not in statement, statement
            assert ("FROM process_instances" in statement) is ("business_key" in path), statement


def test_learning_records_total_is_the_status_counted_for(app, world, seeded):
    every = _use(app, learning_desk.list_tasks, RECORDER)
    counts = {"学习中": 2, "已通过": 1, "开课未学习": 1}
    assert (every["total"], _use(app, learning_desk.count_tasks, RECORDER)) == (4, counts)
    assert [i["name"] for i in every["items"]] == ["学员4", "学员3", "学员2", "学员1"]
    assert every["items"][0]["business_key"] == seeded["forms"][2]
    assert every["items"][0]["unit_name"] == world.other_unit_name
    learning = _use(app, learning_desk.list_tasks, RECORDER, status="学习中", page_size=1)
    assert (learning["total"], [i["name"] for i in learning["items"]]) == (2, ["学员3"])
    # the panel leaves the status filter out
    assert _use(app, learning_desk.count_tasks, RECORDER, status="学习中") == counts
    lapsed = _use(app, learning_desk.list_tasks, RECORDER, status="已过期")
    assert (lapsed["total"], lapsed["items"]) == (0, [])
    form = _use(app, learning_desk.list_tasks, RECORDER, business_key=seeded["forms"][2][-4:])
    assert (form["total"], [i["name"] for i in form["items"]]) == (1, ["学员4"])
    other = {"unit": world.other_unit_name[:4]}
    assert _use(app, learning_desk.list_tasks, RECORDER, **other)["total"] == 1
    assert _use(app, learning_desk.count_tasks, RECORDER, **other) == {"开课未学习": 1}
    both = {"unit": world.unit_name, "business_key": seeded["forms"][2][-4:]}
    assert _use(app, learning_desk.list_tasks, RECORDER, **both)["total"] == 0
    assert _use(app, learning_desk.count_tasks, RECORDER, status="学习中", **both) == {}


def test_the_learning_list_gives_the_counts_its_total_comes_from(app, world, seeded):
    """The status panel's counts come with the list (the page may show them without
    counting again): the same as count_tasks gives, the status filter left out."""
    for filters in ({}, {"status": "学习中"}, {"unit": world.other_unit_name[:4]}):
        listed = _use(app, learning_desk.list_tasks, RECORDER, **filters)
        assert listed["counts"] == _use(app, learning_desk.count_tasks, RECORDER, **filters)


# --- 流程目录 -----------------------------------------------------------------------------


def _more_versions(app, count: int) -> None:
    """`count` more versions of every process (its current files under another digest),
    numbered after its last, and a form on each, finished or running by turns."""
    ctx = app.extensions["memberflow"]
    with app.app_context():
        s = db.session
        for i, key in enumerate(sorted(ctx.definitions.current)):
            current = s.get(DefinitionVersion, ctx.definitions.latest(key)[0])
            for n in range(count):
                older = DefinitionVersion(
                    process_key=key,
                    number=current.number + n + 1,
                    digest=f"v{n}-{current.digest[:40]}",
                    files=current.files,
                    deployed_by="sheji",
                )
                s.add(older)
                s.flush()
                s.add(
                    ProcessInstance(
                        process_key=key,
                        definition_version_id=older.id,
                        business_key=f"MV-{i:03d}-{n}",
                        status="审批完成",
                        state=STATE,
                        finished=n % 2 == 0,
                    )
                )
        s.commit()
        s.remove()


def _catalogue_reads(app) -> tuple[list[dict], list[str], int | None]:
    """The catalogue, the statements it sent and (PostgreSQL) its round trips; then the
    page's statements as the association's reviewer reads it."""
    actor = Actor(None, "协会审核员", "association_reviewer")
    with app.app_context():
        engine = db.engine
    postgres = engine.dialect.name == "postgresql"
    with statements(app) as sent:
        if postgres:
            with traced(engine) as wire:
                found = _use(app, definitions.catalogue, actor)
            trips = wire.trips
        else:
            found, trips = _use(app, definitions.catalogue, actor), None
    return found, sent, trips


def test_the_catalogue_reads_as_much_for_one_process_as_for_all_and_their_versions(
    db_url, tmp_path
):
    one = app_on_design(db_url, tmp_path / "one", design_copy(tmp_path / "design"), **SETTLED)
    seed_world(one)
    alone, sent_alone, trips_alone = _catalogue_reads(one)
    assert [p["key"] for p in alone] == ["member_join"]
    page = _signed_in(one, "xiehui")
    page_alone = _read(one, page, "/processes/catalogue")

    every = make_app(db_url, tmp_path / "every", **SETTLED)
    _more_versions(every, 3)
    processes, sent, trips = _catalogue_reads(every)
    assert len(processes) == len(every.extensions["memberflow"].definitions.current) > 1
    assert all(len(p["versions"]) >= 4 for p in processes)
    # the newest deployment, the counts by version, the versions: for every process at once
    assert len(sent) == len(sent_alone) == 3, sent
    assert not [s for s in sent if ENGINE_STATE in s]
    assert trips == trips_alone, (trips, trips_alone)
    page = _signed_in(every, "xiehui")
    assert len(_read(every, page, "/processes/catalogue")) == len(page_alone)

    # each process as its own versions page reads it
    for process in processes:
        own = _use(every, definitions.list_versions, RECORDER, process["key"])
        assert process["name"] == own["process_name"]
        assert process["versions"] == own["items"], process["key"]
        current = [v["number"] for v in own["items"] if v["current"]]
        assert process["current"] == (current[0] if current else None)
        assert process["running"] == sum(v["running"] for v in own["items"])
        assert process["finished"] == sum(v["finished"] for v in own["items"])
    assert sum(p["running"] + p["finished"] for p in processes) == len(processes) * 3
    assert [p["name"] for p in processes] == sorted(p["name"] for p in processes)
