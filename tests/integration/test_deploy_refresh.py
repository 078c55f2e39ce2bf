"""Every host picks a deploy up through the database (issue 13): two apps on one database
stand for two hosts; a deploy through one (or `memberflow deploy`) is what the other
starts new forms on within its refresh interval, and a host restarted on older files keeps
the deployed versions."""

from __future__ import annotations

import io
import json
import shutil
import time
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, REPO, applicant_data, make_app, seed_world, token_headers
from sqlalchemy import func, select

from service.cli import main as cli
from service.db import db
from service.db.models import DefinitionDeployment
from service.domain.validation import make_resident_id
from service.services.workflow.moving import messages_of

pytestmark = pytest.mark.alone  # see scripts/test

RECHECK = 0.5  # seconds; MEMBERFLOW_DEFINITIONS_RECHECK is 2 by default
OLD_STATUS, NEW_STATUS = 'value="协会初审中"', 'value="协会审核中"'


def design_copy(tmp_path: Path, name: str = "design") -> Path:
    root = tmp_path / name
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, root / folder)
    return root


def host(db_url: str, tmp_path: Path, design: Path, name: str):
    """One host: an app of its own (own pool, own definitions) on the shared database."""
    (tmp_path / name).mkdir(exist_ok=True)
    return make_app(
        db_url,
        tmp_path / name,
        processes_dir=design / "processes",
        rules_dir=design / "rules",
        forms_dir=design / "forms",
        definitions_recheck_seconds=RECHECK,
    )


