"""暂存: a unit saves a start form half-filled (留存), finds it again, finishes and submits it,
or deletes it. Submitting checks everything and removes the draft in the same transaction;
a refused submission keeps it. SQLite and PostgreSQL."""

from __future__ import annotations

import re

from conftest import PASSWORD, applicant_data, token_headers

from service.services.workflow.drafts import MAX_DRAFTS

API = "/api/v1"


def test_a_unit_saves_finishes_and_submits_a_draft(client, login, world):
    unit = login("unit")
    saved = client.post(
        f"{API}/processes/member_join/drafts", headers=unit, json={"data": {"name": "陈志强"}}
    )
    assert saved.status_code == 201, saved.get_json()
    draft = saved.get_json()
    assert (draft["status"], draft["summary"], draft["process_name"]) == (
        "暂存",
        "陈志强",
        "个人会员入会申请",
    )
    assert draft["data"] == {"name": "陈志强"} and draft["version"] == 1

    # a sub-account of the same unit shares it; another unit never sees it
    made = client.post(
        f"{API}/units/{world.unit_id}/accounts",
        headers=unit,
        json={"name": "张敏", "mobile": "13800138000", "password": PASSWORD},
    )
    assert made.status_code == 201, made.get_json()
    sub = token_headers(client, "13800138000")
    listed = client.get(f"{API}/drafts", headers=sub).get_json()
    assert listed["total"] == 1 and "data" not in listed["items"][0]
    other = login("other_unit")
    assert client.get(f"{API}/drafts", headers=other).get_json()["total"] == 0
    assert client.get(f"{API}/drafts/{draft['id']}", headers=other).status_code == 404
    assert client.delete(f"{API}/drafts/{draft['id']}", headers=other).status_code == 404

    # submitting it half-filled is refused with the fields, and the draft stays
    refused = client.post(f"{API}/drafts/{draft['id']}/submit", headers=unit, json={"version": 1})
    assert refused.status_code == 422
    assert "id_number" in refused.get_json()["errors"]
    assert client.get(f"{API}/drafts/{draft['id']}", headers=unit).status_code == 200

    full = applicant_data(client, unit)
    again = client.put(
        f"{API}/drafts/{draft['id']}", headers=sub, json={"data": full, "version": 1}
    )
    assert again.status_code == 200 and again.get_json()["data"] == full
    assert again.get_json()["version"] == 2
    submitted = client.post(f"{API}/drafts/{draft['id']}/submit", headers=unit, json={"version": 2})
    assert submitted.status_code == 201, submitted.get_json()
    assert submitted.get_json()["status"] == "单位预审中"
    assert client.get(f"{API}/drafts/{draft['id']}", headers=unit).status_code == 404
    assert client.get(f"{API}/drafts", headers=unit).get_json()["total"] == 0


def test_a_draft_is_deleted_and_bad_drafts_are_refused(client, login, world):
    unit = login("unit")
    draft = client.post(
        f"{API}/processes/initial_education/drafts",
        headers=unit,
        json={"data": {"persons": [{"name": "黄伟明"}, {"name": "陈嘉欣"}]}},
    ).get_json()
    assert draft["summary"] == "黄伟明、陈嘉欣"
    assert client.delete(f"{API}/drafts/{draft['id']}", headers=unit).status_code == 204
    assert client.get(f"{API}/drafts/{draft['id']}", headers=unit).status_code == 404
    assert client.delete(f"{API}/drafts/{draft['id']}", headers=unit).status_code == 404

    not_object = client.post(
        f"{API}/processes/member_join/drafts", headers=unit, json={"data": ["x"]}
    )
    assert not_object.status_code == 422 and "data" in not_object.get_json()["errors"]
    huge = client.post(
        f"{API}/processes/member_join/drafts",
        headers=unit,
        json={"data": {"address": "广" * 100_000}},
    )
    assert huge.status_code == 422
    assert "不能超过256KB" in huge.get_json()["errors"]["data"]
    unknown = client.post(f"{API}/processes/no_such/drafts", headers=unit, json={"data": {}})
    assert unknown.status_code == 404
    staff = client.post(
        f"{API}/processes/member_join/drafts", headers=login("agency"), json={"data": {}}
    )
    assert staff.status_code == 403
    assert client.get(f"{API}/drafts", headers=unit).get_json()["total"] == 0


