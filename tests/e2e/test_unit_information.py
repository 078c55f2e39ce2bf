"""单位信息 (manual 3.15): a unit's admins keep its 工商信息 and qualifications (资质); each
wrong field is named and a refused change changes nothing; other units never see it.
API and pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import re

from test_account_pages_http import csrf, sign_in, text

API = "/api/v1"
REGISTRATION = {
    "former_name": "珠海易立方软件有限公司",
    "founded_on": "2013-03-05",
    "registered_capital": "550万人民币",
    "registration_status": "存续",
    "registration_authority": "珠海市市场监督管理局",
    "approved_on": "2023-11-01",
    "industry": "软件和信息技术服务业",
    "staff_size": 2,
    "address": "珠海市高新区唐家湾镇软件园",
    "business_scope": "工程监理；工程管理服务",
}
QUALIFICATIONS = [
    {
        "category": "住建监理资质",
        "name": "房屋建筑工程监理",
        "grade": "甲级",
        "number": "E144012345",
        "issuer": "广东省住房和城乡建设厅",
        "valid_until": "2028-06-30",
    },
    {"category": "其他资质", "name": "造价咨询"},
]


def test_a_unit_keeps_its_registration_and_qualifications(client, login, world):
    url = f"{API}/units/{world.unit_id}/information"
    empty = client.get(url, headers=login("unit"))
    assert empty.status_code == 200
    assert empty.get_json()["registration"] == {} and empty.get_json()["qualifications"] == []
    saved = client.put(
        url,
        headers=login("unit"),
        json={"registration": REGISTRATION, "qualifications": QUALIFICATIONS},
    )
    assert saved.status_code == 200, saved.get_json()
    body = saved.get_json()
    assert body["registration"] == REGISTRATION
    assert body["qualifications"] == QUALIFICATIONS
    assert body["name"] == world.unit_name  # the name is not edited here
    assert client.get(url, headers=login("unit")).get_json()["qualifications"] == QUALIFICATIONS


def test_each_wrong_field_is_named_and_nothing_changes(client, login, world):
    url = f"{API}/units/{world.unit_id}/information"
    client.put(url, headers=login("unit"), json={"registration": REGISTRATION})
    wrong = client.put(
        url,
        headers=login("unit"),
        json={
            "registration": {
                **REGISTRATION,
                "founded_on": "2013-W10-1",  # a week date: Python's fromisoformat reads it
                "staff_size": "很多",
                "colour": "red",
            },
            "qualifications": [
                {"category": "随便", "name": "房屋建筑工程监理"},
                {"category": "其他资质", "grade": "乙级", "valid_until": "明年", "zz": 1},
            ],
        },
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"] == {
        "registration": "工商信息中有不认识的字段：colour",
        "registration.founded_on": "「企业成立时间」应为日期，如 2013-03-05",
        "registration.staff_size": "「人员规模」应为不小于0的整数",
        "qualifications.0.category": "资质类别应为：住建监理资质、其他资质",
        "qualifications.1": "资质中有不认识的字段：zz",
        "qualifications.1.valid_until": "「有效期至」应为日期，如 2013-03-05",
        "qualifications.1.name": "请填写「资质名称」",
    }
    kept = client.get(url, headers=login("unit")).get_json()
    assert kept["registration"] == REGISTRATION and kept["qualifications"] == []
    backwards = client.put(
        url,
        headers=login("unit"),
        json={"registration": {"founded_on": "2020-01-01", "approved_on": "2019-01-01"}},
    )
    assert backwards.get_json()["errors"] == {
        "registration.approved_on": "「核准日期」不能早于「企业成立时间」"
    }


def test_another_unit_or_staff_cannot_see_or_change_it(client, login, world):
    url = f"{API}/units/{world.unit_id}/information"
    for who in ("other_unit", "agency", "association", "admin"):
        assert client.get(url, headers=login(who)).status_code == 404, who
        put = client.put(url, headers=login(who), json={"registration": REGISTRATION})
        assert put.status_code == 404, who
    assert client.get(url).status_code == 401


def test_the_unit_maintains_it_on_its_page(app, world):
    page = app.test_client()
    sign_in(page, world.unit_name)
    assert "尚未填写工商信息" in text(page.get("/unit/info"))
    assert "<title>单位信息 - " in text(page.get("/unit/info"))
    form = "/unit/info/edit"
    shown = text(page.get(form))
    assert "工商信息" in shown and 'name="qualifications.2.name"' in shown
    assert "<title>维护单位信息 - " in shown  # its own title, not the page it edits
    data = {f"registration.{k}": str(v) for k, v in REGISTRATION.items()}
    data.update({f"qualifications.0.{k}": v for k, v in QUALIFICATIONS[0].items()})
    data.update({"qualifications.1.category": "其他资质", "qualifications.1.name": ""})
    bad = page.post(
        form,
        data={**data, "registration.approved_on": "2001-01-01", "csrf_token": csrf(page, form)},
    )
    assert bad.status_code == 422
    assert "「核准日期」不能早于「企业成立时间」" in text(bad)
    assert "<title>错误：维护单位信息 - " in text(bad)
    assert 'href="#f-registration-approved_on"' in text(bad)
    good = page.post(form, data={**data, "csrf_token": csrf(page, form)})
    assert good.status_code == 302
    html = text(page.get("/unit/info"))
    assert "单位信息已保存" in html
    assert "珠海市市场监督管理局" in html and "E144012345" in html and "甲级" in html


EMPTY = "该条资质未填写任何内容：请填写「资质名称」等，或删除该条"


def test_dates_not_yet_come_and_an_empty_qualification_are_refused_at_their_field(
    client, login, world, pinned_clock
):
    """The business day is 2026-11-28: a licence founded or approved after it is a typing
    mistake; a qualification with nothing in it is refused at its index, not dropped."""
    url = f"{API}/units/{world.unit_id}/information"
    client.put(url, headers=login("unit"), json={"registration": REGISTRATION})
    wrong = client.put(
        url,
        headers=login("unit"),
        json={
            "registration": {
                **REGISTRATION,
                "founded_on": "2030-01-01",
                "approved_on": "2030-02-01",
            },
            "qualifications": [{}, QUALIFICATIONS[0], {"category": "其他资质", "name": " "}],
        },
    )
    assert wrong.status_code == 422
    assert wrong.get_json()["errors"] == {
        "registration.founded_on": "「企业成立时间」不能晚于今天",
        "registration.approved_on": "「核准日期」不能晚于今天",
        "qualifications.0": EMPTY,
        "qualifications.2": EMPTY,
    }
    kept = client.get(url, headers=login("unit")).get_json()
    assert kept["registration"] == REGISTRATION and kept["qualifications"] == []
    today = client.put(
        url,
        headers=login("unit"),
        json={"registration": {"founded_on": "2026-11-28", "approved_on": "2026-11-28"}},
    )
    assert today.status_code == 200, today.get_json()


def test_an_expired_qualification_is_kept_and_marked_on_the_page(app, world, pinned_clock):
    """A unit may record a qualification that has lapsed (its history); 单位信息 marks it
    已过期, the valid ones not. The page refuses a founding date after today at its field."""
    page = app.test_client()
    sign_in(page, world.unit_name)
    form = "/unit/info/edit"
    data = {f"registration.{k}": str(v) for k, v in REGISTRATION.items()}
    data.update({f"qualifications.0.{k}": v for k, v in QUALIFICATIONS[0].items()})
    lapsed = {**QUALIFICATIONS[0], "name": "市政公用工程监理", "valid_until": "1999-01-01"}
    data.update({f"qualifications.1.{k}": v for k, v in lapsed.items()})
    data.update({"qualifications.2.category": "其他资质", "qualifications.2.name": ""})  # blank
    late = page.post(
        form,
        data={**data, "registration.founded_on": "2030-01-01", "csrf_token": csrf(page, form)},
    )
    assert late.status_code == 422
    shown = text(late)
    assert 'id="f-registration-founded_on-error">「企业成立时间」不能晚于今天' in shown
    assert 'href="#f-registration-founded_on"' in shown
    assert 'max="2026-11-28"' in shown
    good = page.post(form, data={**data, "csrf_token": csrf(page, form)})
    assert good.status_code == 302, text(good)[:2000]
    html = text(page.get("/unit/info"))
    rows = {
        name: row
        for row in html.split("<tr>")
        for name in ("房屋建筑工程监理", "市政公用工程监理")
        if f"<td>{name}</td>" in row
    }
    assert "1999-01-01" in rows["市政公用工程监理"] and "已过期" in rows["市政公用工程监理"]
    assert "2028-06-30" in rows["房屋建筑工程监理"] and "已过期" not in rows["房屋建筑工程监理"]


SEEN = re.compile(r'name="seen" value="([^"]+)"')


def test_a_page_left_open_does_not_overwrite_what_another_account_saved_meanwhile(app, world):
    """Two tabs (or two of the unit's accounts) edit at once: the second save is refused
    with 409 and says so, its typed values kept; nothing of the first is lost. Saving again
    from the refusal is deliberate and goes through."""
    first, second = app.test_client(), app.test_client()
    for page in (first, second):
        sign_in(page, world.unit_name)
    form = "/unit/info/edit"
    opened = SEEN.search(text(second.get(form))).group(1)  # the second page is opened first
    data = {f"registration.{k}": str(v) for k, v in REGISTRATION.items()}
    data.update({f"qualifications.0.{k}": v for k, v in QUALIFICATIONS[0].items()})
    token = csrf(first, form)
    seen = SEEN.search(text(first.get(form))).group(1)
    saved = first.post(form, data={**data, "seen": seen, "csrf_token": token})
    assert saved.status_code == 302

    late = {k: v for k, v in data.items() if not k.startswith("qualifications.")}
    late["registration.staff_size"] = "240"  # no qualification: the second page had none
    refused = second.post(form, data={**late, "seen": opened, "csrf_token": csrf(second, form)})
    assert refused.status_code == 409
    shown = text(refused)
    assert "打开本页后，单位信息已被修改" in shown and 'value="240"' in shown
    html = text(first.get("/unit/info"))
    assert "E144012345" in html and "房屋建筑工程监理" in html  # the first save stands

    again = SEEN.search(shown).group(1)
    assert again != opened
    kept = second.post(form, data={**late, "seen": again, "csrf_token": csrf(second, form)})
    assert kept.status_code == 302
    assert "E144012345" not in text(first.get("/unit/info"))  # the deliberate second save


def test_the_api_refuses_a_put_whose_if_match_is_stale_and_saves_nothing(client, login, world):
    url = f"{API}/units/{world.unit_id}/information"
    read = client.get(url, headers=login("unit"))
    seen = read.headers["ETag"]
    assert seen.startswith('"') and seen.endswith('"')
    # another of the unit's accounts saves meanwhile (no If-Match: a plain replacement)
    other = client.put(url, headers=login("unit"), json={"registration": REGISTRATION})
    assert other.status_code == 200
    now = other.headers["ETag"]
    assert now != seen and client.get(url, headers=login("unit")).headers["ETag"] == now
    stale = client.put(
        url,
        headers={**login("unit"), "If-Match": seen},
        json={"registration": {"industry": "建筑业"}, "qualifications": QUALIFICATIONS},
    )
    assert stale.status_code == 412, stale.get_json()
    assert "If-Match" in stale.get_json()["message"] and "未保存" in stale.get_json()["message"]
    kept = client.get(url, headers=login("unit")).get_json()
    assert kept["registration"] == REGISTRATION and kept["qualifications"] == []
    # a weak tag never matches (RFC 9110: If-Match compares strongly)
    weak = client.put(
        url, headers={**login("unit"), "If-Match": f"W/{now}"}, json={"qualifications": []}
    )
    assert weak.status_code == 412
    # the current version, or *, saves
    fresh = client.put(
        url,
        headers={**login("unit"), "If-Match": now},
        json={"registration": REGISTRATION, "qualifications": QUALIFICATIONS},
    )
    assert fresh.status_code == 200, fresh.get_json()
    assert fresh.get_json()["qualifications"] == QUALIFICATIONS
    assert fresh.headers["ETag"] not in (now, seen)
    star = client.put(url, headers={**login("unit"), "If-Match": "*"}, json={"registration": {}})
    assert star.status_code == 200
    # another unit learns nothing from a stale tag: its scope is checked first (404)
    assert (
        client.put(
            f"{API}/units/{world.other_unit_id}/information",
            headers={**login("unit"), "If-Match": seen},
            json={"registration": {}},
        ).status_code
        == 404
    )
