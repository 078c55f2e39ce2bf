"""Migration 0041 on SQLite and PostgreSQL: on PostgreSQL the forms' numbers get a trigram
index, it goes down and up again, SQLite is left as it was; the list indexes at the head
are the ones the models declare; and 学习进度's 申请单号 search can use it."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from test_list_indexes_migration import indexes
from test_search_by_persons_migration import declared, plan

from service.db.migrate import alembic_config, upgrade
from service.domain.actor import Actor
from service.services.membership.learning_desk import _found

INDEX = "ix_process_instances_business_key_trgm"


def test_the_form_numbers_get_a_trigram_index_on_postgresql(blank_url):
    postgres = sa.make_url(blank_url).get_backend_name() == "postgresql"
    upgrade(blank_url, "0040")
    before = indexes(blank_url)
    assert INDEX not in before
    upgrade(blank_url)
    after = indexes(blank_url)
    assert after == declared("postgresql" if postgres else "sqlite")
    assert (INDEX in after) == postgres
    command.downgrade(alembic_config(blank_url), "0040")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert indexes(blank_url) == after


def test_the_learning_desk_s_form_number_search_can_use_it(fresh_statistics):
    """With every other way to read the forms ruled out, PostgreSQL finds the forms whose
    number contains the typed digits by the trigram index; without it, it could not."""
    recorder = Actor(1, "协会审核员", "association_reviewer")
    stmt = _found(recorder, business_key="20260001")
    engine = sa.create_engine(fresh_statistics)
    try:
        sql = str(stmt.compile(engine, compile_kwargs={"literal_binds": True}))
        with engine.connect() as conn:
            # only a bitmap scan left, which needs an index that answers the LIKE: walking
            # the primary key in full (a plain index scan) is no way out, whatever the
            # statistics earlier tests left (a TRUNCATE keeps pg_statistic)
            for scan in ("seqscan", "indexscan", "indexonlyscan"):
                conn.execute(sa.text(f"SET LOCAL enable_{scan} = off"))
            assert INDEX in plan(conn, sql)
            conn.rollback()
    finally:
        engine.dispose()
