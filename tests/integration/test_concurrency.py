"""Races with real threads: claim and complete on SQLite and PostgreSQL; idempotent start,
form numbers, one application per person and sub-accounts on PostgreSQL."""

from __future__ import annotations

import html
import json
import re
import threading
import time
from collections import Counter
from datetime import date, datetime

import pytest
import sqlalchemy as sa
from conftest import (
    PASSWORD,
    applicant_data,
    business_day,
    form_values,
    make_app,
    open_task,
    race,
    seed_world,
    token_headers,
    upload,
)
from sqlalchemy import func, select

from service.db import db
from service.db.models import (
    Account,
    AuditRecord,
    Bill,
    Draft,
    FeedbackReply,
    ProcessInstance,
    Unit,
    UserTask,
)
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_resident_id
from service.services.membership import accounts
from service.services.membership.roster import MemberSeed, add_member
from service.services.workflow.bills import RECEIPT_LOCK_SPACE

pytestmark = pytest.mark.alone  # see scripts/test


@pytest.fixture
def any_app(db_url, tmp_path):
    """The same races on SQLite (the embedded default) as on PostgreSQL."""
    return make_app(db_url, tmp_path)


def add_reviewers(app, n: int, role: str = "association_reviewer") -> list[str]:
    names = [f"reviewer{i}" for i in range(n)]
    with app.app_context():
        admin = Actor(1, "admin", "secretariat_admin")
        for name in names:
            with UnitOfWork(db.session) as uow:
                accounts.create_staff(uow, admin, name, name, PASSWORD, role, None)
        db.session.remove()
    return names


def at_association_review(app, world, id_number: str | None = None):
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    agency = token_headers(client, world.logins["agency"])
    data = applicant_data(client, unit, id_number=id_number)
    inst = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    ).get_json()
    pre_review = {"decision": "approve", "member_level": "普通会员"}
    pre_review.update(form_values(client, unit, inst["id"]))
    for headers, payload in ((unit, pre_review), (agency, {"decision": "approve"})):
        task = open_task(client, headers, inst["id"])
        assert (
            client.post(
                f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": payload}
            ).status_code
            == 200
        )
    return inst, open_task(client, token_headers(client, world.logins["association"]), inst["id"])


def test_twenty_simultaneous_claims_have_exactly_one_winner(any_app):
    world = seed_world(any_app)
    inst, task = at_association_review(any_app, world)
    names = add_reviewers(any_app, 20)
    client = any_app.test_client()
    headers = [token_headers(client, name) for name in names]

    def claim(i):
        reply = any_app.test_client().post(f"/api/v1/tasks/{task['id']}/claim", headers=headers[i])
        return reply.status_code, reply.get_json()

    results = race(20, claim)
    statuses = Counter(status for status, _ in results)
    assert statuses == {200: 1, 409: 19}
    assert all("已被其他人认领" in body["message"] for status, body in results if status == 409)
    with any_app.app_context():
        row = db.session.get(UserTask, task["id"])
        winner = next(i for i, (status, _) in enumerate(results) if status == 200)
        account = db.session.scalars(select(Account).where(Account.username == names[winner])).one()
        assert row.claimed_by == account.id
        claims = db.session.scalar(
            select(func.count())
            .select_from(AuditRecord)
            .where(AuditRecord.action == "claim", AuditRecord.user_task_id == task["id"])
        )
        assert claims == 1


@pytest.mark.parametrize("same_reviewer", [True, False])
def test_two_simultaneous_completions_advance_the_engine_once(any_app, same_reviewer):
    world = seed_world(any_app)
    inst, task = at_association_review(any_app, world)
    names = add_reviewers(any_app, 2)
    client = any_app.test_client()
    headers = (
        [token_headers(client, names[0])] * 2
        if same_reviewer
        else [token_headers(client, name) for name in names]
    )
    if same_reviewer:
        assert (
            client.post(f"/api/v1/tasks/{task['id']}/claim", headers=headers[0]).status_code == 200
        )
    with any_app.app_context():
        version_before = db.session.get(ProcessInstance, inst["id"]).version

    def complete(i):
        reply = any_app.test_client().post(
            f"/api/v1/tasks/{task['id']}/complete",
            headers=headers[i],
            json={"data": {"decision": "approve", "remark": f"第{i}位"}},
        )
        return reply.status_code, reply.get_json()

    results = race(2, complete)
    assert sorted(status for status, _ in results) == [200, 409]
    loser = next(body for status, body in results if status == 409)
    assert loser["code"] == 409 and loser["message"]
    with any_app.app_context():
        row = db.session.get(ProcessInstance, inst["id"])
        assert row.version == version_before + 1
        assert row.status == "待缴费"
        open_tasks = db.session.scalars(
            select(UserTask).where(UserTask.instance_id == inst["id"], UserTask.state == "open")
        ).all()
        assert [t.task_name for t in open_tasks] == ["unit_pay"]
        completions = db.session.scalars(
            select(AuditRecord).where(
                AuditRecord.user_task_id == task["id"], AuditRecord.action == "complete"
            )
        ).all()
        assert len(completions) == 1
        assert db.session.get(UserTask, task["id"]).state == "completed"


