"""`uow._expanded` (what `Reads` sends the driver) writes what SQLAlchemy writes.

SQLAlchemy's own expansion of a statement's `IN` lists (`construct_expanded_state`) is
asked once per statement, lists' lengths and parameters, and kept as a recipe; every
later call with other values must give exactly what SQLAlchemy would give for them: the
same SQL, the same keys, the same values converted by their columns' types. Checked on
the request path's statements with `IN` lists, on statements of our own with a JSON
column, a constant, two lists and an empty one, on both dialects, for many lengths and
values; and a statement whose SQL holds its values (a literal bind) is left to
SQLAlchemy at every call."""

from __future__ import annotations

import random

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import psycopg
from sqlalchemy.dialects.sqlite import pysqlite

from service.db import uow
from service.db.models import Member, StoredFile
from service.services.workflow import facts, files, persons

DIALECTS = {"postgresql": psycopg.dialect(), "sqlite": pysqlite.dialect()}

_T = sa.Table(
    "probe",
    sa.MetaData(),
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("name", sa.String(20)),
    sa.Column("doc", sa.JSON),
    sa.Column("state", sa.String(10)),
)
TWO_LISTS = (
    sa.select(_T.c.id)
    .where(_T.c.id.in_(sa.bindparam("ids", expanding=True)))
    .where(_T.c.name.in_(sa.bindparam("names", expanding=True)))
    .where(_T.c.state == "open")  # a constant the statement holds
    .where(_T.c.doc == sa.bindparam("doc"))  # a JSON value, converted by its type
)
OPTIONAL = sa.select(_T.c.id).where(
    _T.c.id.in_(sa.bindparam("ids", expanding=True)),
    _T.c.state == sa.bindparam("state", value="open"),  # given or not: its own value
)
JSON_WRITE = sa.update(_T).where(_T.c.id == sa.bindparam("i")).values(doc=sa.bindparam("d"))


def _ids(rng: random.Random, n: int) -> list:
    return [f"{rng.getrandbits(128):032x}" for _ in range(n)]


def _numbers(rng: random.Random, n: int) -> list:
    return [str(rng.randrange(10**17, 10**18)) for _ in range(n)]


# (statement, one call's parameters for a given random source)
CASES = {
    "persons lock": (persons._LOCK, lambda r: {"numbers": _numbers(r, r.randrange(1, 9))}),
    "files lock": (files._LOCK_FILES, lambda r: {"ids": _ids(r, r.randrange(0, 7))}),
    "two lists, JSON, constant": (
        TWO_LISTS,
        lambda r: {
            "ids": [r.randrange(1000) for _ in range(r.randrange(0, 4))],
            "names": [f"张{r.randrange(99)}" for _ in range(r.randrange(1, 4))],
            "doc": {"k": [r.random(), None, "值"]},
        },
    ),
    "an optional parameter": (
        OPTIONAL,
        lambda r: {
            "ids": [r.randrange(99) for _ in range(r.randrange(1, 3))],
            **({"state": r.choice(["closed", "open", "x"])} if r.random() < 0.5 else {}),
        },
    ),
    "JSON write": (JSON_WRITE, lambda r: {"i": r.randrange(9), "d": {"a": r.randrange(9)}}),
}
for has_instance in (False, True):
    for n, query in enumerate(facts._person_queries(has_instance)):
        CASES[f"person facts {n} ({'own form' if has_instance else 'new form'})"] = (
            query,
            lambda r, own=has_instance: {
                "person_ids": _numbers(r, r.randrange(1, 6)),
                **({"person_instance_id": r.randrange(1, 10**6)} if own else {}),
            },
        )


def _comparable(sent: tuple[str, dict]) -> tuple[str, dict]:
    """The SQL and values, a JSON value's driver wrapper (psycopg's Json, which compares
    by identity) as its class and content."""
    sql, values = sent
    return sql, {
        k: (type(v), v.obj) if type(v).__name__ in {"Json", "Jsonb"} else v
        for k, v in values.items()
    }


def _by_sqlalchemy(dialect, statement, params):
    compiled = statement.compile(dialect=dialect)
    return uow._expanded_by_sqlalchemy(compiled, dict(compiled._bind_processors), params)


@pytest.mark.parametrize("dialect", DIALECTS)
@pytest.mark.parametrize("case", CASES)
def test_each_call_writes_what_sqlalchemy_writes(dialect, case):
    statement, make = CASES[case]
    rng = random.Random(f"{dialect} {case}")
    shapes = set()
    for _ in range(60):
        params = make(rng)
        ours = uow._expanded(DIALECTS[dialect], statement, params)
        expected = _by_sqlalchemy(DIALECTS[dialect], statement, params)
        assert _comparable(ours) == _comparable(expected), params
        shapes.add(tuple(len(v) for v in params.values() if isinstance(v, list)))
    assert len(shapes) > 1 or not any(isinstance(v, list) for v in make(rng).values())


def test_a_recipe_is_kept_per_statement_and_lengths_and_serves_other_values():
    dialect = DIALECTS["postgresql"]
    uow._RECIPES.clear()
    sql, values = uow._expanded(dialect, persons._LOCK, {"numbers": ["1", "2"]})
    assert len(uow._RECIPES) == 1
    again = uow._expanded(dialect, persons._LOCK, {"numbers": ["3", "4"]})
    assert len(uow._RECIPES) == 1 and again[0] == sql  # the same recipe, other values
    assert sorted(again[1].values()) == ["3", "4"] and sorted(values.values()) == ["1", "2"]
    uow._expanded(dialect, persons._LOCK, {"numbers": ["5", "6", "7"]})
    assert len(uow._RECIPES) == 2  # another length: another recipe


def test_a_statement_whose_sql_holds_its_values_is_expanded_by_sqlalchemy_each_time():
    literal = sa.select(_T.c.id).where(
        _T.c.id.in_(sa.bindparam("ids", expanding=True, literal_execute=True))
    )
    dialect = DIALECTS["postgresql"]
    uow._RECIPES.clear()
    for ids in ([1, 2], [3, 4]):
        sql, values = uow._expanded(dialect, literal, {"ids": ids})
        assert sql == _by_sqlalchemy(dialect, literal, {"ids": ids})[0]
        assert f"{ids[0]}, {ids[1]}" in sql and not values
    assert not uow._RECIPES


def test_the_tables_of_the_request_path_are_the_models():
    # the cases above are the statements `Reads` sends on a form's start and moves
    assert persons._LOCK.table is Member.__table__
    assert files._LOCK_FILES.get_final_froms()[0] is StoredFile.__table__
