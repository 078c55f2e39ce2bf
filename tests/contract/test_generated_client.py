"""A client generated from /api/v1/openapi.json by openapi-python-client, with no workaround,
drives a join application from the QR code to membership against a served app.

Nothing generated is kept: the client is written to the test's temporary folder.
"""

from __future__ import annotations

import importlib
import io
import json
import os
import shutil
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest
from conftest import PASSWORD, business_day, png_bytes

pytestmark = pytest.mark.alone  # see scripts/test

PACKAGE = "memberflow_client"
# the API's title is Chinese (for people): the test names the package
CONFIG = (
    f"project_name_override: memberflow-client\npackage_name_override: {PACKAGE}\npost_hooks: []\n"
)


def generator() -> str:
    found = shutil.which("openapi-python-client") or str(
        Path(sys.executable).parent / "openapi-python-client"
    )
    if not Path(found).exists():
        message = "openapi-python-client is missing (pip install -e '.[dev]')"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip("SKIPPED LOUDLY: " + message)
    return found


@pytest.fixture
def generated(live, tmp_path):
    """The generated package, importable for this test only."""
    command = generator()
    spec = live.client().get("/api/v1/openapi.json").get_json()
    (tmp_path / "openapi.json").write_text(json.dumps(spec, ensure_ascii=False), "utf-8")
    (tmp_path / "config.yml").write_text(CONFIG, "utf-8")
    done = subprocess.run(
        [
            command,
            "generate",
            "--path",
            str(tmp_path / "openapi.json"),
            "--config",
            str(tmp_path / "config.yml"),
            "--meta",
            "none",
            "--output-path",
            str(tmp_path / PACKAGE),
            "--fail-on-warning",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    sys.path.insert(0, str(tmp_path))
    try:
        yield lambda name: importlib.import_module(f"{PACKAGE}.{name}")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def test_a_generated_client_drives_a_join_from_the_qr_code_to_membership(live, generated):
    client_module, types = generated("client"), generated("types")
    models = generated("models")

    def api(tag: str, view: str):
        """The generated module of one operation: its operationId is `<tag>_<view>`."""
        return generated(f"api.{tag}.{tag}_{view}")

    def sign_in(username: str):
        public = client_module.Client(base_url=live.url, raise_on_unexpected_status=True)
        body = models.TokenRequest(username=username, password=PASSWORD)
        token = api("auth", "token").sync(client=public, body=body)
        assert isinstance(token, models.SignedIn), token
        return client_module.AuthenticatedClient(
            base_url=live.url, token=token.access_token, raise_on_unexpected_status=True
        )

    world = live.world
    unit, agency = sign_in(world.logins["unit"]), sign_in(world.logins["agency"])
    association, finance = sign_in(world.logins["association"]), sign_in(world.logins["finance"])
    public = client_module.Client(base_url=live.url, raise_on_unexpected_status=True)

    def picture():
        return types.File(
            payload=io.BytesIO(png_bytes()), file_name="照片.png", mime_type="image/png"
        )

    # the unit makes a join code; the applicant uploads materials and applies through it
    code = (
        api("join_codes", "create")
        .sync(
            world.unit_id,
            client=unit,
            body=models.JoinCodeRequest(variant=models.JoinCodeRequestVariant.FULL),
        )
        .code
    )
    upload = api("join_codes", "upload")
    files = {
        k: upload.sync(code, client=public, body=models.FileUpload(file=picture())).id
        for k in ("photo", "id_front", "id_back", "diploma", "diploma_verification")
    }
    answers = {
        "name": "周文斌",
        "id_type": "resident_id",
        "id_number": "440104198807120433",
        "mobile": "13912345678",
        "address": "广州市越秀区东风中路1号",
        "education": {
            "level": "本科",
            "school": "广东工业大学",
            "major": "工程管理",
            "graduated_on": "2010-07-01",
        },
        "title": "中级",
        "declaration": True,
        **files,
    }
    applied = api("join_codes", "apply").sync(
        code, client=public, body=models.DataRequest.from_dict({"data": answers})
    )
    assert isinstance(applied, models.Instance), applied
    assert applied.status == "单位预审中" and isinstance(applied.submitted_at, datetime)

    def open_task(who):
        detail = api("instances", "get_instance").sync(applied.id, client=who)
        return detail.open_tasks[0].id

    def complete(who, data: dict):
        task_id = open_task(who)
        values = api("tasks", "get_task").sync(task_id, client=who).values.to_dict()
        body = models.DataRequest.from_dict({"data": {**values, **data}})
        return api("tasks", "complete").sync(task_id, client=who, body=body)

    # a wrong decision comes back as the error schema, naming the field
    refused = api("tasks", "complete").sync(
        open_task(unit),
        client=unit,
        body=models.DataRequest.from_dict({"data": {"decision": "同意"}}),
    )
    assert isinstance(refused, models.Error) and refused.code == 422
    assert "approve（通过）" in refused.errors.to_dict()["decision"]

    assert (
        complete(unit, {"decision": "approve", "member_level": "普通会员"}).status == "机构初审中"
    )
    queue = api("tasks", "list_tasks").sync(client=agency)
    assert queue.total == 1 and isinstance(queue.items[0].instance.submitted_at, datetime)
    api("tasks", "claim").sync(queue.items[0].id, client=agency)
    assert complete(agency, {"decision": "approve"}).status == "协会初审中"
    assert complete(association, {"decision": "approve", "remark": "同意"}).status == "待缴费"
    voucher = api("files", "upload").sync(client=unit, body=models.FileUpload(file=picture())).id
    assert complete(unit, {"fee_voucher": voucher}).status == "财务复核中"
    receipt = {
        "decision": "approve",
        "receipt_number": "GDCZ2026000001",
        "receipt_date": business_day(live.app),  # the form was submitted today
    }
    assert complete(finance, receipt).status == "审批完成"

    done = api("instances", "get_instance").sync(applied.id, client=unit)
    assert done.status == "审批完成" and done.bill.status == "confirmed"
    steps = [(s.action, s.task_title) for s in done.approval_record]
    assert steps[0] == ("start", "发起申请") and len(steps) == 6
    assert all(isinstance(s.at, datetime) for s in done.approval_record)
