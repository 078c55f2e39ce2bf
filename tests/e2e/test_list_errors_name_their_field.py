"""A list page refuses a wrong filter or pager value with a message that names the field in
Chinese (初审机构, 页码, 每页条数 …), whichever list it is (the shared `lists` and the
`query_errors` macro)."""

from __future__ import annotations

import re

import pytest
from conftest import PASSWORD

TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
ITEM = re.compile(r"<li>([^<]+)</li>")


def signed_in(app, username: str):
    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    return client


def refused(client, url: str) -> list[str]:
    reply = client.get(url)
    assert reply.status_code == 422, url
    html = reply.get_data(as_text=True)
    box = html[html.index("查询条件有误：") :]
    return ITEM.findall(box[: box.index("</ul>")])


def test_filter_and_pager_errors_name_their_field_on_every_list(app, world):
    admin = signed_in(app, "admin")
    assert refused(admin, "/admin/units?agency_id=abc&page=-1") == [
        "初审机构：应为整数",
        "页码：应在1到100000之间",
    ]
    assert refused(admin, "/admin/units?page_size=1000") == ["每页条数：应在1到200之间"]
    assert refused(admin, "/admin/staff?agency_id=0") == ["所属机构：应在1到2147483647之间"]
    assert refused(admin, "/admin/agencies?page=x") == ["页码：应为整数"]
    # a message that names its field already is not prefixed twice
    assert refused(admin, "/admin/staff?state=off") == ["状态应为：正常 或 已停用"]
    reviewer = signed_in(app, "xiehui")
    assert refused(reviewer, "/workbench/todo?submitted_from=2026-13-01") == [
        "提交日期（起）：请输入有效日期，如 2026-12-07"
    ]
    # only YYYY-MM-DD: Python alone reads a week date or the digits run together as dates
    for other in ("2013-W10-1", "20130305"):
        assert refused(reviewer, f"/forms?submitted_from={other}") == [
            "提交日期（起）：请输入有效日期，如 2026-12-07"
        ]


SEARCH_PAGES = [
    ("admin", "/admin/units"),
    ("admin", "/admin/staff"),
    ("admin", "/admin/agencies"),
    ("association", "/workbench/todo"),
    ("association", "/forms"),
    ("association", "/feedback"),
    ("finance", "/finance/invoices"),
    ("finance", "/finance/bills"),
    ("unit", "/unit/members"),
    ("unit", "/unit/certificates"),
    ("unit", "/unit/learning"),
]
GET_FORM = re.compile(r'<form[^>]*method="get"[^>]*>(.*?)</form>', re.S)
TYPED_INPUT = re.compile(r'<input(?=[^>]*type="(?:search|text)")[^>]*>')
MAXLENGTH = re.compile(r'maxlength="(\d+)"')


@pytest.mark.parametrize(("role", "url"), SEARCH_PAGES)
def test_every_search_box_is_bounded_so_its_url_stays_within_the_servers_limit(
    app, world, role, url
):
    """A search box takes at most 100 characters (900 bytes in the URL, if Chinese): 500
    pasted into an unbounded box made a request line longer than the server reads, and
    gunicorn answered with its own English page “414 URI Too Long”."""
    html = signed_in(app, world.logins[role]).get(url).get_data(as_text=True)
    boxes = [box for form in GET_FORM.findall(html) for box in TYPED_INPUT.findall(form)]
    assert len(boxes) >= 2, url  # the page's own search and the one at the top
    for box in boxes:
        found = MAXLENGTH.search(box)
        assert found and int(found.group(1)) <= 100, (url, box)
