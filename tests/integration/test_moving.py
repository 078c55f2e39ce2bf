"""One way to move an instance: a move saves only when its block ends without an error, and
a move that changes nothing in the engine leaves the work queue as it was."""

from __future__ import annotations

from datetime import datetime

import pytest
from conftest import applicant_data, start_form, statements, token_headers
from sqlalchemy import func, select, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm.exc import StaleDataError

from service.db import db
from service.db.models import AuditRecord, ProcessInstance, UserTask, WaitingEvent
from service.db.uow import UnitOfWork, write
from service.domain.actor import Actor
from service.services.workflow import audit, moving

pytestmark = pytest.mark.alone  # see scripts/test

LATER = datetime(2030, 1, 1, 8, 0, 0)


@pytest.fixture
def started(app, world) -> int:
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    return start_form(client, unit, "member_join", applicant_data(client, unit))["id"]


def _queue(session, instance_id: int) -> list[tuple[int, str, str]]:
    rows = session.scalars(
        select(UserTask).where(UserTask.instance_id == instance_id).order_by(UserTask.id)
    )
    return [(t.id, t.engine_task_id, t.state) for t in rows]


def _audit_count(session, instance_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(AuditRecord).where(AuditRecord.instance_id == instance_id)
    )


def _snapshot(app, instance_id: int) -> tuple[list, int, int]:
    """The instance's queue, its audit records' count and its version, as committed."""
    with app.app_context():
        found = (
            _queue(db.session, instance_id),
            _audit_count(db.session, instance_id),
            db.session.get(ProcessInstance, instance_id).version,
        )
        db.session.remove()
    return found


def test_a_move_whose_block_raises_saves_nothing(app, started):
    ctx = app.extensions["memberflow"]
    with app.app_context():
        uow = UnitOfWork(db.session)
        version = db.session.get(ProcessInstance, started).version
        with pytest.raises(RuntimeError):
            with moving.move(ctx, uow, started, now=LATER) as m:
                assert m.before and m.status_before == "单位预审中"
                raise RuntimeError("the use case refused")
        assert m.open_rows == []
        assert m.row.updated_at != LATER and not db.session.is_modified(m.row)
        db.session.remove()
    with app.app_context():
        assert db.session.get(ProcessInstance, started).version == version


@pytest.mark.parametrize(
    ("defer", "opens_task"),
    [(False, True), (True, True), (True, False)],
    ids=["saved", "saved_with_commit", "no_task_saved_with_commit"],
)
def test_a_move_of_an_instance_moved_meanwhile_saves_nothing(app, started, defer, opens_task):
    """The save checks the version the move loaded: on PostgreSQL inside the one statement
    that inserts the new task and the audit record (kept for the COMMIT with `defer`, which
    the server then skips), or, for a kept move that opens no task (a finish, a wait), in
    the statement of its row and records; on SQLite at the ORM's flush."""
    ctx = app.extensions["memberflow"]
    before = _snapshot(app, started)
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            with pytest.raises(StaleDataError):
                with moving.move(ctx, uow, started, now=LATER, defer=defer) as m:
                    if opens_task:
                        (pre_review,) = m.before
                        m.complete(pre_review, {"decision": "approve", "member_level": "普通会员"})
                        m.record(audit.Step(audit.SYSTEM, "complete", remark="预审通过"))
                    else:
                        m.record(audit.Step(audit.SYSTEM, "timer", detail={"fired": []}))
                    # someone else moves it meanwhile (here: in the same transaction)
                    table = ProcessInstance.__table__
                    db.session.connection().execute(
                        update(table)
                        .where(table.c.id == started)
                        .values(version=table.c.version + 1)
                    )
                if defer and db_name(app) == "postgresql":
                    assert m.pending is not None  # the check goes with the COMMIT
                uow.session.flush()
                m.commit(uow)
            if opens_task:
                assert m.inst.status == "机构初审中"  # the engine moved on; the save refused it
        db.session.remove()
    assert _snapshot(app, started) == before


