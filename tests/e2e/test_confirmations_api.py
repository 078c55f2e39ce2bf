"""QR confirmations over HTTP (transfer, resignation, ID photos), on both databases."""

from __future__ import annotations

import io
from datetime import date, datetime

import pytest
import zxingcpp
from conftest import in_db, member_headers, pdf_bytes, step_task, upload
from conftest import start_form as start
from PIL import Image
from sqlalchemy import select

from service.db.models import (
    Account,
    AuditRecord,
    Certificate,
    ConfirmationCode,
    Member,
    ProcessInstance,
)
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

API = "/api/v1"
NEXT_YEAR = date(2027, 6, 30)
APPROVE = {"decision": "approve", "remark": "同意"}

pytestmark = pytest.mark.usefixtures("pinned_clock")


def seed(app, unit_id, name, prefix, **kwargs) -> tuple[str, int]:
    """A member with an ordinary membership; (ID number, member id)."""
    id_number = make_resident_id(prefix)
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})
    kwargs.setdefault("mobile", "13800001111")

    def add(s):
        member = add_member(s, MemberSeed(name, id_number, unit_id, **kwargs))
        s.commit()
        return member.id

    return id_number, in_db(app, add)


def as_member(client, id_number) -> dict:
    return member_headers(client, id_number)


def new_code(client, headers, path, expect=201) -> dict:
    reply = client.post(f"{API}{path}", headers=headers)
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def transfer_code(client, headers, unit_id, expect=(200, 201)) -> dict:
    """The unit's transfer code (201 the first time, 200 the same code after)."""
    reply = client.post(f"{API}/units/{unit_id}/transfer-codes", headers=headers)
    assert reply.status_code in expect, reply.get_json()
    return reply.get_json()


def person_code(client, headers, unit_id, member_id, kind="resignation") -> dict:
    return new_code(client, headers, f"/units/{unit_id}/members/{member_id}/{kind}-codes")


def confirm(client, headers, code, body=None, expect=200) -> dict:
    reply = client.post(f"{API}/confirmations/{code}/confirm", headers=headers, json=body or {})
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


def state(app, member_id) -> dict:
    """The member's unit, agency, login scope, mobile and ID photos, as stored."""

    def read(s):
        m = s.get(Member, member_id)
        login = s.scalars(select(Account).where(Account.member_id == member_id)).one()
        return {
            "unit_id": m.unit_id,
            "agency_id": m.agency_id,
            "login_unit_id": login.unit_id,
            "status": m.status,
            "mobile": m.mobile,
            "photos": (m.id_front_file_id, m.id_back_file_id),
        }

    return in_db(app, read)


def confirm_audits(app) -> list[tuple]:
    def read(s):
        rows = s.scalars(
            select(AuditRecord).where(AuditRecord.action == "confirm").order_by(AuditRecord.id)
        )
        return [(r.instance_id, r.actor_name, r.detail) for r in rows]

    return in_db(app, read)


def code_used(app, code_id) -> bool:
    return in_db(app, lambda s: s.get(ConfirmationCode, code_id).used_at is not None)


def only_code_id(app) -> int:
    return in_db(app, lambda s: s.scalars(select(ConfirmationCode.id)).one())


# --- transfer -----------------------------------------------------------------------------


def test_the_units_transfer_code_moves_each_person_who_consents(app, client, login, world):
    n, member_id = seed(app, world.other_unit_id, "郑晓东", "44010619820202123")
    code = transfer_code(client, login("unit"), world.unit_id)
    assert (code["kind"], code["unit_name"], code["member_id"]) == (
        "transfer",
        world.unit_name,
        None,
    )
    assert code["expires_on"] == "2027-11-28"  # one year, as the manual shows
    assert code["url"].endswith(f"/confirm/{code['code']}")

    shown = client.get(f"{API}/confirmations/{code['code']}")  # public: shown before sign-in
    assert shown.status_code == 200, shown.get_json()
    assert world.unit_name in shown.get_json()["prompt"]

    member = as_member(client, n)
    reply = client.post(f"{API}/confirmations/{code['code']}/confirm", headers=member)
    assert reply.status_code == 200, reply.get_json()  # no body needed
    done = reply.get_json()
    assert (done["kind"], done["unit_id"], done["unit_name"]) == (
        "transfer",
        world.unit_id,
        world.unit_name,
    )
    after = state(app, member_id)
    assert (after["unit_id"], after["agency_id"], after["login_unit_id"]) == (
        world.unit_id,
        world.agency_id,
        world.unit_id,
    )
    [(instance_id, actor_name, detail)] = confirm_audits(app)
    assert instance_id is None and actor_name == "郑晓东"
    assert detail["kind"] == "transfer" and detail["code_id"] == only_code_id(app)
    assert (detail["from_unit_id"], detail["to_unit_id"]) == (world.other_unit_id, world.unit_id)

    again = confirm(client, member, code["code"], expect=409)
    assert "无需变更单位" in again["message"]
    assert len(confirm_audits(app)) == 1

    # the manual's code: one per unit, a year, for every person who joins
    same = transfer_code(client, login("unit"), world.unit_id, expect=(200,))
    assert same["code"] == code["code"] and same["expires_on"] == "2027-11-28"
    n2, second = seed(app, world.other_unit_id, "何家豪", "44010619840404456")
    confirm(client, as_member(client, n2), code["code"])
    assert state(app, second)["unit_id"] == world.unit_id
    assert not code_used(app, only_code_id(app))  # still there for the next person

    # renewed: the old code stops working at once, the new one is the unit's code
    renewed = client.post(
        f"{API}/units/{world.unit_id}/transfer-codes?renew=true", headers=login("unit")
    )
    assert renewed.status_code == 201 and renewed.get_json()["code"] != code["code"]
    n3, third = seed(app, world.other_unit_id, "黎志文", "44010619850505567")
    old = confirm(client, as_member(client, n3), code["code"], expect=410)
    assert old["message"] == "二维码已过期，请向单位索取新的二维码"
    confirm(client, as_member(client, n3), renewed.get_json()["code"])
    assert state(app, third)["unit_id"] == world.unit_id


