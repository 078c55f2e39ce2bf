"""Expiry reminders (系统通知) for a unit's admins and the member, and reading them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from conftest import PASSWORD, in_db, member_headers
from sqlalchemy import func, select, update

from service.db import db
from service.db.models import Membership, Notification
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member
from service.services.schedules.notifications import create_expiry_reminders
from service.services.schedules.scheduler import run_job

pytestmark = pytest.mark.usefixtures("pinned_clock")

TODAY = date(2026, 11, 28)  # the pinned business day
SIX_MONTHS = date(2027, 5, 28)
THIRTY_DAYS = TODAY + timedelta(days=30)
SUB_MOBILE = "13912345678"


def seed(app, unit_id, name, prefix, certificates=(), memberships=None) -> str:
    id_number = make_resident_id(prefix)

    def add(s):
        add_member(
            s,
            MemberSeed(
                name,
                id_number,
                unit_id,
                certificates=list(certificates),
                memberships=memberships or {},
            ),
        )
        s.commit()

    in_db(app, add)
    return id_number


def cert(kind, number, until, status="valid") -> CertificateSeed:
    return CertificateSeed(kind, number, until, status=status)


def run_reminders(app, at: datetime | None = None):
    """The scheduler's daily job (optionally with the clock moved to `at`)."""
    ctx = app.extensions["memberflow"]
    if at is not None:
        ctx.clock = lambda: at
    with app.app_context():
        try:
            return run_job(ctx, UnitOfWork(db.session), "reminders", "test")
        finally:
            db.session.remove()


def notices(app) -> set[tuple]:
    def read(s):
        return {
            (n.account_id, n.kind, n.dedupe_key.split(":")[2])
            for n in s.scalars(select(Notification))
        }

    return in_db(app, read)


@pytest.fixture
def people(app, client, login, world):
    """Members whose records sit on either side of each reminder boundary."""
    sub = client.post(
        f"/api/v1/units/{world.unit_id}/accounts",
        headers=login("unit"),
        json={"name": "人事专员", "mobile": SUB_MOBILE, "password": PASSWORD},
    )
    assert sub.status_code == 201, sub.get_json()
    due = seed(
        app,
        world.unit_id,
        "张国栋",
        "44010619800101123",
        [
            cert("监理员", "JLY-0001", SIX_MONTHS),  # exactly six months: reminded
            cert("安全监理员", "AQ-0001", SIX_MONTHS + timedelta(days=1)),  # one day more: not
        ],
        {"普通会员": THIRTY_DAYS},  # exactly 30 days: reminded
    )
    quiet = seed(
        app,
        world.unit_id,
        "刘美玲",
        "44010619810202234",
        [
            cert("监理员", "JLY-0002", date(2027, 1, 10), status="expired"),
            cert("专业监理工程师", "ZJ-0002", TODAY - timedelta(days=1)),  # already past
            cert("安全监理员", "AQ-0002", date(2027, 1, 10), status="cancelled"),
        ],
        {"普通会员": THIRTY_DAYS + timedelta(days=1), "专业会员": date(2026, 12, 10)},
    )
    in_db(
        app,
        lambda s: (
            s.execute(
                update(Membership).where(Membership.level == "专业会员").values(cancelled_on=TODAY)
            ),
            s.commit(),
        ),
    )
    other = seed(
        app,
        world.other_unit_id,
        "郑海涛",
        "44051119790303345",
        [cert("监理员", "JLY-0003", TODAY)],  # expires today: still reminded
    )
    return {"due": due, "quiet": quiet, "other": other}


def account_ids(app) -> dict[str, int]:
    from service.db.models import Account

    return in_db(app, lambda s: {a.username: a.id for a in s.scalars(select(Account))})


def test_reminders_reach_every_admin_of_the_unit_and_the_member_once(app, world, people):
    first = run_reminders(app)
    assert first == {
        "certificate_expiry": 5,
        "membership_expiry": 3,
        "learning_deadline": 0,  # no learning under way
        "task_digest": 0,  # no task in any reviewer's pool
    }
    ids = account_ids(app)
    unit, sub = ids[world.unit_name], ids[SUB_MOBILE]
    due, other = ids[people["due"]], ids[people["other"]]
    expected = (
        {(who, "certificate_expiry", "2027-05-28") for who in (unit, sub, due)}
        | {(who, "membership_expiry", THIRTY_DAYS.isoformat()) for who in (unit, sub, due)}
        | {
            (ids[world.other_unit_name], "certificate_expiry", TODAY.isoformat()),
            (other, "certificate_expiry", TODAY.isoformat()),
        }
    )
    assert notices(app) == expected
    assert ids[people["quiet"]] not in {n[0] for n in notices(app)}

    # the same day again: its slot already ran; the job itself adds nothing either
    assert run_reminders(app) is None
    ctx = app.extensions["memberflow"]
    with app.app_context():
        nothing = create_expiry_reminders(ctx, UnitOfWork(db.session))
        db.session.remove()
    assert nothing == {"certificate_expiry": 0, "membership_expiry": 0}
    assert in_db(app, lambda s: s.scalar(select(func.count()).select_from(Notification))) == 8

    # the next day the records one day past each boundary come in, the others stay single
    quiet = ids[people["quiet"]]
    assert run_reminders(app, datetime(2026, 11, 29, 4, 0, 0)) == {
        "certificate_expiry": 3,
        "membership_expiry": 3,
        "learning_deadline": 0,
        "task_digest": 0,
    }
    later = (SIX_MONTHS + timedelta(days=1)).isoformat(), (THIRTY_DAYS + timedelta(1)).isoformat()
    assert notices(app) == expected | {
        (who, "certificate_expiry", later[0]) for who in (unit, sub, due)
    } | {(who, "membership_expiry", later[1]) for who in (unit, sub, quiet)}
    assert in_db(app, lambda s: s.scalar(select(func.count()).select_from(Notification))) == 14


