"""A task whose form was withdrawn by the unit or terminated by the secretariat is said so
— on its page, in the flash after 认领, and in the API's refusal — never "已办结".
SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import applicant_data
from test_member_join_api import open_task


def _started(client, unit) -> dict:
    data = applicant_data(client, unit)
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def test_a_withdrawn_or_terminated_form_is_never_called_done(app, client, login, world):
    from test_account_pages_http import csrf, sign_in, text

    unit, admin = login("unit"), login("admin")
    terminated = _started(client, unit)
    task = open_task(client, unit, terminated["id"])
    url = f"/api/v1/instances/{terminated['id']}/terminate"
    assert client.post(url, headers=admin, json={"reason": "申请人放弃入会"}).status_code == 200
    said = "该表单已被秘书处终止（原因：申请人放弃入会），无需办理"
    page = app.test_client()
    sign_in(page, world.unit_name)
    shown = text(page.get(f"/workbench/tasks/{task['id']}"))
    assert said in shown and "已办结" not in shown
    claimed = page.post(
        f"/workbench/tasks/{task['id']}/claim",
        data={"csrf_token": csrf(page, f"/workbench/tasks/{task['id']}")},
        follow_redirects=True,
    )
    assert said in text(claimed)
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=unit, json={"data": {}})
    assert done.status_code == 409 and done.get_json()["message"] == said

    withdrawn = _started(client, unit)
    task = open_task(client, unit, withdrawn["id"])
    reply = client.post(f"/api/v1/instances/{withdrawn['id']}/withdraw", headers=unit, json={})
    assert reply.status_code == 200, reply.get_json()
    shown = text(page.get(f"/workbench/tasks/{task['id']}"))
    assert "该表单已由单位撤回，无需办理" in shown and "已办结" not in shown
    claim = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=unit)
    assert claim.status_code == 409
    assert claim.get_json()["message"] == "该表单已由单位撤回，无需办理"
