"""流程目录 and 部署流程 in Chromium: the secretariat offers the designer role; a designer
deploys a zip that fails the check (every problem listed, nothing recorded), then one that
passes (the new version listed), and reads the versions with their forms."""

from __future__ import annotations

import io
import re
import shutil
import zipfile
from pathlib import Path

import pytest
from browsing import assert_labelled, sign_in
from conftest import PASSWORD, REPO
from playwright.sync_api import expect
from sqlalchemy import func, select
from test_reviewer_pages import join_at_agency

from service.db import db
from service.db.models import DefinitionDeployment
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.services.membership import accounts

pytestmark = pytest.mark.postgres
OLD_STATUS, NEW_STATUS = 'value="协会初审中"', 'value="协会审核中"'


def bundle(design: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("processes", "rules", "forms"):
            for path in sorted((design / folder).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(design).as_posix())
    return buf.getvalue()


def add_designer(live) -> None:
    with live.app.app_context():
        admin = Actor(1, "admin", "secretariat_admin")
        with UnitOfWork(db.session) as uow:
            accounts.create_staff(uow, admin, "sheji", "流程设计员", PASSWORD, "designer", None)
        db.session.remove()


def deployments(live) -> int:
    with live.app.app_context():
        n = db.session.scalar(select(func.count()).select_from(DefinitionDeployment))
        db.session.remove()
    return n


def upload(page, content: bytes) -> None:
    page.get_by_label("部署包（zip，不超过5MB）").set_input_files(
        {"name": "design.zip", "mimeType": "application/zip", "buffer": content}
    )
    page.get_by_role("button", name="检查并部署").click()
    page.wait_for_load_state()


def test_the_secretariat_offers_the_designer_role(live, contexts):
    page = contexts().new_page()
    sign_in(page, live, "admin")
    page.goto(live.url + "/admin/staff/new")
    options = page.get_by_label("角色").locator("option").all_inner_texts()
    assert "流程设计人员" in options
    page.get_by_role("link", name="流程目录").click()
    expect(page.get_by_role("table", name="流程目录")).to_be_visible()
    expect(page.get_by_role("link", name="部署流程")).to_have_count(0)  # the designer's


def test_a_designer_deploys_a_zip_and_reads_the_versions(live, contexts, tmp_path):
    join_at_agency(live)  # one running form on version 1
    add_designer(live)
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    page = contexts().new_page()
    sign_in(page, live, "sheji")
    # a designer starts at the catalogue: every process, its current version and its forms
    expect(page).to_have_url(re.compile(r"/processes/catalogue$"))
    catalogue = page.get_by_role("table", name="流程目录")
    row = catalogue.locator("tr", has_text="member_join")
    assert "第 1 版" in row.inner_text()
    assert [c.strip() for c in row.locator("td").all_inner_texts()][3:5] == ["1", "1"]
    assert_labelled(page)

    page.get_by_role("link", name="部署流程").first.click()
    page.wait_for_url("**/processes/deploy")  # loaded, before reading its inputs
    assert_labelled(page)
    before = deployments(live)
    broken = design / "forms" / "member_join" / "agency_review.schema.json"
    saved = broken.read_text(encoding="utf-8")
    broken.unlink()
    upload(page, bundle(design))
    # each upload loads a new page: wait on what the new page says, never read the old one
    expect(page.get_by_role("alert")).to_have_text(re.compile("^部署未通过检查，未做任何更改"))
    problems = page.get_by_role("table", name="检查发现的问题")
    expect(problems).to_contain_text("forms/member_join/agency_review.schema.json")
    expect(problems).to_contain_text("缺少该任务的表单文件")
    assert deployments(live) == before

    broken.write_text(saved, encoding="utf-8")
    bpmn = design / "processes" / "member_join.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(OLD_STATUS, NEW_STATUS), encoding="utf-8"
    )
    upload(page, bundle(design))
    result = page.get_by_role("table", name="部署后的版本")
    changed = result.locator("tr", has_text="member_join")
    expect(changed).to_contain_text("第 2 版")
    expect(changed).to_contain_text("新版本")
    expect(result.locator("tr", has_text="engineer_cpd")).to_contain_text("未变")
    # (the refused upload's page had this table too)
    expect(page.get_by_role("table", name="最近的部署")).to_contain_text("sheji")
    assert deployments(live) == before + 1

    changed.get_by_role("link", name="第 2 版").click()
    rows = page.get_by_role("table", name="版本列表").locator("tbody tr")
    expect(rows).to_have_count(2)
    newest, oldest = rows.nth(0), rows.nth(1)
    for text in ("第 2 版", "当前版本", "sheji"):
        expect(newest).to_contain_text(text)
    for text in ("第 1 版", "服务器启动"):
        expect(oldest).to_contain_text(text)
    expect(oldest).not_to_contain_text("当前版本")

    # no review work and no records: the queue and the secretariat's pages are not theirs
    for path in ("/workbench?scope=todo", "/admin/staff", "/home"):
        reply = page.goto(live.url + path)
        assert reply.status == 404, path


def test_others_cannot_open_the_deploy_page(live, contexts):
    page = contexts().new_page()
    sign_in(page, live, "xiehui")
    assert page.goto(live.url + "/processes/deploy").status == 404
    assert page.goto(live.url + "/processes/catalogue").status == 200
    sign_in(page, live, live.world.logins["unit"])
    assert page.goto(live.url + "/processes/catalogue").status == 404
