"""单位人员档案 over HTTP: every filter, its boundaries, scope and refused filters."""

from __future__ import annotations

from datetime import date, datetime
from io import BytesIO

import pytest
from conftest import in_db, member_headers
from openpyxl import load_workbook
from sqlalchemy import select, update
from test_every_process_refuses_with_reasons import form_for

from service.db.models import Member, Membership
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

NEXT_YEAR = date(2027, 6, 30)
LAST_YEAR = date(2026, 1, 31)
MASTER = {"level": "硕士", "school": "同济大学", "major": "结构工程", "graduated_on": "2012-07-01"}


def seed(app, unit_id, name, prefix17, joined: datetime | None = None, **kwargs) -> str:
    """A member of the unit; `joined` (naive UTC) sets the record's creation time."""
    id_number = make_resident_id(prefix17)
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})

    def add(s):
        member = add_member(s, MemberSeed(name, id_number, unit_id, **kwargs))
        if joined is not None:
            s.execute(update(Member).where(Member.id == member.id).values(created_at=joined))
        s.commit()

    in_db(app, add)
    return id_number


@pytest.fixture
def people(app, world) -> dict[str, str]:
    """Five members of the unit and one of another unit, by name -> ID number."""
    u = world.unit_id
    return {
        "周建国": seed(
            app,
            u,
            "周建国",
            "44010619800101123",
            joined=datetime(2025, 3, 27, 16, 30),  # 2025-03-28 00:30 in Shanghai
            mobile="13800001111",
            certificates=[
                CertificateSeed("监理员", "JL2023000001", date(2027, 12, 31), "市政公用工程"),
                CertificateSeed("安全监理员", "AQ2020000001", date(2026, 11, 27)),
            ],
        ),
        "何美玲": seed(
            app,
            u,
            "何美玲",
            "44010619850505224",
            joined=datetime(2025, 3, 28, 16, 0),  # 2025-03-29 in Shanghai
            memberships={"普通会员": LAST_YEAR, "专业会员": date(2027, 12, 31)},
            education=MASTER,
            title="高级",
        ),
        "冯老伯": seed(
            app,
            u,
            "冯老伯",
            "44010619600101335",
            title=None,
            certificates=[
                CertificateSeed(
                    "专业监理工程师", "ZJ2019000001", date(2027, 1, 1), status="cancelled"
                )
            ],
        ),
        "整四十": seed(app, u, "整四十", "44010619861128445"),  # 40 today
        "差一天": seed(  # 39: turns 40 tomorrow
            app,
            u,
            "差一天",
            "44010619861129556",
            certificates=[CertificateSeed("安全监理员", "AQ2024000009", date(2028, 3, 31))],
        ),
        "别单位": seed(app, world.other_unit_id, "别单位", "44010619900101667"),
    }


