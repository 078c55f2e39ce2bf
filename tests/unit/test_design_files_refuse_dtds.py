"""A DTD or entity declaration in a BPMN or DMN file is refused by `memberflow check` and
`memberflow deploy --from` as the deploy page and API refuse it in a bundle (不允许包含 DTD
或实体声明), with the file and the line; before, the folders' check let it through."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from service.cli import main as cli
from service.engine.catalogue import DTD_REFUSED

REPO = Path(__file__).resolve().parents[2]
DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n'
DTD = '<!DOCTYPE x [<!ENTITY e "boom">]>\n'


@pytest.mark.parametrize(
    "name", ["processes/member_join.bpmn", "rules/member_join_eligibility.dmn"]
)
def test_a_dtd_in_a_design_file_fails_the_check(tmp_path, name):
    design = tmp_path / "design"
    for folder in ("processes", "rules", "forms"):
        shutil.copytree(REPO / folder, design / folder)
    path = design / name
    text = path.read_text(encoding="utf-8")
    assert text.startswith(DECLARATION)
    path.write_text(DECLARATION + DTD + text[len(DECLARATION) :], encoding="utf-8")

    checked = CliRunner().invoke(cli, ["check", "--json", "--from", str(design)])
    assert checked.exit_code == 1, checked.output
    problems = json.loads(checked.output)["problems"]
    assert {"file": name, "line": 2, "message": DTD_REFUSED} in [
        {k: p[k] for k in ("file", "line", "message")} for p in problems
    ], problems
