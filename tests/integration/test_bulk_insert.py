"""`db.bulk.insert_rows` (COPY on PostgreSQL, INSERT … RETURNING on SQLite): ids in order,
the models' defaults applied, a duplicate refused as SQLAlchemy's IntegrityError."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from conftest import make_app

from service.db import db
from service.db.bulk import insert_rows
from service.db.models import Agency, Member


def _member(i: int) -> dict:
    return {
        "name": f"成员{i}",
        "id_type": "resident_id",
        "id_number": f"ID{i:06d}",
        "education": None,
    }


def test_rows_get_their_ids_in_order_and_the_model_defaults(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    with app.app_context():
        ids = insert_rows(db.session, Member.__table__, [_member(i) for i in range(3)])
        ids += insert_rows(db.session, Member.__table__, [{**_member(3), "education": {"a": 1}}])
        db.session.commit()
        rows = db.session.execute(
            sa.select(
                Member.id, Member.id_number, Member.status, Member.created_at, Member.education
            ).order_by(Member.id)
        ).all()
        assert [(r.id, r.id_number) for r in rows] == [(ids[i], f"ID{i:06d}") for i in range(4)]
        assert {r.status for r in rows} == {"自由态"} and all(r.created_at for r in rows)
        assert rows[3].education == {"a": 1}
        # the sequence moved past the drawn ids: an ordinary insert follows them
        agency = Agency(name="机构", city="广州")
        db.session.add(Member(name="后来", id_type="resident_id", id_number="ID999999"))
        db.session.add(agency)
        db.session.commit()
        later = db.session.scalar(sa.select(Member.id).where(Member.id_number == "ID999999"))
        assert later > max(ids)


def test_a_duplicate_row_is_an_integrity_error_and_nothing_of_it_stays(db_url, tmp_path):
    app = make_app(db_url, tmp_path)
    with app.app_context():
        insert_rows(db.session, Member.__table__, [_member(1)])
        db.session.commit()
        with pytest.raises(sa.exc.IntegrityError):
            insert_rows(db.session, Member.__table__, [_member(2), _member(1)])
        db.session.rollback()
        count = db.session.scalar(sa.select(sa.func.count()).select_from(Member))
        assert count == 1
        db.session.remove()
