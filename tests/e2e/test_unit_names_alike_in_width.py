"""A unit's name is its login, and a sign-in takes a name whatever its width: so a new unit,
a secretary's rename and a unit's own 单位名称变更 are refused a name that differs from
another unit's only in width (某（集团） beside 某(集团)), saying which; a unit may still be
renamed to its own name in other brackets. Two secretaries creating the two spellings at
once make one unit (threads, PostgreSQL)."""

from __future__ import annotations

import io

import pytest
from conftest import PASSWORD, in_db, race, seed_world, token_headers, upload
from legacy_workbook import person, unit_of, workbook
from sqlalchemy import func, select
from test_pages_http import csrf, sign_in
from test_signin_widths import FULL, HALF, add_unit

from service.db.models import Account, Unit
from service.domain.validation import make_credit_code

CLOCK = pytest.mark.usefixtures("pinned_clock")  # the business day (not for the race)
ALIKE = f"该单位名称已注册（或已被用作登录名）（已有“{FULL}”，仅全角/半角不同）"


def unit_body(world, name: str, code: str = "91441400123456789") -> dict:
    return {
        "name": name,
        "credit_code": make_credit_code(code),
        "agency_id": world.agency_id,
        "password": PASSWORD,
    }


def units(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(Unit)))


@CLOCK
def test_a_new_unit_alike_in_width_to_another_is_refused_saying_which(app, client, world, login):
    admin = login("admin")
    made = client.post("/api/v1/units", headers=admin, json=unit_body(world, FULL))
    assert made.status_code == 201, made.get_json()
    before = units(app)
    for typed in (HALF, "广东华南（集团)工程监理有限公司"):
        reply = client.post(
            "/api/v1/units", headers=admin, json=unit_body(world, typed, "91441400123456797")
        )
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["errors"] == {"name": ALIKE}
    assert units(app) == before  # nothing saved
    exact = client.post(
        "/api/v1/units", headers=admin, json=unit_body(world, FULL, "91441400123456797")
    )
    assert exact.get_json()["errors"] == {"name": "该单位名称已注册（或已被用作登录名）"}


@CLOCK
def test_a_secretary_s_rename_is_refused_a_name_alike_another_s_but_not_its_own(app, client, world):
    add_unit(app, world, FULL, "91440101190468351")
    half = add_unit(app, world, "佛山新城监理(集团)有限公司", "91440604123456789")
    sign_in(client, "admin")
    form = {
        "credit_code": make_credit_code("91440604123456789"),
        "agency_id": str(world.agency_id),
        "member_unit": "1",
    }
    path = f"/admin/units/{half}"
    taken = client.post(path, data={**form, "name": HALF, "csrf_token": csrf(client, path)})
    assert taken.status_code == 422
    assert f"已有“{FULL}”，仅全角/半角不同" in taken.get_data(as_text=True)
    own = "佛山新城监理（集团）有限公司"  # its own name, its brackets corrected
    saved = client.post(path, data={**form, "name": own, "csrf_token": csrf(client, path)})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:300]
    login = in_db(app, lambda s: s.scalar(select(Account.username).where(Account.unit_id == half)))
    assert login == own


@CLOCK
def test_a_rename_form_is_refused_a_name_alike_another_unit_s(app, client, world, login):
    add_unit(app, world, FULL, "91440101190468351")
    unit = login("unit")
    reply = client.post(
        "/api/v1/processes/unit_name_change/instances",
        headers=unit,
        json={"data": {"new_name": HALF, "business_licence": upload(client, unit)}},
    )
    assert reply.status_code == 422, reply.get_json()
    assert "已被其他单位使用" in "；".join(reply.get_json()["errors"]["eligibility"])


def test_two_spellings_created_at_once_make_one_unit(pg_app):
    world = seed_world(pg_app)
    admin = token_headers(pg_app.test_client(), "admin")
    names = [FULL, HALF, FULL.replace("（", "("), HALF.replace(")", "）")]
    codes = ["91441400123456789", "91441400123456797", "91441400123456800", "91441400123456818"]

    def create(i: int) -> int:
        body = unit_body(world, names[i], codes[i])
        return pg_app.test_client().post("/api/v1/units", headers=admin, json=body).status_code

    assert sorted(race(4, create)) == [201, 422, 422, 422]
    alike = in_db(
        pg_app,
        lambda s: s.scalar(select(func.count()).select_from(Unit).where(Unit.name.in_(names))),
    )
    assert alike == 1


def test_the_legacy_import_takes_names_alike_in_width_as_one(app, client, world, login):
    add_unit(app, world, FULL, "91440101190468351")
    full_code = make_credit_code("91440101190468351")
    rows = [
        # the unit by its credit code, its name in other brackets: the same unit
        person(1, **{"所在工作单位": HALF, "统一社会信用代码": full_code}),
        # another credit code under the name alike: the name is the other unit's
        person(2, **{"所在工作单位": HALF, "统一社会信用代码": unit_of(7)[1]}),
        # two new units of the file whose names differ only in width
        person(
            3, **{"所在工作单位": "佛山新城监理(集团)有限公司", "统一社会信用代码": unit_of(8)[1]}
        ),
        person(
            4, **{"所在工作单位": "佛山新城监理（集团）有限公司", "统一社会信用代码": unit_of(9)[1]}
        ),
    ]
    reply = client.post(
        "/api/v1/legacy-imports?dry_run=true",
        headers=login("admin"),
        data={"file": (io.BytesIO(workbook(rows)), "单位人员档案导出表.xlsx")},
    )
    by_row = {r["row"]: r for r in reply.get_json()["rows"]}
    assert by_row[2]["valid"], by_row[2]
    assert by_row[3]["problems"][0]["column"] == "所在工作单位", by_row[3]
    assert f"已是统一社会信用代码为{full_code}的单位" in by_row[3]["problems"][0]["reason"]
    assert by_row[4]["valid"], by_row[4]
    assert by_row[5]["problems"][0]["column"] == "所在工作单位", by_row[5]
    assert f"已是统一社会信用代码为{unit_of(8)[1]}的单位" in by_row[5]["problems"][0]["reason"]


@CLOCK
def test_a_rename_to_a_name_with_a_private_use_character_says_why(client, login, world):
    unit = login("unit")
    for ch in ("\ue000", "\U000f0001"):  # a rare character's old code, BMP and plane 15
        reply = client.post(
            "/api/v1/processes/unit_name_change/instances",
            headers=unit,
            json={
                "data": {
                    "new_name": f"广州{ch}工程监理有限公司",
                    "business_licence": upload(client, unit),
                }
            },
        )
        assert reply.status_code == 422, reply.get_json()
        assert "私用区编码" in reply.get_json()["errors"]["new_name"], reply.get_json()
    emoji = client.post(
        "/api/v1/processes/unit_name_change/instances",
        headers=unit,
        json={
            "data": {"new_name": "广州😀工程监理有限公司", "business_licence": upload(client, unit)}
        },
    )
    assert emoji.get_json()["errors"]["new_name"].startswith("新单位名称只能包含")