@pytest.mark.parametrize("ending", ["terminate", "withdraw"])
def test_ending_a_form_while_its_task_is_completed_is_a_409_never_a_500(any_app, ending):
    """The secretariat's 终止 against the association's review; the unit's 撤回 against its own
    pre-review. Each round one wins and the other is refused (or, the task done first, the
    form is ended where the step left it); the form ends once or moves once."""
    world = seed_world(any_app)
    client = any_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    if ending == "terminate":
        ender = token_headers(client, world.logins["admin"])
        completer = token_headers(client, world.logins["association"])
        decided = {"decision": "approve", "remark": "同意"}
    else:
        ender = completer = unit
    for n in range(6):
        id_number = make_resident_id(f"4401061985031{n:02d}31")
        if ending == "terminate":
            inst, task = at_association_review(any_app, world, id_number)
        else:
            inst = client.post(
                "/api/v1/processes/member_join/instances",
                headers=unit,
                json={"data": applicant_data(client, unit, id_number=id_number)},
            ).get_json()
            task = open_task(client, unit, inst["id"])
            decided = {"decision": "approve", "member_level": "普通会员"}
            decided.update(form_values(client, unit, inst["id"]))

        def act(i, inst=inst, task=task, decided=decided):
            c = any_app.test_client()
            if i == 0:
                url, body = f"/api/v1/tasks/{task['id']}/complete", {"data": decided}
                reply = c.post(url, headers=completer, json=body)
            else:
                url = f"/api/v1/instances/{inst['id']}/{ending}"
                reply = c.post(url, headers=ender, json={"reason": "申请人放弃"})
            return reply.status_code, reply.get_json()

        (completed, _), (ended, body) = race(2, act)
        assert {completed, ended} <= {200, 409}, (completed, ended, body)
        with any_app.app_context():
            row = db.session.get(ProcessInstance, inst["id"])
            tasks = db.session.scalars(
                select(UserTask.state).where(UserTask.instance_id == inst["id"])
            ).all()
            db.session.remove()
        if ended == 200:
            assert row.finished and "open" not in tasks
        else:  # the step went first: the form moved on, and was not ended
            assert completed == 200 and not row.finished
            assert "该业务表单已被其他人处理" in body["message"] or "审核中" in body["message"]


def test_simultaneous_starts_with_one_idempotency_key_create_one_instance(pg_app):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    data = applicant_data(client, unit)

    def start(_i):
        reply = pg_app.test_client().post(
            "/api/v1/processes/member_join/instances",
            headers={**unit, "Idempotency-Key": "same-form"},
            json={"data": data},
        )
        return reply.status_code, reply.get_json()

    results = race(5, start)
    assert sorted(status for status, _ in results) == [200, 200, 200, 200, 201]
    assert len({body["id"] for _, body in results}) == 1
    with pg_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1


def test_simultaneous_starts_get_distinct_form_numbers(pg_app):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    forms = [
        applicant_data(client, unit, id_number=make_resident_id(f"4401061985031{i:02d}31"))
        for i in range(6)
    ]

    def start(i):
        reply = pg_app.test_client().post(
            "/api/v1/processes/member_join/instances", headers=unit, json={"data": forms[i]}
        )
        return reply.status_code, reply.get_json()

    results = race(6, start)
    assert [status for status, _ in results] == [201] * 6
    keys = sorted(body["business_key"] for _, body in results)
    assert len(set(keys)) == 6 and [k[-6:] for k in keys] == [f"{n:06d}" for n in range(1, 7)]


def test_simultaneous_applications_of_one_person_start_one_instance(pg_app):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    data = applicant_data(client, unit)

    def start(_i):
        reply = pg_app.test_client().post(
            "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
        )
        return reply.status_code

    assert sorted(race(4, start)) == [201, 422, 422, 422]


