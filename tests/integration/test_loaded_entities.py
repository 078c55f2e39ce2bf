"""`uow.loaded`: an entity made from a row the driver read is what the ORM's own query with
`populate_existing` would have made of it, on SQLite and PostgreSQL; and the claim of a task
(`tasks._take`), which reads the instance's row that way on PostgreSQL, hands the move the
instance the database holds."""

from __future__ import annotations

import pytest
from conftest import applicant_data, open_task, start_form, statements, token_headers
from sqlalchemy import inspect, select, text

from service.db import db
from service.db.models import Account, ProcessInstance, UserTask
from service.db.uow import Reads, UnitOfWork, loaded, transient
from service.services.membership import accounts
from service.services.workflow import tasks
from service.services.workflow.context import Context

_TABLE = ProcessInstance.__table__
_KEYS = [ProcessInstance.__mapper__.get_property_by_column(c).key for c in _TABLE.c]


@pytest.fixture
def started(app, world) -> int:
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    return start_form(client, unit, "member_join", applicant_data(client, unit))["id"]


def _driver_row(session, instance_id: int) -> dict:
    """The instance's row as the driver reads it (no SQLAlchemy result conversion)."""
    reads = Reads(session)
    answer = reads.add(select(*_TABLE.c).where(_TABLE.c.id == instance_id), {})
    reads.run()
    (row,) = answer.rows
    return dict(zip(_KEYS, row, strict=True))


def _queried(app, instance_id: int) -> dict:
    """Every attribute of the instance as the ORM's own query loads it."""
    with app.app_context():
        row = db.session.get(ProcessInstance, instance_id)
        found = {key: getattr(row, key) for key in _KEYS}
        db.session.remove()
    return found


def test_a_loaded_entity_is_the_one_a_query_loads(app, started):
    expected = _queried(app, started)
    with app.app_context():
        session = db.session()
        values = _driver_row(session, started)
        with statements(app) as sent:
            row = loaded(session, ProcessInstance, values)
            state = inspect(row)
            # persistent, in the identity map, every attribute loaded, nothing changed
            assert state.persistent and not state.modified and not state.expired_attributes
            assert state.key == (ProcessInstance, (started,), None)
            assert session.get(ProcessInstance, started) is row
            assert row not in session.dirty and row not in session.new
            found = {key: getattr(row, key) for key in _KEYS}
        assert sent == []  # made and read without SQL
        db.session.remove()
    assert found == expected
    # the same Python types the ORM gives (a date is a datetime, a flag a bool)
    assert {k: type(v) for k, v in found.items()} == {k: type(v) for k, v in expected.items()}


def test_a_loaded_entity_saves_as_a_queried_one_does(app, started):
    """Changed, it is written by the ORM's flush with its version checked and counted."""
    with app.app_context():
        session = db.session()
        row = loaded(session, ProcessInstance, _driver_row(session, started))
        version = row.version
        row.subject_name = "改过的名字"
        with statements(app) as sent:
            session.commit()
        (written,) = [s for s in sent if s.startswith("UPDATE process_instances")]
        assert "process_instances.version = " in written, written  # the optimistic lock
        db.session.remove()
    queried = _queried(app, started)
    assert queried["subject_name"] == "改过的名字" and queried["version"] == version + 1


def test_an_entity_the_session_holds_is_refreshed_and_its_changes_dropped(app, started):
    """As `populate_existing` does: the values read win over what the session had."""
    with app.app_context():
        session = db.session()
        held = session.get(ProcessInstance, started)
        values = _driver_row(session, started)
        held.status = "改了没存"  # changed in the session after the row was read
        values["subject_name"] = "库里的名字"  # as if the database's row said so
        assert inspect(held).modified
        row = loaded(session, ProcessInstance, values)
        assert row is held
        assert row.status == values["status"] and row.subject_name == "库里的名字"
        assert not inspect(row).modified and row not in session.dirty
        with statements(app) as sent:
            session.flush()
        assert sent == []  # nothing left to write
        session.rollback()
        db.session.remove()


def test_the_claim_hands_the_move_the_instance_the_database_holds(app, world, started):
    """On PostgreSQL the claim's UPDATE returns the instance's row and `_take` makes it the
    session's entity; elsewhere the instance is not read there. Either way the move then
    works on what the database holds."""
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    task = open_task(client, unit, started)
    expected = _queried(app, started)
    postgres = app.extensions["memberflow"].config.database_url.startswith("postgresql")
    ctx: Context = app.extensions["memberflow"]
    with app.app_context():
        account = db.session.scalars(
            select(Account).where(Account.username == world.logins["unit"])
        ).one()
        actor = accounts.actor_of(account)
        uow = UnitOfWork(db.session)
        taken, instance, _bill, _held = tasks._take(uow, actor, task["id"], ctx.now())
        assert taken.id == task["id"] and taken.instance_id == started
        if postgres:
            assert {key: getattr(instance, key) for key in _KEYS} == expected
            assert db.session.get(ProcessInstance, started) is instance
            assert not inspect(instance).modified
        else:
            assert instance is None
        state = db.session.execute(
            text("SELECT state FROM user_tasks WHERE id = :i"), {"i": task["id"]}
        ).scalar_one()
        assert state == "completed"  # claimed and completed, not yet committed
        db.session.rollback()
        db.session.remove()


def _task_values(instance: ProcessInstance) -> dict:
    """A queue row's columns as `moving._sync_tasks` gives them for a new task."""
    now = instance.updated_at
    return {
        "instance_id": instance.id,
        "engine_task_id": "e" * 32,
        "process_key": instance.process_key,
        "task_name": "unit_pre_review",
        "title": "单位预审",
        "lane": "单位",
        "role": "unit_admin",
        "unit_id": instance.unit_id,
        "agency_id": instance.agency_id,
        "member_id": None,
        "submitted_at": instance.submitted_at,
        "status_label": "单位预审中",
        "state": "open",
        "claimed_by": None,
        "claimed_at": None,
        "created_at": now,
    }


def test_a_transient_entity_is_the_one_its_constructor_makes(app, started):
    """`uow.transient` makes what `cls(**values)` makes, without its attribute events: the
    same attributes, transient; an unknown name refused alike; and the ORM saves it as it
    saves a constructed one."""
    with app.app_context():
        values = _task_values(db.session.get(ProcessInstance, started))
        made, built = transient(UserTask, values), UserTask(**values)
        assert type(made) is UserTask
        assert {k: getattr(made, k) for k in values} == values
        assert {k: getattr(built, k) for k in values} == values
        assert inspect(made).transient and made.id is None
        with pytest.raises(TypeError, match="no_such_column"):
            transient(UserTask, {**values, "no_such_column": 1})
        with pytest.raises(TypeError, match="no_such_column"):
            UserTask(**values, no_such_column=1)
        made.id = None  # assigned later, as `Pending.assign_ids` does
        db.session.add(made)
        db.session.flush()
        assert made.id is not None and inspect(made).persistent
        stored = db.session.execute(
            text("SELECT task_name, title, state, unit_id FROM user_tasks WHERE id = :i"),
            {"i": made.id},
        ).one()
        assert tuple(stored) == ("unit_pre_review", "单位预审", "open", values["unit_id"])
        db.session.rollback()
        db.session.remove()
