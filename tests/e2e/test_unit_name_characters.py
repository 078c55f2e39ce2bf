"""A new unit name (单位名称变更's 新单位名称) becomes the main account's login and is printed
on certificates: emoji, symbols and invisible characters are refused at the field, in Chinese,
over the API and on the page, and no form is made. On SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from conftest import png_bytes, upload
from markupsafe import escape
from test_account_pages_http import csrf, sign_in, text

from service.domain.validation import UNIT_NAME_CHARACTERS

RENAME = "unit_name_change"
REFUSED = f"新单位名称只能包含{UNIT_NAME_CHARACTERS}，不能包含表情符号、其他符号或不可见字符"

pytestmark = pytest.mark.usefixtures("pinned_clock")


def count_forms(client, headers) -> int:
    return client.get(f"/api/v1/instances?key={RENAME}", headers=headers).get_json()["total"]


@pytest.mark.parametrize(
    "new_name",
    ["珠江😀监理", "珠江★监理有限公司", "珠江\u200b监理有限公司", "珠江\u3000监理"],
)
def test_a_name_with_emoji_symbols_or_invisible_characters_is_refused_at_the_field(
    client, login, world, new_name
):
    unit = login("unit")
    data = {"new_name": new_name, "business_licence": upload(client, unit)}
    reply = client.post(f"/api/v1/processes/{RENAME}/instances", headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["errors"] == {"new_name": REFUSED}
    assert count_forms(client, unit) == 0


@pytest.mark.parametrize(
    "new_name",
    [
        "中铁二局（广东）工程建设监理有限公司",
        "广州AECOM工程咨询有限公司",
        "Smith & Partners Co., Ltd.",
    ],
)
def test_the_names_of_companies_are_taken_the_same_with_an_emoji_not(
    client, login, world, new_name
):
    unit = login("unit")
    url = f"/api/v1/processes/{RENAME}/instances"
    data = {"new_name": new_name + "😀", "business_licence": upload(client, unit)}
    refused = client.post(url, headers=unit, json={"data": data})
    assert refused.status_code == 422, refused.get_json()
    reply = client.post(url, headers=unit, json={"data": {**data, "new_name": new_name}})
    assert reply.status_code == 201, reply.get_json()


def test_the_page_refuses_an_emoji_at_the_field(app, client, login, world):
    page = app.test_client()
    sign_in(page, world.unit_name)
    url = f"/business/{RENAME}/form"
    posted = {
        "new_name": "珠江😀监理",
        "business_licence": (io.BytesIO(png_bytes()), "licence.png"),
        "action": "submit",
        "csrf_token": csrf(page, url),
    }
    reply = page.post(url, data=posted, content_type="multipart/form-data")
    assert reply.status_code == 422
    assert f'href="#f-new_name">{escape(REFUSED)}<' in text(reply)
    assert count_forms(client, login("unit")) == 0
