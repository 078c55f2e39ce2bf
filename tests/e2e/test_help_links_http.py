"""常用网址 (manual 四): the help page links the learning platform, the certificate lookup,
the agencies' directory and the 注师继教 QQ group; the CPD start form tells units when the
list is published and where (manual 2.11.2.2)."""

from __future__ import annotations

from conftest import token_headers
from test_pages_http import sign_in, text


def test_the_help_page_lists_the_manuals_links(client, world):
    sign_in(client, world.logins["unit"])
    page = text(client.get("/help"))
    assert "https://jxjy.cdeledu.com/cdel_jxjy/guangdongjlcyry.shtml" in page
    assert 'href="/lookup"' in page and 'href="/agencies"' in page
    assert "214428860" in page


def test_the_cpd_form_tells_when_and_where_the_list_is_published(client, world, login):
    form = client.get("/api/v1/processes/engineer_cpd", headers=login("unit")).get_json()
    description = form["start_form"]["description"]
    assert "214428860" in description and "周三" in description and "周五" in description


def join_code(client, world) -> str:
    unit = token_headers(client, world.logins["unit"])
    reply = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    )
    return reply.get_json()["code"]


def test_the_faq_is_read_without_signing_in_and_help_leads_there(client, world):
    """Someone who scanned a join code has no account: /help is not the sign-in page for
    them but the manual's FAQ for applicants, members and units (常见问题)."""
    reply = client.get("/help")
    assert reply.status_code == 302 and reply.headers["Location"] == "/faq"
    reply = client.get("/faq")
    assert reply.status_code == 200
    page = text(reply)
    for answer in (
        "年龄大于18周岁且不超过65周岁",
        "入会简码",
        "五官清晰",
        "学信网",
        "点击“调出（离职二维码）”",  # the buttons the unit really has
        "“获取个人变更单”中点击“显示个人变更单二维码”",
        "考试次数为10次",
        "单位账号密码重置",
        "普通会员",
    ):
        assert answer in page, answer
    assert 'href="/lookup"' in page and 'href="/unit-password-reset"' in page
    # nothing for a role: the reviewers' workbench help and the staff pages stay signed in
    assert "审核工作台" not in page and "认领" not in page and "已认领任务" not in page


def test_the_faq_names_the_buttons_the_unit_sees_on_its_code_page(client, world):
    faq = text(client.get("/faq"))
    sign_in(client, world.logins["unit"])
    codes = text(client.get("/unit/codes"))
    for label in ("入会二维码", "获取个人变更单", "显示个人变更单二维码"):
        assert label in codes and f"“{label}”" in faq, label


def test_every_public_page_links_the_faq(client, world):
    code = join_code(client, world)
    for path in ("/login", f"/join/{code}", "/lookup", "/unit-password-reset"):
        reply = client.get(path)
        assert reply.status_code == 200, path
        assert 'href="/faq' in text(reply), path


def test_the_signed_in_help_is_still_the_roles_own_and_links_the_faq(client, world):
    sign_in(client, world.logins["agency"])
    page = text(client.get("/help"))
    assert "审核工作台" in page and 'href="/faq"' in page
