"""The weekly registered-engineer CPD batch around its Tuesday cut-off, and its report."""

from __future__ import annotations

import io
from datetime import date, datetime, timedelta
from urllib.parse import quote

import pytest
from conftest import in_db, start_form, step_task, upload
from openpyxl import load_workbook
from sqlalchemy import select

from service.db import db
from service.db.models import CpdBatch, CpdCompletion, JobRun
from service.db.uow import UnitOfWork
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member
from service.services.schedules.cpd_batches import close_cpd_batch
from service.services.schedules.scheduler import run_job

pytestmark = pytest.mark.usefixtures("pinned_clock")

APPROVE = {"decision": "approve", "remark": "同意"}
# Tuesday 2026-12-01 15:00 Asia/Shanghai = 07:00 UTC (the default cut-off TUE 15:00)
CUT_OFF = datetime(2026, 12, 1, 7, 0, 0)
SECOND = timedelta(seconds=1)
WEEK = timedelta(days=7)
REGISTRATION = "44001234"
HEADER = (
    "序号",
    "姓名",
    "身份证号",
    "单位名称",
    "手机号码",
    "注册号",
    "单号",
    "完成时间",
    "学习平台账号",
    "初始密码",
)


def engineer(app, unit_id, name, prefix) -> str:
    """A registered engineer (专业会员) of the unit; `prefix` = 17 digits of the ID number."""
    id_number = make_resident_id(prefix)

    def add(s):
        add_member(
            s,
            MemberSeed(
                name,
                id_number,
                unit_id,
                mobile="13800001111",
                registration_number=REGISTRATION,
                memberships={"专业会员": date(2027, 6, 30)},
            ),
        )
        s.commit()

    in_db(app, add)
    return id_number


def set_clock(app, at: datetime) -> None:
    app.extensions["memberflow"].clock = lambda: at


def complete_cpd_at(app, client, login, id_number, name, at: datetime) -> str:
    """An engineer_cpd form for one person, approved by the association at `at` (UTC)."""
    unit = login("unit")
    files = ("id_front", "id_back", "diploma", "registration_cert", "social_insurance")
    data = {
        "fee_voucher": upload(client, unit),
        "persons": [
            {"id_number": id_number, "name": name, **{f: upload(client, unit) for f in files}}
        ],
    }
    inst = start_form(client, unit, "engineer_cpd", data)
    step_task(client, login("agency"), inst["id"], APPROVE)
    set_clock(app, at)
    done = step_task(client, login("association"), inst["id"], APPROVE)
    assert done["finished"] is True, done
    return inst["business_key"]


def run_batch_job(app, at: datetime):
    """The scheduler's weekly job, run with the clock at `at`."""
    set_clock(app, at)
    with app.app_context():
        try:
            return run_job(app.extensions["memberflow"], UnitOfWork(db.session), "cpd_batch", "t")
        finally:
            db.session.remove()


def batch_of(app) -> dict[str, int | None]:
    def read(s):
        return {c.id_number: c.batch_id for c in s.scalars(select(CpdCompletion))}

    return in_db(app, read)