def test_a_unit_keeps_at_most_fifty_drafts(client, login, world):
    unit = login("unit")
    for i in range(MAX_DRAFTS):
        made = client.post(
            f"{API}/processes/member_join/drafts", headers=unit, json={"data": {"name": f"人{i}"}}
        )
        assert made.status_code == 201
    full = client.post(
        f"{API}/processes/member_join/drafts", headers=unit, json={"data": {"name": "再一个"}}
    )
    assert full.status_code == 409
    assert full.get_json()["message"] == "暂存表单已达50份，请先提交或删除不需要的暂存表单"
    listed = client.get(f"{API}/drafts?page_size=5", headers=unit).get_json()
    assert listed["total"] == MAX_DRAFTS and listed["items"][0]["summary"] == f"人{MAX_DRAFTS - 1}"


def test_the_unit_keeps_and_finishes_a_draft_on_its_pages(app, world):
    from test_account_pages_http import csrf, sign_in, text

    page = app.test_client()
    sign_in(page, world.unit_name)
    form = "/business/member_join/form"
    assert "留存" in text(page.get(form))
    kept = page.post(
        form, data={"name": "陈志强", "action": "draft", "csrf_token": csrf(page, form)}
    )
    assert kept.status_code == 302 and kept.headers["Location"].endswith("/business/drafts")
    listed = text(page.get("/business/drafts"))
    assert "已留存：个人会员入会申请" in listed and "陈志强" in listed and "暂存" in listed
    draft_url = listed.split('href="/business/drafts/')[1].split('"')[0]
    opened = text(page.get(f"/business/drafts/{draft_url}"))
    assert 'value="陈志强"' in opened and 'name="draft_id"' in opened
    # 我的业务's status panel counts it first (UI.md), linking to the drafts
    panel = text(page.get("/forms"))
    assert '<a href="/business/drafts"><span>暂存</span><span class="n">1</span></a>' in panel

    # 提交 a half-filled draft: the form again with its errors, the draft kept
    refused = page.post(
        form,
        data={
            "name": "陈志强",
            "draft_id": draft_url,
            "action": "submit",
            "csrf_token": csrf(page, f"/business/drafts/{draft_url}"),
        },
    )
    assert refused.status_code == 422
    assert 'name="draft_id"' in text(refused)
    assert "陈志强" in text(page.get("/business/drafts"))

    token = csrf(page, "/business/drafts")
    gone = page.post(f"/business/drafts/{draft_url}/delete", data={"csrf_token": token})
    assert gone.status_code == 302
    assert "暂无暂存表单" in text(page.get("/business/drafts"))
    assert '<span>暂存</span><span class="n">0</span>' in text(page.get("/forms"))
    assert page.get(f"/business/drafts/{draft_url}").status_code == 404
    # 删除 again from a list left open: said so, back on the list
    again = page.post(f"/business/drafts/{draft_url}/delete", data={"csrf_token": token})
    assert again.status_code == 302
    assert "该暂存表单已被删除或已提交" in text(page.get("/business/drafts"))


def _draft_ids(page) -> list[str]:
    from test_account_pages_http import text

    listed = text(page.get("/business/drafts"))
    return [part.split('"')[0] for part in listed.split('href="/business/drafts/')[1:]]


def _keep(page, key: str, fields: dict, draft: str | None = None, version: str | None = None):
    from test_account_pages_http import csrf

    form = f"/business/{key}/form"
    data = {**fields, "action": "draft", "csrf_token": csrf(page, form)}
    if draft:
        data.update(draft_id=draft, draft_version=version or "")
    return page.post(form, data=data)


