"""Migration 0014 on SQLite and PostgreSQL: versions recorded before it are numbered 1, 2, 3
per process key in the order they were recorded, and the next version continues from there."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import make_app

from service.db.migrate import upgrade


def test_existing_versions_are_numbered_per_key_in_order(blank_url, tmp_path):
    upgrade(blank_url, "0013")
    engine = sa.create_engine(blank_url)
    with engine.begin() as conn:
        for key, digest in (
            ("member_join", "a" * 64),
            ("engineer_cpd", "b" * 64),
            ("member_join", "c" * 64),
            ("member_join", "d" * 64),
        ):
            conn.execute(
                sa.text(
                    "INSERT INTO definition_versions (process_key, digest, files, created_at)"
                    " VALUES (:k, :d, '{}', CURRENT_TIMESTAMP)"
                ),
                {"k": key, "d": digest},
            )
    upgrade(blank_url)
    with engine.connect() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT process_key, digest, number, deployed_by FROM definition_versions"
                " ORDER BY id"
            )
        ).all()
    assert [(k, d[0], n) for k, d, n, _ in rows] == [
        ("member_join", "a", 1),
        ("engineer_cpd", "b", 1),
        ("member_join", "c", 2),
        ("member_join", "d", 3),
    ]
    assert {by for *_, by in rows} == {"服务器启动"}

    make_app(blank_url, tmp_path)  # the repository's files: a new version of each key
    with engine.connect() as conn:
        numbers = dict(
            conn.execute(
                sa.text(
                    "SELECT process_key, MAX(number) FROM definition_versions GROUP BY process_key"
                )
            ).all()
        )
    engine.dispose()
    assert numbers["member_join"] == 4 and numbers["engineer_cpd"] == 2
    assert numbers["initial_education"] == 1