def report(client, headers, url):
    reply = client.get(url, headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply, load_workbook(io.BytesIO(reply.data)).active


def test_completions_up_to_the_tuesday_cut_off_form_one_batch_and_later_ones_the_next(
    app, client, login, world
):
    early = engineer(app, world.unit_id, "黄伟明", "44010619800101123")
    before = engineer(app, world.unit_id, "陈嘉欣", "44010619810202234")
    exactly = engineer(app, world.unit_id, "李振华", "44010619820303345")
    after = engineer(app, world.unit_id, "周晓红", "44010619830404456")
    # completed weeks ago while the scheduler was down: still reported, nothing lost
    complete_cpd_at(app, client, login, early, "黄伟明", datetime(2026, 11, 10, 2, 0, 0))
    key = complete_cpd_at(app, client, login, before, "陈嘉欣", CUT_OFF - SECOND)
    complete_cpd_at(app, client, login, exactly, "李振华", CUT_OFF)
    complete_cpd_at(app, client, login, after, "周晓红", CUT_OFF + SECOND)

    first = run_batch_job(app, CUT_OFF + 2 * SECOND)
    assert first["created"] is True and first["person_count"] == 3, first
    assert run_batch_job(app, CUT_OFF + timedelta(minutes=5)) is None  # the slot already ran
    batches = batch_of(app)
    assert batches[early] == batches[before] == batches[exactly] == first["batch_id"]
    assert batches[after] is None  # later completions fall into next week's batch

    second = run_batch_job(app, CUT_OFF + WEEK)
    assert second["created"] is True and second["person_count"] == 1, second
    assert batch_of(app) == {
        early: first["batch_id"],
        before: first["batch_id"],
        exactly: first["batch_id"],
        after: second["batch_id"],
    }
    third = run_batch_job(app, CUT_OFF + 2 * WEEK)  # an empty week is recorded too
    assert third["person_count"] == 0 and third["batch_id"] not in batches.values()

    def runs(s):
        return [
            (r.job, r.scheduled_for, r.finished_at is not None)
            for r in s.scalars(select(JobRun).order_by(JobRun.id))
        ]

    assert in_db(app, runs) == [
        ("cpd_batch", CUT_OFF, True),
        ("cpd_batch", CUT_OFF + WEEK, True),
        ("cpd_batch", CUT_OFF + 2 * WEEK, True),
    ]

    # the report: text ID numbers, a real datetime, the national platform's login
    listed = client.get("/api/v1/cpd-batches", headers=login("association")).get_json()
    assert listed["total"] == 3 and [b["person_count"] for b in listed["items"]] == [0, 1, 3]
    oldest = listed["items"][-1]
    assert oldest["cut_off_at"] == "2026-12-01T07:00:00+00:00"
    assert oldest["period_start"] == "2026-11-24T16:00:00+00:00"  # Wednesday 00:00 Shanghai
    assert oldest["cut_off_on"] == "2026-12-01"
    assert oldest["report_url"] == f"/api/v1/cpd-batches/{first['batch_id']}/report.xlsx"
    reply, ws = report(client, login("association"), oldest["report_url"])
    assert reply.mimetype.endswith("spreadsheetml.sheet")
    filename = quote("注师继教报名名单_2026-12-01.xlsx")
    assert f"filename*=UTF-8''{filename}" in reply.headers["Content-Disposition"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == HEADER and len(rows) == 4
    assert [r[1] for r in rows[1:]] == ["黄伟明", "陈嘉欣", "李振华"]  # completion order
    assert rows[2] == (
        2,
        "陈嘉欣",
        before,
        world.unit_name,
        "13800001111",
        REGISTRATION,
        key,
        datetime(2026, 12, 1, 14, 59, 59),  # Shanghai time
        before,
        "123456",
    )
    assert rows[3][7] == datetime(2026, 12, 1, 15, 0, 0)
    id_cell, time_cell = ws.cell(row=3, column=3), ws.cell(row=3, column=8)
    assert id_cell.data_type == "s" and id_cell.number_format == "@"
    assert time_cell.is_date and time_cell.number_format == "yyyy-mm-dd hh:mm:ss"
    _, ws = report(client, login("admin"), listed["items"][1]["report_url"])
    assert [r[1] for r in ws.iter_rows(min_row=2, values_only=True)] == ["周晓红"]


def test_closing_the_same_cut_off_twice_returns_the_same_batch(app, client, login, world):
    n = engineer(app, world.unit_id, "吴文静", "44010619840505567")
    complete_cpd_at(app, client, login, n, "吴文静", CUT_OFF)
    set_clock(app, CUT_OFF + timedelta(hours=1))
    ctx = app.extensions["memberflow"]
    with app.app_context():
        first = close_cpd_batch(ctx, UnitOfWork(db.session), CUT_OFF)
        again = close_cpd_batch(ctx, UnitOfWork(db.session), CUT_OFF)
        db.session.remove()
    assert (first["created"], again["created"]) == (True, False)
    assert again["id"] == first["id"] and again["person_count"] == 1
    assert in_db(app, lambda s: len(s.scalars(select(CpdBatch)).all())) == 1


def test_a_cut_off_still_ahead_cannot_be_closed(app):
    set_clock(app, CUT_OFF - SECOND)
    ctx = app.extensions["memberflow"]
    with app.app_context():
        from service.domain.errors import Conflict

        with pytest.raises(Conflict, match="尚未到"):
            close_cpd_batch(ctx, UnitOfWork(db.session), CUT_OFF)
        db.session.remove()


def test_only_association_staff_see_the_batches_and_reports(app, client, login, world):
    batch = run_batch_job(app, CUT_OFF)
    url = f"/api/v1/cpd-batches/{batch['batch_id']}/report.xlsx"
    for who in ("association", "admin"):
        assert client.get("/api/v1/cpd-batches", headers=login(who)).status_code == 200
        assert client.get(url, headers=login(who)).status_code == 200
    for who in ("unit", "agency", "finance"):
        listed = client.get("/api/v1/cpd-batches", headers=login(who))
        assert listed.status_code == 404 and listed.get_json()["message"], who
        assert client.get(url, headers=login(who)).status_code == 404, who
    assert client.get("/api/v1/cpd-batches").status_code == 401
    missing = client.get("/api/v1/cpd-batches/999/report.xlsx", headers=login("association"))
    assert missing.status_code == 404 and "不存在" in missing.get_json()["message"]
    bad = client.get("/api/v1/cpd-batches?page=0", headers=login("association"))
    assert bad.status_code == 422 and "page" in bad.get_json()["errors"]


def test_the_wednesday_publication_and_friday_opening_are_recorded_and_notified(
    app, client, login, world
):
    first = engineer(app, world.unit_id, "黄伟明", "44010619800101123")
    second = engineer(app, world.unit_id, "陈嘉欣", "44010619810202234")
    complete_cpd_at(app, client, login, first, "黄伟明", CUT_OFF - 2 * SECOND)
    complete_cpd_at(app, client, login, second, "陈嘉欣", CUT_OFF - SECOND)
    batch_id = run_batch_job(app, CUT_OFF + SECOND)["batch_id"]
    association = login("association")
    [listed] = client.get("/api/v1/cpd-batches", headers=association).get_json()["items"]
    assert (listed["publish_on"], listed["open_on"]) == ("2026-12-02", "2026-12-04")
    assert listed["published_at"] is None and listed["opened_at"] is None
    url = f"/api/v1/cpd-batches/{batch_id}"

    early = client.post(f"{url}/opening", headers=association)
    assert early.status_code == 409
    assert early.get_json()["message"] == "请先记录该批次的名单公布（周三），再记录开通学习"
    for who in ("unit", "agency", "finance"):
        assert client.post(f"{url}/publication", headers=login(who)).status_code == 404, who

    set_clock(app, datetime(2026, 12, 2, 2, 0, 0))  # Wednesday 10:00 Shanghai
    published = client.post(f"{url}/publication", headers=association)
    assert published.status_code == 200, published.get_json()
    body = published.get_json()
    assert body["published_at"] == "2026-12-02T02:00:00+00:00" and body["opened_at"] is None
    assert body["notified"] == 4  # each person, and the unit's admin once per person
    again = client.post(f"{url}/publication", headers=association)
    assert (
        again.status_code == 409 and "已于2026年12月2日记录公布名单" in again.get_json()["message"]
    )

    unit_notices = client.get("/api/v1/notifications", headers=login("unit")).get_json()["items"]
    published_notices = [n for n in unit_notices if n["title"] == "注师继教开通名单已公布"]
    assert len(published_notices) == 2
    assert all("2026年12月4日" in n["body"] for n in published_notices)
    assert {n["body"].split("已列入")[0] for n in published_notices} == {"黄伟明", "陈嘉欣"}

    set_clock(app, datetime(2026, 12, 4, 1, 0, 0))  # Friday 09:00 Shanghai
    opened = client.post(f"{url}/opening", headers=login("admin"))
    assert opened.status_code == 200 and opened.get_json()["notified"] == 4
    assert client.post(f"{url}/opening", headers=association).status_code == 409
    unit_notices = client.get("/api/v1/notifications", headers=login("unit")).get_json()["items"]
    opened_notices = [n for n in unit_notices if n["title"] == "注师继续教育学习已开通"]
    assert len(opened_notices) == 2
    assert all("2026年12月4日" in n["body"] and "123456" in n["body"] for n in opened_notices)
    missing = client.post("/api/v1/cpd-batches/999/publication", headers=association)
    assert missing.status_code == 404


def test_the_association_records_publication_and_opening_on_the_batches_page(
    app, client, login, world
):
    from test_account_pages_http import sign_in, text

    person = engineer(app, world.unit_id, "黄伟明", "44010619800101123")
    complete_cpd_at(app, client, login, person, "黄伟明", CUT_OFF - SECOND)
    batch_id = run_batch_job(app, CUT_OFF + SECOND)["batch_id"]
    page = app.test_client()
    sign_in(page, "xiehui")
    listed = page.get("/cpd-batches")
    assert listed.status_code == 200
    html = text(listed)
    assert "注师继教周批次" in html and "2026-12-02" in html and "2026-12-04" in html
    assert "记录已公布" in html and "记录已开通" not in html
    token = html.split('name="csrf_token" value="')[1].split('"')[0]
    done = page.post(f"/cpd-batches/{batch_id}/publication", data={"csrf_token": token})
    assert done.status_code == 302
    html = text(page.get("/cpd-batches"))
    assert "已记录公布名单，已通知 2 个账号" in html and "记录已开通" in html
    again = page.post(f"/cpd-batches/{batch_id}/publication", data={"csrf_token": token})
    assert again.status_code == 302
    assert "已于2026年12月1日记录公布名单" in text(page.get("/cpd-batches"))
    report = page.get(f"/cpd-batches/{batch_id}/report.xlsx")
    assert report.status_code == 200 and report.mimetype.endswith("spreadsheetml.sheet")

    unit = app.test_client()
    sign_in(unit, world.unit_name)
    assert unit.get("/cpd-batches").status_code in (403, 404)


def test_the_batches_page_shows_who_the_coming_batch_holds(app, client, login, world):
    """Before Tuesday's cut-off the association sees who is on the coming report: the
    persons completed since the last batch, under the cut-off they wait for; once that
    batch closes they leave the list, which then waits for the next week's cut-off."""
    from test_account_pages_http import sign_in, text

    person = engineer(app, world.unit_id, "黄伟明", "44010619800101123")
    run_batch_job(app, CUT_OFF - WEEK + SECOND)  # last week's batch, closed (empty)
    key = complete_cpd_at(app, client, login, person, "黄伟明", CUT_OFF - SECOND)
    set_clock(app, CUT_OFF - SECOND)
    page = app.test_client()
    sign_in(page, "xiehui")
    html = text(page.get("/cpd-batches"))
    coming = html[html.index('id="h-coming"') : html.index("</section>")]
    assert "下一批：2026-12-01" in coming and "已有 1 人" in coming
    assert "黄伟明" in coming and person in coming and key in coming

    run_batch_job(app, CUT_OFF + SECOND)
    html = text(page.get("/cpd-batches"))
    coming = html[html.index('id="h-coming"') : html.index("</section>")]
    assert "下一批：2026-12-08" in coming and "已有 0 人" in coming and "黄伟明" not in coming