def test_simultaneous_sub_accounts_never_exceed_three(pg_app):
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])

    def create(i):
        return (
            pg_app.test_client()
            .post(
                f"/api/v1/units/{world.unit_id}/accounts",
                headers=unit,
                json={"name": f"子账号{i}", "mobile": f"1380013800{i}", "password": PASSWORD},
            )
            .status_code
        )

    results = race(6, create)
    assert set(results) <= {201, 409} and results.count(201) <= 3
    with pg_app.app_context():
        subs = db.session.scalar(
            select(func.count())
            .select_from(Account)
            .where(Account.unit_id == world.unit_id, Account.sub_slot.is_not(None))
        )
    assert subs == results.count(201) <= 3


def test_simultaneous_forms_listing_one_person_start_one(any_app):
    """Two units' forms (continuing education and a unit change) race for one person."""

    from conftest import add_certified_member, upload

    from service.db.models import InstancePerson

    world = seed_world(any_app)
    client = any_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    number = make_resident_id("44010619800101123")
    soon = date.today().replace(day=1)
    soon = (
        soon.replace(year=soon.year + 1) if soon.month > 8 else soon.replace(month=soon.month + 3)
    )
    # printed before the unit's renaming, so that the unit change alone would be eligible
    add_certified_member(any_app, world.unit_id, number, soon, unit_name="广州珠江建设监理有限公司")
    files = {k: upload(client, unit) for k in ("pledge", "diploma", "social_insurance")}
    forms = [
        (
            "continuing_education",
            {
                "pledge": files["pledge"],
                "persons": [
                    {
                        "id_number": number,
                        "name": "周建国",
                        "certificate_type": "监理员",
                        "diploma": files["diploma"],
                        "social_insurance": files["social_insurance"],
                    }
                ],
            },
        ),
        (
            "certificate_unit_change",
            {
                "reason": "unit_renamed",
                "pledge": files["pledge"],
                "persons": [
                    {
                        "id_number": number,
                        "name": "周建国",
                        "social_insurance": files["social_insurance"],
                    }
                ],
            },
        ),
    ] * 2

    def start(i):
        key, data = forms[i]
        reply = any_app.test_client().post(
            f"/api/v1/processes/{key}/instances", headers=unit, json={"data": data}
        )
        return reply.status_code

    results = race(4, start)
    assert sorted(results) == [201, 422, 422, 422], results
    with any_app.app_context():
        listed = db.session.scalar(select(func.count()).select_from(InstancePerson))
        db.session.remove()
    assert listed == 1


def test_simultaneous_learning_passes_issue_one_certificate(any_app):
    """Two association reviewers record the same pass at once: one certificate, one number."""

    from service.db.models import Certificate, LearningTask
    from service.services.membership.roster import MemberSeed, add_member

    world = seed_world(any_app)
    client = any_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    number = make_resident_id("44010619850505234")
    with any_app.app_context():
        add_member(
            db.session,
            MemberSeed(
                "何美玲", number, world.unit_id, memberships={"普通会员": date(2099, 6, 30)}
            ),
        )
        db.session.commit()
        db.session.remove()
    line = {
        "id_number": number,
        "name": "何美玲",
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        **{k: upload(client, unit) for k in ("diploma", "social_insurance", "verification")},
    }
    inst = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={"data": {"pledge": upload(client, unit), "persons": [line]}},
    ).get_json()
    today = business_day(any_app)  # the receipt's date: not before the form's submission
    steps = [
        ("agency", {"decision": "approve"}),
        ("association", {"decision": "approve"}),
        ("unit", {"fee_voucher": upload(client, unit)}),
        ("finance", {"decision": "approve", "receipt_number": "R1", "receipt_date": today}),
    ]
    for who, data in steps:
        headers = token_headers(client, world.logins[who])
        task = open_task(client, headers, inst["id"])
        reply = client.post(
            f"/api/v1/tasks/{task['id']}/complete", headers=headers, json={"data": data}
        )
        assert reply.status_code == 200, reply.get_json()
    reviewers = [token_headers(client, name) for name in add_reviewers(any_app, 2)]
    record = {
        "id_number": number,
        "name": "何美玲",
        "completed_hours": 24,
        "exam_status": "已通过",
        "exam_attempts": 1,
    }

    def post(i):
        reply = any_app.test_client().post(
            "/api/v1/learning-records", headers=reviewers[i], json={"records": [record]}
        )
        return reply.status_code, reply.get_json()

    results = race(2, post)
    statuses = sorted(status for status, _ in results)
    assert statuses in ([200, 200], [200, 409]), results
    with any_app.app_context():
        certs = db.session.scalars(select(Certificate)).all()
        passed = db.session.scalars(select(LearningTask.status)).all()
        finished = db.session.scalar(select(ProcessInstance.finished))
        db.session.remove()
    assert len(certs) == 1 and certs[0].number.endswith("000001")
    assert passed == ["已通过"] and finished


