"""A member on a form listing several persons (a unit's enrolment of two of its staff) reads
the form — its number, status, approval record and bill — but of its persons only their own
line in full: the others by name with the ID number masked, without their materials, whose
files answer 404. The unit and the reviewers read every line, as before."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from conftest import PASSWORD, in_db, member_headers, upload
from conftest import step_task as step
from openpyxl import load_workbook

from service.domain.masking import mask_id_number
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

APPROVE = {"decision": "approve"}
MEMBERSHIP = {"普通会员": date(2030, 6, 30)}
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


def seed(app, unit_id: int, name: str, prefix: str) -> str:
    number = make_resident_id(prefix)
    in_db(
        app,
        lambda s: (
            add_member(s, MemberSeed(name, number, unit_id, memberships=MEMBERSHIP)),
            s.commit(),
        ),
    )
    return number


def line(client, headers, number: str, name: str) -> dict:
    return {
        "id_number": number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "diploma": upload(client, headers),
        "social_insurance": upload(client, headers),
        "verification": upload(client, headers),
    }


@pytest.fixture
def shared(app, client, login, world) -> dict:
    """普通会员初始教育 for 何美玲 (first line, so the form is listed under her) and 周建国,
    reviewed to 待缴费 (its bill lists both)."""
    unit = login("unit")
    b = line(client, unit, seed(app, world.unit_id, "何美玲", "44010619850505234"), "何美玲")
    a = line(client, unit, seed(app, world.unit_id, "周建国", "44010619800101123"), "周建国")
    reply = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={"data": {"pledge": upload(client, unit), "persons": [b, a]}},
    )
    assert reply.status_code == 201, reply.get_json()
    form = reply.get_json()
    step(client, login("agency"), form["id"], APPROVE)
    assert step(client, login("association"), form["id"], APPROVE)["status"] == "待缴费"
    return {"form": form, "a": a, "b": b}


def status(client, url: str, headers: dict | None = None) -> int:
    """The status of a GET whose body (a file, streamed) is closed at once."""
    with client.get(url, headers=headers) as reply:
        return reply.status_code


def files_of(person: dict) -> list[str]:
    return [person[k] for k in ("diploma", "social_insurance", "verification")]


def test_a_member_reads_their_own_line_of_a_shared_form_and_the_others_by_name(
    client, login, shared
):
    form, a, b = shared["form"], shared["a"], shared["b"]
    member = member_headers(client, a["id_number"])

    reply = client.get(f"/api/v1/instances/{form['id']}", headers=member)
    assert reply.status_code == 200, reply.get_json()
    view = reply.get_json()
    assert b["id_number"] not in reply.get_data(as_text=True)
    assert not set(files_of(b)) & set(re.findall(r"[0-9a-f]{32}", reply.get_data(as_text=True)))
    masked = {"name": "何美玲", "id_number": mask_id_number(b["id_number"])}
    assert view["data"]["persons"] == [masked, a]
    assert view["data"]["fee_lines"][0] == masked
    assert view["data"]["fee_lines"][1]["id_number"] == a["id_number"]
    assert view["bill"]["lines"][0] == masked and view["bill"]["amount"] == "120.00"
    assert view["subject_id_number"] == mask_id_number(b["id_number"])
    assert [r["task_title"] for r in view["approval_record"]] == [
        "发起申请",
        "机构初审",
        "协会初审",
    ]

    listed = client.get("/api/v1/instances", headers=member)
    assert b["id_number"] not in listed.get_data(as_text=True)
    assert listed.get_json()["items"][0]["subject_id_number"] == mask_id_number(b["id_number"])

    for file_id in files_of(b):
        assert status(client, f"/api/v1/files/{file_id}", member) == 404
    for file_id in files_of(a):
        assert status(client, f"/api/v1/files/{file_id}", member) == 200

    # the 报名表 export of the member's forms: their own line only
    exported = client.get(
        "/api/v1/enrolments/export.xlsx", headers=member, buffered=True
    )  # a streamed file, read and closed as a WSGI server does
    assert exported.status_code == 200
    sheet = load_workbook(io.BytesIO(exported.data)).worksheets[0]
    cells = {str(c.value) for row in sheet.iter_rows() for c in row}
    assert b["id_number"] not in cells and a["id_number"] in cells


def test_the_unit_and_the_reviewers_still_read_every_line_and_file(client, login, shared):
    form, a, b = shared["form"], shared["a"], shared["b"]
    for who in ("unit", "agency", "association", "finance"):
        view = client.get(f"/api/v1/instances/{form['id']}", headers=login(who)).get_json()
        assert view["data"]["persons"] == [b, a], who
        assert view["bill"]["lines"][0]["id_number"] == b["id_number"], who
        assert view["subject_id_number"] == b["id_number"], who
        for file_id in files_of(a) + files_of(b):
            assert status(client, f"/api/v1/files/{file_id}", login(who)) == 200


def sign_in(client, username: str) -> None:
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    reply = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert reply.status_code == 302, reply.get_data(as_text=True)[:300]


def test_the_form_page_shows_a_member_their_line_and_hides_the_others_files(
    app, client, world, shared
):
    form, a, b = shared["form"], shared["a"], shared["b"]
    member_headers(client, a["id_number"])  # the member's password is now PASSWORD
    sign_in(client, a["id_number"])

    reply = client.get(f"/forms/{form['id']}")
    assert reply.status_code == 200
    page = reply.get_data(as_text=True)
    assert form["business_key"] in page and "待缴费" in page and "协会初审" in page
    assert a["id_number"] in page and "周建国" in page
    assert b["id_number"] not in page
    assert "何美玲" in page and mask_id_number(b["id_number"]) in page
    # what the archive says beside each person (性别, 年龄, 最高学历, 是否首次): of their own
    persons = page[page.index("报名人员（") : page.index("h-materials")]  # not the bill's lines
    rows = {
        name: re.sub(r"<[^>]+>|\s+", " ", row)
        for row in re.findall(r"<tr>(.*?)</tr>", persons, re.S)
        for name in ("周建国", "何美玲")
        if f">{name}<" in row
    }
    assert " 男 " in rows["周建国"] and " 是 " in rows["周建国"]
    assert " 女 " not in rows["何美玲"] and " 是 " not in rows["何美玲"]
    for file_id in files_of(a):
        assert f"/files/{file_id}/view" in page
    for file_id in files_of(b):
        assert file_id not in page
        for path in ("", "/view", "/thumb.png", "/pages/1.png"):
            assert status(client, f"/files/{file_id}{path}") == 404, path
    assert status(client, f"/files/{a['diploma']}/view") == 200

    listed = client.get("/forms").get_data(as_text=True)
    assert form["business_key"] in listed and b["id_number"] not in listed

    unit = app.test_client()
    sign_in(unit, world.unit_name)
    page = unit.get(f"/forms/{form['id']}").get_data(as_text=True)
    assert a["id_number"] in page and b["id_number"] in page
    for file_id in files_of(a) + files_of(b):
        assert f"/files/{file_id}/view" in page
        assert status(unit, f"/files/{file_id}/view") == 200
