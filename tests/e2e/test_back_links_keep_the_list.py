"""A detail page opened from a list returns to that list as it was left — its filters,
sort and page — not to the list's first page: 单位人员档案 → 人员, 我的业务 → 表单. A `next`
that is not a page of this site is ignored (the list's own address instead)."""

from __future__ import annotations

import html
import re

from conftest import applicant_data, start_form, token_headers
from test_unit_pages_http import seed, sign_in, text

BACK = re.compile(r'<a class="back" href="([^"]*)">([^<]*)</a>')


def links(page: str, path: str) -> list[str]:
    return [html.unescape(h) for h in re.findall(rf'href="({re.escape(path)}[^"]*)"', page)]


def back(page: str) -> tuple[str, str]:
    href, label = BACK.search(page).groups()
    return html.unescape(href), label


def test_the_archive_and_my_forms_return_to_the_list_as_left(client, app, world):
    for i, name in enumerate(("周建国", "何美玲", "冯佩珊")):
        seed(app, world.unit_id, name, f"44010619800101{i}12")
    unit = token_headers(client, world.logins["unit"])
    made = start_form(client, unit, "member_join", applicant_data(client, unit))
    sign_in(client, world.unit_name)

    listed = "/unit/members?q=何&sort=joined&page_size=10"
    [person, _same] = links(text(client.get(listed)), "/unit/members/")
    assert "next=" in person
    assert back(text(client.get(person))) == (listed, "〈 返回列表")
    plain = text(client.get(person.split("?")[0]))
    assert back(plain) == ("/unit/members", "〈 单位人员档案")
    away = text(client.get(person.split("?")[0] + "?next=https://evil.example/x"))
    assert back(away)[0] == "/unit/members"

    forms = f"/forms?q={made['business_key']}&page_size=10"
    opened = [h for h in links(text(client.get(forms)), f"/forms/{made['id']}") if "next=" in h]
    assert opened and back(text(client.get(opened[0]))) == (forms, "← 返回列表")
    assert back(text(client.get(f"/forms/{made['id']}")))[0] == "/forms"
    assert back(text(client.get(f"/forms/{made['id']}?next=//evil.example")))[0] == "/forms"