def test_a_move_that_changes_nothing_keeps_the_queue_and_records_the_step(app, started):
    ctx = app.extensions["memberflow"]
    queue_before, records_before, version = _snapshot(app, started)
    assert [state for _, _, state in queue_before] == ["open"]
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            with moving.move(ctx, uow, started, now=LATER) as m:
                m.record(audit.Step(Actor(None, "系统", "system"), "timer", detail={"fired": []}))
            assert [(t.id, t.engine_task_id, t.state) for t in m.open_rows] == queue_before
            uow.commit()
        db.session.remove()
    with app.app_context():
        row = db.session.get(ProcessInstance, started)
        assert (row.version, row.updated_at, row.status) == (version + 1, LATER, "单位预审中")
        assert _queue(db.session, started) == queue_before  # none cancelled, none added
        assert _audit_count(db.session, started) == records_before + 1
        last = db.session.scalars(
            select(AuditRecord)
            .where(AuditRecord.instance_id == started)
            .order_by(AuditRecord.id.desc())
        ).first()
        assert (last.action, last.status_before, last.status_after, last.at) == (
            "timer",
            "单位预审中",
            "单位预审中",
            LATER,
        )
        db.session.remove()


def _timer_step(ctx, uow: UnitOfWork, instance_id: int, defer: bool) -> moving.Move:
    """A move that opens no task (a timer that fired and changed nothing), recorded."""
    with moving.move(ctx, uow, instance_id, now=LATER, defer=defer) as m:
        m.record(audit.Step(Actor(None, "系统", "system"), "timer", detail={"fired": []}))
    return m


def test_a_kept_move_that_opens_no_task_saves_with_the_commit(app, started):
    """A move kept for the COMMIT that opens no task (a finish, a wait) keeps its save too
    on PostgreSQL: the row's changes and its record reach the server with the COMMIT, none
    through the ORM before it; elsewhere they are written at once. The same rows either way."""
    ctx = app.extensions["memberflow"]
    queue_before, records_before, version = _snapshot(app, started)
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            m = _timer_step(ctx, uow, started, defer=True)
            if db_name(app) == "postgresql":
                assert m.pending is not None and m.open_rows[0].id == queue_before[0][0]
                assert not db.session.is_modified(m.row)  # nothing left for the ORM to flush
                committed = _snapshot_in(db.session.connection(), started)
                assert committed == (records_before, version)  # not written yet
            else:
                assert m.pending is None
            m.commit(uow)
        db.session.remove()
    with app.app_context():
        row = db.session.get(ProcessInstance, started)
        assert (row.version, row.updated_at, row.status) == (version + 1, LATER, "单位预审中")
        assert _queue(db.session, started) == queue_before
        assert _audit_count(db.session, started) == records_before + 1
        db.session.remove()


def _snapshot_in(connection, instance_id: int) -> tuple[int, int]:
    """The instance's audit records' count and its version, as this transaction sees them."""
    table = ProcessInstance.__table__
    records = connection.execute(
        select(func.count())
        .select_from(AuditRecord.__table__)
        .where(AuditRecord.__table__.c.instance_id == instance_id)
    ).scalar_one()
    version = connection.execute(
        select(table.c.version).where(table.c.id == instance_id)
    ).scalar_one()
    return records, version


def _pre_review_saved(ctx, uow: UnitOfWork, instance_id: int) -> moving.Move:
    """The unit's pre-review completed and saved, its save kept for the COMMIT."""
    with moving.move(ctx, uow, instance_id, now=LATER, defer=True) as m:
        (pre_review,) = m.before
        m.complete(pre_review, {"decision": "approve", "member_level": "普通会员"})
    return m


def test_a_saved_move_leaves_nothing_for_the_orm_to_flush(app, started):
    """PostgreSQL: the save's one statement writes everything the row changed, so the row
    leaves the session's dirty list (else every later flush, the COMMIT's too, runs the
    ORM's unit of work on it to find nothing to write); a flush then sends nothing, and the
    commit keeps what the save wrote. Elsewhere the row stays dirty: its flush writes it."""
    ctx = app.extensions["memberflow"]
    _, _, version = _snapshot(app, started)
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            m = _pre_review_saved(ctx, uow, started)
            postgres = db_name(app) == "postgresql"
            assert (m.row in db.session.dirty) is not postgres
            with statements(app) as flushed:
                db.session.flush()
            assert [s.split()[0] for s in flushed] == ([] if postgres else ["UPDATE"])
            state = m.inst.dumps()
            m.commit(uow)
        db.session.remove()
    with app.app_context():
        row = db.session.get(ProcessInstance, started)
        assert (row.version, row.status, row.updated_at) == (version + 1, "机构初审中", LATER)
        assert row.state == state
        db.session.remove()


