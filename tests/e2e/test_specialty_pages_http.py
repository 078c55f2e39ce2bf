"""专业字典 for the secretariat (manual: the education forms' 专业1/专业2 come from the
association's dictionary): add, reorder, retire and bring back, over HTTP on both databases."""

from __future__ import annotations

import json
import re

import pytest
from test_staff_member_pages_http import field_error, post, sign_in, text

pytestmark = pytest.mark.usefixtures("pinned_clock")

ROW = re.compile(
    r'<tr id="s-(\d+)">\s*<td class="num">\d+</td>\s*<td>([^<]+)</td>\s*<td>(.*?)</td>', re.S
)


def rows(client) -> list[tuple[int, str, bool]]:
    """The dictionary as the page lists it: (id, name, offered to forms)."""
    page = client.get("/admin/specialties")
    assert page.status_code == 200
    return [(int(i), name, "可选用" in state) for i, name, state in ROW.findall(text(page))]


def offered(client, headers) -> list[str]:
    reply = client.get("/api/v1/specialties", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return [s["name"] for s in reply.get_json()["items"]]


def test_the_secretariat_adds_reorders_retires_and_restores_a_specialty(client, world, login):
    sign_in(client, "admin")
    before = rows(client)
    added = post(client, "/admin/specialties", {"name": "  海洋工程  "})
    assert added.status_code == 302
    after = rows(client)
    assert [r[1] for r in after] == [*(r[1] for r in before), "海洋工程"]  # at the end
    new_id = after[-1][0]
    assert "海洋工程" in offered(client, login("unit"))

    # 上移 swaps it with the one before it; the first stays first
    assert (
        post(client, f"/admin/specialties/{new_id}/up", {}, "/admin/specialties").status_code == 302
    )
    moved = rows(client)
    assert [r[1] for r in moved[-2:]] == ["海洋工程", before[-1][1]]
    first = moved[0][0]
    post(client, f"/admin/specialties/{first}/up", {}, "/admin/specialties")
    assert rows(client) == moved

    # 停用: forms stop offering it, the page keeps it marked; 启用 brings it back
    post(client, f"/admin/specialties/{new_id}/disable", {}, "/admin/specialties")
    assert ("海洋工程", False) in [(r[1], r[2]) for r in rows(client)]
    assert "海洋工程" not in offered(client, login("unit"))
    # a form sent with it anyway (a page left open) is told it was retired, not unknown
    line = {"id_number": "440106198001011230", "name": "周建国", "certificate_type": "监理员"}
    line["specialty_1"] = "海洋工程"
    reply = client.post(
        "/api/v1/processes/initial_education/preview",
        headers=login("unit"),
        json={"data": {"persons": [line]}},
    )
    said = json.dumps(reply.get_json(), ensure_ascii=False)
    assert "专业“海洋工程”已停用，请选择其他专业" in said, said
    post(client, f"/admin/specialties/{new_id}/enable", {}, "/admin/specialties")
    assert "海洋工程" in offered(client, login("unit"))


def test_a_blank_or_taken_name_is_refused_at_its_field_and_changes_nothing(client, world):
    sign_in(client, "admin")
    before = rows(client)
    blank = post(client, "/admin/specialties", {"name": "   "})
    assert blank.status_code == 422
    assert field_error(text(blank), "name") == "专业名称应为1至50个字"
    taken = post(client, "/admin/specialties", {"name": before[0][1]})
    assert taken.status_code == 422
    assert before[0][1] in field_error(text(taken), "name")
    # the same name with an invisible character, or broken over two lines, looks the same
    for look_alike in (before[0][1] + "\u200b", before[0][1][:2] + "\n" + before[0][1][2:]):
        refused = post(client, "/admin/specialties", {"name": look_alike})
        assert refused.status_code == 422
        assert "不可见字符" in field_error(text(refused), "name")
    assert rows(client) == before


def test_the_dictionary_page_is_the_secretariats_only(client, world):
    sign_in(client, "xiehui")
    assert client.get("/admin/specialties").status_code in (403, 404)
    assert "专业字典" not in text(client.get("/home"))
