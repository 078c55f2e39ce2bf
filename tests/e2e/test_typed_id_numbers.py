"""ID numbers, mobiles and names as people type them with a Chinese input method: full-width
digits (４４０１…, Ｘ), spaces inside and around (the ideographic U+3000 too). They are
accepted, and the clean value is what is stored, looked up and compared."""

from __future__ import annotations

import io
from datetime import date

from conftest import in_db, upload
from legacy_workbook import person as legacy_person
from legacy_workbook import workbook
from sqlalchemy import select

from service.db import db
from service.db.models import InstancePerson, Member, ProcessInstance
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

FULL_WIDTH = str.maketrans("0123456789X", "０１２３４５６７８９ｘ")


def typed(number: str) -> str:
    """The number as a Chinese input method types it: full-width, in groups, padded."""
    wide = number.translate(FULL_WIDTH)
    return f"\u3000{wide[:6]} {wide[6:14]}\u3000{wide[14:]} "


def seed(app, unit_id: int, name: str, prefix: str) -> str:
    id_number = make_resident_id(prefix)
    with app.app_context():
        add_member(
            db.session,
            MemberSeed(
                name=name,
                id_number=id_number,
                unit_id=unit_id,
                memberships={"普通会员": date(2027, 6, 30)},
            ),
        )
        db.session.commit()
        db.session.remove()
    return id_number


def person(client, headers, id_number, name) -> dict:
    return {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "diploma": upload(client, headers),
        "social_insurance": upload(client, headers),
        "verification": upload(client, headers),
    }


def test_an_enrolment_typed_full_width_is_kept_clean_and_found_by_the_typed_number(
    app, client, login, world
):
    unit = login("unit")
    ids = (make_resident_id(f"44010619800101{n:03d}") for n in range(1000))
    a = next(n for n in ids if n.endswith("X"))  # its check character typed as ｘ
    seed(app, world.unit_id, "刘志强", a[:17])
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/members", query_string={"q": typed(a)}, headers=unit
    )
    assert listed.status_code == 200, listed.get_json()
    assert [item["name"] for item in listed.get_json()["items"]] == ["刘志强"]

    started = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={
            "data": {
                "pledge": upload(client, unit),
                "persons": [person(client, unit, typed(a), " 刘 志强\u3000")],
            }
        },
    )
    assert started.status_code == 201, started.get_json()

    def stored(session):
        inst = session.scalars(select(ProcessInstance)).one()
        line = session.scalars(select(InstancePerson)).one()
        return inst.subject_id_number, inst.subject_name, line.id_number, line.name

    assert in_db(app, stored) == (a, "刘志强", a, "刘志强")
    found = client.get("/api/v1/instances", query_string={"q": typed(a)}, headers=unit).get_json()
    assert [i["id"] for i in found["items"]] == [started.get_json()["id"]]


def test_the_legacy_import_keeps_typed_values_clean_and_reports_a_refused_one_as_typed(
    app, client, login
):
    good, bad = legacy_person(1), legacy_person(2)
    rows = [
        {
            **good,
            "身份证号": typed(good["身份证号"]),
            "姓名": " 刘 志强 ",
            "手机号": "１３８ ００００ ０００１",
        },
        {
            **bad,
            "身份证号": typed(bad["身份证号"][:-1] + "0" if bad["身份证号"][-1] != "0" else "1"),
        },
    ]
    reply = client.post(
        "/api/v1/legacy-imports?dry_run=true",
        headers=login("admin"),
        data={"file": (io.BytesIO(workbook(rows)), "单位人员档案导出表.xlsx")},
    )
    assert reply.status_code == 200, reply.get_json()
    by_row = {r["row"]: r for r in reply.get_json()["rows"]}
    assert by_row[2]["valid"] and by_row[2]["id_number"] == good["身份证号"]
    assert by_row[2]["name"] == "刘志强"
    assert not by_row[3]["valid"] and by_row[3]["id_number"] == rows[1]["身份证号"].strip()

    reply = client.post(
        "/api/v1/legacy-imports",
        headers=login("admin"),
        data={"file": (io.BytesIO(workbook(rows[:1])), "单位人员档案导出表.xlsx")},
    )
    assert reply.status_code == 200, reply.get_json()

    def stored(session):
        return session.execute(select(Member.id_number, Member.name, Member.mobile)).one()

    assert tuple(in_db(app, stored)) == (good["身份证号"], "刘志强", "13800000001")


def test_a_certificate_number_typed_full_width_or_in_groups_finds_the_certificate(
    app, client, login, world
):
    number = make_resident_id("44010619800101246")
    with app.app_context():
        certificates = [
            CertificateSeed("监理员", "JL2026000123", date(2029, 6, 30)),
            CertificateSeed("安全监理员", "aq 2019 07", date(2029, 6, 30)),  # imported as typed
        ]
        seed = MemberSeed("刘志强", number, world.unit_id, certificates=certificates)
        add_member(db.session, seed)
        db.session.commit()
        db.session.remove()
    unit = login("unit")
    for q in ("ＪＬ２０２６ ０００１２３", "\u3000jl2026000123 ", "JL2026000123", " aq 2019 07 "):
        reply = client.get("/api/v1/certificates", query_string={"q": q}, headers=unit)
        assert reply.status_code == 200, reply.get_json()
        found = [item["number"] for item in reply.get_json()["items"]]
        assert found == (["aq 2019 07"] if "aq" in q else ["JL2026000123"]), q
