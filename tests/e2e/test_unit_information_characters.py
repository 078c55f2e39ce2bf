"""单位信息's texts show as they read: control, bidi (U+202A–202E, U+2066–2069) and
zero-width characters are refused at their field in Chinese and nothing changes; surrounding
spaces are trimmed; 经营范围 (a textarea) keeps its line breaks. API and page, on SQLite and
PostgreSQL."""

from __future__ import annotations

import pytest
from markupsafe import escape
from test_account_pages_http import csrf, sign_in, text

API = "/api/v1"
KEPT = {"address": "珠海市高新区唐家湾镇软件园", "business_scope": "工程监理"}


def information(client, login, world, registration=None, qualifications=None, expect=200):
    url = f"{API}/units/{world.unit_id}/information"
    if registration is None and qualifications is None:
        reply = client.get(url, headers=login("unit"))
    else:
        body = {"registration": registration or KEPT, "qualifications": qualifications or []}
        reply = client.put(url, headers=login("unit"), json=body)
    assert reply.status_code == expect, reply.get_json()
    return reply.get_json()


@pytest.mark.parametrize(
    ("field", "value", "code"),
    [
        ("address", "珠海市\u200b香洲区", "U+200B"),
        ("address", "珠海市香洲区\ufeff", "U+FEFF"),
        ("registration_authority", "珠海市\u2060市场监督管理局", "U+2060"),
        ("industry", "软件\u2028信息技术", "U+2028"),
        ("registered_capital", "550万\n人民币", "U+000A"),
        ("business_scope", "工程监理\u200d；工程管理服务", "U+200D"),
        ("former_name", "珠海\u3164易立方", "U+3164"),
    ],
)
def test_an_invisible_character_is_refused_at_its_field_and_nothing_changes(
    client, login, world, field, value, code
):
    information(client, login, world, KEPT)
    body = information(client, login, world, {**KEPT, field: value}, expect=422)
    assert body["errors"] == {
        f"registration.{field}": f"「{label(field)}」不能包含控制字符或不可见字符（{code}），"
        "请删除后重新填写"
    }
    assert information(client, login, world)["registration"] == KEPT


def label(field: str) -> str:
    from service.services.membership.unit_information import REGISTRATION

    return next(f.label for f in REGISTRATION if f.name == field)


def test_a_qualification_with_an_invisible_character_is_refused_at_its_field(client, login, world):
    rows = [{"category": "其他资质", "name": "造价\u200b咨询", "number": "E1\u200c44"}]
    body = information(client, login, world, KEPT, rows, expect=422)
    assert set(body["errors"]) == {"qualifications.0.name", "qualifications.0.number"}, body
    assert "U+200B" in body["errors"]["qualifications.0.name"]
    assert information(client, login, world)["qualifications"] == []


@pytest.mark.parametrize("bidi", ["\u202a", "\u202e", "\u2066", "\u2069"])
def test_a_bidi_control_is_refused_and_spaces_are_trimmed(client, login, world, bidi):
    typed = f"  <script>alert(1)</script>{bidi}地址😀  "
    body = information(client, login, world, {"address": typed}, expect=422)
    assert set(body["errors"]) == {"registration.address"}, body
    assert f"{ord(bidi):04x}" in body["errors"]["registration.address"].lower()
    hidden = information(
        client, login, world, {"address": typed.replace(bidi, "\u200b")}, expect=422
    )
    assert "U+200B" in hidden["errors"]["registration.address"]
    saved = information(
        client, login, world, {"address": typed.replace(bidi, ""), "business_scope": "甲\r\n乙"}
    )
    assert saved["registration"] == {
        "address": "<script>alert(1)</script>地址😀",
        "business_scope": "甲\r\n乙",
    }


def test_the_page_names_the_field_and_shows_the_text_escaped(app, world):
    page = app.test_client()
    sign_in(page, world.unit_name)
    form = "/unit/info/edit"
    data = {"registration.address": "珠海市\u200b香洲区", "registration.business_scope": "工程监理"}
    bad = page.post(form, data={**data, "csrf_token": csrf(page, form)})
    assert bad.status_code == 422
    message = "「企业注册地址」不能包含控制字符或不可见字符（U+200B），请删除后重新填写"
    assert f'href="#f-registration-address">{escape(message)}<' in text(bad)
    data["registration.address"] = "  <script>alert(1)</script>地址😀  "
    good = page.post(form, data={**data, "csrf_token": csrf(page, form)})
    assert good.status_code == 302
    shown = text(page.get("/unit/info"))
    assert "&lt;script&gt;alert(1)&lt;/script&gt;地址😀" in shown and "<script>alert" not in shown
