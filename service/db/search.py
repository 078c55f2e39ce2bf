"""A name search that an index can answer at every length of what was typed.

`contains(column, text)` is `column LIKE '%text%'` (% and _ as themselves). On PostgreSQL a
trigram index (pg_trgm, `models.trigram_index`) answers it from three characters on; a
shorter text has no trigram, so PostgreSQL would read every row. Chinese names are two to
four characters, and two (张三, or a surname and the first of a given name) is what people
type most. So on PostgreSQL a text of one or two characters is looked for as the rows
holding each of its characters, which the GIN index of a column's characters
(`models.characters_index`, `string_to_array(column, NULL)`) answers, and then as a
substring of those few rows (strpos, which no trigram plan mistakes for its own). Other
databases get the LIKE.
"""

from __future__ import annotations

import re

from sqlalchemy import String, func, literal, literal_column, or_, text
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement
from sqlalchemy.types import Boolean

from service.domain import validation

TRIGRAM = 3  # pg_trgm reads a LIKE's text in runs of three characters
LAST_FOUR = re.compile(r"[0-9X]{4}")  # what a search of an ID number's last four looks like


class _short_contains(FunctionElement):  # noqa: N801 (a SQL function, as SQLAlchemy's)
    """A column contains a text of one or two characters: (column, text, the LIKE saying it
    with % and _ escaped). PostgreSQL: the column holds each character of the text (the
    index of characters answers that) and the text at some position; a LIKE there would be
    planned on the trigram index, which cannot answer it, whenever the plan is made before
    the text is known (a work queue's generic plan). Other databases: the LIKE."""

    name = "short_contains"
    type = Boolean()
    inherit_cache = True


@compiles(_short_contains)
def _anywhere(element: _short_contains, compiler, **kw) -> str:
    _column, _text, like = element.clauses
    return compiler.process(like, **kw)


@compiles(_short_contains, "postgresql")
def _on_postgresql(element: _short_contains, compiler, **kw) -> str:
    column, text, _like = element.clauses
    column, text = compiler.process(column, **kw), compiler.process(text, **kw)
    return (
        f"(string_to_array({column}, NULL) @> string_to_array({text}, NULL)"
        f" AND strpos({column}, {text}) > 0)"
    )


def contains(column, text: str):
    """`column` contains `text` (% and _ as themselves), answerable by an index on
    PostgreSQL however short `text` is (see the module's docstring)."""
    like = column.contains(text, autoescape=True)
    if len(text) >= TRIGRAM:
        return like
    return _short_contains(column, literal(text, String), like)


def last_four(column):
    """The last four characters of an ID number, spelt as the expression index spells it."""
    return func.substr(column, func.length(column) - literal_column("3"))


def id_number_matches(column, text: str):
    """`column` (an ID number) is `text` whole, or ends with it when `text` looks like the
    last four characters of one (the lists' search box: 身份证号（或后四位）)."""
    exact = text.strip().upper()
    whole = column == exact
    if LAST_FOUR.fullmatch(exact):
        return or_(whole, last_four(column) == exact)
    return whole


class _among_few(FunctionElement):  # noqa: N801 (a SQL function, as SQLAlchemy's)
    """A column is one of a few values a subquery gives (column, subquery). PostgreSQL:
    `= ANY(ARRAY(subquery))`, which its planner can answer only by looking each value up in
    an index on the column, whatever it guesses of the subquery's size; an IN (subquery) it
    may plan as a hash of the values against every row of the column's other conditions.
    Other databases: the IN."""

    name = "among_few"
    type = Boolean()
    inherit_cache = True


@compiles(_among_few)
def _among_anywhere(element: _among_few, compiler, **kw) -> str:
    column, values = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} IN {values})"


@compiles(_among_few, "postgresql")
def _among_on_postgresql(element: _among_few, compiler, **kw) -> str:
    column, values = (compiler.process(c, **kw) for c in element.clauses)
    return f"({column} = ANY(ARRAY{values}))"


def among_few(column, values):
    """`column` is one of the values `values` (a one-column select) gives, each looked up by
    an index on the column on PostgreSQL: for a few values (see `_among_few`)."""
    return _among_few(column, values.scalar_subquery())


class login_key(FunctionElement):  # noqa: N801 (a SQL function, as SQLAlchemy's)
    """A login's key, as `validation.login_key` makes it: the same login whatever its width
    and letter case. PostgreSQL: lower(normalize(…, NFKC)), which the expression index
    ix_accounts_login_key holds; SQLite: the Python function itself, which every connection
    of ours registers (`register_login_key`)."""

    name = "login_key"
    type = String()
    inherit_cache = True


@compiles(login_key)
def _login_key_anywhere(element: login_key, compiler, **kw) -> str:
    return f"{SQLITE_LOGIN_KEY}({compiler.process(element.clauses, **kw)})"


@compiles(login_key, "postgresql")
def _login_key_on_postgresql(element: login_key, compiler, **kw) -> str:
    return f"lower(normalize({compiler.process(element.clauses, **kw)}, NFKC))"


SQLITE_LOGIN_KEY = "mf_login_key"


def register_login_key(dbapi_conn) -> None:
    """Give a SQLite connection the function `login_key` compiles to there."""
    dbapi_conn.create_function(
        SQLITE_LOGIN_KEY,
        1,
        lambda text: None if text is None else validation.login_key(text),
        deterministic=True,
    )


def same_login(column, login: str):
    """`column` (a login, or a unit's name: its main account's login) is `login` whatever
    its letter case and width (`login_key`)."""
    return login_key(column) == login_key(literal(login, String))


LOGIN_LOCK_SPACE = 0x6D6C  # "ml": the advisory-lock key space of logins


def hold_login(session, login: str) -> None:
    """Serialize, until the transaction ends, everything that makes or renames to a login
    alike to `login` (`same_login`): two secretaries creating 某（集团） and 某(集团) at once
    wait for each other, and the second's check, a statement of its own after the wait,
    sees the first's. PostgreSQL: a transaction-level advisory lock on the key's hash (a
    unique index decides exact and letter-case twins anyway); SQLite has one writer at a
    time."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(
            text(
                "SELECT pg_advisory_xact_lock(:space, "
                "hashtext(lower(normalize(CAST(:login AS text), NFKC))))"
            ),
            {"space": LOGIN_LOCK_SPACE, "login": login},
        )
