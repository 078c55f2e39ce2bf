"""What a unit's name and a unit's free texts may hold (service/domain/validation.py): the
rule the forms match is the rule the service checks."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from service.domain.validation import (
    NO_PRIVATE_USE,
    UNIT_NAME_NOT_A_NUMBER,
    UNIT_NAME_PATTERN,
    invisible_problem,
    unit_name_problem,
)

REPO = Path(__file__).resolve().parents[2]
INVISIBLE = "不能包含控制字符或不可见字符"


def test_the_rename_form_matches_the_same_characters_as_the_service():
    schema = json.loads((REPO / "forms/unit_name_change/start.schema.json").read_text("utf-8"))
    new_name = schema["$defs"]["form"]["properties"]["new_name"]
    patterns = [NO_PRIVATE_USE, UNIT_NAME_PATTERN, UNIT_NAME_NOT_A_NUMBER]
    assert [sub["pattern"] for sub in new_name["allOf"]] == patterns
    for pattern in patterns:  # the designer's check compiles every pattern with `re`
        re.compile(pattern)
    # the first refuses what unit_name_problem calls private use, and nothing else
    private = re.compile(NO_PRIVATE_USE)
    for ch in ("\ue000", "\uf8ff", "\U000f0000", "\U0010fffd"):
        assert private.search(f"广州{ch}监理") is None
        assert "私用区" in unit_name_problem(f"广州{ch}监理")
    for ch in ("\ud7ff", "\uf900", "\U00020000", "\U000e0100"):
        assert private.search(f"广州{ch}监理") is not None


@pytest.mark.parametrize(
    "name",
    [
        "广州珠江工程建设监理有限公司",
        "中铁二局（广东）工程建设监理有限公司",
        "广东省建筑设计研究院(集团)有限公司",
        "广州AECOM工程咨询有限公司",
        "Smith & Partners Co., Ltd.",
        "珠海市·香洲区监理站",
        "佛山市顺德区〇一工程监理有限公司",
        "𠀾州监理有限公司",  # a character of CJK extension B
        "ＡＢＣ监理有限公司",
    ],
)
def test_the_names_of_companies_are_taken(name):
    assert unit_name_problem(name) is None


@pytest.mark.parametrize(
    ("name", "problem"),
    [
        ("珠江😀监理", "只能包含"),
        ("珠江★监理", "只能包含"),
        ("珠江监理®", "只能包含"),
        ("珠江\u3000监理", "只能包含"),  # the ideographic space: a login unlike the name shown
        ("珠江监理\n", INVISIBLE),
        ("珠江\u200b监理", INVISIBLE),
        ("珠江\u202e监理", INVISIBLE),
        ("珠江\u3164监理", INVISIBLE),  # a Hangul filler prints as nothing
        ("Зенит监理", "只能包含"),
    ],
)
def test_emoji_symbols_and_invisible_characters_are_refused(name, problem):
    assert (unit_name_problem(name) or "").startswith(problem)


@pytest.mark.parametrize(
    "text",
    ["\u202e地址", "地\u2066址", "地址\u200b", "\ufeff地址", "地\x07址", "地址\u2028", "地\n址"],
)
def test_control_bidi_and_zero_width_characters_are_refused_in_a_text(text):
    problem = invisible_problem(text) or ""
    assert problem.startswith(INVISIBLE) and "U+" in problem


def test_a_text_of_several_lines_keeps_its_line_breaks_and_what_shows():
    assert (
        invisible_problem("工程监理；\r\n工程管理服务\t（依法须经批准的项目）", lines=True) is None
    )
    assert invisible_problem("<script>alert(1)</script>地址😀") is None  # escaped where shown
    assert invisible_problem("工程\u202e监理", lines=True) is not None


@pytest.mark.parametrize("name", ["13900000005", "44010619900101118X", "１３９ ０００"])
def test_a_name_of_digits_alone_is_refused(name):
    """It would be the main account's login, shaped as a mobile's or an ID number's."""
    assert unit_name_problem(name) == "不能只由数字组成（会与手机号、证件号码形式的登录名混淆）"
    assert re.search(UNIT_NAME_NOT_A_NUMBER, name) is None
    assert unit_name_problem("12345监理") is None
