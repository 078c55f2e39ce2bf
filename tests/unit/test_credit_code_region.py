"""A unified social credit code's characters 3–8 are the registering authority's
administrative division code (GB 32100-2015): its first two are a province's, or 10 for
the central authorities. A code whose check character is right but whose region is no
region was taken as valid."""

from __future__ import annotations

import pytest

from service.domain.validation import (
    InvalidValue,
    check_credit_code,
    credit_code_problem,
    make_credit_code,
)

REGION = "统一社会信用代码第3–8位（登记管理机关行政区划码）不正确"
CHECK = "统一社会信用代码校验位不正确"


@pytest.mark.parametrize(
    "prefix17",
    [
        "91440101190468342",  # 广州
        "91110108551385082",  # 北京
        "91650102MA7XYW123",  # 新疆
        "12100000400000000",  # a central-level registration: 100000
        "52310000MJ4900000",  # 上海
        "91810000123456789",  # 香港 (81), as resident IDs take it
    ],
)
def test_a_code_registered_in_a_province_or_centrally_is_accepted(prefix17):
    code = make_credit_code(prefix17)
    assert check_credit_code(code) == code
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    "prefix17",
    [
        "91000101190468342",  # 00
        "91990101190468342",  # 99
        "91160101190468342",  # 16: between 内蒙古 (15) and 辽宁 (21)
        "91200000400000000",  # 20
        "91AB0101190468342",  # letters where digits must be
        "9140A101190468342",  # 4A
    ],
)
def test_a_code_whose_region_is_no_region_is_refused_though_its_check_character_fits(prefix17):
    code = make_credit_code(prefix17)  # the check character is right for these 17
    with pytest.raises(InvalidValue) as refused:
        check_credit_code(code)
    assert refused.value.message == REGION
    assert credit_code_problem(code) == REGION


def test_a_wrong_check_character_is_still_named_when_the_region_is_right():
    code = make_credit_code("91440101190468342")
    wrong = code[:17] + ("0" if code[17] != "0" else "1")
    assert credit_code_problem(wrong) == CHECK