def names(client, headers, unit_id, query="") -> set[str]:
    reply = client.get(f"/api/v1/units/{unit_id}/members?page_size=200&{query}", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["total"] == len(body["items"])
    return {item["name"] for item in body["items"]}


def test_the_archive_lists_levels_validity_education_title_and_certificates(
    client, login, world, people
):
    reply = client.get(f"/api/v1/units/{world.unit_id}/members", headers=login("unit"))
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["total"] == 5 and [i["name"] for i in body["items"]][:2] == ["周建国", "何美玲"]
    zhou = body["items"][0]
    assert zhou["id_number"] == people["周建国"]
    assert (zhou["gender"], zhou["age"], zhou["mobile"]) == ("男", 46, "13800001111")
    assert (zhou["ordinary_membership"], zhou["ordinary_valid_until"]) == ("有效", "2027-06-30")
    assert zhou["professional_membership"] is None and zhou["professional_valid_until"] is None
    assert (zhou["education_level"], zhou["title"], zhou["status"]) == ("本科", "中级", "自由态")
    assert zhou["joined_on"] == "2025-03-28"
    assert zhou["unit_name"] == world.unit_name and zhou["agency_name"] == "广州市建设监理行业协会"
    assert [
        (c["type"], c["number"], c["specialty_1"], c["valid_until"], c["status_label"])
        for c in zhou["certificates"]
    ] == [
        ("安全监理员", "AQ2020000001", "房屋建筑工程", "2026-11-27", "已过期"),
        ("监理员", "JL2023000001", "市政公用工程", "2027-12-31", "有效"),
    ]
    he = body["items"][1]
    assert (he["ordinary_membership"], he["professional_membership"]) == ("已过期", "有效")
    assert he["professional_valid_until"] == "2027-12-31" and he["certificates"] == []
    feng = next(i for i in body["items"] if i["name"] == "冯老伯")
    assert feng["title"] == "无" and feng["certificates"][0]["status_label"] == "已注销"


def test_the_archive_pages_with_a_total(client, login, world, people):
    url = f"/api/v1/units/{world.unit_id}/members?page_size=2&page=3"
    body = client.get(url, headers=login("unit")).get_json()
    assert (body["total"], body["page"], len(body["items"])) == (5, 3, 1)


def test_membership_filters_level_and_expired(client, login, world, people):
    unit, u = login("unit"), world.unit_id
    assert names(client, unit, u, "level=专业会员") == {"何美玲"}
    assert names(client, unit, u, "level=普通会员") == {
        "周建国",
        "何美玲",
        "冯老伯",
        "整四十",
        "差一天",
    }
    assert names(client, unit, u, "membership_expired=true") == {"何美玲"}
    assert names(client, unit, u, "membership_expired=true&level=专业会员") == set()
    assert names(client, unit, u, "membership_expired=false&level=专业会员") == {"何美玲"}
    assert "何美玲" not in names(client, unit, u, "membership_expired=false")


def test_certificate_filters(client, login, world, people):
    unit, u = login("unit"), world.unit_id
    # a cancelled certificate is not held; an expired one still is
    assert names(client, unit, u, "has_certificates=true") == {"周建国", "差一天"}
    assert names(client, unit, u, "has_certificates=false") == {"何美玲", "冯老伯", "整四十"}
    assert names(client, unit, u, "certificate_type=安全监理员") == {"周建国", "差一天"}
    assert names(client, unit, u, "certificate_type=监理员") == {"周建国"}
    assert names(client, unit, u, "certificate_type=专业监理工程师") == set()


def test_age_range_is_inclusive_at_both_ends_on_the_birthday(client, login, world, people):
    unit, u = login("unit"), world.unit_id
    assert names(client, unit, u, "age_min=40&age_max=40") == {"整四十"}
    assert names(client, unit, u, "age_min=39&age_max=39") == {"差一天"}
    assert names(client, unit, u, "age_max=39") == {"差一天"}
    assert names(client, unit, u, "age_min=41&age_max=46") == {"周建国", "何美玲"}
    assert names(client, unit, u, "age_min=66") == {"冯老伯"}
    assert names(client, unit, u, "age_min=67") == set()


def test_join_date_range_uses_the_shanghai_day(client, login, world, people):
    unit, u = login("unit"), world.unit_id
    assert names(client, unit, u, "joined_from=2025-03-28&joined_to=2025-03-28") == {"周建国"}
    assert names(client, unit, u, "joined_from=2025-03-29&joined_to=2025-03-29") == {"何美玲"}
    assert names(client, unit, u, "joined_to=2025-03-27") == set()
    assert names(client, unit, u, "joined_from=2025-03-28&joined_to=2025-03-29") == {
        "周建国",
        "何美玲",
    }


def test_name_id_number_title_education_and_status_filters(client, login, world, people):
    unit, u = login("unit"), world.unit_id
    assert names(client, unit, u, "q=建国") == {"周建国"}
    assert names(client, unit, u, f"q={people['差一天'].lower()}") == {"差一天"}
    assert names(client, unit, u, f"q={people['差一天'][:10]}") == set()  # the whole number
    assert names(client, unit, u, "q=%25") == set()  # a wildcard is a character
    assert names(client, unit, u, "q=" + people["别单位"]) == set()
    assert names(client, unit, u, "title=高级") == {"何美玲"}
    assert names(client, unit, u, "title=无") == {"冯老伯"}
    assert names(client, unit, u, "education=硕士") == {"何美玲"}
    assert len(names(client, unit, u, "status=自由态")) == 5
    assert names(client, unit, u, "status=退会") == set()
    assert names(client, unit, u, f"agency_id={world.other_agency_id}") == set()


def test_the_archive_export_and_certificates_find_a_person_by_the_last_four(
    client, login, world, people
):
    """UI.md: every list searchable by the last four characters of an ID number."""
    unit, u = login("unit"), world.unit_id
    zhou, feng = people["周建国"], people["冯老伯"]
    assert names(client, unit, u, f"q={zhou[-4:]}") == {"周建国"}
    assert names(client, unit, u, f"q={feng[-4:].lower()}") == {"冯老伯"}
    assert names(client, unit, u, f"q={zhou[-5:]}") == set()  # not a last four
    assert names(client, unit, u, "q=" + people["别单位"][-4:]) == set()  # another unit's
    export = client.get(
        f"/api/v1/units/{u}/members/export.xlsx?q={zhou[-4:]}", headers=unit, buffered=True
    )  # a streamed file, read and closed as a WSGI server does
    assert export.status_code == 200
    rows = list(load_workbook(BytesIO(export.data)).active.iter_rows(min_row=2, values_only=True))
    assert [r[3] for r in rows] == ["周建国"]
    certificates = client.get(f"/api/v1/certificates?q={zhou[-4:]}", headers=unit).get_json()
    assert {c["number"] for c in certificates["items"]} == {"JL2023000001", "AQ2020000001"}


def test_the_archive_is_seen_by_its_unit_agency_and_association_only(client, login, world, people):
    u = world.unit_id
    for who in ("unit", "agency", "association", "finance", "admin"):
        assert len(names(client, login(who), u)) == 5, who
    for who in ("other_unit", "other_agency"):
        reply = client.get(f"/api/v1/units/{u}/members", headers=login(who))
        assert reply.status_code == 404, who
        assert reply.get_json()["message"] == "单位不存在"
    member = member_headers(client, people["周建国"])
    assert client.get(f"/api/v1/units/{u}/members", headers=member).status_code == 404
    assert client.get("/api/v1/units/9999/members", headers=login("admin")).status_code == 404
    assert client.get(f"/api/v1/units/{u}/members").status_code == 401
    assert names(client, login("other_unit"), world.other_unit_id) == {"别单位"}


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("age_min=50&age_max=40", "age_min"),
        ("age_min=-1", "age_min"),
        ("age_max=abc", "age_max"),
        ("level=金牌会员", "level"),
        ("certificate_type=造价员", "certificate_type"),
        ("membership_expired=maybe", "membership_expired"),
        ("has_certificates=2", "has_certificates"),
        ("joined_from=2025-04-01&joined_to=2025-03-01", "joined_from"),
        ("joined_to=2025-02-30", "joined_to"),
        ("page=0", "page"),
    ],
)
def test_a_bad_filter_answers_422_naming_the_field(client, login, world, query, field):
    for path in ("members", "members/export.xlsx"):
        if field == "page" and path != "members":
            continue
        reply = client.get(f"/api/v1/units/{world.unit_id}/{path}?{query}", headers=login("unit"))
        assert reply.status_code == 422, (path, reply.get_json())
        assert field in reply.get_json()["errors"], reply.get_json()


