"""Table-driven tests for service.domain.validation."""

from datetime import date

import pytest

from service.domain.validation import (
    ID_TYPES,
    IdInfo,
    InvalidValue,
    age_on,
    check_credit_code,
    credit_code_problem,
    id_problem,
    make_credit_code,
    make_resident_id,
    mobile_problem,
    name_problem,
    normalize_mobile,
    parse_id,
)

TODAY = date(2024, 6, 1)

ID_FORMAT_MESSAGE = "身份证号码应为18位，前17位为数字，最后一位为数字或X"
ID_CHECK_MESSAGE = "身份证号码校验位不正确"
ID_BIRTH_MESSAGE = "身份证号码中的出生日期无效"
ID_REGION_MESSAGE = "身份证号码的地区代码无效"
PERMIT_PREFIX_MESSAGE = "港澳台居民居住证号码须以810000、820000或830000开头"
CREDIT_FORMAT_MESSAGE = "统一社会信用代码应为18位，由数字和大写字母组成（不含I、O、Z、S、V）"
CREDIT_CHECK_MESSAGE = "统一社会信用代码校验位不正确"
MOBILE_MESSAGE = "手机号码应为11位中国大陆手机号"
PERMIT_FORMAT_MESSAGE = "港澳台居民居住证号码应为18位，前17位为数字，最后一位为数字或X"
HK_MACAU_MESSAGE = "港澳居民来往内地通行证号码应以H或M开头，后接8位或10位数字"
TAIWAN_MESSAGE = "台湾居民来往大陆通行证号码应为8位数字"
PASSPORT_MESSAGE = "护照号码应为5至17位字母或数字"


def test_id_types_map_each_code_to_its_chinese_label():
    assert ID_TYPES == {
        "resident_id": "居民身份证",
        "residence_permit": "港澳台居民居住证",
        "hk_macau_permit": "港澳居民来往内地通行证",
        "taiwan_permit": "台湾居民来往大陆通行证",
        "passport": "护照",
    }


@pytest.mark.parametrize(
    ("id_type", "number", "normalized", "birth_date", "gender"),
    [
        ("resident_id", "11010519491231002X", "11010519491231002X", date(1949, 12, 31), "女"),
        ("resident_id", "440308199901101512", "440308199901101512", date(1999, 1, 10), "男"),
        ("resident_id", "11010519491231002x", "11010519491231002X", date(1949, 12, 31), "女"),
        ("resident_id", " 440308199901101512\n", "440308199901101512", date(1999, 1, 10), "男"),
        ("resident_id", "810000199408230021", "810000199408230021", date(1994, 8, 23), "女"),
        ("resident_id", "110105202406010013", "110105202406010013", date(2024, 6, 1), "男"),
        ("residence_permit", "810000199408230021", "810000199408230021", date(1994, 8, 23), "女"),
        ("residence_permit", "830000199201300022", "830000199201300022", date(1992, 1, 30), "女"),
        ("residence_permit", "820000198511070035", "820000198511070035", date(1985, 11, 7), "男"),
        ("hk_macau_permit", "H12345678", "H12345678", None, None),
        ("hk_macau_permit", "M1234567890", "M1234567890", None, None),
        ("hk_macau_permit", "h12345678", "H12345678", None, None),
        ("hk_macau_permit", "m1234567890", "M1234567890", None, None),
        ("taiwan_permit", "12345678", "12345678", None, None),
        ("passport", "E12345678", "E12345678", None, None),
        ("passport", "e12345678", "E12345678", None, None),
        ("passport", "12345", "12345", None, None),
        ("passport", "ABCDEFGHIJ1234567", "ABCDEFGHIJ1234567", None, None),
    ],
)
def test_valid_id_numbers_are_normalized_with_derived_birth_date_and_gender(
    id_type, number, normalized, birth_date, gender
):
    expected = IdInfo(number=normalized, birth_date=birth_date, gender=gender)
    assert parse_id(id_type, number, today=TODAY) == expected
    assert id_problem(id_type, number, today=TODAY) is None


