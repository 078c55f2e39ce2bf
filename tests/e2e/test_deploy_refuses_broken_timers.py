"""A deploy refuses a bundle whose timer reads a misspelt function or a policy parameter
rules/policy.json lacks — through the API (and the 部署 page, which calls the same) and
`memberflow deploy` — with the problem `memberflow check` reports, and records nothing.
Before, such a bundle became a new version whose forms failed when 协会审核 approved."""

from __future__ import annotations

import io
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, REPO, app_on_design, seed_world, token_headers
from sqlalchemy import func, select

from service.cli import main as cli
from service.db import db
from service.db.models import DefinitionDeployment, DefinitionVersion

JOIN = "processes/member_join.bpmn"
DEADLINE = '"P%dD" % policy("payment_deadline_days")</bpmn:timeDuration>'
BREAKS = {
    "misspelt_function": (DEADLINE.replace("policy(", "polcy("), "名称 polcy 未定义"),
    "unknown_policy_name": (
        DEADLINE.replace("_days", "_day"),
        'policy("payment_deadline_day") 读取的参数在 rules/policy.json 中不存在',
    ),
}


def _bundle(design: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for folder in ("processes", "rules", "forms"):
            for path in sorted((design / folder).rglob("*")):
                if path.is_file():
                    archive.write(path, path.relative_to(design).as_posix())
    return buf.getvalue()


def _recorded(app) -> tuple[int, int]:
    with app.app_context():
        versions = db.session.scalar(select(func.count()).select_from(DefinitionVersion))
        deployments = db.session.scalar(select(func.count()).select_from(DefinitionDeployment))
        db.session.remove()
    return versions, deployments


@pytest.mark.parametrize("how", list(BREAKS))
def test_a_bundle_with_a_broken_timer_is_refused_by_the_api_and_the_command(
    db_url, tmp_path, monkeypatch, how
):
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    app = app_on_design(db_url, tmp_path, design)
    seed_world(app)
    client = app.test_client()
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
    designer = token_headers(client, "sheji")
    before = _recorded(app)

    bpmn = design / JOIN
    text = bpmn.read_text(encoding="utf-8")
    assert text.count(DEADLINE) == 1
    line = text[: text.index(DEADLINE)].count("\n") + 1
    new, said = BREAKS[how]
    bpmn.write_text(text.replace(DEADLINE, new), encoding="utf-8")

    reply = client.post(
        "/api/v1/processes/deploy",
        headers=designer,
        data={"file": (io.BytesIO(_bundle(design)), "design.zip")},
        content_type="multipart/form-data",
    )
    assert reply.status_code == 422, reply.get_json()
    [problem] = reply.get_json()["problems"]
    assert (problem["file"], problem["element"], problem["line"]) == (
        JOIN,
        "payment_deadline",
        line,
    )
    assert problem["message"].startswith("定时器“缴费期限”的时长表达式（timeDuration）中，")
    assert said in problem["message"]
    assert _recorded(app) == before

    monkeypatch.setenv("MEMBERFLOW_DATABASE_URL", db_url)
    refused = CliRunner().invoke(cli, ["deploy", "--from", str(design), "--by", "sheji"])
    assert refused.exit_code == 1, refused.output
    assert f"{JOIN}:{line} [payment_deadline]: 定时器“缴费期限”" in refused.output
    assert said in refused.output and "部署未通过检查，未做任何更改" in refused.output
    assert _recorded(app) == before
