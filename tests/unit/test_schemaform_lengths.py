"""The length a drawn box takes: the browser's `maxlength` counts UTF-16 units, the schema's
`maxLength` characters, so a free-text box must take twice as many units."""

from __future__ import annotations

from pathlib import Path

from service.engine import load_definitions
from service.web.schemaform import box_limit, build_form, limit_attributes

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")

# 50 characters, 12 outside the BMP: 62 UTF-16 units
NAME = ("阿卜杜热合曼" + "𠮷𪚥𬌗" * 4 + "·" + "库尔班吐尔逊买买提艾力江" * 3)[:50]


def by_key(fields, key):
    return next(f for f in fields if f.key == key)


def utf16_units(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def test_a_name_box_takes_a_name_of_fifty_rare_characters_and_says_its_limit():
    form = build_form(DEFINITIONS["member_join"].start_form, {}, fixed={"variant": "full"})
    name = by_key(form.fields, "name")
    assert name.limit == ' maxlength="100" data-max-chars="50"'
    assert box_limit(50) >= utf16_units(NAME) and utf16_units("𠮷" * 50) <= box_limit(50)
    address = by_key(form.fields, "address")
    assert address.limit == ' maxlength="400" data-max-chars="200"'


def test_a_code_box_keeps_its_exact_limit():
    """An ID number is letters and digits, one UTF-16 unit each: the browser counts as the
    schema does, and nothing needs saying."""
    form = build_form(DEFINITIONS["member_join"].start_form, {}, fixed={"variant": "full"})
    assert by_key(form.fields, "id_number").limit == ' maxlength="20"'
    assert limit_attributes(18, code=True) == ' maxlength="18"'


def test_a_field_without_a_limit_has_no_length_attributes():
    assert limit_attributes(None) == ""
    form = build_form(DEFINITIONS["member_join"].start_form, {}, fixed={"variant": "full"})
    assert by_key(form.fields, "mobile").limit == ""
