"""Values as a Chinese input method types them: full-width digits and letters, spaces inside
and around (the ideographic U+3000 too). ID numbers, credit codes and mobiles are read as
their clean form; names lose padding, and inner spaces next to Chinese characters."""

from datetime import date
from decimal import Decimal

import pytest

from service.db.models import LearningTask
from service.domain.validation import (
    check_credit_code,
    clean_code,
    clean_name,
    login_name,
    make_credit_code,
    make_resident_id,
    normalize_mobile,
    parse_id,
)
from service.services.education.learning import _check

ID = make_resident_id("11010519491231002")
WIDE = str.maketrans(
    "0123456789ABCDEFGHJKLMNPQRTUWXY",
    "０１２３４５６７８９ＡＢＣＤＥＦＧＨＪＫＬＭＮＰＱＲＴＵＷＸＹ",
)


def wide(text: str) -> str:
    return text.translate(WIDE)


@pytest.mark.parametrize(
    "typed",
    [
        wide(ID),
        wide(ID).lower().replace("ｘ", "ｘ"),
        f"\u3000{ID[:6]} {ID[6:14]}\u3000{ID[14:]} ",
        f" {wide(ID)[:6]}\u3000{wide(ID)[6:]}",
        ID.lower(),
    ],
)
def test_an_id_number_typed_full_width_or_spaced_is_read_as_its_clean_form(typed):
    info = parse_id("resident_id", typed, date(2024, 6, 1))
    assert info.number == ID and info.birth_date == date(1949, 12, 31)
    assert clean_code(typed) == ID


def test_a_permit_a_credit_code_and_a_mobile_typed_full_width_are_clean():
    assert parse_id("hk_macau_permit", "ｈ１２３４　５６７８").number == "H12345678"
    code = make_credit_code("91440101MA59ABCD1")
    assert check_credit_code(f" {wide(code)[:9]}\u3000{wide(code)[9:]} ") == code
    assert normalize_mobile("１３８\u3000００１３ ８０００") == "13800138000"
    assert normalize_mobile("＋８６ １３８－００１３－８０００") == "13800138000"


@pytest.mark.parametrize(
    ("typed", "kept"),
    [
        (" 刘 志强 ", "刘志强"),
        ("刘\u3000强", "刘强"),
        ("\u3000欧阳  娜娜\u3000", "欧阳娜娜"),
        ("买买提·艾力", "买买提·艾力"),
        ("张 · 伊力", "张·伊力"),
        ("  John   Smith ", "John Smith"),
        ("Mary\u3000Ann O'Brien", "Mary Ann O'Brien"),
        ("李 Tom", "李Tom"),
        ("", ""),
    ],
)
def test_a_name_loses_its_padding_and_inner_spaces_next_to_chinese(typed, kept):
    assert clean_name(typed) == kept


@pytest.mark.parametrize(
    ("typed", "looked_up"),
    [
        (wide(ID), ID),
        (f" {ID[:6]} {ID[6:]}", ID),
        ("１３８ ００１３ ８０００", "13800138000"),
        (" 广州珠江工程建设监理有限公司（总部） ", "广州珠江工程建设监理有限公司（总部）"),
        (" xiehui ", "xiehui"),
    ],
)
def test_a_sign_in_name_is_looked_up_by_its_clean_id_number_or_mobile(typed, looked_up):
    assert login_name(typed) == looked_up


def test_the_learning_import_matches_a_typed_id_number_and_a_spaced_name():
    task = LearningTask(
        id=1,
        id_number=ID,
        name="刘志强",
        status="开课未学习",
        required_hours=Decimal("24"),
        exam_attempts=0,
    )
    record = {
        "id_number": wide(ID),
        "name": "刘\u3000志强 ",
        "completed_hours": 24,
        "exam_status": "已通过",
        "exam_attempts": 1,
    }
    result, problem = _check("第2行", record, {ID: [(task, "JY-1")]}, set(), 3)
    assert problem is None and result[0] is task
