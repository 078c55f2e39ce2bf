"""A unit the secretariat has disabled (停用: every administrator's account) takes no join
applications through its codes: the applicant scanning its QR code is told so (410, the
page too), no file is kept and no form is made, which would wait at 单位预审 for a unit
that cannot sign in. Enabled again, the same code takes applications. SQLite, PostgreSQL."""

from __future__ import annotations

import io

from conftest import applicant_data, in_db, png_bytes
from sqlalchemy import func, select

from service.db.models import ProcessInstance, StoredFile
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.services.membership import directory
from service.services.membership.join_codes import UNIT_DISABLED

API = "/api/v1"
MATERIALS = ("photo", "id_front", "id_back", "diploma", "diploma_verification")


def _set_active(app, unit_id: int, active: bool) -> None:
    def change(session):
        with UnitOfWork(session) as uow:
            directory.set_unit_active(uow, Actor(1, "admin", "secretariat_admin"), unit_id, active)

    in_db(app, change)


def _count(app, model) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(model)))


def _upload(client, code: str):
    body = {"file": (io.BytesIO(png_bytes()), "a.png")}
    return client.post(f"{API}/join-codes/{code}/files", data=body)


def test_a_disabled_unit_s_code_takes_no_application(app, client, login, world):
    unit = login("unit")
    code = client.post(
        f"{API}/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    ).get_json()["code"]
    data = applicant_data(client, unit)
    for name in MATERIALS:
        data[name] = _upload(client, code).get_json()["id"]
    files = _count(app, StoredFile)

    _set_active(app, world.unit_id, False)
    for reply in (
        client.get(f"{API}/join-codes/{code}"),
        client.get(f"{API}/join-codes/{code}/qr.png"),
        _upload(client, code),
        client.post(f"{API}/join-codes/{code}/applications", json={"data": data}),
    ):
        assert reply.status_code == 410, reply.get_data(as_text=True)[:300]
        assert reply.get_json()["message"] == UNIT_DISABLED
    page = client.get(f"/join/{code}")
    assert page.status_code == 410 and UNIT_DISABLED in page.get_data(as_text=True)
    assert (_count(app, ProcessInstance), _count(app, StoredFile)) == (0, files)

    _set_active(app, world.unit_id, True)
    assert client.get(f"{API}/join-codes/{code}").status_code == 200
    applied = client.post(f"{API}/join-codes/{code}/applications", json={"data": data})
    assert applied.status_code == 201, applied.get_json()
    assert _count(app, ProcessInstance) == 1
