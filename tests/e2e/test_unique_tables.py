"""An eligibility table with hit policy UNIQUE (the README allows it) gives one reason, a
string: the preview, the unit's list and the refusal at start say it whole, never one
character per line. SQLite and PostgreSQL."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from conftest import app_on_design, seed_world, start_form, token_headers, upload
from test_education_api import seed

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def unique(db_url, tmp_path):
    """The repository's files with two eligibility tables made UNIQUE."""
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    for table in ("continuing_education", "member_info_change"):
        dmn = design / "rules" / f"{table}_eligibility.dmn"
        text = dmn.read_text(encoding="utf-8")
        dmn.write_text(text.replace('hitPolicy="COLLECT"', 'hitPolicy="UNIQUE"'), "utf-8")
    app = app_on_design(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    return app, client, token_headers(client, world.logins["unit"]), world


def test_a_unique_tables_reason_is_said_whole(unique):
    app, client, unit, world = unique
    n = seed(app, world.unit_id, "陈立新", "44010619800101123")
    line = {"id_number": n, "name": "陈立新", "certificate_type": "监理员"}
    reply = client.post(
        "/api/v1/processes/continuing_education/preview",
        headers=unit,
        json={"data": {"persons": [line]}},
    )
    assert reply.status_code == 200, reply.get_json()
    [item] = reply.get_json()["items"]
    assert item["eligible"] is False
    assert item["reasons"] == ["未持有有效的监理员证书，不能办理继续教育"]
    listed = client.get(
        f"/api/v1/units/{world.unit_id}/eligibility?process=continuing_education"
        "&certificate_type=监理员",
        headers=unit,
    ).get_json()
    [person] = [p for p in listed["items"] if p["id_number"] == n]
    assert person["reasons"] == ["未持有有效的监理员证书，不能办理继续教育"]

    # a one-person form refused at start: the reason whole too
    v = seed(app, world.unit_id, "钱有为", "44010619750505345", violation_note="2025年挂证违规")
    data = {
        "changes": {"mobile": "13912345678"},
        "diploma_scan": upload(client, unit),
        "id_number": v,
        "name": "钱有为",
    }
    body = start_form(client, unit, "member_info_change", data, 422)
    assert body["errors"] == {"eligibility": ["该人员有违规记录，不能办理信息变更"]}, body
