"""常用网址 (manual 四): the help page links the learning platform, the certificate lookup,
the agencies' directory and the 注师继教 QQ group; the CPD start form tells units when the
list is published and where (manual 2.11.2.2)."""

from __future__ import annotations

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
