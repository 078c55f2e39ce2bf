"""What a request costs the database: the statements each step of a join sends, counted on
the real engine (SQLite and PostgreSQL), the round trips on PostgreSQL's wire, and the
claim folded into the completion staying undone when the step fails."""

from __future__ import annotations

from contextlib import contextmanager

import sqlalchemy as sa
from conftest import (
    add_certified_member,
    applicant_data,
    complete_task,
    in_db,
    open_task,
    seed_world,
    start_form,
    statements,
    step_task,
    token_headers,
    upload,
)

from service.db import db
from service.db.models import UserTask
from service.db.wire import traced


def _tables(sent: list[str], verb: str) -> list[str]:
    """The tables the statements starting with `verb` name (INSERT INTO x, UPDATE x, …)."""
    skip = {"INSERT": 2, "UPDATE": 1, "DELETE": 2}[verb]
    return [s.split()[skip] for s in sent if s.startswith(verb)]


def test_each_step_of_a_join_sends_few_statements(app, world, pinned_clock):
    client = app.test_client()
    heads = {role: token_headers(client, world.logins[role]) for role in world.logins}
    data = applicant_data(client, heads["unit"])
    postgres = app.extensions["memberflow"].config.database_url.startswith("postgresql")

    with statements(app) as sent, _wire(app, postgres) as wire:
        started = start_form(client, heads["unit"], "member_join", data)
    # a new form has no person rows to delete yet; the lock's member ids are not read twice
    assert not _tables(sent, "DELETE"), sent
    assert sum(s.startswith("SELECT members.id_number") for s in sent) == 0, sent
    # the unit's name rides with the message's recipients
    assert not any(s.startswith("SELECT units.name") for s in sent), sent
    if postgres:
        # the files' check, the unit, the persons' lock and the applicant's facts go to
        # the server together with the BEGIN (prepared already), in the first round trip
        first = _round_trips(wire)[0]
        for part in ("FROM files", "FROM units", "UPDATE members", "EXISTS"):
            assert part in first, first
        assert first.count("\tExecute\t") == 5, first  # and the BEGIN
        # after the rules: the form's number, the recipients of its message and the form's
        # id, drawn from its sequence, together
        (numbered,) = [t for t in _round_trips(wire) if "UPDATE form_counters" in t]
        assert "FROM accounts" in numbered and "nextval(" in numbered, numbered
        assert numbered.count("\tExecute\t") == 3, numbered
        # the form's row, then its person, which nothing after reads, go with the COMMIT:
        # the form's row is inserted there, with the id drawn, and not before
        assert not {"process_instances", "instance_persons"} & set(_tables(sent, "INSERT")), sent
        last = _round_trips(wire)[-1]
        assert last.index("INSERT INTO process_instances (id,") < last.index(
            "INSERT INTO instance_persons"
        ), last
        assert last.count("\tExecute\t") >= 5 and '"COMMIT"' in last, last
    else:  # elsewhere the row is inserted at once
        assert "process_instances" in _tables(sent, "INSERT"), sent
    with app.app_context():  # the row was inserted with the id the view gives
        stored = db.session.execute(
            sa.text(
                "SELECT business_key, version, person_count FROM process_instances WHERE id = :i"
            ),
            {"i": started["id"]},
        ).one()
        db.session.remove()
    assert tuple(stored) == (started["business_key"], 1, 1), stored

    task = open_task(client, heads["unit"], started["id"])
    sent_again = {k: v for k, v in data.items() if k not in ("variant", "declaration")}
    with statements(app) as sent:
        complete_task(
            client,
            heads["unit"],
            task["id"],
            {"decision": "approve", "member_level": "普通会员", **sent_again},
        )
    # the same application sent whole again: its files are not re-read, its persons kept
    assert not any("FROM files" in s for s in sent), sent
    assert "files" not in _tables(sent, "UPDATE"), sent
    assert "instance_persons" not in _tables(sent, "INSERT"), sent

    task = open_task(client, heads["agency"], started["id"])
    with statements(app) as sent, _wire(app, postgres) as wire:
        complete_task(client, heads["agency"], task["id"], {"decision": "approve"})
    # the agency's review (no rules, bill or persons): claim and completion in one UPDATE
    # (on PostgreSQL returning the instance too), then the audit record, the instance and
    # the association's task: on SQLite as statements of their own, on PostgreSQL in one
    # statement (the record and the instance's UPDATE riding along as CTEs, the version
    # checked there) that goes to the server with the COMMIT
    reads_instance = [s for s in sent if s.startswith("SELECT process_instances")]
    assert len(reads_instance) == (0 if postgres else 1), sent
    if not postgres:
        assert _tables(sent, "UPDATE").count("user_tasks") == 1, sent
        assert len(sent) <= 5, sent
        return
    # the claim (read by the driver, its instance made an entity without a query) and the
    # save (in a pipeline with the COMMIT) are psycopg's own: none went through SQLAlchemy
    assert sent == [], sent
    # on the wire: BEGIN with the claim, then the save with the COMMIT (besides the
    # statements' first use on a connection, which prepares them)
    assert wire.trips - wire.prepares == 2, wire.text
    first = wire.text[: wire.text.index("ReadyForQuery")]  # the first round trip
    assert '"BEGIN"' in first and "UPDATE user_tasks" in first, first
    assert " ".join(wire.text.split()).count("UPDATE user_tasks") == 1, wire.text
    said = " ".join(wire.text.split())
    assert "WITH move_row AS (UPDATE process_instances" in said, said
    assert "process_instances.version = $" in said, said
    # the save and the COMMIT before one Sync: two Executes, the server committing last
    sent_after = wire.text[wire.text.index("WITH move_row") :].split("\tSync")[0]
    assert sent_after.count("\tExecute\t") == 2, wire.text
    assert said.endswith('CommandComplete "COMMIT" B 5 ReadyForQuery I'), said

    # the association's review opens the bill and the payment's deadline and tells the
    # unit: the deadline's waiting rows, the message and the new task go to the server
    # together with the COMMIT, after the statements whose answers the step reads
    task = open_task(client, heads["association"], started["id"])
    with statements(app) as sent, _wire(app, True) as wire:
        complete_task(client, heads["association"], task["id"], {"decision": "approve"})
    # the rules run: the persons' lock, the facts they read and the recipients of the
    # messages go in one round trip. In all: BEGIN with the claim, the lock with the facts
    # and the recipients, then the save with the COMMIT (the round trips that only
    # prepared a statement left out)
    executes = [t.count("\tExecute\t") for t in _round_trips(wire) if "\tExecute\t" in t]
    assert executes[:2] == [2, 3] and len(executes) == 3, executes
    with app.app_context():
        kept = db.session.execute(
            sa.text(
                "SELECT (SELECT count(*) FROM waiting_events WHERE instance_id = :i),"
                " (SELECT count(*) FROM notifications WHERE kind = 'bill_issued')"
            ),
            {"i": started["id"]},
        ).one()
        db.session.remove()
    assert kept[0] == 1 and kept[1] >= 1, kept  # the deadline and the unit's message
    # none went through SQLAlchemy: they are psycopg's own, in the last round trip's
    # pipeline (the save, the deadline's DELETE and INSERT, the message, the COMMIT)
    assert not [t for t in _tables(sent, "INSERT") if t in ("waiting_events", "notifications")]
    assert "waiting_events" not in _tables(sent, "DELETE"), sent
    last = wire.text[wire.text[: wire.text.rindex("ReadyForQuery")].rindex("ReadyForQuery") :]
    assert last.count("\tExecute\t") >= 5, last
    assert 'CommandComplete\t "COMMIT"' in last, last


