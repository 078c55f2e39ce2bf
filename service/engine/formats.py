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
the same Python code jsonschema runs: `pattern` with `pattern_search`, `format` with
`FORMAT_CHECKER`. tests/unit/test_quick_forms.py holds every form of every definition
against jsonschema's verdict on generated valid and broken forms.

A `pattern` is a designer's regular expression run on what anybody sends, and a
backtracking one such as `^(a+)+$` takes seconds, then hours, as the text grows by a few
characters. Both checks therefore match with the `regex` module (the syntax of Python's
`re`) under a time limit, `PATTERN_SECONDS` for one value: a value it cannot decide in time
is refused (`PATTERN_TIMEOUT`, said to the person as a value too complex to check), and a
request can never hold a server thread for longer than its values' limits.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache

import jsonschema_rs
import regex
from jsonschema import Draft202012Validator, FormatChecker, ValidationError, validators

from service.domain.validation import mobile_problem, name_problem, shows_nothing

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


PATTERN_SECONDS = 0.05  # a designer's pattern on one value: a sane one takes microseconds
PATTERN_TIMEOUT = "pattern-timeout"  # the message of a value no pattern decided in time
# a pattern that does not compile; the design's check compiled every pattern with `re`
# already (jsonschema's "regex" format), and `regex` takes all that `re` takes
PatternError = regex.error


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> regex.Pattern:
    return regex.compile(pattern)


def pattern_search(pattern: str, text: str) -> bool | None:
    """Whether `pattern` is found in `text` (as `re.search` finds it); None when the match
    did not end within PATTERN_SECONDS. A text that shows nothing (invisible characters and
    spaces: a U+200B alone) is searched as the blank it looks like, so that a "not blank"
    `\\S` refuses it as it refuses spaces."""
    if shows_nothing(text):  # (read up to its first visible character: at once for most)
        text = ""
    try:
        return _compiled(pattern).search(text, timeout=PATTERN_SECONDS) is not None
    except TimeoutError:
        return None


def _pattern(validator, pattern: str, instance: object, _schema: dict) -> Iterator[ValidationError]:
    """jsonschema's `pattern` keyword, through `pattern_search`."""
    if not validator.is_type(instance, "string"):
        return
    found = pattern_search(pattern, instance)
    if found is None:
        yield ValidationError(PATTERN_TIMEOUT)
    elif not found:
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


# the forms' validator: JSON Schema 2020-12 with `pattern` matched under a time limit
FormValidator = validators.extend(Draft202012Validator, {"pattern": _pattern})


class _Pattern:
    """`pattern` as FormValidator checks it (`pattern_search`): a value not decided in
    time is not valid here, and FormValidator then says so of its field."""

    def __init__(self, _parent: dict, value: str, _path: list) -> None:
        self.pattern = value
        _compiled(value)  # a pattern that does not compile fails the quick check's making

    def validate(self, instance: object) -> None:
        if isinstance(instance, str) and not pattern_search(self.pattern, instance):
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
