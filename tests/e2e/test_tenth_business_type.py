"""A tenth business type added from files alone: a BPMN, its eligibility table and its
forms (tests/fixtures/member_title_change/) put into copies of processes/, rules/ and
forms/; no Python changes.

个人会员职称变更 (member_title_change): the unit submits a member's new title, the rules
check the person, the association reviews, and the end event's declared effect
(`change_member_info`) writes the title into the member's record.
"""

from __future__ import annotations

import json
import shutil
from datetime import date

import pytest
from conftest import (
    REPO,
    app_on_design,
    in_db,
    seed_world,
    start_form,
    step_task,
    token_headers,
)
from sqlalchemy import select

from service.db.models import Member, ProcessInstance
from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

KEY = "member_title_change"
NAME = "个人会员职称变更"

FILES = REPO / "tests" / "fixtures" / KEY  # the BPMN, its table and its two forms


@pytest.fixture
def tenth(db_url, tmp_path):
    """The app on copies of the designers' folders plus the tenth type's four files."""
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    shutil.copy(FILES / f"{KEY}.bpmn", design / "processes")
    shutil.copy(FILES / f"{KEY}_eligibility.dmn", design / "rules")
    (design / "forms" / KEY).mkdir()
    for form in FILES.glob("*.schema.json"):
        shutil.copy(form, design / "forms" / KEY)
    app = app_on_design(db_url, tmp_path, design)
    return app, seed_world(app)


def _member(app, unit_id: int) -> str:
    id_number = make_resident_id("44010619880512345")

    def add(session):
        seed = MemberSeed("李职称", id_number, unit_id, memberships={"普通会员": date(2099, 1, 1)})
        add_member(session, seed)
        session.commit()

    in_db(app, add)
    return id_number


def _title(app, id_number: str) -> str | None:
    return in_db(app, lambda s: s.scalar(select(Member.title).where(Member.id_number == id_number)))


def test_a_tenth_business_type_runs_from_its_files_alone(tenth):
    app, world = tenth
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    association = token_headers(client, world.logins["association"])
    id_number = _member(app, world.unit_id)
    assert _title(app, id_number) == "中级"

    listed = client.get("/api/v1/processes", headers=unit).get_json()
    rows = listed if isinstance(listed, list) else listed.get("items", listed)
    assert any(p["key"] == KEY and p["name"] == NAME for p in rows)

    form = {"id_number": id_number, "name": "李职称", "changes": {"title": "高级"}}
    started = start_form(client, unit, KEY, form)
    assert started["status"] == "协会审核中"
    assert started["business_key"].startswith("ZCBG")

    # the rules name the business in flight by its BPMN name (there is no other copy of it)
    refused = start_form(client, unit, KEY, form, expect=422)
    assert f"有办理中的表单（{NAME}），不能同时办理" in json.dumps(refused, ensure_ascii=False)

    assert _title(app, id_number) == "中级"  # nothing changes before the approval
    # the names reach the rules for the request only: the stored state does not keep them
    state = in_db(
        app,
        lambda s: s.scalar(
            select(ProcessInstance.state).where(ProcessInstance.id == started["id"])
        ),
    )
    assert "process_names" not in state and NAME not in state
    done = step_task(client, association, started["id"], {"decision": "approve"})
    assert done["status"] == "审批完成" and done["finished"] is True
    assert _title(app, id_number) == "高级"  # the declared effect: change_member_info


def test_the_unit_menu_links_the_tenth_type_and_only_deployed_types(tenth, tmp_path):
    from test_pages_http import sign_in, text

    app, world = tenth
    client = app.test_client()
    sign_in(client, world.logins["unit"])
    reply = client.get("/forms")
    home = text(reply)
    assert reply.status_code == 200 and "其他业务" in home, home[:3000]
    menu = home[home.index("其他业务") :]
    assert f'href="/business/{KEY}"' in menu and NAME in menu, menu[:2000]
    # the nine types keep their places in the manual's sections, not under 其他业务
    other_links = menu[: menu.index("单位与账号")]
    assert 'href="/business/initial_education"' not in other_links
    assert 'href="/business/initial_education"' in home


def test_a_menu_link_of_a_business_not_deployed_is_left_out(db_url, tmp_path):
    from test_pages_http import sign_in, text

    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    (design / "processes" / "engineer_cpd.bpmn").unlink()
    app = app_on_design(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    sign_in(client, world.logins["unit"])
    home = text(client.get("/forms"))
    assert "/business/engineer_cpd" not in home and "专业会员（注师）继教" not in home
    assert 'href="/business/certificate_cancellation"' in home and "其他业务" not in home
