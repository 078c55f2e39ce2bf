"""Migration 0024 and the recipients of a form's messages: the unit's active admins and the
member's own account are found by index, whatever the number of accounts a unit holds.

Every member of a unit has an account of its own, so a large unit holds thousands. Before,
the recipients' query read every account of the unit to keep its admins, and every account
(joining every member) to find a member's; each move that sends a message paid for it.
"""

from __future__ import annotations

import warnings

import pytest
import sqlalchemy as sa
from alembic import command
from test_name_characters_migration import plans_of

from service.db.migrate import alembic_config, upgrade
from service.db.models import Account, Agency, Base, Member, Unit
from service.services.workflow.messages import _move_recipients, recipients_of

NEW = {"ix_accounts_unit_role", "ix_accounts_member_id"}
MEMBERS = 2000  # member accounts in the large unit
MODES = ("force_generic_plan", "force_custom_plan")


def account_indexes(url: str) -> set[str]:
    """The names of the ix_ indexes on accounts, as the database has them."""
    engine = sa.create_engine(url)
    try:
        with warnings.catch_warnings():  # SQLite: the lower(username) index is not reflected
            warnings.filterwarnings("ignore", "Skipped unsupported reflection", sa.exc.SAWarning)
            found = sa.inspect(engine).get_indexes("accounts")
    finally:
        engine.dispose()
    return {index["name"] for index in found if index["name"].startswith("ix_")}


def declared_account_indexes(dialect: str) -> set[str]:
    """The ix_ indexes the models declare on accounts for this database (some on PostgreSQL
    alone)."""
    return {
        i.name
        for i in Base.metadata.tables["accounts"].indexes
        if i.name.startswith("ix_") and (i._ddl_if.dialect if i._ddl_if else dialect) == dialect
    }


def test_the_recipients_indexes_come_and_go(blank_url):
    upgrade(blank_url, "0023")
    before = account_indexes(blank_url)
    upgrade(blank_url, "0024")
    after = account_indexes(blank_url)
    assert after - before == NEW
    command.downgrade(alembic_config(blank_url), "0023")
    assert account_indexes(blank_url) == before
    upgrade(blank_url, "0024")
    assert account_indexes(blank_url) == after
    upgrade(blank_url)
    dialect = sa.make_url(blank_url).get_backend_name()
    assert account_indexes(blank_url) == declared_account_indexes(dialect)


@pytest.fixture
def large_unit(pg_url):
    """A unit with two active admins, a disabled one and MEMBERS member accounts (one of them
    disabled), a second unit with its admin and members; the tables analysed, as PostgreSQL's
    autovacuum would have them. Yields (url, ids)."""
    engine = sa.create_engine(pg_url)
    with engine.begin() as conn:
        agency = conn.execute(
            sa.insert(Agency).values(name="广州", city="广州").returning(Agency.id)
        ).scalar_one()
        units = [
            conn.execute(
                sa.insert(Unit)
                .values(name=name, credit_code=code, agency_id=agency)
                .returning(Unit.id)
            ).scalar_one()
            for name, code in (("大单位", "9144010119046834X0"), ("小单位", "9144010119046834X1"))
        ]
        members = conn.execute(
            sa.insert(Member).returning(Member.id, Member.id_number, Member.unit_id),
            [
                {
                    "name": f"会员{n}",
                    "id_type": "居民身份证",
                    "id_number": f"4401{n:014d}",
                    "mobile": f"139{n:08d}",
                    "unit_id": units[n % 20 == 0],  # one in twenty in the small unit
                }
                for n in range(MEMBERS + MEMBERS // 19)
            ],
        ).all()
        accounts = [
            {"username": f"m{m.id}", "role": "member", "member_id": m.id, "unit_id": m.unit_id}
            for m in members
        ] + [
            {"username": "a1", "role": "unit_admin", "unit_id": units[0]},
            {"username": "a2", "role": "unit_admin", "unit_id": units[0], "email": "a@x.cn"},
            {"username": "a3", "role": "unit_admin", "unit_id": units[0], "active": False},
            {"username": "b1", "role": "unit_admin", "unit_id": units[1]},
        ]
        rows = [
            {
                "name": a["username"],
                "password_hash": "-",
                "active": True,
                "member_id": None,
                "email": None,
                **a,
            }
            for a in accounts
        ]
        rows[1]["active"] = False  # a member whose account is disabled
        ids = dict(
            conn.execute(sa.insert(Account).returning(Account.username, Account.id), rows).all()
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE accounts, members, units"))
    engine.dispose()
    member = members[2]  # in the large unit, its account active
    assert member.unit_id == units[0]
    yield (
        pg_url,
        {
            "units": units,
            "member": member,
            "disabled_member": members[1],
            "accounts": ids,
        },
    )


def test_the_recipients_are_the_unit_s_active_admins_and_the_member_s_account(large_unit):
    url, ids = large_unit
    accounts, member = ids["accounts"], ids["member"]
    admins = [accounts["a1"], accounts["a2"]]
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            session = sa.orm.Session(bind=conn)
            big, small = ids["units"]
            assert recipients_of(session, big, []) == [
                (accounts["a1"], None, None),
                (accounts["a2"], "a@x.cn", None),
            ]
            own = (accounts[f"m{member.id}"], None, f"139{2:08d}")  # the member's mobile
            assert recipients_of(session, big, [member.id]) == sorted(
                [own, *recipients_of(session, big, [])]
            )
            assert recipients_of(session, None, [member.id]) == [own]
            assert recipients_of(session, big, [ids["disabled_member"].id]) == recipients_of(
                session, big, []
            )
            assert recipients_of(session, small, []) == [(accounts["b1"], None, None)]
            for shape in (
                (big, None, None),
                (big, member.id, None),
                (big, None, member.id_number),
            ):
                query, params = _move_recipients(*shape)
                found = sorted(r[0] for r in conn.execute(query, params))
                want = admins + ([accounts[f"m{member.id}"]] if shape != (big, None, None) else [])
                assert found == sorted(want), shape
                unit_names = {r[4] for r in conn.execute(query, params)}
                assert unit_names == {"大单位"}
    finally:
        engine.dispose()


@pytest.mark.parametrize("mode", MODES)
def test_each_recipients_query_reads_no_table_whole(large_unit, mode):
    """Planned as the driver runs them (generic plans once prepared, custom ones before),
    with sequential scans allowed: PostgreSQL chooses the indexes on its own."""
    url, ids = large_unit
    big = ids["units"][0]
    member = ids["member"]
    queries = {
        "the unit's admins": _move_recipients(big, None),
        "and the member, by id": _move_recipients(big, member.id),
        "and the member, by ID number": _move_recipients(big, None, member.id_number),
        "the member alone": _move_recipients(None, member.id),
    }
    statements = {label: query.params(**params) for label, (query, params) in queries.items()}
    for label, plan in plans_of(url, statements, mode).items():
        for table in ("accounts", "members"):
            assert f"Seq Scan on {table}" not in plan, (label, plan)
        assert "ix_accounts_" in plan, (label, plan)