def test_a_page_left_open_on_a_deleted_draft_never_saves_over_another(app, world):
    """A deleted draft's id is never given again (SQLite: AUTOINCREMENT), and a page of one
    business never saves or submits a draft of another: refused, the typed values kept."""
    from test_account_pages_http import csrf, sign_in, text

    page = app.test_client()
    sign_in(page, world.unit_name)
    assert _keep(page, "member_join", {"name": "冯佩珊"}).status_code == 302
    [first] = _draft_ids(page)
    page.post(f"/business/drafts/{first}/delete", data={"csrf_token": csrf(page)})
    assert _keep(page, "member_join", {"name": "邓丽华"}).status_code == 302
    [second] = _draft_ids(page)
    assert int(second) > int(first)

    # the first page, still open, saves again: the draft it showed is gone, nothing else moves
    stale = _keep(page, "member_join", {"name": "冯佩珊改"}, draft=first, version="1")
    assert stale.status_code == 409
    assert "该暂存表单已被删除或已提交" in text(stale) and 'value="冯佩珊改"' in text(stale)
    assert "另存为新的暂存表单" in text(stale)
    # a page of another business addressing the draft by id is refused the same way
    other = _keep(page, "unit_name_change", {"name": "别的业务"}, draft=second, version="1")
    assert other.status_code == 409 and "该暂存表单已被删除或已提交" in text(other)
    submit = page.post(
        "/business/unit_name_change/form",
        data={"draft_id": second, "action": "submit", "csrf_token": csrf(page)},
    )
    assert submit.status_code == 409 and "该暂存表单已被删除或已提交" in text(submit)
    opened = text(page.get(f"/business/drafts/{second}"))
    assert 'value="邓丽华"' in opened
    # 另存为新的暂存表单 keeps the stale page's values as a draft of its own
    kept = page.post(
        "/business/member_join/form",
        data={"name": "冯佩珊改", "action": "draft_new", "csrf_token": csrf(page)},
    )
    assert kept.status_code == 302 and len(_draft_ids(page)) == 2


def test_a_draft_saved_meanwhile_or_submitted_is_not_overwritten(app, client, login, world):
    """The same draft open twice: the older page's 留存 is refused with who saved when, its
    values kept; once decided, the same button saves. After the draft was submitted, the
    page names the form it became."""
    from test_account_pages_http import csrf, sign_in, text

    page = app.test_client()
    sign_in(page, world.unit_name)
    assert _keep(page, "member_join", {"name": "陈志强"}).status_code == 302
    [draft] = _draft_ids(page)
    assert 'name="draft_version" value="1"' in text(page.get(f"/business/drafts/{draft}"))
    assert _keep(page, "member_join", {"name": "第二个标签页"}, draft, "1").status_code == 302
    stale = _keep(page, "member_join", {"name": "第一个标签页"}, draft, "1")
    assert stale.status_code == 409
    body = text(stale)
    assert "再次留存" in body and "本页的修改尚未保存" in body
    from datetime import timedelta

    from conftest import in_db

    from service.db.models import Draft

    saved = in_db(app, lambda s: s.get(Draft, int(draft)).updated_at) + timedelta(hours=8)
    assert f"已于 {saved:%Y-%m-%d %H:%M} 由 {world.unit_name} 再次留存" in body  # Beijing time
    assert 'value="第一个标签页"' in body and 'name="draft_version" value="2"' in body
    assert 'value="第二个标签页"' in text(page.get(f"/business/drafts/{draft}"))
    assert _keep(page, "member_join", {"name": "第一个标签页"}, draft, "2").status_code == 302
    assert 'value="第一个标签页"' in text(page.get(f"/business/drafts/{draft}"))

    # submitted in another tab: the old page's 留存 names the form, keeps its values
    full = applicant_data(client, login("unit"))
    unit = login("unit")
    put = client.put(f"{API}/drafts/{draft}", headers=unit, json={"data": full, "version": 3})
    assert put.status_code == 200
    submitted = client.post(f"{API}/drafts/{draft}/submit", headers=unit, json={"version": 4})
    assert submitted.status_code == 201, submitted.get_json()
    number = submitted.get_json()["business_key"]
    late = _keep(page, "member_join", {"name": "第一个标签页"}, draft, "4")
    assert late.status_code == 409
    assert "该暂存表单已提交，单号：" in text(late) and number in text(late)
    assert 'value="第一个标签页"' in text(late) and "另存为新的暂存表单" in text(late)
    again = page.post(
        "/business/member_join/form",
        data={
            "draft_id": draft,
            "draft_version": "4",
            "action": "submit",
            "csrf_token": csrf(page),
        },
    )
    assert again.status_code == 409 and number in text(again)
    assert _draft_ids(page) == []


