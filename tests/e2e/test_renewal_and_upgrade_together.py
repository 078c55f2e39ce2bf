"""延续 and 员升师 run together (FAQ 3.7), and either learning may pass first. A renewal passed
before the upgrade was cut short by it (the engineer certificate took a fresh term, months
shorter than the renewed one); one passed after it changed nothing (the 监理员 certificate it
renews had been replaced) and said nothing. Either way the person now keeps the later of the
two expiries, on the certificate that is current."""

from __future__ import annotations

from datetime import date

import pypdfium2 as pdfium
import pytest
from test_other_education_api import TODAY, approve, certificates, enrol, record, seed, supervisor

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

RENEWED = date(2030, 2, 28)  # three years on from the 监理员 certificate's 2027-02-28
FRESH = date(2029, 11, 27)  # an engineer certificate issued today


def _both(app, client, login, world) -> tuple[str, dict, dict]:
    n = seed(app, world.unit_id, "袁梦", "44010619900101678", [supervisor(date(2027, 2, 28))])
    me = [(n, "袁梦")]
    renewal = enrol(client, login("unit"), "continuing_education", me, certificate_type="监理员")
    upgrade = enrol(client, login("unit"), "upgrade_education", me)
    approve(app, client, login, renewal["id"], "60.00")
    approve(app, client, login, upgrade["id"], "100.00")
    return n, renewal, upgrade


def _passed(client, login, n: str, form: dict, hours: int) -> None:
    row = {"id_number": n, "name": "袁梦", "completed_hours": hours, "exam_status": "已通过"}
    row.update(exam_attempts=1, business_key=form["business_key"])
    reply = client.post(
        "/api/v1/learning-records", headers=login("association"), json={"records": [row]}
    )
    assert reply.status_code == 200 and reply.get_json()["passed"] == 1, reply.get_json()


def test_a_renewal_passed_first_is_kept_by_the_upgrade(app, client, login, world):
    n, renewal, upgrade = _both(app, client, login, world)
    _passed(client, login, n, renewal, 24)
    assert certificates(app, n)["监理员"]["valid_until"] == RENEWED
    _passed(client, login, n, upgrade, 8)
    held = certificates(app, n)
    assert held["监理员"]["status"] == "upgraded"
    assert (held["专业监理工程师"]["status"], held["专业监理工程师"]["valid_until"]) == (
        "valid",
        RENEWED,
    )


def test_a_renewal_passed_after_the_upgrade_renews_the_engineer_certificate(
    app, client, login, world
):
    n, renewal, upgrade = _both(app, client, login, world)
    _passed(client, login, n, upgrade, 8)
    assert certificates(app, n)["专业监理工程师"]["valid_until"] == FRESH
    _passed(client, login, n, renewal, 24)
    engineer = certificates(app, n)["专业监理工程师"]
    assert (engineer["valid_until"], engineer["renewed_on"]) == (RENEWED, TODAY)


def test_an_upgrade_alone_still_takes_a_fresh_term(app, client, login, world):
    n = seed(app, world.unit_id, "冯建平", "44010619850505345", [supervisor()])  # to 2028-12-31
    upgrade = enrol(client, login("unit"), "upgrade_education", [(n, "冯建平")])
    approve(app, client, login, upgrade["id"], "100.00")
    record(client, login, [(n, "冯建平", 8, "已通过", 1)])
    assert certificates(app, n)["专业监理工程师"]["valid_until"] == FRESH


def test_a_renewal_is_shown_wherever_the_certificate_is_read(app, client, login, world):
    """A renewed certificate read as one issued for six years: 发证日期 2024, 有效期至 2030."""
    n = seed(app, world.unit_id, "蔡文华", "44010619800101123", [supervisor(date(2027, 2, 28))])
    renewal = enrol(
        client, login("unit"), "continuing_education", [(n, "蔡文华")], certificate_type="监理员"
    )
    approve(app, client, login, renewal["id"], "60.00")
    record(client, login, [(n, "蔡文华", 24, "已通过", 1)])
    number = certificates(app, n)["监理员"]["number"]

    (found,) = client.get(
        "/api/v1/public/certificates", query_string={"number": number}
    ).get_json()["items"]
    assert (found["renewed_on"], found["valid_until"]) == (TODAY.isoformat(), RENEWED.isoformat())
    page = client.get("/lookup", query_string={"number": number}).get_data(as_text=True)
    assert f"<tr><th>最近延续</th><td>{TODAY.isoformat()}</td></tr>" in page
    pdf = client.get(f"/api/v1/public/certificates/{number}/document.pdf")
    document = pdfium.PdfDocument(pdf.data)
    try:
        text = "".join(document[0].get_textpage().get_text_range().split())
    finally:
        document.close()
    assert "有效期至：2030年02月28日（2026年11月28日延续）" in text
