"""流程运行图 and 流程出错 over HTTP, on both databases: the diagram of a process's version as
a heat map of where its running forms wait, and the incidents list for operators."""

from __future__ import annotations

import re

from conftest import applicant_data, form_values, start_form, step_task
from test_incidents import _stuck_form, broken  # noqa: F401  (the fixture)
from test_pages_http import sign_in, text

from service.domain.validation import make_resident_id


def _counts(html: str) -> dict[str, int]:
    """Each diagram step's count, as the SVG marks it."""
    found = re.findall(r'data-element-id="([^"]+)" data-count="(\d+)"', html)
    return {element: int(n) for element, n in found}


def _join(client, login, n: int) -> dict:
    unit = login("unit")
    id_number = make_resident_id(f"4401061985031523{n}")
    return start_form(client, unit, "member_join", applicant_data(client, unit, id_number))


def test_the_map_counts_the_forms_waiting_at_each_step(client, world, login):
    for n in range(3):
        _join(client, login, n)
    moved = _join(client, login, 3)
    unit = login("unit")
    values = form_values(client, unit, moved["id"])
    step_task(
        client, unit, moved["id"], {**values, "decision": "approve", "member_level": "普通会员"}
    )

    sign_in(client, world.logins["admin"])
    reply = client.get("/processes/member_join/map")
    assert reply.status_code == 200
    html = text(reply)
    counts = _counts(html)
    assert counts["unit_pre_review"] == 3 and counts["agency_review"] == 1
    assert counts["association_review"] == 0
    # the busiest step is the darkest; the table says the same in words
    assert re.search(
        r'class="node task userTask hot hot-5" data-element-id="unit_pre_review"', html
    )
    assert "在办 4 件" in html and "各步骤在办数量" in html
    # the selector goes to another process's map
    assert (
        client.get("/processes/map?key=member_info_change")
        .headers["Location"]
        .endswith("/processes/member_info_change/map")
    )


def test_an_old_version_and_a_wrong_one(client, world):
    sign_in(client, world.logins["admin"])
    assert client.get("/processes/member_join/map?version=1").status_code == 200
    wrong = client.get("/processes/member_join/map?version=99")
    assert wrong.status_code == 422 and "没有第 99 版" in text(wrong)
    bad = client.get("/processes/member_join/map?version=abc")
    assert bad.status_code == 422 and "版本应为正整数" in text(bad)
    assert client.get("/processes/no_such_process/map").status_code == 404


def test_units_agencies_and_finance_do_not_see_the_map(app, world):
    for who in ("unit", "agency", "finance"):
        client = app.test_client()
        sign_in(client, world.logins[who])
        assert client.get("/processes/member_join/map").status_code == 404, who


def test_the_association_reviewer_reads_the_map(client, world):
    sign_in(client, world.logins["association"])
    assert client.get("/processes/member_join/map").status_code == 200


def test_operators_list_incidents_and_see_them_on_the_map(broken):  # noqa: F811
    app, client, heads, world = broken
    inst, failed, _data = _stuck_form(client, heads)
    number = failed.get_json()["errors"]["incident"]
    sign_in(client, world.logins["admin"])
    page = text(client.get("/incidents"))
    assert number in page and f"/forms/{inst['id']}" in page
    assert "decison" in page  # the reason names what is wrong
    assert number not in text(client.get("/incidents?status=closed"))
    wrong = client.get("/incidents?status=bogus")
    assert wrong.status_code == 422
    counts = _counts(text(client.get("/processes/member_join/map")))
    assert counts["agency_review"] == 1  # the form waits where it failed


def test_a_unit_cannot_list_incidents(client, world):
    sign_in(client, world.logins["unit"])
    assert client.get("/incidents").status_code == 404