def test_a_transfer_into_the_persons_own_unit_is_refused(app, client, login, world):
    n, member_id = seed(app, world.unit_id, "韩立新", "44010619830303234")
    code = transfer_code(client, login("unit"), world.unit_id)
    body = confirm(client, as_member(client, n), code["code"], expect=409)
    assert world.unit_name in body["message"] and "无需变更单位" in body["message"]
    assert not code_used(app, only_code_id(app)) and confirm_audits(app) == []


def test_the_qr_image_decodes_to_the_confirmation_page(client, login, world):
    code = transfer_code(client, login("unit"), world.unit_id)
    qr = client.get(f"{API}/confirmations/{code['code']}/qr.png")
    assert qr.status_code == 200 and qr.mimetype == "image/png"
    decoded = zxingcpp.read_barcodes(Image.open(io.BytesIO(qr.data)).convert("L"))
    assert [d.text for d in decoded] == [code["url"]]
    assert code["url"].startswith("http") and "/confirm/" in code["url"]


# --- resignation --------------------------------------------------------------------------


def test_a_resignation_code_lets_the_person_leave_the_unit(app, client, login, world):
    cert = CertificateSeed("监理员", "JL2024000077", date(2028, 12, 31))
    n, member_id = seed(app, world.unit_id, "曹文静", "44010619870707345", certificates=[cert])
    unit = login("unit")
    code = person_code(client, unit, world.unit_id, member_id)
    assert code["kind"] == "resignation" and code["member_id"] == member_id
    assert code["person_name"] == "曹**" and code["person_id_number"] == "*" * 14 + n[-4:]

    member = as_member(client, n)
    done = confirm(client, member, code["code"])
    assert (done["unit_id"], done["unit_name"]) == (None, None) and "离职" in done["message"]
    after = state(app, member_id)
    assert (after["unit_id"], after["login_unit_id"], after["status"]) == (None, None, "自由态")
    assert after["agency_id"] == world.agency_id  # keeps its initial-review agency
    printed = in_db(app, lambda s: s.scalars(select(Certificate.unit_name)).one())
    assert printed == world.unit_name  # the certificate keeps the printed unit name
    [(_, _, detail)] = confirm_audits(app)
    assert (detail["kind"], detail["from_unit_id"], detail["to_unit_id"]) == (
        "resignation",
        world.unit_id,
        None,
    )
    assert confirm(client, member, code["code"], expect=410)["message"] == "二维码已使用"
    # no longer the unit's member: the unit cannot make codes for the person
    new_code(client, unit, f"/units/{world.unit_id}/members/{member_id}/resignation-codes", 404)


def test_another_members_code_is_not_found_and_stays_usable(app, client, login, world):
    n, member_id = seed(app, world.unit_id, "卢志明", "44010619880808456")
    other, _ = seed(app, world.unit_id, "田雨桐", "44010619890909567")
    code = person_code(client, login("unit"), world.unit_id, member_id)
    assert confirm(client, as_member(client, other), code["code"], expect=404)["message"]
    assert state(app, member_id)["unit_id"] == world.unit_id
    assert not code_used(app, only_code_id(app))
    confirm(client, as_member(client, n), code["code"])
    assert state(app, member_id)["unit_id"] is None


# --- ID photo supplement ------------------------------------------------------------------