@pytest.mark.parametrize(
    ("id_type", "number", "message"),
    [
        # Published invalid samples: wrong check character.
        ("resident_id", "110105194912310021", ID_CHECK_MESSAGE),
        ("resident_id", "440308199901101513", ID_CHECK_MESSAGE),
        # Pattern violations.
        ("resident_id", "11010519491231002", ID_FORMAT_MESSAGE),
        ("resident_id", "11010519491231002X1", ID_FORMAT_MESSAGE),
        ("resident_id", "1101051949123100X2", ID_FORMAT_MESSAGE),
        ("resident_id", "11010519491231002Y", ID_FORMAT_MESSAGE),
        ("resident_id", "１１０１０５１９４９１２３１００２Ｙ", ID_FORMAT_MESSAGE),
        ("resident_id", "110105 19491231 002X 1", ID_FORMAT_MESSAGE),
        # Birth date: Feb 30 (correct check char) and a birth after `today`.
        ("resident_id", "11010519900230001X", ID_BIRTH_MESSAGE),
        ("resident_id", "110105202501010011", "身份证号码中的出生日期不能晚于今天"),
        # Province codes outside the published list (check chars are correct).
        ("resident_id", "990105194912310023", ID_REGION_MESSAGE),
        ("resident_id", make_resident_id("16010519491231002"), ID_REGION_MESSAGE),
        ("resident_id", make_resident_id("72010519491231002"), ID_REGION_MESSAGE),
        ("resident_id", make_resident_id("84010519491231002"), ID_REGION_MESSAGE),
        ("resident_id", make_resident_id("00010519491231002"), ID_REGION_MESSAGE),
        # Residence permit: prefix, check character, birth date and pattern.
        ("residence_permit", "11010519491231002X", PERMIT_PREFIX_MESSAGE),
        ("residence_permit", make_resident_id("81000119940823002"), PERMIT_PREFIX_MESSAGE),
        ("residence_permit", "810000199408230022", "港澳台居民居住证号码校验位不正确"),
        (
            "residence_permit",
            make_resident_id("81000019940230002"),
            "港澳台居民居住证号码中的出生日期无效",
        ),
        ("residence_permit", "81000019940823002", PERMIT_FORMAT_MESSAGE),
        # Other document patterns.
        ("hk_macau_permit", "A12345678", HK_MACAU_MESSAGE),
        ("hk_macau_permit", "H1234567", HK_MACAU_MESSAGE),
        ("hk_macau_permit", "H123456789", HK_MACAU_MESSAGE),
        ("hk_macau_permit", "M123456789012", HK_MACAU_MESSAGE),
        ("taiwan_permit", "1234567", TAIWAN_MESSAGE),
        ("taiwan_permit", "123456789", TAIWAN_MESSAGE),
        ("taiwan_permit", "T1234567", TAIWAN_MESSAGE),
        ("passport", "1234", PASSPORT_MESSAGE),
        ("passport", "ABCDEFGHIJ12345678", PASSPORT_MESSAGE),
        ("passport", "E1234-5678", PASSPORT_MESSAGE),
        ("passport", "E1234-5678", PASSPORT_MESSAGE),
        # Empty input.
        ("resident_id", "", "请填写居民身份证号码"),
        ("passport", "   ", "请填写护照号码"),
    ],
)
def test_invalid_id_numbers_are_rejected_with_a_chinese_explanation(id_type, number, message):
    with pytest.raises(InvalidValue) as excinfo:
        parse_id(id_type, number, today=TODAY)
    assert excinfo.value.message == message
    assert str(excinfo.value) == message
    assert id_problem(id_type, number, today=TODAY) == message