def test_a_row_changed_after_its_save_is_written_too(app, started):
    """A column set after the save, to a new value, is still written by the flush, its
    version checked as the ORM checks it."""
    ctx = app.extensions["memberflow"]
    _, _, version = _snapshot(app, started)
    later = datetime(2030, 1, 2, 9, 30, 0)
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            m = _pre_review_saved(ctx, uow, started)
            m.row.updated_at = later
            assert m.row in db.session.dirty
            m.commit(uow)
        db.session.remove()
    with app.app_context():
        row = db.session.get(ProcessInstance, started)
        assert (row.status, row.updated_at) == ("机构初审中", later)
        # PostgreSQL: the save's statement, then the flush's UPDATE; elsewhere the flush alone
        assert row.version == version + (2 if db_name(app) == "postgresql" else 1)
        db.session.remove()


def test_a_row_with_a_change_not_yet_saved_stays_dirty(app, started):
    """`_settle` marks a row clean only when nothing in it differs from what was saved:
    a change the save's statement did not take stays for the flush to write."""
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            row = db.session.get(ProcessInstance, started)
            row.status = "已撤回"
            moving._settle(row)
            assert row in db.session.dirty
            uow.commit()
        db.session.remove()
    with app.app_context():
        assert db.session.get(ProcessInstance, started).status == "已撤回"
        db.session.remove()


def test_a_save_whose_connection_dies_before_its_commit_keeps_nothing(app, started):
    """PostgreSQL: the save kept for the COMMIT meets a connection its server has dropped;
    the request fails, nothing of it is kept, the dead connection leaves the pool and the
    next request works."""
    if db_name(app) != "postgresql":
        pytest.skip("the save goes with the COMMIT on PostgreSQL alone")
    ctx = app.extensions["memberflow"]
    before = _snapshot(app, started)
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            m = _pre_review_saved(ctx, uow, started)
            assert m.pending is not None  # kept for the commit
            driver = db.session.connection().connection.driver_connection
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as admin:
                admin.execute(select(func.pg_terminate_backend(driver.info.backend_pid)))
            with pytest.raises(DBAPIError):
                m.commit(uow)
            assert driver.broken
        db.session.remove()
    assert _snapshot(app, started) == before
    # the pool hands out a live connection: the same move, sent again, lands
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            m = _pre_review_saved(ctx, uow, started)
            m.commit(uow)
        db.session.remove()
    queue, records, version = _snapshot(app, started)
    assert version == before[2] + 1 and len(queue) == len(before[0]) + 1


def test_a_move_whose_kept_write_fails_keeps_nothing(app, started):
    """A write after the save (kept for the COMMIT on PostgreSQL, run at once elsewhere)
    fails: the request fails, and neither the save nor any other write of it is kept."""
    ctx = app.extensions["memberflow"]
    before = _snapshot(app, started)
    with app.app_context():
        with UnitOfWork(db.session) as uow:
            m = _pre_review_saved(ctx, uow, started)
            if db_name(app) == "postgresql":
                assert m.pending is not None and m.later is not None  # kept for the commit
            waits = {"instance_id": started, "name": None, "correlation_key": None}
            fine = {**waits, "kind": "timer", "due_at": LATER, "created_at": LATER}
            with pytest.raises(DBAPIError, match="kind"):
                rows = [fine, {**fine, "kind": None}]  # NOT NULL
                write(db.session, moving._INSERT_WAITING, rows, m.later)
                m.commit(uow)
        db.session.remove()
    assert _snapshot(app, started) == before
    with app.app_context():
        waiting = select(func.count()).where(WaitingEvent.instance_id == started)
        assert db.session.scalar(waiting) == 0
        db.session.remove()


def db_name(app) -> str:
    with app.app_context():
        return db.engine.dialect.name
