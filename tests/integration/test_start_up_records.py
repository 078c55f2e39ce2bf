"""Servers starting at the same moment on files never recorded: each process's new version is
numbered once, every server runs the same deployment, and a later start records nothing.

A start records all its new versions in one INSERT; when another server recorded one of them
first, it records them one by one instead (each numbering retried), as before."""

from __future__ import annotations

import sqlalchemy as sa
from conftest import make_app, race

from service.db import db
from service.db.models import DefinitionDeployment, DefinitionVersion


def _rows(app) -> tuple[list, list]:
    with app.app_context():
        versions = db.session.execute(
            sa.select(DefinitionVersion.process_key, DefinitionVersion.number).order_by(
                DefinitionVersion.process_key, DefinitionVersion.number
            )
        ).all()
        deployments = db.session.scalars(sa.select(DefinitionDeployment.versions)).all()
        db.session.remove()
    return [tuple(r) for r in versions], deployments


def test_servers_starting_at_once_number_each_new_version_once(pg_url, tmp_path):
    apps = race(4, lambda i: make_app(pg_url, tmp_path / f"s{i}"))
    assert all(apps), "every server started"
    versions, deployments = _rows(apps[0])
    keys = sorted(apps[0].extensions["memberflow"].definitions.current)
    assert versions == [(key, 1) for key in keys]
    assert len(deployments) >= 1
    running = {
        tuple(
            sorted(
                (k, d.digest) for k, d in app.extensions["memberflow"].definitions.current.items()
            )
        )
        for app in apps
    }
    assert len(running) == 1, "the servers run one set of definitions"


def test_a_start_on_files_recorded_before_records_nothing(db_url, tmp_path):
    first = make_app(db_url, tmp_path / "a")
    before = _rows(first)
    make_app(db_url, tmp_path / "b")
    assert _rows(first) == before
