"""Migration 0018 on SQLite and PostgreSQL: the join list's levels column is filled in for
the forms that existed before it, from their saved engine state alone, with what the
service itself writes for each (not chosen yet, one level, changed at a resubmission to
both levels, finished), and it goes down and up again."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from conftest import form_values, make_app, open_task, seed_world, token_headers
from test_member_join_api import approve_to_end, complete, start_join, step

from service.db import db
from service.db.migrate import alembic_config, upgrade
from service.domain.validation import make_resident_id


def levels(url: str) -> dict[int, str | None]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            query = "SELECT id, member_levels FROM process_instances ORDER BY id"
            return dict(conn.execute(sa.text(query)).all())
    finally:
        engine.dispose()


def columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("process_instances")}
    finally:
        engine.dispose()


def test_existing_joins_get_the_levels_the_service_would_have_written(blank_url, tmp_path):
    upgrade(blank_url)
    app = make_app(blank_url, tmp_path)
    world = seed_world(app)
    client = app.test_client()
    heads: dict[str, dict] = {}

    def login(who: str) -> dict:
        if who not in heads:
            heads[who] = token_headers(client, world.logins.get(who, who))
        return heads[who]

    def join(prefix: str) -> int:
        return start_join(client, login, id_number=make_resident_id(prefix))["id"]

    join("44010619850315231")  # not pre-reviewed: no level yet
    pro = join("44010619860412102")
    approve_to_end(client, login, pro, level="专业会员", stop_at="agency_review")
    both = join("44010619870523303")
    approve_to_end(client, login, both, stop_at="agency_review")
    task = open_task(client, login("agency"), both)
    complete(client, login("agency"), task["id"], {"decision": "return", "remark": "补充材料"})
    resubmission = {
        **form_values(client, login("unit"), both),
        "member_level": "普通会员",
        "member_levels": ["普通会员", "专业会员"],
    }
    step(client, login, both, "unit", resubmission, "unit_resubmit")
    done = join("44010619880604404")
    approve_to_end(client, login, done)
    with app.app_context():
        db.session.remove()
        db.engine.dispose()

    written = levels(blank_url)
    assert sorted(written.values(), key=str) == sorted(
        [None, "专业会员", "普通会员、专业会员", "普通会员"], key=str
    )
    assert written[both] == "普通会员、专业会员" and written[done] == "普通会员"

    command.downgrade(alembic_config(blank_url), "0017")
    assert "member_levels" not in columns(blank_url)
    upgrade(blank_url)
    assert levels(blank_url) == written