def test_a_person_with_an_unfinished_business_shows_it_as_the_status(
    app, client, login, world, people
):
    unit, u = login("unit"), world.unit_id
    data = form_for(app, "member_info_change", unit, client, people["周建国"], "周建国")
    started = client.post(
        "/api/v1/processes/member_info_change/instances", headers=unit, json={"data": data}
    )
    assert started.status_code == 201, started.get_json()
    listed = client.get(f"/api/v1/units/{u}/members?q=周建国", headers=unit).get_json()
    assert listed["items"][0]["status"] == "个人会员信息变更办理中"
    assert "周建国" not in names(client, unit, u, "status=自由态")
    assert len(names(client, unit, u, "status=自由态")) == 4
    # the form ends (terminated by the secretariat): the person is free again
    ended = client.post(
        f"/api/v1/instances/{started.get_json()['id']}/terminate",
        headers=login("admin"),
        json={"reason": "测试终止"},
    )
    assert ended.status_code == 200, ended.get_json()
    listed = client.get(f"/api/v1/units/{u}/members?q=周建国", headers=unit).get_json()
    assert listed["items"][0]["status"] == "自由态"


def test_a_carried_over_member_joined_when_its_first_membership_began(app, client, login, world):
    """A member carried over (roster) with no join date of its own: 入会日期 is the start of
    its earliest membership, each starting its level's term before its end (3 years for
    普通会员, 1 for 专业会员), not the day the row was written."""
    term = {"普通会员": 3, "专业会员": 1}

    def add(s):
        add_member(
            s,
            MemberSeed(
                "林晓东",
                make_resident_id("44010619880303777"),
                world.unit_id,
                memberships={"普通会员": date(2027, 5, 1), "专业会员": date(2027, 2, 1)},
            ),
            term,
        )
        s.commit()

    in_db(app, add)
    reply = client.get(f"/api/v1/units/{world.unit_id}/members?q=林晓东", headers=login("unit"))
    (item,) = reply.get_json()["items"]
    assert item["joined_on"] == "2024-05-01"  # 普通会员 2024-05-01 – 2027-05-01
    starts = in_db(
        app,
        lambda s: dict(
            s.execute(
                select(Membership.level, Membership.valid_from)
                .join(Member, Member.id == Membership.member_id)
                .where(Member.name == "林晓东")
            ).all()
        ),
    )
    assert starts == {"普通会员": date(2024, 5, 1), "专业会员": date(2026, 2, 1)}


