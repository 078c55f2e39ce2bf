"""Deploying without a restart through the API (issue 13): a designer uploads a zip of
processes/, rules/ and forms/; it is checked as `memberflow check` checks the folders, and
either every problem comes back (422, nothing recorded) or each changed process gets a new
version that new forms start on while running forms stay on theirs."""

from __future__ import annotations

import gc
import io
import json
import shutil
import stat
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    PASSWORD,
    REPO,
    app_on_design,
    applicant_data,
    form_values,
    open_task,
    seed_world,
    token_headers,
)
from sqlalchemy import func, select

from service.cli import main as cli
from service.db import db
from service.db.models import DefinitionDeployment, DefinitionVersion
from service.domain.validation import make_resident_id

OLD_STATUS, NEW_STATUS = 'value="协会初审中"', 'value="协会审核中"'


def design_copy(tmp_path: Path) -> Path:
    """A private copy of processes/, rules/ and forms/ that a test may edit."""
    root = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def app_on(db_url: str, tmp_path: Path, design: Path, **settings):
    return app_on_design(db_url, tmp_path, design, **settings)


def bundle(design: Path, prefix: str = "") -> bytes:
    """The zip a designer uploads: the three folders, optionally inside one top folder."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("processes", "rules", "forms"):
            for path in sorted((design / folder).rglob("*")):
                if path.is_file():
                    archive.write(path, prefix + path.relative_to(design).as_posix())
    return buf.getvalue()


def zip_of(entries: dict[str, bytes | str]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
    return buf.getvalue()


def deploy(client, headers, content: bytes, name: str = "design.zip"):
    return client.post(
        "/api/v1/processes/deploy",
        headers=headers,
        data={"file": (io.BytesIO(content), name)},
        content_type="multipart/form-data",
    )


def designer_headers(client) -> dict:
    """The secretariat creates a designer account; its bearer headers."""
    admin = token_headers(client, "admin")
    made = client.post(
        "/api/v1/staff",
        headers=admin,
        json={
            "username": "sheji",
            "name": "流程设计员",
            "password": PASSWORD,
            "role": "designer",
            "must_change_password": False,
        },
    )
    assert made.status_code == 201, made.get_json()
    return token_headers(client, "sheji")


def recorded(app) -> tuple[int, int]:
    with app.app_context():
        versions = db.session.scalar(select(func.count()).select_from(DefinitionVersion))
        deployments = db.session.scalar(select(func.count()).select_from(DefinitionDeployment))
        db.session.remove()
    return versions, deployments


def start_join(client, unit, id_number: str | None = None) -> dict:
    data = applicant_data(client, unit, id_number=id_number)
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def through_agency(client, unit, agency, instance_id: int) -> str:
    """The unit's pre-review and the agency's approval; the status after them."""
    task = open_task(client, unit, instance_id)
    values = form_values(client, unit, instance_id)
    body = {"data": {**values, "decision": "approve", "member_level": "普通会员"}}
    done = client.post(f"/api/v1/tasks/{task['id']}/complete", headers=unit, json=body)
    assert done.status_code == 200, done.get_json()
    task = open_task(client, agency, instance_id)
    done = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=agency,
        json={"data": {"decision": "approve"}},
    )
    assert done.status_code == 200, done.get_json()
    return done.get_json()["status"]


def test_a_deploy_gives_changed_processes_a_new_version_that_new_forms_start_on(db_url, tmp_path):
    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    agency = token_headers(client, world.logins["agency"])
    association = token_headers(client, world.logins["association"])
    designer = designer_headers(client)
    old = start_join(client, unit)

    bpmn = design / "processes" / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    assert OLD_STATUS in text
    bpmn.write_text(text.replace(OLD_STATUS, NEW_STATUS), encoding="utf-8")
    reply = deploy(client, designer, bundle(design, prefix="design/"))
    assert reply.status_code == 200, reply.get_json()
    body = reply.get_json()
    assert body["changed"] is True and body["deployed_by"] == "sheji"
    by_key = {p["key"]: p for p in body["processes"]}
    assert (by_key["member_join"]["version"], by_key["member_join"]["new"]) == (2, True)
    assert (by_key["engineer_cpd"]["version"], by_key["engineer_cpd"]["new"]) == (1, False)
    assert [k for k, p in by_key.items() if p["new"]] == ["member_join"]
    assert (by_key["member_join"]["was"], by_key["engineer_cpd"]["was"]) == (1, 1)

    shown = client.get("/api/v1/processes/member_join", headers=unit).get_json()
    assert shown["version"] == 2 and NEW_STATUS in shown["bpmn"]
    new = start_join(client, unit, id_number=make_resident_id("44010219900620432"))
    assert client.get(f"/api/v1/instances/{new['id']}", headers=unit).get_json()["version"] == 2
    assert client.get(f"/api/v1/instances/{old['id']}", headers=unit).get_json()["version"] == 1
    # the running form goes on along the diagram it started with, the new one along the new
    assert through_agency(client, unit, agency, old["id"]) == "协会初审中"
    assert through_agency(client, unit, agency, new["id"]) == "协会审核中"

    for who in (association, designer):
        history = client.get("/api/v1/processes/member_join/versions", headers=who)
        assert history.status_code == 200, history.get_json()
        assert [
            (v["number"], v["current"], v["running"], v["finished"], v["deployed_by"])
            for v in history.get_json()["items"]
        ] == [(2, True, 1, 0, "sheji"), (1, False, 1, 0, "服务器启动")]

    # the same files again: nothing new is recorded
    before = recorded(app)
    again = deploy(client, designer, bundle(design))
    assert again.status_code == 200 and again.get_json()["changed"] is False
    assert recorded(app) == before

    # the first version's files again: back to version 1, which is no new version, and
    # not "unchanged" either (the deploy page said 未变)
    bpmn.write_text(text, encoding="utf-8")
    back = deploy(client, designer, bundle(design)).get_json()
    joined = {p["key"]: p for p in back["processes"]}["member_join"]
    assert (joined["version"], joined["new"], joined["was"]) == (1, False, 2)


def test_a_bundle_that_fails_the_check_is_refused_whole_with_every_problem(
    db_url, tmp_path, monkeypatch
):
    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    seed_world(app)
    client = app.test_client()
    designer = designer_headers(client)
    before = recorded(app)

    # one good change and two problems: the good change is not deployed either
    bpmn = design / "processes" / "member_join.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(OLD_STATUS, NEW_STATUS), encoding="utf-8"
    )
    (design / "forms" / "member_join" / "agency_review.schema.json").unlink()
    policy = design / "rules" / "messages.json"
    policy.write_text("{ not json", encoding="utf-8")
    reply = deploy(client, designer, bundle(design))
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert body["message"].startswith("部署未通过检查，未做任何更改")
    files = {p["file"] for p in body["problems"]}
    assert "forms/member_join/agency_review.schema.json" in files
    assert "rules/messages.json" in files
    missing = next(p for p in body["problems"] if p["file"].endswith("agency_review.schema.json"))
    assert missing["element"] == "agency_review" and "缺少" in missing["message"]
    assert recorded(app) == before
    shown = client.get("/api/v1/processes/member_join", headers=designer).get_json()
    assert shown["version"] == 1 and OLD_STATUS in shown["bpmn"]

    # the very problems `memberflow check` reports on the same folders
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))
    checked = CliRunner().invoke(cli, ["check", "--json"])
    assert checked.exit_code == 1
    assert json.loads(checked.output)["problems"] == body["problems"]


def test_a_deploy_may_not_remove_a_process(db_url, tmp_path):
    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    seed_world(app)
    client = app.test_client()
    designer = designer_headers(client)
    before = recorded(app)
    (design / "processes" / "certificate_cancellation.bpmn").unlink()
    shutil.rmtree(design / "forms" / "certificate_cancellation")
    reply = deploy(client, designer, bundle(design))
    assert reply.status_code == 422, reply.get_json()
    assert [p["file"] for p in reply.get_json()["problems"]] == [
        "processes/certificate_cancellation.bpmn"
    ]
    assert recorded(app) == before


def test_only_a_designer_deploys(db_url, tmp_path):
    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    content = bundle(design)
    before = recorded(app)
    assert deploy(client, {}, content).status_code == 401
    for who in ("unit", "agency", "association", "finance", "admin"):
        headers = token_headers(client, world.logins.get(who, who))
        reply = deploy(client, headers, content)
        assert reply.status_code == 404, (who, reply.get_json())
    # a designer reviews no task and reads no form, unit or member
    designer = designer_headers(client)
    assert client.get("/api/v1/tasks", headers=designer).get_json()["total"] == 0
    assert client.get("/api/v1/instances", headers=designer).get_json()["total"] == 0
    assert (
        client.get(f"/api/v1/units/{world.unit_id}/information", headers=designer).status_code
        == 404
    )
    assert client.get("/api/v1/incidents", headers=designer).status_code == 200
    assert recorded(app) == before


def _symlink_zip() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        info = zipfile.ZipInfo("processes/link.bpmn")
        info.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(info, "/etc/passwd")
    return buf.getvalue()


HOSTILE = [
    ("not a zip", b"%PDF-1.4 not a zip at all", 422),
    ("path traversal", zip_of({"processes/../../evil.bpmn": "<x/>"}), 422),
    ("absolute path", zip_of({"/etc/cron.d/evil": "x"}), 422),
    ("backslash path", zip_of({"processes\\..\\evil.bpmn": "<x/>"}), 422),
    ("a file a bundle has not", zip_of({"processes/a.bpmn": "<x/>", "run.py": "x"}), 422),
    ("no process", zip_of({"rules/policy.json": "{}"}), 422),
    ("a link", _symlink_zip(), 422),
    (
        "an entity",
        zip_of({"processes/a.bpmn": '<!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>'}),
        422,
    ),
    ("not UTF-8", zip_of({"processes/a.bpmn": "<x>中文</x>".encode("gb18030")}), 422),
    ("one huge file", zip_of({"processes/a.bpmn": b"\0" * (3 * 1024 * 1024)}), 413),
    ("a zip bomb", zip_of({"processes/a.bpmn": b"<" + b" " * (1536 * 1024) + b"/>"}), 413),
    ("too large", b"PK" + bytes(6 * 1024 * 1024), 413),
]


# werkzeug's test client spools a large request body to a temporary file it never closes
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_hostile_zip_is_refused_before_anything_is_parsed(db_url, tmp_path):
    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    seed_world(app)
    client = app.test_client()
    designer = designer_headers(client)
    before = recorded(app)
    for what, content, status in HOSTILE:
        reply = deploy(client, designer, content)
        assert reply.status_code == status, (what, reply.status_code, reply.get_json())
        body = reply.get_json()
        assert "未做任何更改" in body["message"], (what, body)
    del reply, body  # the last answer holds the spooled request body: let it be closed
    gc.collect()
    many = zip_of({f"forms/a/f{i}.json": "{}" for i in range(501)} | {"processes/a.bpmn": "<x/>"})
    assert deploy(client, designer, many).status_code == 422
    assert recorded(app) == before


def test_the_deploy_page_lists_a_switch_back_to_an_existing_version(db_url, tmp_path):
    """最近的部署 says which processes went back to a version they had, not "—"."""
    from test_account_pages_http import sign_in, text

    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    seed_world(app)
    client = app.test_client()
    designer = designer_headers(client)
    bpmn = design / "processes" / "member_join.bpmn"
    original = bpmn.read_text(encoding="utf-8")
    bpmn.write_text(original.replace(OLD_STATUS, NEW_STATUS), encoding="utf-8")
    assert deploy(client, designer, bundle(design)).status_code == 200
    bpmn.write_text(original, encoding="utf-8")
    back = deploy(client, designer, bundle(design))
    assert back.status_code == 200, back.get_json()
    page = app.test_client()
    sign_in(page, "sheji")
    html = text(page.get("/processes/deploy"))
    rows = html.split('aria-label="最近的部署"')[1].split("</table>")[0].split("<tr>")
    newest = rows[2]  # after the header's row
    assert "改用已有版本：个人会员入会申请" in newest, newest
    assert "第 1 版（原为第 2 版）" in newest and "—" not in newest
    assert "个人会员入会申请（<code>member_join</code>）" in rows[3]  # its version 2


def test_a_deploy_says_when_running_forms_wait_at_a_task_the_new_version_lacks(db_url, tmp_path):
    """Renaming a task strands the forms waiting at it on their version: the deploy says so
    (they keep running there and cannot be migrated as they are)."""
    from conftest import step_task
    from test_migration_api import submit

    design = design_copy(tmp_path)
    app = app_on(db_url, tmp_path, design)
    world = seed_world(app)
    client = app.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    designer = designer_headers(client)
    waiting = submit(client, heads, 0)
    step_task(client, heads["agency"], waiting, {"decision": "approve"})  # → association
    bpmn = design / "processes" / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    bpmn.write_text(text.replace("association_review", "association_check"), encoding="utf-8")
    forms = design / "forms" / "member_join"
    (forms / "association_review.schema.json").rename(forms / "association_check.schema.json")
    done = deploy(client, designer, bundle(design))
    assert done.status_code == 200, done.get_json()
    [notice] = done.get_json()["notices"]
    assert "1 份办理中的表单在等待「协会初审」（association_review）" in notice, notice
    assert "第 2 版没有该任务" in notice
    # and the way to move them: a task mapping on the migration page (or the CLI's --map)
    assert "任务映射" in notice and "association_review=新任务名" in notice
    # back to the files of version 1, which has the task: nothing stranded, no notice
    bpmn.write_text(text, encoding="utf-8")
    (forms / "association_check.schema.json").rename(forms / "association_review.schema.json")
    again = deploy(client, designer, bundle(design))
    assert again.status_code == 200 and again.get_json()["notices"] == []
