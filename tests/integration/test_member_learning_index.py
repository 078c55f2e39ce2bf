"""Migration 0026 and a member's own learning tasks: found by index, newest first, however
many learning tasks the enrolments have opened; an account without a member sees none."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from test_name_characters_migration import plans_of, scalars_of

from service.db.migrate import alembic_config, upgrade
from service.db.models import LearningTask
from service.domain.actor import Actor
from service.services.education.learning import learning_query

NAME = "ix_learning_tasks_member_id"
TASKS = 20000
EVERY = 6000  # the member's tasks: one in EVERY (the rest name no member, or another)


def learning_indexes(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                sql = "SELECT indexname FROM pg_indexes WHERE tablename = 'learning_tasks'"
            else:
                sql = (
                    "SELECT name FROM sqlite_master WHERE type = 'index' "
                    "AND tbl_name = 'learning_tasks'"
                )
            return {name for (name,) in conn.execute(sa.text(sql)) if name.startswith("ix_")}
    finally:
        engine.dispose()


def test_the_member_learning_index_comes_and_goes(blank_url):
    upgrade(blank_url, "0025")
    before = learning_indexes(blank_url)
    upgrade(blank_url, "0026")
    assert learning_indexes(blank_url) - before == {NAME}
    command.downgrade(alembic_config(blank_url), "0025")
    assert learning_indexes(blank_url) == before
    upgrade(blank_url)
    assert NAME in learning_indexes(blank_url)


@pytest.fixture
def many_tasks(pg_app):
    """TASKS learning tasks of 200 forms: the member's one in EVERY, another member's one, the
    rest naming no member; the table analysed. Yields (url, member id, the member's ids)."""
    with pg_app.app_context():
        from service.db import db

        url = db.engine.url.render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        version = conn.execute(sa.text("SELECT min(id) FROM definition_versions")).scalar_one()
        conn.execute(
            sa.text(
                "INSERT INTO process_instances (id, process_key, definition_version_id, "
                "business_key, status, state, version, finished, submitted_at, updated_at, "
                "person_count) SELECT i, 'continuing_education', :version, 'BK-' || i, "
                "'学习中', '{}', 1, false, now(), now(), 100 FROM generate_series(1, 200) i"
            ),
            {"version": version},
        )
        member, other = (
            conn.execute(
                sa.text(
                    "INSERT INTO members (name, id_type, id_number, status, created_at) "
                    "VALUES ('会员', '居民身份证', :number, '自由态', now()) RETURNING id"
                ),
                {"number": number},
            ).scalar_one()
            for number in ("440106198500000001", "440106198500000002")
        )
        mine = conn.scalars(
            sa.text(
                "INSERT INTO learning_tasks (instance_id, member_id, id_number, name, "
                "process_key, required_hours, completed_hours, exam_attempts, status, "
                "opened_at, updated_at) SELECT 1 + (i - 1) / 100, "
                "CASE WHEN i % :every = 7 THEN :member WHEN i = 8 THEN :other END, "
                "'4401061990' || lpad(i::text, 8, '0'), '某', 'continuing_education', 24, 0, "
                "0, '开课未学习', now(), now() FROM generate_series(1, :tasks) i "
                "RETURNING CASE WHEN member_id = :member THEN id END"
            ),
            {"every": EVERY, "member": member, "other": other, "tasks": TASKS},
        ).all()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE learning_tasks"))
    engine.dispose()
    yield url, member, sorted(i for i in mine if i is not None)


def _member(member_id) -> Actor:
    return Actor(99, "会员", "member", member_id=member_id)


def test_a_member_lists_its_own_learning_and_no_other(many_tasks):
    url, member, mine = many_tasks
    assert len(mine) == len(range(7, TASKS + 1, EVERY))
    ids = learning_query(_member(member)).with_only_columns(LearningTask.id)
    assert sorted(scalars_of(url, ids)) == mine
    nobody = learning_query(_member(None)).with_only_columns(LearningTask.id)
    assert scalars_of(url, nobody) == []  # not the tasks naming no member


@pytest.mark.parametrize("mode", ("force_generic_plan", "force_custom_plan"))
def test_a_member_s_learning_page_and_total_read_its_index(many_tasks, mode):
    url, member, _mine = many_tasks
    listed = learning_query(_member(member))
    statements = {
        "page": listed.order_by(LearningTask.id.desc()).limit(20),
        "total": sa.select(sa.func.count()).select_from(listed.subquery()),
    }
    for label, plan in plans_of(url, statements, mode).items():
        assert "Seq Scan on learning_tasks" not in plan, (label, plan)
        assert NAME in plan, (label, plan)