def _two_behind_a_lock(url: str, lock: str, params: dict, actions: list, kind: str = "") -> int:
    """Run the two `actions` in threads while another transaction holds a lock (`lock`, its
    `params`) until both wait on a lock (`kind`: of that wait event only, e.g. advisory; at
    most 20 s); then release it and let them finish. How many waited (2 when they did)."""
    holder = sa.create_engine(url)
    watched = "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
    if kind:
        watched += " AND wait_event = :kind"
    try:
        with holder.connect() as held, holder.connect() as look:
            held.execute(sa.text(lock), params)
            threads = [threading.Thread(target=action) for action in actions]
            for t in threads:
                t.start()
            waiting = 0
            for _ in range(400):
                waiting = look.execute(sa.text(watched), {"kind": kind}).scalar_one()
                look.rollback()
                if waiting == 2:
                    break
                time.sleep(0.05)
            held.rollback()  # released
            for t in threads:
                t.join(timeout=60)
    finally:
        holder.dispose()
    return waiting


def _behind_the_day_counter(app, url: str, first: dict, second: dict) -> list:
    """Two starts (POST bodies and headers `first`, `second`) that both pass their first
    checks, then wait on a lock: the day's form counter, locked here by another transaction
    until both wait (the second may wait on what the first holds, behind it); released
    together. Their replies (status, body), in the order given."""
    replies: list = [None, None]

    def start(i: int, call: dict) -> None:
        reply = app.test_client().post("/api/v1/processes/member_join/instances", **call)
        replies[i] = (reply.status_code, reply.get_json())

    waiting = _two_behind_a_lock(
        url,
        "SELECT last FROM form_counters FOR UPDATE",
        {},
        [lambda: start(0, first), lambda: start(1, second)],
    )
    assert waiting == 2, "both starts should have waited on a lock"
    return replies


def test_a_start_that_waited_meets_the_same_key_or_subject_at_its_insert(pg_app, pg_url):
    """Both starts found no earlier form and no open form about their applicant before they
    waited; the second goes on when the first has committed. With one idempotency key it
    replays the first's form; with one applicant its row, inserted with its COMMIT on
    PostgreSQL, meets the first's open form's unique key, and it is refused as the rules
    refuse a second open form. Nothing of it is kept."""
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    opened = client.post(  # the day's counter exists: the starts below wait on its row
        "/api/v1/processes/member_join/instances",
        headers=unit,
        json={
            "data": applicant_data(client, unit, id_number=make_resident_id("44010619850315301"))
        },
    )
    assert opened.status_code == 201, opened.get_json()

    keyed = {"headers": {**unit, "Idempotency-Key": "waited"}}
    same = applicant_data(client, unit, id_number=make_resident_id("44010619850315302"))
    replies = _behind_the_day_counter(
        pg_app, pg_url, {**keyed, "json": {"data": same}}, {**keyed, "json": {"data": same}}
    )
    assert sorted(status for status, _ in replies) == [200, 201], replies
    assert replies[0][1]["id"] == replies[1][1]["id"], replies

    one = make_resident_id("44010619850315303")
    replies = _behind_the_day_counter(
        pg_app,
        pg_url,
        {"headers": unit, "json": {"data": applicant_data(client, unit, id_number=one)}},
        {"headers": unit, "json": {"data": applicant_data(client, unit, id_number=one)}},
    )
    assert sorted(status for status, _ in replies) == [201, 422], replies
    refused = next(body for status, body in replies if status == 422)
    assert "申请人" in json.dumps(refused, ensure_ascii=False), refused
    with pg_app.app_context():
        rows = db.session.execute(select(ProcessInstance.id, ProcessInstance.business_key)).all()
        persons = db.session.scalar(sa.text("SELECT count(*) FROM instance_persons"))
        db.session.remove()
    assert len(rows) == 3 and persons == 3, (rows, persons)  # nothing of the second kept


