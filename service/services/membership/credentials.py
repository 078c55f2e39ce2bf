"""Password hashes, setting a password under the rules, one-time passwords, ending sessions.

Passwords are stored only as argon2id hashes. An account without a usable password (a new
member, until the unit issues one) stores UNUSABLE, which no password matches. Checking a
password takes the same time whether or not the account exists or has one.
"""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from service.db.models import Account, utcnow
from service.domain.errors import FormInvalid
from service.domain.passwords import one_time_password, password_problem

# OWASP's minimum argon2id parameters: strong enough, ~15 ms a hash on this hardware.
_HASHER = PasswordHasher(time_cost=2, memory_cost=19 * 1024, parallelism=1)
# not an argon2 hash: matches no password (the same literal is in migration 0005)


def hash_password(password: str) -> str:
    """An argon2id hash of the password."""
    return _HASHER.hash(password)


@cache
def _dummy_hash() -> str:
    return _HASHER.hash("memberflow-no-such-account")


def password_matches(stored: str | None, password: str) -> bool:
    """Whether `password` matches the stored hash; None or UNUSABLE check a dummy hash instead,
    so an unknown account takes as long as a real one."""
    usable = bool(stored) and stored.startswith("$argon2")
    try:
        return _HASHER.verify(stored if usable else _dummy_hash(), password or "") and usable
    except (VerificationError, InvalidHashError):
        return False


def check_password(password: str, username: str, id_number: str | None = None, field="password"):
    """FormInvalid naming `field` when the password breaks a rule (domain.passwords)."""
    problem = password_problem(password, username, id_number)
    if problem:
        raise FormInvalid({field: problem})


def end_sessions(account: Account) -> None:
    """Every token and page session of the account stops working (they carry the version)."""
    # in SQL: two simultaneous resets never write the same version
    account.auth_version = Account.auth_version + 1


def set_password(account: Account, password: str, *, must_change: bool) -> None:
    """Store a new password (already checked); every earlier session ends."""
    account.password_hash = hash_password(password)
    account.must_change_password = must_change
    account.password_changed_at = utcnow()
    end_sessions(account)


def issue_one_time_password(account: Account) -> str:
    """A new random password for the account, to be shown once; it must be changed at the
    next sign-in. Only its hash is kept."""
    password = one_time_password()
    set_password(account, password, must_change=True)
    return password
