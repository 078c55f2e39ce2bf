"""The forms' formats, and a quick check that a submitted form is valid.

`FORMAT_CHECKER` holds the formats the forms use beyond JSON Schema's own ("cn-mobile",
"person-name", "file-id"); jsonschema's validators check every format through it.

Most forms people send are valid, and jsonschema spends most of a request's form check
walking a valid form to find no error. `quick_validator` compiles the same schema with
jsonschema-rs, which answers "valid" in a fraction of the time. It only ever answers for
a valid form: a form it finds invalid is checked again by jsonschema, whose errors say
which field is wrong and how (see forms.validate_form), and whose verdict stands. So the
quick check may be stricter than jsonschema (a form is then checked twice) but must never
be more lenient. Two keywords would be, measured: jsonschema-rs matches a `pattern` with
ECMA-262's classes (`\\S` matches "\\x1c", which Python's `re` counts as a space) and
checks formats its own way ("20200101" is a date to it). Both are therefore checked by
the same Python code jsonschema runs: `pattern` with `re.search`, `format` with
`FORMAT_CHECKER`. tests/unit/test_quick_forms.py holds every form of every definition
against jsonschema's verdict on generated valid and broken forms.
"""

from __future__ import annotations

import re

import jsonschema_rs
from jsonschema import FormatChecker

from service.domain.validation import mobile_problem, name_problem

FORMAT_CHECKER = FormatChecker()


@FORMAT_CHECKER.checks("cn-mobile")
def _is_mobile(value: object) -> bool:
    return not isinstance(value, str) or mobile_problem(value) is None


@FORMAT_CHECKER.checks("person-name")
def _is_person_name(value: object) -> bool:
    return not isinstance(value, str) or name_problem(value) is None


@FORMAT_CHECKER.checks("file-id")
def _is_file_id(value: object) -> bool:
    return not isinstance(value, str) or (len(value) == 32 and value.isalnum())


class _Pattern:
    """`pattern` as jsonschema checks it: Python's `re.search` on strings."""

    def __init__(self, _parent: dict, value: str, _path: list) -> None:
        self.regex = re.compile(value)

    def validate(self, instance: object) -> None:
        if isinstance(instance, str) and self.regex.search(instance) is None:
            raise ValueError("pattern")


class _Format:
    """`format` as jsonschema checks it: through FORMAT_CHECKER (an unknown one passes)."""

    def __init__(self, _parent: dict, value: str, _path: list) -> None:
        self.name = value

    def validate(self, instance: object) -> None:
        if not FORMAT_CHECKER.conforms(instance, self.name):
            raise ValueError("format")


def quick_validator(schema: dict) -> jsonschema_rs.Validator:
    """jsonschema-rs's validator of a self-contained (dereferenced) form schema, with
    `pattern` and `format` checked as jsonschema checks them."""
    return jsonschema_rs.Draft202012Validator(
        schema, keywords={"pattern": _Pattern, "format": _Format}
    )


def quickly_valid(validator: jsonschema_rs.Validator | None, data: object) -> bool:
    """Whether the quick check finds `data` valid; False when it cannot tell (no quick
    validator, or a value it cannot take in: a date, a key that is not text, a lone
    surrogate). The data is parsed JSON: the request's body, and read-only values of the
    state the same request read from JSON (jsonschema-rs would take a tuple, which JSON
    never yields, as an array, where jsonschema does not)."""
    if validator is None:
        return False
    try:
        return validator.is_valid(data)
    except (ValueError, TypeError, OverflowError):
        return False