def test_the_payment_and_the_finish_save_with_the_commit(app, world, pinned_clock):
    """The payment's bill, which nothing in the request reads back, is written with the
    COMMIT on PostgreSQL. The finance's approval ends the join: its effects (the member,
    the account) are written at once, as the message that follows reads them; the form's
    own row and the step's record, which nothing after reads, are saved with the COMMIT on
    PostgreSQL, the version checked there, and not before it (elsewhere at once, the row by
    the ORM)."""
    client = app.test_client()
    heads = {role: token_headers(client, world.logins[role]) for role in world.logins}
    data = applicant_data(client, heads["unit"])
    postgres = app.extensions["memberflow"].config.database_url.startswith("postgresql")
    started = start_form(client, heads["unit"], "member_join", data)["id"]
    again = {k: v for k, v in data.items() if k not in ("variant", "declaration")}
    step_task(
        client, heads["unit"], started, {"decision": "approve", "member_level": "普通会员", **again}
    )
    step_task(client, heads["agency"], started, {"decision": "approve"})
    step_task(client, heads["association"], started, {"decision": "approve"})
    voucher = upload(client, heads["unit"])
    with statements(app) as sent:  # the payment: the bill paid goes with the COMMIT
        step_task(client, heads["unit"], started, {"fee_voucher": voucher})
    assert ("bills" in _tables(sent, "UPDATE")) == (not postgres), sent
    with app.app_context():
        bill = db.session.execute(
            sa.text("SELECT status, voucher_file_id FROM bills WHERE instance_id = :i"),
            {"i": started},
        ).one()
        db.session.remove()
    assert tuple(bill) == ("paid", voucher), bill
    task = open_task(client, heads["finance"], started)
    finance = {"decision": "approve", "receipt_number": "FP1", "receipt_date": "2026-11-28"}
    with statements(app) as sent, _wire(app, postgres) as wire:
        view = complete_task(client, heads["finance"], task["id"], finance)
    assert view["status"] == "审批完成" and view["finished"], view
    if postgres:  # the member and its account in one statement, the account a CTE's
        said = " ".join(wire.text.split())
        assert said.count('"WITH joined_member AS (INSERT INTO members') == 1, said
        member = said.index("WITH joined_member AS")
        assert "INSERT INTO accounts" in said[member : said.index("ReadyForQuery", member)]
        # the approval's recipients (the new account among them) are read after it, in its
        # round trip, not in one of their own; the bill, read with the claim, pays for no
        # membership, so its confirmation goes with the COMMIT: the claim, the member with
        # its recipients, the save with the COMMIT
        assert "FROM accounts" in said[member:], said
        claim = said[: said.index("ReadyForQuery")]
        assert "json_build_array(bills.id, bills.lines, bills.kind, bills.amount" in claim
        commit = said[said.rindex("ReadyForQuery", 0, len(said) - 20) :]
        assert "UPDATE bills" in commit, said
        assert "INSERT INTO bill_receipts" in commit, said  # its document, with the COMMIT
        assert wire.trips - wire.prepares == 3, wire.text
    else:
        assert {"members", "accounts"} <= set(_tables(sent, "INSERT")), sent
    assert ("process_instances" in _tables(sent, "UPDATE")) == (not postgres), sent
    assert ("audit_records" in _tables(sent, "INSERT")) == (not postgres), sent
    with app.app_context():
        row = db.session.execute(
            sa.text(
                "SELECT status, finished, member_id, version FROM process_instances WHERE id = :i"
            ),
            {"i": started},
        ).one()
        db.session.remove()
    assert row[:2] == ("审批完成", True) and row[2] is not None, row
    with app.app_context():  # the bill confirmed, as finance filled it in
        bill = db.session.execute(
            sa.text(
                "SELECT status, receipt_number, receipt_date, confirmed_by IS NOT NULL"
                " FROM bills WHERE instance_id = :i"
            ),
            {"i": started},
        ).one()
        db.session.remove()
    assert tuple(bill)[:2] == ("confirmed", "FP1") and bill[3], bill
    assert str(bill[2]) == "2026-11-28", bill
    with app.app_context():  # the member's account, which the approval's message went to
        told = db.session.execute(
            sa.text(
                "SELECT a.member_id, a.role, a.is_main, a.active, a.auth_version, n.kind"
                " FROM accounts a JOIN notifications n ON n.account_id = a.id"
                " WHERE a.username = :u"
            ),
            {"u": data["id_number"]},
        ).all()
        db.session.remove()
    account = {(t[0], t[1], bool(t[2]), bool(t[3]), t[4]) for t in told}
    assert account == {(row[2], "member", False, True, 1)}, told
    assert sorted(t[5] for t in told) == ["approved", "payment_confirmed"], told
    if not postgres:
        return
    said = " ".join(wire.text.split())
    last = said[said[: said.rindex("ReadyForQuery")].rindex("ReadyForQuery") :]
    assert "WITH move_row AS (UPDATE process_instances" in last, last
    assert "move_audit AS (INSERT INTO audit_records" in last, last
    assert last.endswith('CommandComplete "COMMIT" B 5 ReadyForQuery I'), last


