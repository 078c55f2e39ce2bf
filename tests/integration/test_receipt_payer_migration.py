"""Migration 0038 on SQLite and PostgreSQL: a bill's documents gain the name they were issued
to (`bill_receipts.payer_name`); those registered before keep theirs empty (the unit's name
now is shown) and their other columns as they were; going back drops the column."""

from __future__ import annotations

import sqlalchemy as sa
from alembic import command
from sqlalchemy.orm import Session

from service.db.migrate import alembic_config, upgrade
from service.db.models import Bill, DefinitionVersion, ProcessInstance

KEY = "membership_renewal"


def _columns(engine) -> set[str]:
    with engine.connect() as conn:  # (reflection warns of SQLite's expression indexes)
        return set(conn.execute(sa.text("SELECT * FROM bill_receipts WHERE 1 = 0")).keys())


def test_the_payer_name_column_comes_and_goes_and_old_documents_keep_their_rows(blank_url):
    upgrade(blank_url, "0037")
    engine = sa.create_engine(blank_url)
    try:
        with Session(engine) as session:  # tables the migration leaves as they are
            version = DefinitionVersion(process_key=KEY, digest="0" * 64, files={})
            session.add(version)
            session.flush()
            instance = ProcessInstance(
                process_key=KEY,
                definition_version_id=version.id,
                business_key="HF-1",
                status="审批完成",
                state="{}",
                finished=True,
            )
            session.add(instance)
            session.flush()
            session.add(
                Bill(
                    instance_id=instance.id,
                    kind="个人会员费",
                    amount=200,
                    lines=[],
                    status="confirmed",
                    receipt_type="电子财政收据",
                )
            )
            session.commit()
        with engine.begin() as conn:
            bill = conn.scalar(sa.text("SELECT id FROM bills"))
            conn.execute(
                sa.text(
                    "INSERT INTO bill_receipts (bill_id, receipt_type, fee_kind, amount,"
                    " receipt_number, receipt_date) VALUES (:b, '电子财政收据', '个人会员费', 200,"
                    " 'CZ1', '2026-11-28')"
                ),
                {"b": bill},
            )
        assert "payer_name" not in _columns(engine)
        upgrade(blank_url)
        assert "payer_name" in _columns(engine)
        with engine.connect() as conn:
            kept = conn.execute(sa.text("SELECT receipt_number, payer_name FROM bill_receipts"))
            assert [tuple(r) for r in kept] == [("CZ1", None)]
        engine.dispose()
        command.downgrade(alembic_config(blank_url), "0037")
        assert "payer_name" not in _columns(engine)
        with engine.connect() as conn:
            assert conn.scalar(sa.text("SELECT receipt_number FROM bill_receipts")) == "CZ1"
    finally:
        engine.dispose()
