"""`memberflow check --from DIR` of a folder without processes/*.bpmn is refused as a
deploy of a bundle without them is: the same message, a non-zero exit."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from click.testing import CliRunner

from service.cli import main as cli
from service.domain.errors import FormInvalid
from service.services.workflow.deploy import check_folders, unpack_bundle

NO_PROCESSES = "没有任何流程文件（processes/*.bpmn）"


@pytest.fixture
def empty(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path / "instance"))
    folder = tmp_path / "design"
    folder.mkdir()
    return folder


def test_check_of_an_empty_folder_fails_with_the_deploy_s_message(empty, tmp_path):
    content = io.BytesIO()
    with zipfile.ZipFile(content, "w") as archive:
        archive.writestr("rules/policy.json", "{}")
    with pytest.raises(FormInvalid) as refused:
        unpack_bundle(content.getvalue(), tmp_path / "unpacked")
    assert NO_PROCESSES in refused.value.message  # what a deploy of such a bundle says
    result = CliRunner().invoke(cli, ["check", "--from", str(empty), "--json"])
    assert result.exit_code == 1, result.output
    reply = json.loads(result.output)
    assert reply["ok"] is False and reply["processes"] == []
    assert [p["message"] for p in reply["problems"]] == [NO_PROCESSES]


def test_check_in_words_says_so_too(empty):
    result = CliRunner().invoke(cli, ["check", "--from", str(empty)])
    assert result.exit_code == 1
    assert NO_PROCESSES in result.output and "正常" not in result.output


def test_folders_with_rules_and_forms_but_no_diagram_are_refused(empty):
    for folder in ("processes", "rules", "forms"):
        (empty / folder).mkdir()
    (empty / "processes" / "notes.txt").write_text("草稿", encoding="utf-8")
    checked = check_folders(empty / "processes", empty / "rules", empty / "forms")
    assert [p["message"] for p in checked.problems] == [NO_PROCESSES]
    assert checked.definitions == {}
