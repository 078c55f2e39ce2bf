"""Certificates, bills and the specialty dictionary over HTTP, each in its caller's scope."""

from __future__ import annotations

from datetime import date, timedelta

from test_education_api import seed

from service.services.membership.roster import CertificateSeed


def test_a_unit_lists_its_members_certificates_with_their_status(app, client, login, world):
    today = date.today()
    seed(
        app,
        world.unit_id,
        "周建国",
        "44010619800101123",
        certificates=[
            CertificateSeed("监理员", "JL2023000001", today + timedelta(days=100)),
            CertificateSeed("安全监理员", "AQ2020000001", today - timedelta(days=3)),
        ],
    )
    seed(
        app,
        world.other_unit_id,
        "别单位",
        "44010619850505234",
        certificates=[CertificateSeed("监理员", "JL2023000002", today + timedelta(days=100))],
    )
    mine = client.get("/api/v1/certificates", headers=login("unit")).get_json()
    assert {(c["number"], c["status_label"]) for c in mine["items"]} == {
        ("JL2023000001", "有效"),
        ("AQ2020000001", "已过期"),
    }
    found = client.get("/api/v1/certificates?q=JL2023000001", headers=login("unit")).get_json()
    assert found["total"] == 1
    everyone = client.get("/api/v1/certificates", headers=login("association")).get_json()
    assert everyone["total"] == 3
    assert client.get("/api/v1/certificates", headers=login("agency")).status_code == 404


def test_the_secretariat_edits_the_specialty_dictionary(client, login):
    listed = client.get("/api/v1/specialties", headers=login("unit")).get_json()["items"]
    assert len(listed) == 14 and listed[0]["name"] == "房屋建筑工程"
    added = client.post(
        "/api/v1/specialties", headers=login("admin"), json={"name": "园林绿化工程"}
    )
    assert added.status_code == 201, added.get_json()
    again = client.post(
        "/api/v1/specialties", headers=login("admin"), json={"name": "园林绿化工程"}
    )
    assert again.status_code == 409
    by_unit = client.post("/api/v1/specialties", headers=login("unit"), json={"name": "其他"})
    assert by_unit.status_code == 404
    retired = client.patch(
        f"/api/v1/specialties/{added.get_json()['id']}",
        headers=login("admin"),
        json={"active": False},
    )
    assert retired.status_code == 200 and retired.get_json()["active"] is False
    listed = client.get("/api/v1/specialties", headers=login("unit")).get_json()["items"]
    names = [s["name"] for s in listed]
    assert "园林绿化工程" not in names and len(names) == 14
