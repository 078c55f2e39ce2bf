"""Names at their 50-character limit, and unit names at their 200, with what the service adds
to them, still fit the columns they go into (PostgreSQL enforces varchar(n); SQLite does not)."""

from __future__ import annotations

from datetime import date

from conftest import in_db, upload
from sqlalchemy import select

from service.db import db
from service.db.models import ProcessInstance
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

# 50 characters, 12 of them outside the BMP (the QA report's person C)
LONG_NAME = (
    "阿卜杜热合曼𠮷𪚥𬌗·艾合买提江𠮷𪚥𬌗·阿不都热依木𠮷𪚥𬌗"
    "·库尔班𠮷𪚥𬌗·吐尔逊买买买买买买买买买买买"
)


def _seed(app, unit_id: int, name: str, prefix: str) -> str:
    id_number = make_resident_id(prefix)
    with app.app_context():
        add_member(
            db.session,
            MemberSeed(
                name=name,
                id_number=id_number,
                unit_id=unit_id,
                memberships={"普通会员": date(2027, 6, 30)},
            ),
        )
        db.session.commit()
        db.session.remove()
    return id_number


def _person(client, headers, id_number: str, name: str) -> dict:
    return {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "specialty_2": "市政公用工程",
        "diploma": upload(client, headers),
        "social_insurance": upload(client, headers),
        "verification": upload(client, headers),
    }


def test_a_form_listing_a_fifty_character_name_first_is_listed_under_a_label_that_fits(
    app, client, login, world
):
    assert len(LONG_NAME) == 50
    unit = login("unit")
    long_one = _seed(app, world.unit_id, LONG_NAME, "44010619930404004")
    other = _seed(app, world.unit_id, "陈𠮷䶮", "44010619900101001")
    reply = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={
            "data": {
                "pledge": upload(client, unit),
                "persons": [
                    _person(client, unit, long_one, LONG_NAME),
                    _person(client, unit, other, "陈𠮷䶮"),
                ],
            }
        },
    )
    assert reply.status_code == 201, reply.get_json()
    label = in_db(app, lambda s: s.scalar(select(ProcessInstance.subject_name)))
    assert len(label) <= 50
    assert label == LONG_NAME[:46] + "…等2人"  # 50 characters: the count kept whole
