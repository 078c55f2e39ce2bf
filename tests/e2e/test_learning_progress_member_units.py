"""FAQ 3.17: the learning-progress lookup (普通会员教育学习进度) is opened to member units
(单位会员) only. A unit that is not one is told so — list, export, background export and
page — and its menu does not offer it. SQLite and PostgreSQL."""

from __future__ import annotations

from conftest import PASSWORD, token_headers
from test_account_pages_http import sign_in, text

from service.db import db
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.validation import make_credit_code
from service.services.membership import accounts

NON_MEMBER = "佛山顺联工程监理有限公司"
REFUSED = "教育学习进度查询仅对单位会员开放（FAQ 3.17），成为单位会员后可查看本单位人员的学习进度"


def non_member_unit(app, world) -> str:
    with app.app_context():
        admin = Actor(1, "admin", "secretariat_admin")
        with UnitOfWork(db.session) as uow:
            accounts.create_unit(
                uow,
                admin,
                NON_MEMBER,
                make_credit_code("91440604MA4W1AB1X"),
                world.agency_id,
                False,
                PASSWORD,
            )
        db.session.remove()
    return NON_MEMBER


def test_only_member_units_look_learning_progress_up(app, client, login, world):
    outsider = token_headers(client, non_member_unit(app, world))
    for method, url in (
        ("get", "/api/v1/learning-tasks"),
        ("get", "/api/v1/learning-tasks/export.xlsx"),
        ("post", "/api/v1/learning-tasks/export-jobs"),
    ):
        reply = getattr(client, method)(
            url, headers=outsider, json={} if method == "post" else None
        )
        assert reply.status_code == 403, (url, reply.get_json())
        assert reply.get_json()["message"] == REFUSED
    assert client.get("/api/v1/learning-tasks", headers=login("unit")).status_code == 200
    export = client.get(
        "/api/v1/learning-tasks/export.xlsx", headers=login("unit"), buffered=True
    )  # a streamed file, read and closed as a WSGI server does
    assert export.status_code == 200
    # the association still sees every unit's
    assert client.get("/api/v1/learning-tasks", headers=login("association")).status_code == 200


def test_the_pages_offer_it_to_member_units_only(app, world):
    outsider = app.test_client()
    sign_in(outsider, non_member_unit(app, world))
    home = text(outsider.get("/forms"))
    assert "单位（非会员）" in home and "普通会员教育学习进度" not in home
    page = outsider.get("/unit/learning")
    assert page.status_code == 403 and "仅对单位会员开放" in text(page)

    member = app.test_client()
    sign_in(member, world.unit_name)
    home = text(member.get("/forms"))
    assert "单位（会员）" in home and "普通会员教育学习进度" in home
    assert member.get("/unit/learning").status_code == 200