def _round_trips(wire) -> list[str]:
    """What the client sent in each round trip (the server's lines left out), in order."""
    trips = wire.text.split("ReadyForQuery")[:-1]
    return [" ".join(x for x in t.splitlines() if not x.startswith("B\t")) for t in trips]


@contextmanager
def _wire(app, postgres: bool):
    """libpq's trace of the block's connections (PostgreSQL), else nothing."""
    if not postgres:
        yield None
        return
    with app.app_context():
        engine = db.engine
    with traced(engine) as wire:
        yield wire


def test_a_failed_step_leaves_its_task_open_and_unclaimed(app, world):
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    started = start_form(client, unit, "member_join", applicant_data(client, unit))
    task = open_task(client, unit, started["id"])
    reply = client.post(
        f"/api/v1/tasks/{task['id']}/complete", headers=unit, json={"data": {"decision": "x"}}
    )
    assert reply.status_code == 422, reply.get_json()

    def state(session):
        row = session.get(UserTask, task["id"])
        return row.state, row.claimed_by, row.completed_by, row.completed_at

    assert in_db(app, state) == ("open", None, None, None)
    # the step sent again, right this time, completes it
    view = complete_task(client, unit, task["id"], {"decision": "return", "remark": "材料不清晰"})
    assert view["status"] == "退回", view