def test_the_archive_sorts_by_joining_or_by_the_membership_that_ends_first(
    client, login, world, people
):
    unit, url = login("unit"), f"/api/v1/units/{world.unit_id}/members?page_size=3"

    def order(sort: str, page: int = 1) -> list[str]:
        reply = client.get(f"{url}&sort={sort}&page={page}", headers=unit)
        assert reply.status_code == 200, reply.get_json()
        return [i["name"] for i in reply.get_json()["items"]]

    # 入会日期, the latest first: the three seeded today, then 何美玲 and 周建国 of 2025
    assert order("joined") == ["差一天", "整四十", "冯老伯"]
    assert order("joined", 2) == ["何美玲", "周建国"]
    # 普通会籍有效期, the earliest first, ties by the archive's order
    assert order("ordinary_until") == ["何美玲", "周建国", "冯老伯"]
    assert order("ordinary_until", 2) == ["整四十", "差一天"]
    # 专业会籍有效期: the one who holds it, then those without
    assert order("professional_until")[0] == "何美玲"
    assert order("archive") == ["周建国", "何美玲", "冯老伯"]
    wrong = client.get(f"{url}&sort=age", headers=unit)
    assert wrong.status_code == 422 and "sort" in wrong.get_json()["errors"], wrong.get_json()
    # the export in the list's order (the page's 导出 sends its sort), the API's and the page's
    export = f"/api/v1/units/{world.unit_id}/members/export.xlsx"
    for sort in ("joined", "ordinary_until"):
        listed = order(sort) + order(sort, 2)
        reply = client.get(f"{export}?sort={sort}", headers=unit, buffered=True)  # streamed
        sheet = load_workbook(BytesIO(reply.data)).worksheets[0]
        column = [c.value for c in next(sheet.iter_rows(max_row=1))].index("姓名")
        assert [r[column] for r in sheet.iter_rows(min_row=2, values_only=True)] == listed, sort
    assert client.get(f"{export}?sort=age", headers=unit).status_code == 422
