"""The password rules every set, change and reset obeys, and one-time passwords.

Pure: no storage, no hashing. Each refusal is a Chinese sentence naming the rule broken.
"""

from __future__ import annotations

import re
import secrets

# what an account that has no password yet stores: not an argon2 hash, so nothing matches it
UNUSABLE = "!no-password"
MIN_LENGTH = 8
MAX_LENGTH = 128
# no 0/O/o, 1/l/I: a one-time password is read aloud or copied from a screen
ONE_TIME_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnpqrstuvwxyz23456789"
ONE_TIME_LENGTH = 10
_DIGITS = re.compile(r"[0-9]+")


def password_problem(password: str, username: str, id_number: str | None = None) -> str | None:
    """What is wrong with `password` for this account, or None when it may be used.

    Rules: 8 to 128 characters; not one character repeated; not the login name; not the
    ID number, its digits or a run of them (its last six were the old initial password,
    its middle eight are the birth date).
    """
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"密码至少{MIN_LENGTH}位"
    if len(password) > MAX_LENGTH:
        return f"密码不能超过{MAX_LENGTH}位"
    if len(set(password)) == 1:
        return "密码不能全部是同一个字符"
    folded = password.strip().upper()
    if folded == (username or "").strip().upper():
        return "密码不能与登录账号相同"
    number = (id_number or "").strip().upper()
    if number and _from_id_number(folded, number):
        return "密码不能是身份证号或其中的一段数字"
    return None


def _from_id_number(password: str, number: str) -> bool:
    digits = "".join(_DIGITS.findall(number))
    if password in (number, digits):
        return True
    return len(password) >= 6 and (password in number or password in digits)


def one_time_password() -> str:
    """A random password of 10 unambiguous letters and digits (about 58 bits)."""
    while True:
        candidate = "".join(secrets.choice(ONE_TIME_ALPHABET) for _ in range(ONE_TIME_LENGTH))
        # at least one letter and one digit, so it never reads as a number or a word
        if any(c.isdigit() for c in candidate) and any(c.isalpha() for c in candidate):
            return candidate
