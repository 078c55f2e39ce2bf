"""Only 会员服务机构 staff belong to an agency: a staff account of another role given one is
refused at the agency's field, where it was made with the agency silently dropped. On both
databases."""

from __future__ import annotations

import pytest
from conftest import PASSWORD, in_db
from sqlalchemy import func, select

from service.db.models import Account, AuditRecord
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid
from service.services.membership import accounts

ADMIN = Actor(1, "admin", "secretariat_admin")


def create(app, role: str, agency_id):
    def run(session):
        with UnitOfWork(session) as uow:
            return accounts.create_staff(
                uow, ADMIN, "xiehui9", "协会审核员九", PASSWORD, role, agency_id
            )

    return in_db(app, run)


def counts(app) -> tuple[int, int]:
    return in_db(
        app,
        lambda s: (
            s.scalar(select(func.count()).select_from(Account)),
            s.scalar(select(func.count()).select_from(AuditRecord)),
        ),
    )


@pytest.mark.parametrize(
    "role, name",
    [
        ("association_reviewer", "协会审核"),
        ("finance_reviewer", "协会财务"),
        ("secretariat_admin", "秘书处管理员"),
        ("designer", "流程设计人员"),
    ],
)
def test_an_agency_given_to_another_role_is_refused_and_nothing_is_made(app, world, role, name):
    before = counts(app)
    with pytest.raises(FormInvalid) as refused:
        create(app, role, world.agency_id)
    assert refused.value.errors == {
        "agency_id": f"角色为“{name}”时所属机构请留空（只有会员服务机构人员属于某个机构）"
    }
    assert counts(app) == before
    made = create(app, role, None)  # without one it is made, as before
    assert in_db(app, lambda s: s.get(Account, made["id"]).agency_id) is None