def test_a_stale_api_write_never_overwrites_a_newer_draft(app, client, login, world):
    """Two clients read the same draft (version 1); the second's 再次留存 wins, and the first's
    PUT or 提交 based on version 1 is refused with 409 naming who saved it when — nothing
    changed; a PUT or 提交 without the version is refused at that field."""
    from datetime import timedelta

    from conftest import in_db

    from service.db.models import Draft, ProcessInstance

    unit = login("unit")
    made = client.post(
        f"{API}/units/{world.unit_id}/accounts",
        headers=unit,
        json={"name": "张敏", "mobile": "13800138000", "password": PASSWORD},
    )
    assert made.status_code == 201, made.get_json()
    sub = token_headers(client, "13800138000")
    draft = client.post(
        f"{API}/processes/member_join/drafts", headers=unit, json={"data": {"name": "陈志强"}}
    ).get_json()
    path = f"{API}/drafts/{draft['id']}"
    read = client.get(path, headers=unit).get_json()
    assert read["version"] == 1
    full = applicant_data(client, sub)
    newer = client.put(path, headers=sub, json={"data": full, "version": 1})
    assert newer.status_code == 200 and newer.get_json()["version"] == 2

    stale = client.put(path, headers=unit, json={"data": {"name": "旧内容"}, "version": 1})
    assert stale.status_code == 409, stale.get_json()
    body = stale.get_json()
    saved = in_db(app, lambda s: s.get(Draft, draft["id"]).updated_at) + timedelta(hours=8)
    assert body["message"].startswith(f"该暂存表单已于 {saved:%Y-%m-%d %H:%M} 由 张敏 再次留存")
    assert "第2版" in body["errors"]["version"]
    late = client.post(f"{path}/submit", headers=unit, json={"data": {"name": "旧"}, "version": 1})
    assert late.status_code == 409 and "由 张敏 再次留存" in late.get_json()["message"]
    as_stored = client.post(f"{path}/submit", headers=unit, json={"version": 1})
    assert as_stored.status_code == 409
    ahead = client.put(path, headers=unit, json={"data": {"name": "新"}, "version": 6})
    assert ahead.status_code == 409, ahead.get_json()  # a version it never had: no one saved
    assert ahead.get_json()["message"] == "版本号有误：暂存表单现为第2版，请重新打开后再修改或提交"
    kept = client.get(path, headers=unit).get_json()
    assert (kept["data"], kept["version"]) == (full, 2)  # nothing overwritten
    assert in_db(app, lambda s: s.query(ProcessInstance).count()) == 0

    for bad in ({"data": full}, {"data": full, "version": "二"}, {"data": full, "version": 0}):
        refused = client.put(path, headers=unit, json=bad)
        assert refused.status_code == 422 and "version" in refused.get_json()["errors"]
    unversioned = client.post(f"{path}/submit", headers=unit, json={})
    assert unversioned.status_code == 422 and "version" in unversioned.get_json()["errors"]
    assert client.get(path, headers=unit).get_json()["version"] == 2

    # decided on the newer one: the same request with its version goes through
    submitted = client.post(f"{path}/submit", headers=unit, json={"version": 2})
    assert submitted.status_code == 201, submitted.get_json()
    assert client.get(path, headers=unit).status_code == 404


