"""Work follows the secretariat's changes, on both databases: a unit moved to another
初审机构 takes its members and unfinished forms (their 机构初审 tasks with them, claims by
the old agency's reviewers released); a reviewer disabled or given another role or agency
gives back the tasks they hold."""

from __future__ import annotations

import html
import re
from datetime import date

import pytest
from conftest import PASSWORD, in_db, member_headers, token_headers, upload
from conftest import step_task as step
from sqlalchemy import select, update

from service.db.models import Account, AuditRecord, Member, ProcessInstance, Unit, UserTask
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def text(reply) -> str:
    return reply.get_data(as_text=True)


def post(client, path: str, data: dict, form: str | None = None):
    token = TOKEN.search(text(client.get(form or path))).group(1)
    return client.post(path, data={**data, "csrf_token": token})


def admin_pages(app):
    client = app.test_client()
    post(client, "/login", {"username": "admin", "password": PASSWORD}, "/login")
    return client


def flashed(client, reply) -> str:
    assert reply.status_code == 302, text(reply)[:500]
    return text(client.get(reply.headers["Location"]))


def enrolment(app, client, login, unit_id: int, name: str, prefix: str) -> int:
    """A member of the unit and an initial education for them, waiting at 机构初审."""
    number = make_resident_id(prefix)

    def add(s):
        memberships = {"普通会员": date(2027, 6, 30)}
        add_member(s, MemberSeed(name, number, unit_id, memberships=memberships))
        s.commit()

    in_db(app, add)
    headers = login("unit")
    person = {
        "id_number": number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        **{f: upload(client, headers) for f in ("diploma", "social_insurance", "verification")},
    }
    data = {"pledge": upload(client, headers), "persons": [person]}
    reply = client.post(
        "/api/v1/processes/initial_education/instances", headers=headers, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()["id"]


def available(client, headers) -> list[int]:
    reply = client.get("/api/v1/tasks?scope=available", headers=headers)
    return sorted(t["id"] for t in reply.get_json()["items"])


def agency_task(app, instance_id: int) -> UserTask:
    return in_db(
        app,
        lambda s: s.scalars(
            select(UserTask).where(UserTask.instance_id == instance_id, UserTask.state == "open")
        ).one(),
    )


def account_id(app, username: str) -> int:
    return in_db(app, lambda s: s.scalar(select(Account.id).where(Account.username == username)))


def test_moving_a_unit_moves_its_members_open_forms_and_agency_tasks(app, client, world, login):
    first = enrolment(app, client, login, world.unit_id, "张三", "44010619850303123")
    second = enrolment(app, client, login, world.unit_id, "李四", "44010619860505224")
    claimed = agency_task(app, first)
    claim = client.post(f"/api/v1/tasks/{claimed.id}/claim", headers=login("agency"))
    assert claim.status_code == 200

    admin = admin_pages(app)
    path = f"/admin/units/{world.unit_id}"
    saved = post(
        admin,
        path,
        {
            "name": world.unit_name,
            "credit_code": in_db(app, lambda s: s.get(Unit, world.unit_id).credit_code),
            "agency_id": str(world.other_agency_id),
            "member_unit": "1",
        },
    )
    page = flashed(admin, saved)
    assert "已转到新的初审机构：未办结表单2件（其中机构初审任务2个），个人会员2人" in page
    assert "原机构人员已认领的1个任务已退回待认领" in page

    def where(s):
        unit = ProcessInstance.unit_id == world.unit_id
        forms = s.scalars(select(ProcessInstance.agency_id).where(unit))
        members = s.scalars(select(Member.agency_id).where(Member.unit_id == world.unit_id))
        tasks = s.execute(
            select(UserTask.agency_id, UserTask.claimed_by).where(UserTask.state == "open")
        )
        records = select(AuditRecord.instance_id, AuditRecord.user_task_id)
        moves = s.scalars(records.where(AuditRecord.action == "agency_move"))
        releases = s.execute(records.where(AuditRecord.action == "release")).all()
        return set(forms), set(members), set(tasks), set(moves), [r[1] for r in releases]

    forms, members, tasks, moves, releases = in_db(app, where)
    assert forms == members == {world.other_agency_id}
    assert tasks == {(world.other_agency_id, None)}
    assert moves == {first, second} and releases == [claimed.id]
    assert available(client, login("agency")) == []
    tasks = sorted(agency_task(app, form).id for form in (first, second))
    assert available(client, login("other_agency")) == tasks
    taken = client.post(f"/api/v1/tasks/{claimed.id}/claim", headers=login("other_agency"))
    assert taken.status_code == 200


def test_disabling_or_rescoping_a_reviewer_releases_the_tasks_they_hold(app, client, world, login):
    form = enrolment(app, client, login, world.unit_id, "张三", "44010619850303123")
    task = agency_task(app, form).id
    jigou = account_id(app, "jigou")
    admin = admin_pages(app)

    def claim():
        headers = token_headers(client, "jigou")  # a new sign-in each time
        reply = client.post(f"/api/v1/tasks/{task}/claim", headers=headers)
        assert reply.status_code == 200, reply.get_json()

    def holder():
        return agency_task(app, form).claimed_by

    claim()
    page = flashed(admin, post(admin, f"/admin/staff/{jigou}/disable", {}, "/admin/staff"))
    assert "其认领中的1个任务已退回待认领" in page
    assert "“广州市建设监理行业协会”已没有可办理的初审人员" in page
    assert holder() is None
    released = in_db(
        app,
        lambda s: s.scalar(
            select(AuditRecord.detail).where(
                AuditRecord.action == "release", AuditRecord.user_task_id == task
            )
        ),
    )
    assert released == {"reason": "holder_changed", "from": jigou}

    flashed(admin, post(admin, f"/admin/staff/{jigou}/enable", {}, "/admin/staff"))
    claim()
    moved = post(
        admin,
        f"/admin/staff/{jigou}",
        {"name": "广州初审员", "role": "agency_reviewer", "agency_id": str(world.other_agency_id)},
    )
    page = flashed(admin, moved)
    assert "其认领中的1个任务已退回待认领" in page
    assert "“广州市建设监理行业协会”已没有可办理的初审人员" in page  # shown on edit too
    assert holder() is None

    # the API's 停用 releases too, and says how many
    back = post(
        admin,
        f"/admin/staff/{jigou}",
        {"name": "广州初审员", "role": "agency_reviewer", "agency_id": str(world.agency_id)},
    )
    assert "已退回待认领" not in flashed(admin, back)
    claim()
    reply = client.post(f"/api/v1/accounts/{jigou}/disable", headers=login("admin"))
    assert reply.status_code == 200 and reply.get_json()["released"] == 1
    assert holder() is None


def test_the_held_task_list_marks_a_disabled_holder(app, client, world, login):
    """A task still held by a disabled account (held before disabling released claims) is
    marked, so the secretariat sees which to release."""
    form = enrolment(app, client, login, world.unit_id, "张三", "44010619850303123")
    task = agency_task(app, form).id
    assert client.post(f"/api/v1/tasks/{task}/claim", headers=login("agency")).status_code == 200

    def disable_only(s):
        s.execute(update(Account).where(Account.username == "jigou").values(active=False))
        s.commit()

    in_db(app, disable_only)
    page = text(admin_pages(app).get("/workbench/claimed"))
    row = page[page.index("广州初审员") - 10 :]
    assert '<span class="badge s-已停用">已停用</span>' in row[: row.index("</td>")]


def test_disabling_a_unit_releases_the_tasks_its_accounts_hold(app, client, world, login):
    form = enrolment(app, client, login, world.unit_id, "张三", "44010619850303123")
    for who in ("agency", "association"):
        step(client, login(who), form, {"decision": "approve"})
    task = agency_task(app, form)
    assert task.role == "unit_admin"
    assert client.post(f"/api/v1/tasks/{task.id}/claim", headers=login("unit")).status_code == 200
    admin = admin_pages(app)
    flashed(admin, post(admin, f"/admin/units/{world.unit_id}/disable", {}, "/admin/units"))
    assert agency_task(app, form).claimed_by is None


def test_after_a_move_a_members_own_form_goes_to_the_new_agency(app, client, world, login):
    from test_member_and_cpd_api import info_change, seed, start  # the info change's data

    number = seed(app, world.unit_id, "林婉清", "44010619880808234")
    admin = admin_pages(app)
    moved = post(
        admin,
        f"/admin/units/{world.unit_id}",
        {
            "name": world.unit_name,
            "credit_code": in_db(app, lambda s: s.get(Unit, world.unit_id).credit_code),
            "agency_id": str(world.other_agency_id),
            "member_unit": "1",
        },
    )
    assert "个人会员1人" in flashed(admin, moved)
    member = member_headers(client, number)
    inst = start(client, member, "member_info_change", info_change(client, member))
    step(client, login("unit"), inst["id"], {"decision": "approve"})
    agency = in_db(app, lambda s: s.get(ProcessInstance, inst["id"]).agency_id)
    assert agency == world.other_agency_id
    assert available(client, login("agency")) == []
    assert available(client, login("other_agency")) == [agency_task(app, inst["id"]).id]


SEEN = re.compile(r'name="seen" value="([^"]+)"')


def unit_page_values(app, world, **changes) -> dict:
    unit = in_db(app, lambda s: s.get(Unit, world.unit_id))
    values = {
        "name": unit.name,
        "credit_code": unit.credit_code,
        "agency_id": str(unit.agency_id),
        "member_unit": "1" if unit.member_unit else "0",
    }
    return {**values, **changes}


def test_an_edit_page_left_open_does_not_undo_what_changed_since(app, world):
    """The secretariat's 编辑单位 page opened before a change (here another secretary's
    rename; a 单位名称变更 approved is the same) refuses to save over it: 409, each changed
    field said with its value now, nothing saved. Saving again from that page is
    deliberate and goes through."""
    stale, other = admin_pages(app), admin_pages(app)
    path = f"/admin/units/{world.unit_id}"
    opened = SEEN.search(text(stale.get(path))).group(1)
    renamed = post(other, path, unit_page_values(app, world, name="珠海新名称工程监理有限公司"))
    assert renamed.status_code == 302

    values = unit_page_values(app, world, name=world.unit_name, member_unit="0")
    values["seen"] = html.unescape(opened)
    refused = post(stale, path, values)
    assert refused.status_code == 409
    shown = text(refused)
    assert "打开本页后，该单位的信息已被修改" in shown
    assert "单位名称已被改为“珠海新名称工程监理有限公司”" in shown
    unit = in_db(app, lambda s: s.get(Unit, world.unit_id))
    assert (unit.name, unit.member_unit) == ("珠海新名称工程监理有限公司", True)

    for broken in ("[" * 100_000 + "]" * 100_000, "{", '"a"', "x" * 20_000):  # never a 500
        refused = post(stale, path, {**values, "seen": broken})
        assert refused.status_code == 422 and "页面内容不完整" in text(refused)
    values["seen"] = html.unescape(SEEN.search(shown).group(1))
    assert post(stale, path, values).status_code == 302
    unit = in_db(app, lambda s: s.get(Unit, world.unit_id))
    assert (unit.name, unit.member_unit) == (world.unit_name, False)


def test_a_reviewer_whose_task_moved_away_is_told_and_keeps_the_remark(app, client, world, login):
    """The unit moves to another agency while a reviewer of the old one has its task open:
    their 通过 (or 认领) says the task is no longer theirs, gives the remark back to copy,
    and returns them to the queue — not a bare 404."""
    form = enrolment(app, client, login, world.unit_id, "张三", "44010619850303123")
    task = agency_task(app, form).id
    reviewer = app.test_client()
    post(reviewer, "/login", {"username": "jigou", "password": PASSWORD}, "/login")
    assert reviewer.get(f"/workbench/tasks/{task}").status_code == 200
    assert (
        post(reviewer, f"/workbench/tasks/{task}/claim", {}, "/workbench/todo").status_code == 302
    )
    token = TOKEN.search(text(reviewer.get(f"/workbench/tasks/{task}"))).group(1)

    moved = unit_page_values(app, world, agency_id=str(world.other_agency_id))
    assert post(admin_pages(app), f"/admin/units/{world.unit_id}", moved).status_code == 302

    sent = {"decision": "approve", "remark": "手机号已核实", "csrf_token": token}
    done = reviewer.post(f"/workbench/tasks/{task}", data=sent)
    assert done.status_code == 302 and "/workbench/todo" in done.headers["Location"]
    page = text(reviewer.get(done.headers["Location"]))
    assert "该任务已不在您的办理范围内" in page and "可复制留用：手机号已核实" in page
    claim = reviewer.post(f"/workbench/tasks/{task}/claim", data={"csrf_token": token})
    assert claim.status_code == 302
    assert "该任务已不在您的办理范围内" in text(reviewer.get(claim.headers["Location"]))
    assert agency_task(app, form).claimed_by is None  # nothing done by the old agency
