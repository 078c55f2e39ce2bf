"""Migration 0031 on SQLite and PostgreSQL: a replaced certificate stays beside the new one
(one *current* certificate per person and type), and going back is refused while such a
replaced certificate exists."""

from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from alembic import command
from conftest import in_db

from service.db.migrate import alembic_config, upgrade
from service.db.models import Certificate
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member


def columns(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        return {c["name"] for c in sa.inspect(engine).get_columns("certificates")}
    finally:
        engine.dispose()


def test_replaced_certificates_stay_and_block_going_back(app, world, db_url):
    def seed(s):
        member = add_member(
            s,
            MemberSeed(
                "邓丽华",
                make_resident_id("44010619870707456"),
                world.unit_id,
                memberships={"普通会员": date(2027, 6, 30)},
                certificates=[
                    CertificateSeed("监理员", "JL2024000103", date(2027, 6, 30), status="cancelled")
                ],
            ),
        )
        s.commit()
        return member.id

    member_id = in_db(app, seed)
    try:
        command.downgrade(alembic_config(db_url), "0029")
        assert "superseded_by" not in columns(db_url)
        upgrade(db_url)
        assert "superseded_by" in columns(db_url)

        def reissue(s):
            old = s.scalars(select_number("JL2024000103")).one()
            old.superseded_by = "JL2026000004"
            s.flush()
            s.add(
                Certificate(
                    member_id=member_id,
                    type="监理员",
                    number="JL2026000004",
                    first_issued_on=date(2026, 11, 28),
                    valid_until=date(2029, 11, 27),
                    unit_name=world.unit_name,
                )
            )
            s.commit()

        in_db(app, reissue)  # the replaced one and the current one side by side

        def second_current(s):
            s.add(
                Certificate(
                    member_id=member_id,
                    type="监理员",
                    number="JL2026000005",
                    first_issued_on=date(2026, 11, 28),
                    valid_until=date(2029, 11, 27),
                    unit_name=world.unit_name,
                )
            )
            s.commit()

        with pytest.raises(sa.exc.IntegrityError):
            in_db(app, second_current)
        with pytest.raises(RuntimeError, match="replaced certificates exist"):
            command.downgrade(alembic_config(db_url), "0029")
        assert "superseded_by" in columns(db_url)
    finally:
        upgrade(db_url)


def select_number(number: str):
    return sa.select(Certificate).where(Certificate.number == number)
