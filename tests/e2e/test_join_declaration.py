"""入会声明 (manual 2.1.1: 拥护本会章程、自愿加入、遵守职业道德、从事工程建设监理及相关服务):
the join form asks it as a required box, declared in `forms/member_join/start.schema.json`.
A start without it is refused at `declaration`, nothing made; ticked, it is kept with the
form and shown to the reviewers; a draft saved before it existed still opens and is
submitted once ticked. SQLite and PostgreSQL."""

from __future__ import annotations

import io

from conftest import applicant_data, in_db, png_bytes
from sqlalchemy import func, select
from test_member_join_api import approve_to_end, start_join

from service.db.models import ProcessInstance

API = "/api/v1"
WORDS = "申请人拥护本会章程、有自愿加入本会意愿、遵守职业道德，从事工程建设监理及相关服务业务"
TICK = f"请勾选入会声明：{WORDS}"  # the same whether the box came unticked or not at all


def _properties(node):
    """Every `properties` of a schema and of its allOf parts (the declaration is drawn last)."""
    yield node.get("properties") or {}
    for part in node.get("allOf") or []:
        yield from _properties(part)


def _count(app) -> int:
    return in_db(app, lambda s: s.scalar(select(func.count()).select_from(ProcessInstance)))


def test_a_join_without_the_declaration_is_refused_at_its_field(app, client, login, world):
    unit = login("unit")
    code = client.post(
        f"{API}/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    ).get_json()["code"]
    data = applicant_data(client, unit)
    for k in ("photo", "id_front", "id_back", "diploma", "diploma_verification"):
        data[k] = client.post(
            f"{API}/join-codes/{code}/files",
            data={"file": (io.BytesIO(png_bytes()), "a.png")},
        ).get_json()["id"]
    for declared in ({}, {"declaration": False}, {"declaration": "是"}):
        body = {k: v for k, v in data.items() if k != "declaration"} | declared
        refused = client.post(f"{API}/join-codes/{code}/applications", json={"data": body})
        assert refused.status_code == 422, refused.get_json()
        errors = refused.get_json()["errors"]
        assert errors == {"declaration": TICK}, errors
        by_unit = client.post(
            f"{API}/processes/member_join/instances", headers=unit, json={"data": body}
        )
        assert by_unit.status_code == 422 and by_unit.get_json()["errors"] == errors
    assert _count(app) == 0

    schema = client.get(f"{API}/processes/member_join", headers=unit).get_json()["start_form"]
    assert "declaration" in schema["required"]
    declared = [p["declaration"] for p in _properties(schema) if "declaration" in p]
    assert [d["title"] for d in declared] == [WORDS]
    assert [d["description"] for d in declared] == ["请阅读并勾选入会声明后提交。"]


def test_the_declaration_is_kept_with_the_form_and_shown_to_reviewers(app, client, login):
    from test_account_pages_http import sign_in, text

    inst = start_join(client, login)
    view = client.get(f"{API}/instances/{inst['id']}", headers=login("unit")).get_json()
    assert view["data"]["declaration"] is True
    approve_to_end(client, login, inst["id"], stop_at="agency_review")
    task = client.get(f"{API}/instances/{inst['id']}", headers=login("agency")).get_json()
    task_id = task["open_tasks"][0]["id"]
    page = app.test_client()
    sign_in(page, "jigou")  # the agency's reviewer (机构初审)
    shown = text(page.get(f"/workbench/tasks/{task_id}"))
    assert WORDS in shown


def test_a_draft_saved_before_the_declaration_is_submitted_once_ticked(app, client, login):
    unit = login("unit")
    old = applicant_data(client, unit)
    del old["declaration"]  # as a draft saved before the box existed
    draft = client.post(
        f"{API}/processes/member_join/drafts", headers=unit, json={"data": old}
    ).get_json()
    path = f"{API}/drafts/{draft['id']}"
    assert client.get(path, headers=unit).get_json()["data"] == old
    refused = client.post(f"{path}/submit", headers=unit, json={"version": 1})
    assert refused.status_code == 422
    assert list(refused.get_json()["errors"]) == ["declaration"]
    assert client.get(path, headers=unit).status_code == 200  # kept
    ticked = {**old, "declaration": True}
    submitted = client.post(f"{path}/submit", headers=unit, json={"data": ticked, "version": 1})
    assert submitted.status_code == 201, submitted.get_json()