def test_simultaneous_confirmations_with_one_receipt_number_register_it_once(pg_app, pg_url):
    """Two finance reviewers confirm two forms' bills with one 票号 at the same instant. Each
    request claims its task, then waits for the number's lock (held here by another
    connection until both wait); released together, the first registers the number and the
    second, reading after the first's COMMIT, is refused at the field naming the first form,
    its bill still paid and its task open. Without the lock both found the number free."""
    ctx = pg_app.extensions["memberflow"]
    ctx.clock = lambda: datetime(2026, 11, 28, 4, 0, 0)  # business day 2026-11-28
    world = seed_world(pg_app)
    client = pg_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    finance = token_headers(client, world.logins["finance"])
    receipt = {
        "decision": "approve",
        "receipt_number": "CZ2026000321",
        "receipt_date": "2026-11-28",
    }
    forms = []
    for name, prefix in (("罗文杰", "44050719820303345"), ("陈国栋", "44010619790909567")):
        person = make_resident_id(prefix)
        with pg_app.app_context():  # a member whose 普通会员 lapsed: one to renew
            add_member(
                db.session,
                MemberSeed(
                    name, person, world.unit_id, memberships={"普通会员": date(2026, 6, 30)}
                ),
            )
            db.session.commit()
            db.session.remove()
        line = {"id_number": person, "name": name, "member_level": "普通会员"}
        reply = client.post(
            "/api/v1/processes/membership_renewal/instances",
            headers=unit,
            json={"data": {"persons": [line]}},
        )
        assert reply.status_code == 201, reply.get_json()
        form = reply.get_json()
        paid = {"fee_voucher": upload(client, unit)}
        task = open_task(client, unit, form["id"])
        assert (
            client.post(
                f"/api/v1/tasks/{task['id']}/complete", headers=unit, json={"data": paid}
            ).status_code
            == 200
        )
        forms.append(form)
    tasks = [open_task(client, finance, form["id"])["id"] for form in forms]

    replies: list = [None, None]

    def confirm(i: int) -> None:
        reply = pg_app.test_client().post(
            f"/api/v1/tasks/{tasks[i]}/complete", headers=finance, json={"data": receipt}
        )
        replies[i] = (reply.status_code, reply.get_json())

    waiting = _two_behind_a_lock(  # both wait on the number's lock
        pg_url,
        "SELECT pg_advisory_xact_lock(:space, hashtext(:number))",
        {"space": RECEIPT_LOCK_SPACE, "number": receipt["receipt_number"]},
        [lambda: confirm(0), lambda: confirm(1)],
        "advisory",
    )
    assert waiting == 2, ("both confirmations should have waited on the number", replies)
    assert sorted(status for status, _ in replies) == [200, 422], replies
    first = next(i for i, (status, _) in enumerate(replies) if status == 200)
    second = 1 - first
    assert replies[second][1]["errors"] == {
        "receipt_number": "票号 CZ2026000321 已登记在单号 "
        f"{forms[first]['business_key']} 的缴费单上，请核对"
    }, replies
    with pg_app.app_context():
        status = dict(db.session.execute(select(Bill.instance_id, Bill.status)).all())
        db.session.remove()
    assert status == {forms[first]["id"]: "confirmed", forms[second]["id"]: "paid"}, status
    assert open_task(client, finance, forms[second]["id"])["id"] == tasks[second]


def test_simultaneous_submits_of_one_draft_start_one_form_and_the_rest_find_it_gone(any_app):
    """Six submits of one draft at once: one form is started, and every other submit is
    told the draft was submitted (404 该暂存表单已被删除或已提交), not that its applicant
    already has a form open. On SQLite, too, the draft is taken before it is read."""
    world = seed_world(any_app)
    client = any_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    saved = client.post(
        "/api/v1/processes/member_join/drafts",
        headers=unit,
        json={"data": applicant_data(client, unit)},
    )
    assert saved.status_code == 201, saved.get_json()
    draft = saved.get_json()["id"]

    def submit(_i: int):
        reply = any_app.test_client().post(
            f"/api/v1/drafts/{draft}/submit", headers=unit, json={"version": 1}
        )
        return reply.status_code, reply.get_json()

    replies = race(6, submit)
    assert sorted(status for status, _ in replies) == [201] + [404] * 5, replies
    assert all(
        body["message"] == "该暂存表单已被删除或已提交" for status, body in replies if status == 404
    ), replies
    with any_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ProcessInstance)) == 1
        db.session.remove()


