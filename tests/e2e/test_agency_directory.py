"""服务机构信息 (manual 四.4): the secretariat keeps each agency's address, phone, QQ work
group and website; everyone signed in reads them, their own agency first. API and pages,
on SQLite and PostgreSQL."""

from __future__ import annotations

from test_account_pages_http import csrf, sign_in, text

API = "/api/v1"
GUANGZHOU = {
    "name": "广州市建设监理行业协会",
    "city": "广州",
    "address": "广州市越秀区东风中路437号南塔3401",
    "phone": "020-83338979",
    "qq_group": "546013166",
    "website": None,
}


def test_the_secretariat_keeps_an_agencys_contacts(client, login, world):
    saved = client.put(f"{API}/agencies/{world.agency_id}", headers=login("admin"), json=GUANGZHOU)
    assert saved.status_code == 200, saved.get_json()
    assert saved.get_json() == {"id": world.agency_id, **GUANGZHOU}

    bad = {**GUANGZHOU, "qq_group": "QQ12", "website": "www.example.org", "phone": "打电话"}
    refused = client.put(f"{API}/agencies/{world.agency_id}", headers=login("admin"), json=bad)
    assert refused.status_code == 422
    assert refused.get_json()["errors"] == {
        "qq_group": "QQ工作群号应为5至12位数字",
        "website": "网址应以 http:// 或 https:// 开头，不超过200个字符",
        "phone": "电话只能包含数字、区号连字符和分隔符，如：020-83338979",
    }
    listed = client.get(f"{API}/agencies", headers=login("admin")).get_json()["items"]
    kept = next(a for a in listed if a["id"] == world.agency_id)
    assert kept["qq_group"] == "546013166"  # the refused change changed nothing

    for who in ("unit", "agency", "association", "finance"):  # the function is not theirs
        denied = client.put(f"{API}/agencies/{world.agency_id}", headers=login(who), json=GUANGZHOU)
        assert denied.status_code == 404, who
        assert denied.get_json()["message"] == "没有该功能"
    missing = client.put(f"{API}/agencies/99999", headers=login("admin"), json=GUANGZHOU)
    assert missing.status_code == 404


def test_everyone_signed_in_reads_the_directory_their_own_agency_first(client, login, world):
    client.put(f"{API}/agencies/{world.agency_id}", headers=login("admin"), json=GUANGZHOU)
    created = client.post(
        f"{API}/agencies",
        headers=login("admin"),
        json={"name": "梅州市工程建设综合服务中心", "city": "梅州", "qq_group": "427093485"},
    )
    assert created.status_code == 201
    other_unit = client.get(f"{API}/agencies", headers=login("other_unit")).get_json()
    assert other_unit["total"] == 3
    assert [(a["id"], a["own"]) for a in other_unit["items"]][0] == (world.other_agency_id, True)
    assert [a["own"] for a in other_unit["items"][1:]] == [False, False]
    unit = client.get(f"{API}/agencies", headers=login("unit")).get_json()["items"]
    assert unit[0] == {**GUANGZHOU, "id": world.agency_id, "own": True}
    association = client.get(f"{API}/agencies", headers=login("association")).get_json()
    assert not any(a["own"] for a in association["items"])
    assert client.get(f"{API}/agencies").status_code == 401


def test_the_pages_show_the_directory_and_the_secretariat_edits_it(app, login, world):
    admin = app.test_client()
    sign_in(admin, "admin")
    form = f"/admin/agencies/{world.agency_id}"
    data = {k: v or "" for k, v in GUANGZHOU.items() if k != "website"}
    bad = admin.post(form, data={**data, "qq_group": "12", "csrf_token": csrf(admin, form)})
    assert bad.status_code == 422
    assert "QQ工作群号应为5至12位数字" in text(bad)
    good = admin.post(form, data={**data, "csrf_token": csrf(admin, form)})
    assert good.status_code == 302

    unit = app.test_client()
    sign_in(unit, world.unit_name)
    page = unit.get("/agencies")
    assert page.status_code == 200
    html = text(page)
    assert "服务机构信息" in html and "本单位所属" in html
    assert "广州市越秀区东风中路437号南塔3401" in html and "546013166" in html
    assert html.index("广州市建设监理行业协会") < html.index("汕头市建筑业协会")
