"""单位人员档案's 状态 names the businesses really in progress for the person (a form under
review, awaiting payment or returned), not the newest unfinished form: an approved education
form stays unfinished while its learning runs, and that reads as learning."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import in_db, member_headers
from sqlalchemy import update
from test_exports_api import by_header, workbook
from test_other_education_api import approve, enrol, pay, seed, supervisor
from test_pages_http import sign_in

from service.db.models import LearningTask

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

UNIT = "广州珠江工程建设监理有限公司"


def statuses(client, login, unit_id: int) -> dict[str, str]:
    """Each member's 状态 in the archive (API), by name."""
    reply = client.get(f"/api/v1/units/{unit_id}/members?page_size=50", headers=login("unit"))
    assert reply.status_code == 200, reply.get_json()
    return {i["name"]: i["status"] for i in reply.get_json()["items"]}


def free(client, login, unit_id: int) -> set[str]:
    reply = client.get(f"/api/v1/units/{unit_id}/members?status=自由态", headers=login("unit"))
    assert reply.status_code == 200, reply.get_json()
    return {i["name"] for i in reply.get_json()["items"]}


def exported(client, login, unit_id: int) -> dict[str, str]:
    reply = client.get(f"/api/v1/units/{unit_id}/members/export.xlsx", headers=login("unit"))
    header, rows = workbook(reply, "单位人员档案导出表.xlsx")
    return {r["姓名"].value: r["状态"].value for r in (by_header(header, row) for row in rows)}


@pytest.fixture
def zhou(app, client, login, world) -> str:
    """周建国: his 普通会员继续教育 paid and waiting for finance (财务复核中), his newer
    普通会员专业变更 approved (learning open)."""
    unit = login("unit")
    n = seed(app, world.unit_id, "周建国", "44010619800101123", [supervisor(date(2027, 2, 28))])
    continuing = enrol(
        client, unit, "continuing_education", [(n, "周建国")], certificate_type="监理员"
    )
    pay(app, client, login, continuing["id"], "60.00")
    # the newer form (the one the archive named before) is approved: only learning is open
    change = enrol(client, unit, "specialty_change", [(n, "周建国")], specialty_1="房屋建筑工程")
    approve(app, client, login, change["id"], "60.00")
    return n


def test_the_business_in_progress_is_named_not_the_approved_one_learning(
    app, client, login, world, zhou
):
    u = world.unit_id
    assert statuses(client, login, u)["周建国"] == "普通会员继续教育办理中"
    assert exported(client, login, u)["周建国"] == "普通会员继续教育办理中"
    sign_in(client, UNIT)
    page = client.get("/unit/members?q=周建国").get_data(as_text=True)
    assert "普通会员继续教育办理中" in page and "普通会员专业变更办理中" not in page
    header, rows = workbook(client.get("/unit/members/export.xlsx"), "单位人员档案导出表.xlsx")
    assert [by_header(header, row)["状态"].value for row in rows] == ["普通会员继续教育办理中"]
    assert "周建国" not in free(client, login, u)


def test_an_approved_form_with_learning_open_reads_as_learning(app, client, login, world):
    unit, u = login("unit"), world.unit_id
    n = seed(app, u, "何美玲", "44010619820202234", [supervisor(date(2027, 2, 28))])
    change = enrol(client, unit, "specialty_change", [(n, "何美玲")], specialty_1="房屋建筑工程")
    assert statuses(client, login, u)["何美玲"] == "普通会员专业变更办理中"
    approve(app, client, login, change["id"], "60.00")
    assert statuses(client, login, u)["何美玲"] == "普通会员专业变更学习中"
    assert exported(client, login, u)["何美玲"] == "普通会员专业变更学习中"
    assert "何美玲" not in free(client, login, u)
    # and 我的信息 says what the archive says
    member = app.test_client()
    member_headers(member, n)  # her password is now PASSWORD
    sign_in(member, n)
    assert "普通会员专业变更学习中" in member.get("/me").get_data(as_text=True)

    # her learning passed while the form waits for others on it: free again
    in_db(
        app,
        lambda s: (
            s.execute(
                update(LearningTask).where(LearningTask.id_number == n).values(status="已通过")
            ),
            s.commit(),
        ),
    )
    assert statuses(client, login, u)["何美玲"] == "自由态"
    assert "何美玲" in free(client, login, u)


def test_several_businesses_in_progress_are_all_named(app, client, login, world):
    unit, u = login("unit"), world.unit_id
    n = seed(app, u, "曹国强", "44010619790909567", [supervisor(date(2027, 3, 31))])
    me = [(n, "曹国强")]
    enrol(client, unit, "continuing_education", me, certificate_type="监理员")
    enrol(client, unit, "specialty_change", me, specialty_1="房屋建筑工程")
    assert statuses(client, login, u)["曹国强"] == "普通会员继续教育、普通会员专业变更办理中"
    enrol(client, unit, "upgrade_education", me)
    assert statuses(client, login, u)["曹国强"] == "普通会员继续教育、普通会员专业变更等3项办理中"