def test_a_new_forms_page_kept_twice_is_one_draft(app, client, login, world):
    """Back on a new form's page and 留存 again (or a double click): the page's key names the
    draft it made, which is saved again — never a second draft. Once that draft was
    submitted, the page's 留存 is refused and names the form."""
    from test_account_pages_http import csrf, sign_in, text

    page = app.test_client()
    sign_in(page, world.unit_name)
    form = "/business/member_join/form"
    key = re.search(r'name="idempotency_key" value="([^"]+)"', text(page.get(form))).group(1)

    def keep(name: str):
        data = {"name": name, "action": "draft", "idempotency_key": key}
        return page.post(form, data={**data, "csrf_token": csrf(page, form)})

    assert keep("梁志远").status_code == 302
    assert keep("梁志远").status_code == 302  # the same again
    assert keep("梁志远改").status_code == 302  # Back, changed, 留存 again
    [draft] = _draft_ids(page)
    assert 'value="梁志远改"' in text(page.get(f"/business/drafts/{draft}"))

    unit = login("unit")
    full = applicant_data(client, unit)
    put = client.put(f"{API}/drafts/{draft}", headers=unit, json={"data": full, "version": 3})
    assert put.status_code == 200, put.get_json()  # version 3: made, then saved twice again
    submitted = client.post(f"{API}/drafts/{draft}/submit", headers=unit, json={"version": 4})
    assert submitted.status_code == 201, submitted.get_json()
    late = keep("梁志远再改")
    assert late.status_code == 409
    shown = text(late)
    assert "本页的内容已留存为暂存表单，并已提交" in shown
    assert submitted.get_json()["business_key"] in shown and 'value="梁志远再改"' in shown
    assert _draft_ids(page) == []


def test_the_api_keeps_one_draft_per_idempotency_key(client, login, world):
    unit = login("unit")
    path = f"{API}/processes/member_join/drafts"
    first = client.post(path, headers={**unit, "Idempotency-Key": "k-1"}, json={"data": {}})
    again = client.post(
        path, headers={**unit, "Idempotency-Key": "k-1"}, json={"data": {"name": "陈志强"}}
    )
    other = client.post(path, headers={**unit, "Idempotency-Key": "k-2"}, json={"data": {}})
    assert first.status_code == again.status_code == other.status_code == 201
    assert again.get_json()["id"] == first.get_json()["id"] != other.get_json()["id"]
    assert again.get_json()["version"] == 2 and again.get_json()["data"] == {"name": "陈志强"}
    assert client.get(f"{API}/drafts", headers=unit).get_json()["total"] == 2

    # a colleague saves that draft meanwhile: the key's send again is refused, says who
    made = client.post(
        f"{API}/units/{world.unit_id}/accounts",
        headers=unit,
        json={"name": "张敏", "mobile": "13800138000", "password": PASSWORD},
    )
    assert made.status_code == 201, made.get_json()
    sub = token_headers(client, "13800138000")
    draft = f"{API}/drafts/{first.get_json()['id']}"
    newer = client.put(draft, headers=sub, json={"data": {"name": "张敏改"}, "version": 2})
    assert newer.status_code == 200, newer.get_json()
    late = client.post(
        path, headers={**unit, "Idempotency-Key": "k-1"}, json={"data": {"name": "旧"}}
    )
    assert late.status_code == 409 and "由 张敏 再次留存" in late.get_json()["message"]
    assert client.get(draft, headers=unit).get_json()["data"] == {"name": "张敏改"}

    # keys alike in their first 64 characters are two pages, not one
    long_ids = [
        client.post(
            path, headers={**unit, "Idempotency-Key": "a" * 64 + tail}, json={"data": {}}
        ).get_json()["id"]
        for tail in ("X", "Y")
    ]
    assert long_ids[0] != long_ids[1]
    # a key of a member_join page sent for another business: said so, nothing touched
    other = client.post(
        f"{API}/processes/unit_name_change/drafts",
        headers={**unit, "Idempotency-Key": "k-2"},
        json={"data": {"new_name": "别的"}},
    )
    assert other.status_code == 409 and "已用于另一种业务" in other.get_json()["message"]
