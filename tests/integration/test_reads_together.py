"""`uow.Reads`: statements whose answers a request needs, sent together. On PostgreSQL
they are one round trip (BEGIN included) and still run one after the other, each with its
own snapshot: a lock the first takes is held when the next reads. Elsewhere they run one
by one; the answers are the same."""

from __future__ import annotations

import json
import threading

import pytest
import sqlalchemy as sa
from conftest import make_app

from service.db import db
from service.db.uow import Reads
from service.db.wire import traced

pytestmark = pytest.mark.alone  # see scripts/test

_PROBE = sa.table("reads_probe", sa.column("k", sa.Integer), sa.column("v", sa.String))
_BY_KEYS = (
    sa.select(_PROBE.c.k, _PROBE.c.v)
    .where(_PROBE.c.k.in_(sa.bindparam("keys", expanding=True)))
    .order_by(_PROBE.c.k)
)
_COUNT = sa.select(sa.func.count()).select_from(_PROBE).where(_PROBE.c.v == sa.bindparam("v"))
_LOCK = (
    sa.update(_PROBE)
    .where(_PROBE.c.k == sa.bindparam("lock_k"))
    .values(k=_PROBE.c.k)
    .returning(_PROBE.c.k)
)
_TOUCH = sa.update(_PROBE).where(_PROBE.c.k == sa.bindparam("touch_k")).values(v=_PROBE.c.v)


def _with_probe(url, tmp_path):
    """An app on `url` whose database has the probe table, dropped afterwards."""
    app = make_app(url, tmp_path)
    with app.app_context():
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS reads_probe"))
            conn.execute(sa.text("CREATE TABLE reads_probe (k integer PRIMARY KEY, v text)"))
            conn.execute(
                sa.text("INSERT INTO reads_probe VALUES (:k, :v)"),
                [{"k": k, "v": v} for k, v in ((1, "a"), (2, "b"), (3, "a"))],
            )
    yield app
    with app.app_context():
        db.session.remove()
        with db.engine.begin() as conn:
            conn.execute(sa.text("DROP TABLE IF EXISTS reads_probe"))


@pytest.fixture
def app(db_url, tmp_path):
    yield from _with_probe(db_url, tmp_path)


@pytest.fixture
def pg_app(pg_url, tmp_path):
    yield from _with_probe(pg_url, tmp_path)


def test_each_statement_gets_its_own_rows_in_order(app):
    with app.app_context():
        reads = Reads(db.session)
        two = reads.add(_BY_KEYS, {"keys": [3, 1]})
        three = reads.add(_BY_KEYS, {"keys": [1, 2, 3]})  # another length of the same IN
        count = reads.add(_COUNT, {"v": "a"})
        none = reads.add(_BY_KEYS, {"keys": [9]})
        locked = reads.add(_LOCK, {"lock_k": 2})
        touched = reads.add(_TOUCH, {"touch_k": 3})  # a write returning nothing
        assert two.rows == [] and count.rows == []  # nothing before `run`
        reads.run()
        assert two.rows == [(1, "a"), (3, "a")]
        assert three.rows == [(1, "a"), (2, "b"), (3, "a")]
        assert count.rows == [(2,)]
        assert none.rows == []
        assert locked.rows == [(2,)]
        assert touched.rows == []
        reads.run()  # nothing queued: nothing sent, the answers stay
        assert count.rows == [(2,)]
        db.session.rollback()