def bundle(design: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("processes", "rules", "forms"):
            for path in sorted((design / folder).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(design).as_posix())
    return buf.getvalue()


def version_seen(client, headers) -> int:
    reply = client.get("/api/v1/processes/member_join", headers=headers)
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()["version"]


def start(client, unit, id_number: str) -> dict:
    data = applicant_data(client, unit, id_number=make_resident_id(id_number))
    reply = client.post(
        "/api/v1/processes/member_join/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 201, reply.get_json()
    return reply.get_json()


def wait_for_version(client, headers, wanted: int, limit: float) -> float:
    """Seconds until this host serves version `wanted` (fails after `limit`)."""
    began = time.monotonic()
    while version_seen(client, headers) != wanted:
        assert time.monotonic() - began < limit, f"not version {wanted} after {limit}s"
        time.sleep(0.05)
    return time.monotonic() - began


def test_a_deploy_through_one_host_is_what_the_other_starts_new_forms_on(db_url, tmp_path):
    design = design_copy(tmp_path)
    one = host(db_url, tmp_path, design, "one")
    original = shutil.copytree(design, tmp_path / "other_design")  # as both hosts started
    other = host(db_url, tmp_path, original, "other")
    world = seed_world(one)
    a, b = one.test_client(), other.test_client()
    admin = token_headers(a, "admin")
    made = a.post(
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
    designer = token_headers(a, "sheji")
    unit_a, unit_b = token_headers(a, world.logins["unit"]), token_headers(b, world.logins["unit"])
    before = start(b, unit_b, "44010219900620432")
    assert b.get(f"/api/v1/instances/{before['id']}", headers=unit_b).get_json()["version"] == 1

    bpmn = design / "processes" / "member_join.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(OLD_STATUS, NEW_STATUS), encoding="utf-8"
    )
    reply = a.post(
        "/api/v1/processes/deploy",
        headers=designer,
        data={"file": (io.BytesIO(bundle(design)), "design.zip")},
        content_type="multipart/form-data",
    )
    deployed_at = time.monotonic()
    assert reply.status_code == 200, reply.get_json()
    assert reply.get_json()["refresh_seconds"] == RECHECK
    assert version_seen(a, unit_a) == 2  # the deploying host at once
    delay = wait_for_version(b, unit_b, 2, RECHECK + 2)
    print(f"picked up by the other host {time.monotonic() - deployed_at:.2f}s after the deploy")
    assert delay <= RECHECK + 1
    after = start(b, unit_b, "44010619880512345")
    shown = b.get(f"/api/v1/instances/{after['id']}", headers=unit_b).get_json()
    assert shown["version"] == 2
    assert b.get(f"/api/v1/instances/{before['id']}", headers=unit_b).get_json()["version"] == 1
    versions = b.get("/api/v1/processes/member_join/versions", headers=designer).get_json()
    assert [(v["number"], v["current"], v["running"]) for v in versions["items"]] == [
        (2, True, 1),
        (1, False, 1),
    ]

    # a host restarted on the files it had (deployed before) keeps the designer's versions
    restarted = host(db_url, tmp_path, original, "restarted")
    c = restarted.test_client()
    assert version_seen(c, token_headers(c, world.logins["unit"])) == 2
    with restarted.app_context():
        deployments = db.session.scalar(select(func.count()).select_from(DefinitionDeployment))
        db.session.remove()
    assert deployments == 2  # the first start and the deploy: no start-up row for old files


def test_memberflow_deploy_and_versions_from_the_command_line(db_url, tmp_path, monkeypatch):
    design = design_copy(tmp_path)
    serving = host(db_url, tmp_path, design_copy(tmp_path, "served"), "served")
    world = seed_world(serving)
    client = serving.test_client()
    unit = token_headers(client, world.logins["unit"])
    monkeypatch.setenv("MEMBERFLOW_DATABASE_URL", db_url)
    for name in ("PROCESSES", "RULES", "FORMS"):
        monkeypatch.setenv(f"MEMBERFLOW_{name}_DIR", str(design / name.lower()))

    # a broken file: every problem, exit 1, nothing recorded
    form = design / "forms" / "member_join" / "agency_review.schema.json"
    saved = form.read_text(encoding="utf-8")
    form.unlink()
    refused = CliRunner().invoke(cli, ["deploy", "--by", "sheji"])
    assert refused.exit_code == 1
    assert "forms/member_join/agency_review.schema.json" in refused.output
    assert "未做任何更改" in refused.output
    form.write_text(saved, encoding="utf-8")

    bpmn = design / "processes" / "member_join.bpmn"
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(OLD_STATUS, NEW_STATUS), encoding="utf-8"
    )
    messages = design / "rules" / "messages.json"
    templates = json.loads(messages.read_text(encoding="utf-8"))
    templates["submitted"]["title"] = "已提交（新模板）：{business_key}"
    messages.write_text(json.dumps(templates, ensure_ascii=False, indent=2), encoding="utf-8")
    done = CliRunner().invoke(cli, ["deploy", "--by", "sheji"])
    assert done.exit_code == 0, done.output
    assert "已部署 member_join" in done.output and "第 2 版（新版本）" in done.output
    assert "正常 engineer_cpd" in done.output

    wait_for_version(client, unit, 2, RECHECK + 2)
    # the business-message templates follow the deployment too
    assert (
        messages_of(serving.extensions["memberflow"])
        .templates["submitted"]
        .title.startswith("已提交（新模板）")
    )

    listed = CliRunner().invoke(cli, ["versions", "member_join", "--json"])
    assert listed.exit_code == 0, listed.output
    items = json.loads(listed.output)["items"]
    assert [(v["number"], v["current"], v["deployed_by"]) for v in items] == [
        (2, True, "sheji"),
        (1, False, "服务器启动"),
    ]
    table = CliRunner().invoke(cli, ["versions", "member_join"])
    assert table.exit_code == 0 and "sheji" in table.output
    unknown = CliRunner().invoke(cli, ["versions", "no_such_process"])
    assert unknown.exit_code == 1 and "没有名为 no_such_process 的业务流程" in unknown.output
    same = CliRunner().invoke(cli, ["deploy", "--by", "sheji"])
    assert same.exit_code == 0 and "未做任何更改" in same.output
    # the earlier files again: back to version 1, said as a switch (not 未变)
    bpmn.write_text(
        bpmn.read_text(encoding="utf-8").replace(NEW_STATUS, OLD_STATUS), encoding="utf-8"
    )
    back = CliRunner().invoke(cli, ["deploy", "--by", "sheji"])
    assert back.exit_code == 0, back.output
    assert (
        "已部署 member_join（个人会员入会申请）：第 1 版（改用已有版本，原为第 2 版）"
        in back.output
    )
    assert "未做任何更改" not in back.output