def test_simultaneous_saves_of_one_new_forms_page_make_one_draft(any_app):
    """Six 留存 of one new form's page at once (its Idempotency-Key): one draft is made and
    every other send saves that draft again — never a second one."""
    world = seed_world(any_app)
    client = any_app.test_client()
    unit = {**token_headers(client, world.logins["unit"]), "Idempotency-Key": "one-page"}

    def save(i: int):
        reply = any_app.test_client().post(
            "/api/v1/processes/member_join/drafts", headers=unit, json={"data": {"name": f"人{i}"}}
        )
        return reply.status_code, reply.get_json()

    replies = race(6, save)
    assert [status for status, _ in replies] == [201] * 6, replies
    assert len({body["id"] for _, body in replies}) == 1, replies
    assert sorted(body["version"] for _, body in replies)[-1] == 6, replies
    with any_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Draft)) == 1
        db.session.remove()


def test_simultaneous_sends_of_one_reply_keep_it_once(any_app):
    """One 回复 sent four times at once (a double click, Back and send): one reply, one
    notice; the others are told it was sent (409)."""
    world = seed_world(any_app)
    client = any_app.test_client()
    unit = token_headers(client, world.logins["unit"])
    made = client.post(
        "/api/v1/feedback",
        headers=unit,
        json={"category": "系统问题", "title": "找不到陈志强", "content": "查询不到"},
    )
    assert made.status_code == 201, made.get_json()
    assoc = token_headers(client, world.logins["association"])
    path = f"/api/v1/feedback/{made.get_json()['id']}/reply"

    def reply(_i: int):
        sent = any_app.test_client().post(path, headers=assoc, json={"body": "已核实。"})
        return sent.status_code, sent.get_json()

    replies = race(4, reply)
    assert sorted(status for status, _ in replies) == [200, 409, 409, 409], replies
    with any_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(FeedbackReply)) == 1
        db.session.remove()


CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SEEN = re.compile(r'name="seen" value="([^"]+)"')


def _edit_pages(app, username: str, path: str, n: int) -> list[tuple]:
    """`n` edit pages at `path`, each in its own signed-in session: (client, its CSRF token,
    the `seen` the page carries), as a person's browser holds them before saving."""
    pages = []
    for _ in range(n):
        page = app.test_client()
        login = CSRF.search(page.get("/login").get_data(as_text=True)).group(1)
        signed = page.post(
            "/login", data={"username": username, "password": PASSWORD, "csrf_token": login}
        )
        assert signed.status_code == 302
        shown = page.get(path).get_data(as_text=True)
        pages.append((page, CSRF.search(shown).group(1), html.unescape(SEEN.search(shown)[1])))
    return pages


def test_simultaneous_saves_of_pages_showing_the_same_unit_keep_exactly_one(any_app):
    """Six 编辑单位 pages opened on the same unit save different names at once: one save
    wins, the five others are refused (409) as saved over a change — none is lost unseen.
    On SQLite too, which ignores FOR UPDATE: the row is held by a write first."""
    world = seed_world(any_app)
    path = f"/admin/units/{world.unit_id}"
    pages = _edit_pages(any_app, "admin", path, 6)
    with any_app.app_context():
        unit = db.session.get(Unit, world.unit_id)
        code, agency = unit.credit_code, unit.agency_id
        db.session.remove()

    def save(i: int):
        page, csrf, shown = pages[i]
        values = {
            "name": f"珠海第{i}号工程监理有限公司",
            "credit_code": code,
            "agency_id": str(agency),
            "member_unit": "1",
            "seen": shown,
            "csrf_token": csrf,
        }
        return page.post(path, data=values).status_code

    statuses = race(6, save)
    assert sorted(statuses) == [302] + [409] * 5, statuses
    winner = statuses.index(302)
    with any_app.app_context():
        assert db.session.get(Unit, world.unit_id).name == f"珠海第{winner}号工程监理有限公司"
        db.session.remove()


def test_simultaneous_saves_of_the_units_information_keep_exactly_one(any_app):
    """Four 维护单位信息 pages of one unit save at once: one wins, three are refused (409)."""
    world = seed_world(any_app)
    pages = _edit_pages(any_app, world.logins["unit"], "/unit/info/edit", 4)

    def save(i: int):
        page, csrf, shown = pages[i]
        values = {"registration.staff_size": str(100 + i), "seen": shown, "csrf_token": csrf}
        return page.post("/unit/info/edit", data=values).status_code

    statuses = race(4, save)
    assert sorted(statuses) == [302] + [409] * 3, statuses
    with any_app.app_context():
        kept = db.session.get(Unit, world.unit_id).registration["staff_size"]
        db.session.remove()
    assert kept == 100 + statuses.index(302)
