"""Migration 0025 and a member's own forms: the forms whose member it is and those listing it
among their persons are found by index, however many forms the association holds.

A member's list (`GET /api/v1/instances` signed in as a member, on the phone) tested each
form, newest first, for the member or an EXISTS of its persons: at 100,000 forms it walked
them all for the member's few.
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from alembic import command
from test_list_indexes_migration import indexes
from test_name_characters_migration import plans_of, scalars_of

from service.db.migrate import alembic_config, upgrade
from service.db.models import Base, ProcessInstance
from service.domain.actor import Actor
from service.services.workflow.instances import instances_query

NEW = {
    "process_instances": "ix_process_instances_member_id",
    "instance_persons": "ix_instance_persons_member_id",
}
FORMS = 20000
MINE = (101, 7001, 19999)  # listing the member among their persons
SUBJECT = 15000  # the member's own form, not listing it (its member set by the form)


def member_indexes(url: str) -> set[str]:
    """The ix_…_member_id indexes of the list tables, as the database has them."""
    return {name for name in indexes(url) if name.endswith("_member_id")}


def test_the_member_forms_indexes_come_and_go(blank_url):
    upgrade(blank_url, "0024")
    before = indexes(blank_url)
    assert member_indexes(blank_url) == set()
    upgrade(blank_url, "0025")
    assert indexes(blank_url) - before == set(NEW.values())
    for table, name in NEW.items():
        [index] = [i for i in Base.metadata.tables[table].indexes if i.name == name]
        assert [c.name for c in index.columns][0] == "member_id"
    command.downgrade(alembic_config(blank_url), "0024")
    assert indexes(blank_url) == before
    upgrade(blank_url)
    assert member_indexes(blank_url) == set(NEW.values())


@pytest.fixture
def many_forms(pg_app):
    """FORMS forms, each listing its subject; a member listed on MINE's and the member of
    SUBJECT; another member on one form; the tables analysed. Yields (url, member id)."""
    with pg_app.app_context():
        from service.db import db

        url = db.engine.url.render_as_string(hide_password=False)
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        version = conn.execute(sa.text("SELECT min(id) FROM definition_versions")).scalar_one()
        member, other = (
            conn.execute(
                sa.text(
                    "INSERT INTO members (name, id_type, id_number, status, created_at) "
                    "VALUES (:name, '居民身份证', :number, '自由态', now()) RETURNING id"
                ),
                {"name": name, "number": number},
            ).scalar_one()
            for name, number in (("会员甲", "440106198500000001"), ("会员乙", "440106198500000002"))
        )
        conn.execute(
            sa.text(
                "INSERT INTO process_instances (id, process_key, definition_version_id, "
                "business_key, subject_name, subject_id_number, status, state, version, "
                "finished, submitted_at, updated_at, person_count, member_id) "
                "SELECT i, 'member_join', :version, 'BK-' || i, '某' || i, "
                "'4401061990' || lpad(i::text, 8, '0'), '审批完成', '{}', 1, true, now(), now(), "
                "1, CASE WHEN i = :subject THEN :member END FROM generate_series(1, :forms) i"
            ),
            {"version": version, "subject": SUBJECT, "member": member, "forms": FORMS},
        )
        conn.execute(
            sa.text(
                "INSERT INTO instance_persons (instance_id, id_number, name, line, position, "
                "member_id) SELECT id, subject_id_number, subject_name, '{}', 1, "
                "CASE WHEN id = ANY(:mine) THEN :member WHEN id = 5 THEN :other END "
                "FROM process_instances"
            ),
            {"mine": list(MINE), "member": member, "other": other},
        )
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("ANALYZE process_instances, instance_persons"))
    engine.dispose()
    yield url, member


def _member(member_id) -> Actor:
    return Actor(99, "会员甲", "member", unit_id=None, member_id=member_id)


def test_a_member_sees_its_own_forms_and_those_listing_it(many_forms):
    url, member = many_forms
    ids = instances_query(_member(member)).with_only_columns(ProcessInstance.id)
    assert sorted(scalars_of(url, ids)) == sorted([*MINE, SUBJECT])
    nobody = instances_query(_member(None)).with_only_columns(ProcessInstance.id)
    assert scalars_of(url, nobody) == []  # not every form naming no member


@pytest.mark.parametrize("mode", ("force_generic_plan", "force_custom_plan"))
def test_a_member_s_page_and_total_read_only_its_forms(many_forms, mode):
    """The list's page (newest first) and its total, planned as the driver runs them, with
    sequential scans allowed: PostgreSQL chooses the member's indexes on its own."""
    url, member = many_forms
    listed = instances_query(_member(member)).with_only_columns(ProcessInstance.id)
    statements = {
        "page": listed.order_by(ProcessInstance.id.desc()).limit(20),
        "total": sa.select(sa.func.count()).select_from(listed.limit(10001).subquery()),
    }
    for label, plan in plans_of(url, statements, mode).items():
        for table in ("process_instances", "instance_persons"):
            assert f"Seq Scan on {table}" not in plan, (label, plan)
        for name in NEW.values():
            assert name in plan, (label, name, plan)
        # the newest-first walk of every form, testing each: what the OR planned
        assert "Index Scan Backward using pk_process_instances" not in plan, plan