@pytest.mark.parametrize("id_type", ["driver_license", "", "RESIDENT_ID", "居民身份证"])
def test_unknown_id_types_are_rejected_as_invalid_document_types(id_type):
    message = id_problem(id_type, "11010519491231002X", today=TODAY)
    assert message is not None
    assert message.startswith("证件类型无效")
    with pytest.raises(InvalidValue):
        parse_id(id_type, "11010519491231002X", today=TODAY)


def test_birth_date_after_the_real_today_is_rejected_when_today_is_not_given():
    next_year = date.today().year + 1
    number = make_resident_id(f"110105{next_year}0101001")
    assert id_problem("resident_id", number) == "身份证号码中的出生日期不能晚于今天"


def test_invalid_value_is_a_value_error():
    assert issubclass(InvalidValue, ValueError)


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("91350100M000100Y43", "91350100M000100Y43"),
        ("91110108551385082Q", "91110108551385082Q"),
        ("91110108551385082q", "91110108551385082Q"),
        ("91350100m000100y43", "91350100M000100Y43"),
        ("  91110108551385082Q ", "91110108551385082Q"),
        ("911101080000000080", "911101080000000080"),  # check value 31 is written as 0
    ],
)
def test_valid_credit_codes_are_accepted_and_uppercased(code, expected):
    assert check_credit_code(code) == expected
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("91350100M000100Y4Z", CREDIT_FORMAT_MESSAGE),
        ("91350100M000100Y44", CREDIT_CHECK_MESSAGE),
        ("91110108551385082R", CREDIT_CHECK_MESSAGE),
        ("91350100I000100Y43", CREDIT_FORMAT_MESSAGE),
        ("91350100O000100Y43", CREDIT_FORMAT_MESSAGE),
        ("91350100Z000100Y43", CREDIT_FORMAT_MESSAGE),
        ("91350100S000100Y43", CREDIT_FORMAT_MESSAGE),
        ("91350100V000100Y43", CREDIT_FORMAT_MESSAGE),
        ("91350100M000100Y4", CREDIT_FORMAT_MESSAGE),
        ("91350100M000100Y433", CREDIT_FORMAT_MESSAGE),
        ("91350100-M000100Y4", CREDIT_FORMAT_MESSAGE),
        ("", "请填写统一社会信用代码"),
        ("　 ", "请填写统一社会信用代码"),
    ],
)
def test_invalid_credit_codes_are_rejected_with_a_chinese_explanation(code, message):
    with pytest.raises(InvalidValue) as excinfo:
        check_credit_code(code)
    assert excinfo.value.message == message
    assert credit_code_problem(code) == message


@pytest.mark.parametrize(
    ("mobile", "expected"),
    [
        ("13800138000", "13800138000"),
        ("+8613800138000", "13800138000"),
        ("008613800138000", "13800138000"),
        ("138 0013 8000", "13800138000"),
        ("138-0013-8000", "13800138000"),
        ("+86 138-0013-8000", "13800138000"),
        (" 0086 138 0013 8000 ", "13800138000"),
        ("14712345678", "14712345678"),
        ("16612345678", "16612345678"),
        ("17712345678", "17712345678"),
        ("18912345678", "18912345678"),
        ("19012345678", "19012345678"),
        ("19212345678", "19212345678"),
        ("19312345678", "19312345678"),
        ("19512345678", "19512345678"),
        ("19612345678", "19612345678"),
        ("19712345678", "19712345678"),
        ("19912345678", "19912345678"),
    ],
)
def test_valid_mainland_mobiles_normalize_to_eleven_digits(mobile, expected):
    assert normalize_mobile(mobile) == expected
    assert mobile_problem(mobile) is None


@pytest.mark.parametrize(
    "mobile",
    [
        "12012345678",
        "12912345678",
        "10012345678",
        "1380013800",
        "138001380000",
        "23800138000",
        "+8612012345678",
        "8613800138000",
        "+1 4155550123",
        "1380013800a",
        "１３８００１３８００",
        "",
    ],
)
def test_invalid_mobiles_are_rejected_with_a_chinese_explanation(mobile):
    with pytest.raises(InvalidValue) as excinfo:
        normalize_mobile(mobile)
    assert excinfo.value.message == MOBILE_MESSAGE
    assert mobile_problem(mobile) == MOBILE_MESSAGE


