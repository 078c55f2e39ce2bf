"""Rare characters in names over the API: an Ext H name joins; a private-use one is refused
saying what to do; the legacy import applies the forms' name rules, so nobody is imported
under a name every form would then refuse."""

from __future__ import annotations

import io

from conftest import applicant_data, start_form
from legacy_workbook import person, workbook

from service.domain.validation import make_credit_code, make_resident_id

EXT_H = "王\U00031350"  # 𱍐 (Unicode 15.0): unassigned in Python 3.11's tables


def test_a_name_with_an_ext_h_character_joins_and_a_private_use_one_says_what_to_do(client, login):
    unit = login("unit")
    start_form(client, unit, "member_join", applicant_data(client, unit, name=EXT_H))
    other = make_resident_id("44010619900202002")
    refused = start_form(
        client, unit, "member_join", applicant_data(client, unit, other, name="张\ue000"), 422
    )
    message = refused["errors"]["name"]
    assert "私用区" in message and "U+E000" in message and "请改用标准汉字" in message


def _import(client, headers, rows, dry_run: bool):
    return client.post(
        "/api/v1/legacy-imports" + ("?dry_run=true" if dry_run else ""),
        headers=headers,
        data={"file": (io.BytesIO(workbook(rows)), "单位人员档案导出表.xlsx")},
    )


def _unit(k: int, name: str) -> dict:
    return {"所在工作单位": name, "统一社会信用代码": make_credit_code(f"91440101{k:09d}")}


def test_the_legacy_import_refuses_the_names_the_forms_refuse(client, login):
    admin = login("admin")
    rows = [
        person(1, **{"姓名": EXT_H}),  # accepted, as the forms accept it
        person(2, **{"姓名": "张\u200d三"}),  # zero-width joiner
        person(3, **{"姓名": "张\ue000"}),  # private use
        person(4, **{"姓名": "孙\u202e八九"}),  # right-to-left override
        person(5, **{"姓名": "😀"}),
        person(6, **_unit(6, "13912345678")),  # a login like a mobile's
        person(7, **_unit(7, "测试😀监理有限公司")),
        person(8, **_unit(8, "测试\u200d监理有限公司")),
    ]
    reply = _import(client, admin, rows, dry_run=True)
    assert reply.status_code == 200, reply.get_json()
    by_row = {r["row"]: r for r in reply.get_json()["rows"]}
    assert by_row[2]["valid"], by_row[2]
    problems = {n: by_row[n]["problems"] for n in range(3, 10)}
    assert problems[3] == [{"column": "姓名", "reason": "姓名不能包含控制字符或不可见字符"}]
    assert problems[4][0]["column"] == "姓名" and "私用区" in problems[4][0]["reason"]
    assert problems[5] == [{"column": "姓名", "reason": "姓名不能包含控制字符或不可见字符"}]
    assert problems[6] == [{"column": "姓名", "reason": "姓名只能包含文字、间隔号和空格"}]
    for n in (7, 8, 9):
        assert [p["column"] for p in problems[n]] == ["所在工作单位"], problems[n]
    assert problems[7][0]["reason"].startswith("所在工作单位不能只由数字组成")
    assert problems[8][0]["reason"].startswith("所在工作单位只能包含")
    assert problems[9][0]["reason"] == "所在工作单位不能包含控制字符或不可见字符"
    # the import itself: refused as a whole, each row's problem at 第N行.<column>
    refused = _import(client, admin, rows, dry_run=False)
    assert refused.status_code == 422, refused.get_json()
    errors = refused.get_json()["errors"]
    assert errors["第3行.姓名"] and errors["第7行.所在工作单位"]
