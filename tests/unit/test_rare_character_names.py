"""Rare characters in names: the CJK blocks newer than Python's own Unicode tables (Ext H,
Ext I) are letters; a private-use code point (an ID system's own encoding of a rare
character) is refused with what to do; cutting a name keeps what reads."""

from __future__ import annotations

import pytest

from service.domain.validation import name_problem, shorten, unit_name_problem

EXT_H = ("\U00031350", "\U000323af")  # 𱍐 (Unicode 15.0), the block's first and last
EXT_I = ("\U0002ebf0", "\U0002ee5d")  # Unicode 15.1


@pytest.mark.parametrize("ch", [*EXT_H, *EXT_I])
def test_a_person_and_a_unit_may_be_named_with_ext_h_and_ext_i_characters(ch):
    assert name_problem(f"王{ch}") is None
    assert name_problem(f"阿卜杜·{ch}") is None
    assert unit_name_problem(f"广州{ch}工程监理有限公司") is None


@pytest.mark.parametrize("ch", EXT_H)
def test_the_rename_form_accepts_what_the_service_accepts(ch):
    import json
    import re
    from pathlib import Path

    schema = Path(__file__).resolve().parents[2] / "forms/unit_name_change/start.schema.json"
    new_name = json.loads(schema.read_text("utf-8"))["$defs"]["form"]["properties"]["new_name"]
    assert re.search(new_name["allOf"][0]["pattern"], f"广州{ch}工程监理有限公司")


@pytest.mark.parametrize("ch", ["\ue000", "\uf8ff", "\U000f0000", "\U0010fffd"])
def test_a_private_use_character_is_refused_saying_what_it_is_and_what_to_do(ch):
    for problem in (name_problem(f"张{ch}"), unit_name_problem(f"广州{ch}工程监理有限公司")):
        assert problem is not None
        assert "私用区" in problem and f"U+{ord(ch):04X}" in problem
        assert "请改用标准汉字" in problem and "协会秘书处" in problem
    # the other refusals keep their messages
    assert name_problem("张\u200d三") == "不能包含控制字符或不可见字符"
    assert name_problem("张三😀") == "只能包含文字、间隔号和空格"
    assert name_problem("\U0003ffff") == "只能包含文字、间隔号和空格"  # unassigned, past Ext H
    assert unit_name_problem("广州\U000323b0工程监理有限公司").startswith("只能包含")


def test_a_cut_name_ends_in_an_ellipsis_and_keeps_a_character_with_its_marks():
    assert shorten("陈𠮷䶮", 3) == "陈𠮷䶮"
    assert shorten("阿卜杜热合曼𠮷𪚥", 5) == "阿卜杜热…"
    # 葛 with its variation selector (an IVS) is kept whole or left out whole
    assert shorten("张葛\U000e0100三四", 3) == "张…"
    assert shorten("张葛\U000e0100三四", 4) == "张葛\U000e0100…"