def test_each_value_is_converted_by_its_columns_type(app):
    """A JSON column's value (a dict) goes as JSON, with or without an expanded `IN` in the
    same statement; a statement written into the same table later reads it back."""
    table = sa.table("reads_probe", sa.column("k", sa.Integer), sa.column("v", sa.JSON))
    keyed = sa.select(table.c.k).where(table.c.k.in_(sa.bindparam("keys", expanding=True)))
    write = (
        sa.update(table)
        .where(table.c.k.in_(keyed.scalar_subquery()))
        .values(v=sa.bindparam("value", type_=sa.JSON))
        .returning(table.c.k)
    )
    plain = (
        sa.update(table)
        .where(table.c.k == sa.bindparam("at"))
        .values(v=sa.bindparam("value", type_=sa.JSON))
    )
    with app.app_context():
        reads = Reads(db.session)
        two = reads.add(write, {"keys": [1, 2], "value": {"学历": "本科", "n": [1]}})
        reads.add(plain, {"at": 3, "value": {"n": 3}})
        back = reads.add(sa.select(_PROBE.c.k, _PROBE.c.v).order_by(_PROBE.c.k), {})
        reads.run()
        assert sorted(two.rows) == [(1,), (2,)]
        stored = [(k, json.loads(v)) for k, v in back.rows]
        assert stored == [
            (1, {"学历": "本科", "n": [1]}),
            (2, {"学历": "本科", "n": [1]}),
            (3, {"n": 3}),
        ]
        db.session.rollback()


def test_the_reads_see_what_the_session_has_not_flushed_yet(app):
    from service.db.models import Agency

    with app.app_context():
        db.session.add(Agency(name="佛山市建设监理服务中心", city="佛山"))  # pending
        reads = Reads(db.session)
        agencies = (
            sa.select(sa.func.count())
            .select_from(Agency)
            .where(Agency.name == "佛山市建设监理服务中心")
        )
        found = reads.add(agencies, {})
        probe = reads.add(_COUNT, {"v": "b"})
        reads.run()
        assert found.rows == [(1,)] and probe.rows == [(1,)]
        db.session.rollback()


def test_on_postgresql_reads_and_their_begin_are_one_round_trip(pg_app):
    app = pg_app
    with app.app_context():
        with traced(db.engine) as wire:
            reads = Reads(db.session)
            answers = [reads.add(_BY_KEYS, {"keys": [k]}) for k in (1, 2, 3)]
            reads.run()
            db.session.commit()
            db.session.remove()
        assert [a.rows for a in answers] == [[(1, "a")], [(2, "b")], [(3, "a")]]
        first = wire.text[: wire.text.index("ReadyForQuery")]
        assert '"BEGIN"' in first and first.count("\tExecute\t") == 4, first
        # the reads with their BEGIN, then the COMMIT (besides preparing at first use)
        assert wire.trips - wire.prepares == 2, wire.text


def test_a_lock_taken_by_one_read_is_held_when_the_next_reads(pg_app):
    """Of two requests locking one row, the second's next read sees what the first wrote
    before it committed and let go: as when each statement waited for its own answer."""
    app = pg_app
    holding, seen = threading.Event(), {}

    def first():
        with app.app_context():
            db.session.execute(_LOCK, {"lock_k": 1})
            holding.set()
            threading.Event().wait(0.5)  # the second request is waiting for the lock now
            db.session.execute(sa.text("INSERT INTO reads_probe VALUES (10, 'a')"))
            db.session.commit()
            db.session.remove()

    def second():
        holding.wait()
        with app.app_context():
            reads = Reads(db.session)
            reads.add(_LOCK, {"lock_k": 1})
            count = reads.add(_COUNT, {"v": "a"})
            reads.run()
            seen["count"] = count.rows
            db.session.rollback()
            db.session.remove()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert seen["count"] == [(3,)]  # 1, 3 and the first request's 10


def test_a_failing_read_raises_as_any_statement_and_leaves_nothing(pg_app):
    with pg_app.app_context():
        db.session.execute(sa.text("INSERT INTO reads_probe VALUES (20, 'c')"))
        reads = Reads(db.session)
        reads.add(_COUNT, {"v": "a"})
        reads.add(sa.select(sa.literal_column("no_such_column")).select_from(_PROBE), {})
        with pytest.raises(sa.exc.ProgrammingError, match="no_such_column"):
            reads.run()
        db.session.rollback()
        # the transaction is gone, its row with it; the connection goes on
        assert db.session.execute(_COUNT, {"v": "c"}).scalar() == 0
        db.session.remove()