def test_the_member_supplements_id_photos_and_the_mobile(app, client, login, world):
    n, member_id = seed(app, world.unit_id, "严国栋", "44010619900101678")
    code = person_code(client, login("unit"), world.unit_id, member_id, "id-photo")
    assert code["kind"] == "id_photos"
    member = as_member(client, n)
    front, back = upload(client, member), upload(client, member, name="back.png")
    body = {"id_front_file_id": front, "id_back_file_id": back, "mobile": "+86 139-1234-5678"}
    done = confirm(client, member, code["code"], body)
    assert done["kind"] == "id_photos" and done["unit_id"] == world.unit_id
    after = state(app, member_id)
    assert (after["photos"], after["mobile"]) == ((front, back), "13912345678")
    assert after["unit_id"] == world.unit_id
    [(_, _, detail)] = confirm_audits(app)
    assert (detail["kind"], detail["id_front_file_id"], detail["mobile"]) == (
        "id_photos",
        front,
        "13912345678",
    )
    assert confirm(client, member, code["code"], body, expect=410)["message"] == "二维码已使用"


def test_bad_id_photo_bodies_name_the_field_and_change_nothing(app, client, login, world):
    n, member_id = seed(app, world.unit_id, "童佳琪", "44010619910202789")
    unit = login("unit")
    code = person_code(client, unit, world.unit_id, member_id, "id-photo")["code"]
    member = as_member(client, n)
    front, back = upload(client, member), upload(client, member, name="back.png")
    pdf = upload(client, member, pdf_bytes(), name="id.pdf")
    units_file = upload(client, unit)
    good = {"id_front_file_id": front, "id_back_file_id": back, "mobile": "13912345678"}
    cases = [
        ({**good, "id_front_file_id": None}, "id_front_file_id"),
        ({k: v for k, v in good.items() if k != "id_back_file_id"}, "id_back_file_id"),
        ({**good, "id_back_file_id": pdf}, "id_back_file_id"),
        ({**good, "id_front_file_id": "0" * 32}, "id_front_file_id"),
        ({**good, "id_front_file_id": units_file}, "id_front_file_id"),
        ({**good, "id_back_file_id": front}, "id_back_file_id"),
        ({**good, "mobile": "12345678901"}, "mobile"),
        ({k: v for k, v in good.items() if k != "mobile"}, "mobile"),
        ({**good, "colour": "red"}, "colour"),
    ]
    before = state(app, member_id)
    for body, field in cases:
        reply = confirm(client, member, code, body, expect=422)
        assert field in reply["errors"], (body, reply)
        assert reply["message"]
    assert "JPG" in confirm(client, member, code, cases[2][0], 422)["errors"]["id_back_file_id"]
    assert state(app, member_id) == before
    assert not code_used(app, only_code_id(app)) and confirm_audits(app) == []
    confirm(client, member, code, good)  # the code was never spent
    assert state(app, member_id)["photos"] == (front, back)


# --- codes that cannot be used ------------------------------------------------------------


def test_an_expired_code_answers_410(app, client, login, world):
    n, member_id = seed(app, world.other_unit_id, "龚海峰", "44010619920303891")
    made = transfer_code(client, login("unit"), world.unit_id)  # at 12:00 in Beijing
    code = made["code"]
    assert made["expires_on"] == "2027-11-28"
    # it works the whole of the day it says, not only to the hour it was made: the next
    # day in Beijing (16:00 UTC) it has expired
    app.extensions["memberflow"].clock = lambda: datetime(2027, 11, 28, 16, 0, 0)
    expired = "二维码已过期，请向单位索取新的二维码"
    assert confirm(client, as_member(client, n), code, expect=410)["message"] == expired
    assert client.get(f"{API}/confirmations/{code}").get_json()["message"] == expired
    assert client.get(f"{API}/confirmations/{code}/qr.png").status_code == 410
    assert state(app, member_id)["unit_id"] == world.other_unit_id
    app.extensions["memberflow"].clock = lambda: datetime(2027, 11, 28, 15, 59, 58)
    confirm(client, as_member(client, n), code)  # at 23:59:58 that day it still works


def test_a_forged_code_is_not_found(app, client, login, world):
    n, member_id = seed(app, world.other_unit_id, "邵一鸣", "44010619930404912")
    code = transfer_code(client, login("unit"), world.unit_id)["code"]
    member = as_member(client, n)
    join = client.post(
        f"{API}/units/{world.unit_id}/join-codes", headers=login("unit"), json={"variant": "full"}
    ).get_json()["code"]  # a genuine join code is no confirmation code (other salt)
    for forged in (code[:-3] + ("abc" if not code.endswith("abc") else "xyz"), "nonsense", join):
        assert confirm(client, member, forged, expect=404)["message"]
        assert client.get(f"{API}/confirmations/{forged}").status_code == 404
        assert client.get(f"{API}/confirmations/{forged}/qr.png").status_code == 404
    assert state(app, member_id)["unit_id"] == world.other_unit_id