def test_a_form_listing_persons_reads_all_it_needs_in_its_first_round_trip(pg_app):
    """Continuing education lists persons: their member records, memberships,
    certificates, forms in flight, unpaid bills, open learning and CPD enrolments awaiting
    their batch or its opening are read with the files' check, the unit and the persons'
    lock, in one round trip with the BEGIN; and the rules
    read them right: a second form about the same person is refused."""
    from datetime import date

    from service.domain.validation import make_resident_id

    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    number = make_resident_id("44010619800101123")
    add_certified_member(pg_app, world.unit_id, number, date(date.today().year + 1, 3, 1))
    files = {k: upload(client, unit) for k in ("pledge", "diploma", "social_insurance")}
    person = {"id_number": number, "name": "周建国", "certificate_type": "监理员"}
    data = {
        "pledge": files["pledge"],
        "persons": [
            {**person, "diploma": files["diploma"], "social_insurance": files["social_insurance"]}
        ],
    }
    with _wire(pg_app, True) as wire:
        start_form(client, unit, "continuing_education", data)
    first = _round_trips(wire)[0]
    for part in (
        "FROM files",
        "FROM units",
        "UPDATE members",
        "FROM members",
        "FROM memberships",
        "FROM certificates",
        "JOIN bills",
        "FROM learning_tasks",
        "JOIN cpd_completions",
    ):
        assert part in first, (part, first)
    # BEGIN, the files, the unit, the lock and the seven queries of the persons' records
    assert first.count("\tExecute\t") == 11, first
    # the form is about one member: its message goes to the unit's admins and to the
    # member, whose recipients were read with the form's number, not on their own
    (numbered,) = [t for t in _round_trips(wire) if "UPDATE form_counters" in t]
    assert "FROM accounts" in numbered, numbered
    recipients = "WHERE accounts.active IS true"  # the recipients, not the incidents' check
    assert recipients in numbered, numbered
    assert sum(recipients in t for t in _round_trips(wire)) == 1, wire.text
    with pg_app.app_context():
        told = db.session.execute(
            sa.text(
                "SELECT a.username FROM notifications n JOIN accounts a ON a.id = n.account_id"
                " WHERE n.kind = 'submitted' ORDER BY a.username"
            )
        ).scalars()
        assert sorted(told) == sorted([number, world.logins["unit"]])
        db.session.remove()
    start_form(client, unit, "continuing_education", data, expect=422)  # one in flight