@pytest.mark.parametrize(
    ("birth_date", "on", "expected"),
    [
        (date(1990, 6, 15), date(1990, 6, 15), 0),
        (date(1990, 6, 15), date(2020, 6, 14), 29),
        (date(1990, 6, 15), date(2020, 6, 15), 30),
        (date(1990, 6, 15), date(2020, 6, 16), 30),
        (date(1990, 12, 31), date(2021, 1, 1), 30),
        (date(1990, 1, 1), date(2020, 12, 31), 30),
        (date(2000, 2, 29), date(2023, 2, 28), 22),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 28), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
    ],
)
def test_age_counts_full_years_with_the_birthday_itself_counting(birth_date, on, expected):
    assert age_on(birth_date, on) == expected


def test_age_before_birth_is_rejected():
    with pytest.raises(InvalidValue):
        age_on(date(2000, 1, 2), date(2000, 1, 1))


@pytest.mark.parametrize(
    "number",
    ["11010519491231002X", "440308199901101512", "810000199408230021", "830000199201300022"],
)
def test_make_resident_id_reproduces_published_check_characters(number):
    assert make_resident_id(number[:17]) == number


@pytest.mark.parametrize(
    ("id_type", "prefix17"),
    [
        ("resident_id", "31011519800101123"),
        ("resident_id", "65010220121212000"),
        ("resident_id", "71000019700707070"),
        ("residence_permit", "82000020000229001"),
    ],
)
def test_make_resident_id_output_passes_validation(id_type, prefix17):
    number = make_resident_id(prefix17)
    assert len(number) == 18
    assert number.startswith(prefix17)
    assert id_problem(id_type, number, today=TODAY) is None


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110108551385082Q"])
def test_make_credit_code_reproduces_published_check_characters(code):
    assert make_credit_code(code[:17]) == code


@pytest.mark.parametrize(
    "prefix17",
    ["91110108000000008", "12100000400000000", "52310000MJ4900000", "9144030071526726x"],
)
def test_make_credit_code_output_passes_validation(prefix17):
    code = make_credit_code(prefix17)
    assert code.startswith(prefix17.upper())
    assert check_credit_code(code) == code


@pytest.mark.parametrize(
    ("maker", "prefix17"),
    [
        (make_resident_id, "1101051949123100"),
        (make_resident_id, "1101051949123100X"),
        (make_credit_code, "9135010010001004"),
        (make_credit_code, "91350100I00010040"),
    ],
)
def test_make_helpers_reject_malformed_prefixes(maker, prefix17):
    with pytest.raises(InvalidValue):
        maker(prefix17)


@pytest.mark.parametrize(
    "name, problem",
    [
        ("陈志强", None),
        ("阿卜杜·热合曼", None),  # 间隔号
        ("CHAN Tai-man", None),
        ("O'Brien", None),
        ("王〇", None),  # 〇 is a letter-like number
        ("张\u202e三", "不能包含控制字符或不可见字符"),  # Cf: right-to-left override
        ("张\u200b三", "不能包含控制字符或不可见字符"),  # Cf: zero-width space
        ("张\x1c三", "不能包含控制字符或不可见字符"),  # Cc, though Python's `re` calls it a space
        ("张\ufeff三", "不能包含控制字符或不可见字符"),
        ("\u3164", "不能包含控制字符或不可见字符"),  # Lo, but blank: the Hangul filler
        ("张\uffa0三", "不能包含控制字符或不可见字符"),  # its half-width form
        ("张三😀", "只能包含文字、间隔号和空格"),
        ("张三(男)", "只能包含文字、间隔号和空格"),
    ],
)
def test_name_problem_refuses_what_cannot_be_printed_on_a_certificate(name, problem):
    assert name_problem(name) == problem