def test_a_member_reads_the_own_notices_and_marks_them_read(app, client, login, world, people):
    run_reminders(app)
    member = member_headers(client, people["due"])
    listed = client.get("/api/v1/notifications", headers=member).get_json()
    assert (listed["total"], listed["unread"]) == (2, 2)
    newest, oldest = listed["items"]
    assert newest["id"] > oldest["id"]  # newest first
    assert oldest["kind"] == "certificate_expiry" and oldest["title"] == "培训证书即将到期"
    for text in ("张国栋", "监理员", "JLY-0001", "2027年5月28日", "继续教育"):
        assert text in oldest["body"], text
    assert newest["kind"] == "membership_expiry"
    assert "普通会员" in newest["body"] and "2026年12月28日" in newest["body"]
    assert newest["read"] is False and newest["read_at"] is None

    marked = client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=member)
    assert marked.status_code == 200 and marked.get_json()["read"] is True
    read_at = marked.get_json()["read_at"]
    assert read_at == "2026-11-28T04:00:00+00:00"
    unread = client.get("/api/v1/notifications?read=false", headers=member).get_json()
    assert [n["id"] for n in unread["items"]] == [newest["id"]] and unread["unread"] == 1
    read = client.get("/api/v1/notifications?read=true", headers=member).get_json()
    assert [n["id"] for n in read["items"]] == [oldest["id"]] and read["total"] == 1

    app.extensions["memberflow"].clock = lambda: datetime(2026, 11, 28, 5, 0, 0)
    again = client.post(f"/api/v1/notifications/{oldest['id']}/read", headers=member)
    assert again.get_json()["read_at"] == read_at  # the first reading time stays
    everything = client.post("/api/v1/notifications/read-all", headers=member)
    assert everything.status_code == 200 and everything.get_json() == {"updated": 1}
    after = client.get("/api/v1/notifications", headers=member).get_json()
    assert after["unread"] == 0 and all(n["read"] for n in after["items"])
    # the unit's own copies are still unread: each account reads its own
    unit = client.get("/api/v1/notifications?read=false", headers=login("unit")).get_json()
    assert unit["unread"] == 2


def test_nobody_reads_or_marks_another_accounts_notice(app, client, login, world, people):
    run_reminders(app)
    theirs = client.get("/api/v1/notifications", headers=login("other_unit")).get_json()
    assert theirs["total"] == 1 and "郑海涛" in theirs["items"][0]["body"]
    target = theirs["items"][0]["id"]
    stolen = client.post(f"/api/v1/notifications/{target}/read", headers=login("unit"))
    assert stolen.status_code == 404 and stolen.get_json()["message"] == "系统通知不存在"
    assert client.post("/api/v1/notifications/read-all", headers=login("unit")).status_code == 200
    still = client.get("/api/v1/notifications?read=false", headers=login("other_unit"))
    assert still.get_json()["unread"] == 1
    staff = client.get("/api/v1/notifications", headers=login("association")).get_json()
    assert (staff["total"], staff["unread"]) == (0, 0)


def test_bad_notification_requests_are_refused_with_reasons(client, login):
    unit = login("unit")
    bad = client.get("/api/v1/notifications?read=maybe", headers=unit)
    assert bad.status_code == 422 and "read" in bad.get_json()["errors"]
    assert client.get("/api/v1/notifications?page_size=500", headers=unit).status_code == 422
    assert client.post("/api/v1/notifications/999/read", headers=unit).status_code == 404
    assert client.get("/api/v1/notifications").status_code == 401


def test_no_expiry_reminder_while_the_person_is_renewing_that_certificate(
    app, client, login, world
):
    """A certificate whose holder is on an unfinished continuing-education form (a business
    whose learning renews certificates) is not reminded about: the unit is doing what the
    reminder asks. Another business in flight (a specialty change) does not stop it."""
    from test_other_education_api import enrol, supervisor
    from test_other_education_api import seed as seed_member

    unit = login("unit")
    due = date(2027, 3, 31)  # within six months of TODAY
    renewing = seed_member(app, world.unit_id, "叶子豪", "44010619830303890", [supervisor(due)])
    changing = seed_member(
        app, world.unit_id, "林建华", "44010619840404901", [supervisor(due, number="JL2024000002")]
    )
    enrol(client, unit, "continuing_education", [(renewing, "叶子豪")], certificate_type="监理员")
    enrol(
        client,
        unit,
        "specialty_change",
        [(changing, "林建华")],
        specialty_1="市政公用工程",
        specialty_2="房屋建筑工程",
    )
    run_reminders(app)
    ids = account_ids(app)
    reminded = set(
        in_db(
            app,
            lambda s: s.scalars(
                select(Notification.account_id).where(Notification.kind == "certificate_expiry")
            ).all(),
        )
    )
    assert ids[changing] in reminded and ids[renewing] not in reminded
