"""The password rules (service.domain.passwords): each refusal names the rule broken."""

from __future__ import annotations

import pytest

from service.domain.passwords import ONE_TIME_ALPHABET, one_time_password, password_problem

ID_NUMBER = "44010619850315231X"


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("abc123", "至少8位"),
        ("x" * 129, "不能超过128位"),
        ("aaaaaaaaaa", "同一个字符"),
        (ID_NUMBER, "登录账号"),
        (ID_NUMBER.lower(), "登录账号"),
        ("44010619850315231", "身份证号"),  # its digits
        ("19850315", "身份证号"),  # the birth date inside it
        ("0619850315231X", "身份证号"),  # a run of it
    ],
)
def test_a_password_breaking_a_rule_is_refused_with_the_rule_named(password, rule):
    assert rule in password_problem(password, ID_NUMBER, ID_NUMBER)


@pytest.mark.parametrize("password", ["secret123", "Guangzhou-2026", "4401abcd0619"])
def test_a_password_keeping_the_rules_is_accepted(password):
    assert password_problem(password, ID_NUMBER, ID_NUMBER) is None


def test_a_staff_password_may_not_be_the_login_name():
    assert "登录账号" in password_problem("jigou2026", "JIGOU2026")
    assert password_problem("jigou2026!", "jigou2026") is None


def test_one_time_passwords_are_random_unambiguous_and_keep_the_rules():
    issued = {one_time_password() for _ in range(200)}
    assert len(issued) == 200
    for password in issued:
        assert len(password) == 10 and set(password) <= set(ONE_TIME_ALPHABET)
        assert not set(password) & set("0O1lI")
        assert password_problem(password, ID_NUMBER, ID_NUMBER) is None