def test_only_a_signed_in_member_can_confirm(app, client, login, world):
    code = transfer_code(client, login("unit"), world.unit_id)["code"]
    reply = client.post(f"{API}/confirmations/{code}/confirm", json={})
    assert reply.status_code == 401
    assert confirm(client, login("other_unit"), code, expect=403)["message"]
    assert not code_used(app, only_code_id(app))


def test_codes_are_made_only_by_the_units_own_admins(app, client, login, world):
    _, member_id = seed(app, world.unit_id, "贺志远", "44010619940505134")
    _, theirs = seed(app, world.other_unit_id, "薛冰", "44010619950606245")
    other = login("other_unit")
    for kind in ("resignation", "id-photo"):
        path = f"/members/{member_id}/{kind}-codes"
        new_code(client, other, f"/units/{world.unit_id}{path}", 404)
        new_code(client, other, f"/units/{world.other_unit_id}{path}", 404)
        new_code(
            client, login("unit"), f"/units/{world.unit_id}/members/{theirs}/{kind}-codes", 404
        )
        new_code(client, login("agency"), f"/units/{world.unit_id}{path}", 404)
    new_code(client, other, f"/units/{world.unit_id}/transfer-codes", 404)
    new_code(client, login("association"), f"/units/{world.unit_id}/transfer-codes", 404)
    new_code(client, login("unit"), f"/units/{world.unit_id}/members/999999/resignation-codes", 404)
    assert in_db(app, lambda s: s.scalars(select(ConfirmationCode)).all()) == []


# --- business in flight -------------------------------------------------------------------


def enrol(client, headers, id_number, name) -> dict:
    """An initial-education form listing the person (机构初审中)."""
    line = {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        **{k: upload(client, headers) for k in ("diploma", "social_insurance", "verification")},
    }
    return start(
        client,
        headers,
        "initial_education",
        {"pledge": upload(client, headers), "persons": [line]},
    )


def assert_refused(app, client, member, code, action) -> None:
    body = confirm(client, member, code, expect=409)
    assert body["message"] == (
        f"该人员有在途业务（普通会员初始教育），暂不能办理{action}，请办结后再扫码"
    ), body
    assert confirm_audits(app) == []


def test_a_person_with_a_form_under_review_can_neither_transfer_nor_resign(
    app, client, login, world
):
    n, member_id = seed(app, world.unit_id, "蒋文博", "44010619800101123")
    enrol(client, login("unit"), n, "蒋文博")
    member = as_member(client, n)
    transfer = transfer_code(client, login("other_unit"), world.other_unit_id)["code"]
    resign = person_code(client, login("unit"), world.unit_id, member_id)["code"]
    assert_refused(app, client, member, transfer, "调动")
    assert_refused(app, client, member, resign, "离职")
    assert state(app, member_id)["unit_id"] == world.unit_id
    assert in_db(app, lambda s: s.scalars(select(ConfirmationCode.used_at)).all()) == [None, None]


def test_an_unpaid_bill_and_open_learning_refuse_a_transfer(app, client, login, world):
    n, member_id = seed(app, world.unit_id, "任佳慧", "44010619850505234")
    unit = login("unit")
    inst = enrol(client, unit, n, "任佳慧")
    step_task(client, login("agency"), inst["id"], APPROVE)
    assert step_task(client, login("association"), inst["id"], APPROVE)["status"] == "待缴费"
    member = as_member(client, n)
    transfer = transfer_code(client, login("other_unit"), world.other_unit_id)["code"]
    assert_refused(app, client, member, transfer, "调动")  # the bill is unpaid

    step_task(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    finance = {"decision": "approve", "receipt_number": "FP1", "receipt_date": "2026-11-28"}
    step_task(client, login("finance"), inst["id"], finance)
    waiting = in_db(app, lambda s: s.get(ProcessInstance, inst["id"]).finished)
    assert waiting is False  # no task open: the person is learning
    assert_refused(app, client, member, transfer, "调动")
    assert state(app, member_id)["unit_id"] == world.unit_id
    assert not code_used(app, only_code_id(app))


def test_a_returned_form_still_blocks_a_transfer(app, client, login, world):
    n, member_id = seed(app, world.unit_id, "万思远", "44010619860606345")
    inst = enrol(client, login("unit"), n, "万思远")
    returned = step_task(
        client, login("agency"), inst["id"], {"decision": "return", "remark": "补材料"}
    )
    assert returned["status"] == "退回"  # waits for the unit to resubmit: still in flight
    transfer = transfer_code(client, login("other_unit"), world.other_unit_id)["code"]
    assert_refused(app, client, as_member(client, n), transfer, "调动")
    assert state(app, member_id)["unit_id"] == world.unit_id