def filtered(client, login, unit_id: int, status: str) -> set[str]:
    reply = client.get(
        f"/api/v1/units/{unit_id}/members", query_string={"status": status}, headers=login("unit")
    )
    assert reply.status_code == 200, reply.get_json()
    return {i["name"] for i in reply.get_json()["items"]}


def test_the_status_filter_finds_each_status_as_shown_or_in_part(app, client, login, world):
    """The 状态 filter reads what the 状态 column shows: the whole status or a part of it
    (办理中, 学习中, a business's name) finds exactly the people it is shown for."""
    unit, u = login("unit"), world.unit_id
    busy = seed(app, u, "曹国强", "44010619790909567", [supervisor(date(2027, 3, 31))])
    both = [(busy, "曹国强")]
    enrol(client, unit, "continuing_education", both, certificate_type="监理员")
    enrol(client, unit, "specialty_change", both, specialty_1="房屋建筑工程")
    learner = seed(
        app,
        u,
        "何美玲",
        "44010619820202234",
        [supervisor(date(2027, 2, 28), number="JL2024000002")],
    )
    change = enrol(
        client, unit, "specialty_change", [(learner, "何美玲")], specialty_1="房屋建筑工程"
    )
    approve(app, client, login, change["id"], "60.00")
    seed(app, u, "林小梅", "44010619830303345", [supervisor(number="JL2024000003")])  # at rest
    shown = statuses(client, login, u)
    assert shown["曹国强"] == "普通会员继续教育、普通会员专业变更办理中"
    assert shown["何美玲"] == "普通会员专业变更学习中"
    resting = {name for name, status in shown.items() if status == "自由态"}
    assert resting and not resting & {"曹国强", "何美玲"}

    for typed in (shown["曹国强"], shown["何美玲"], "自由态"):
        assert filtered(client, login, u, typed) == {
            name for name, status in shown.items() if status == typed
        }, typed
    assert filtered(client, login, u, "办理中") == {"曹国强"}
    assert filtered(client, login, u, "学习中") == {"何美玲"}
    assert filtered(client, login, u, "专业变更") == {"曹国强", "何美玲"}
    assert filtered(client, login, u, "继续教育办理中") == {"曹国强"}
    assert filtered(client, login, u, "普通会员继续教育学习中") == set()
    assert filtered(client, login, u, "自由") == resting
    assert filtered(client, login, u, "没有这种状态") == set()
    for nothing in ("、", "、、", "等", "等3项"):  # parts of no status shown here
        assert filtered(client, login, u, nothing) == set(), nothing
    # the page's 状态 box and the export read it the same way
    sign_in(client, UNIT)
    page = client.get("/unit/members?status=学习中").get_data(as_text=True)
    assert "何美玲" in page and "曹国强" not in page
    header, rows = workbook(
        client.get("/unit/members/export.xlsx?status=办理中"), "单位人员档案导出表.xlsx"
    )
    assert [by_header(header, row)["姓名"].value for row in rows] == ["曹国强"]


def test_the_status_filter_finds_more_businesses_than_named_by_what_is_shown(
    app, client, login, world
):
    """「A、B等3项办理中」 shows more businesses than it names: 等3项办理中, 等3项, 3项 … typed
    alone find the people it is shown for, and no one shown another count."""
    unit, u = login("unit"), world.unit_id
    three = seed(app, u, "曹国强", "44010619790909567", [supervisor(date(2027, 3, 31))])
    two = seed(
        app,
        u,
        "何美玲",
        "44010619820202234",
        [supervisor(date(2027, 3, 31), number="JL2024000002")],
    )
    for key, extra in (
        ("continuing_education", {"certificate_type": "监理员"}),
        ("specialty_change", {"specialty_1": "房屋建筑工程"}),
    ):
        enrol(client, unit, key, [(three, "曹国强"), (two, "何美玲")], **extra)
    enrol(client, unit, "upgrade_education", [(three, "曹国强")])
    shown = statuses(client, login, u)
    assert shown["曹国强"] == "普通会员继续教育、普通会员专业变更等3项办理中"
    assert shown["何美玲"] == "普通会员继续教育、普通会员专业变更办理中"

    for typed in (
        "等3项办理中",
        "等3项",
        "等3",
        "等",
        "3项办理中",
        "项办理中",
        "3项",
        "3",
        "专业变更等3项办理中",
        "普通会员专业变更等3",
        "等3项办",
        shown["曹国强"],
    ):
        assert typed in shown["曹国强"] and typed not in shown["何美玲"], typed
        assert filtered(client, login, u, typed) == {"曹国强"}, typed
    for typed in ("等2项办理中", "等4项", "等3项学习中", "等项", "等3项中", "变更3项"):
        assert filtered(client, login, u, typed) == set(), typed
    assert filtered(client, login, u, "办理中") == {"曹国强", "何美玲"}
    # the page's 状态 box reads it the same way
    sign_in(client, UNIT)
    page = client.get("/unit/members?status=等3项办理中").get_data(as_text=True)
    assert "曹国强" in page and "何美玲" not in page
