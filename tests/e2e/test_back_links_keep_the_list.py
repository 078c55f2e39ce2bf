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
    for hostile in (
        "https://evil.example/x",
        "//evil.example",
        "/\\evil.example",  # a browser reads /\ as //: another host
        "/\\/evil.example",
        "/unit/members\r\nX-Evil: 1",
        "/unit/members\tx",
        "javascript:alert(1)",
    ):
        away = client.get(person.split("?")[0], query_string={"next": hostile})
        assert back(text(away))[0] == "/unit/members", hostile

    forms = f"/forms?q={made['business_key']}&page_size=10"
    opened = [h for h in links(text(client.get(forms)), f"/forms/{made['id']}") if "next=" in h]
    assert opened and back(text(client.get(opened[0]))) == (forms, "← 返回列表")
    assert back(text(client.get(f"/forms/{made['id']}")))[0] == "/forms"
    assert back(text(client.get(f"/forms/{made['id']}?next=//evil.example")))[0] == "/forms"
    assert back(text(client.get(f"/forms/{made['id']}?next=/%5Cevil.example")))[0] == "/forms"


def test_a_posted_next_with_a_line_break_returns_to_the_list_not_an_error(client, app, world):
    """A claim whose `next` carries CR/LF: claimed, and back on the queue — not a 500 after
    the claim was kept (a line break cannot go into a Location header)."""
    from conftest import in_db
    from sqlalchemy import select
    from test_pages_http import sign_in as sign_in_as

    from service.db.models import UserTask

    unit = token_headers(client, world.logins["unit"])
    made = start_form(client, unit, "member_join", applicant_data(client, unit))
    task = in_db(
        app,
        lambda s: s.scalar(select(UserTask.id).where(UserTask.instance_id == made["id"])),
    )
    sign_in_as(client, world.logins["unit"])
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/forms"))).group(1)
    claimed = client.post(
        f"/workbench/tasks/{task}/claim",
        data={"csrf_token": token, "next": "/workbench/todo\r\nX-Evil: 1"},
    )
    assert claimed.status_code == 302 and "X-Evil" not in claimed.headers["Location"]


def test_an_overlong_text_filter_is_refused_at_its_field(client, app, world):
    """A text filter longer than any name (200) is refused, said at the field (SQLite
    refuses a LIKE pattern past its limit: that was a 500)."""
    sign_in(client, world.logins["unit"])
    long = "张" * 201
    for path in ("/unit/members", "/unit/certificates", "/forms"):
        reply = client.get(path, query_string={"q": long})
        assert reply.status_code == 422 and "查询内容过长：最多200个字" in text(reply), path
    assert client.get("/unit/members", query_string={"q": "张" * 200}).status_code == 200
    token = re.search(r'name="csrf_token" value="([^"]+)"', text(client.get("/forms"))).group(1)
    every = client.post(
        "/jobs/certificates",
        data={"csrf_token": token, "scope": "all", "q": "张" * 200_000},
    )
    assert every.status_code == 302
    assert "查询内容过长" in text(client.get(every.headers["Location"]))
