"""The layering is a test: `lint-imports` checks the contracts in pyproject.toml.

Pages and the REST API call the use cases; the use cases call the engine, the database and
the domain; only the engine imports SpiffWorkflow; the workflow core imports no other room
of services. A second test shows the check fails on a tree that breaks a contract.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or "lint-imports"


def _lint(cwd: Path, config: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(cwd)}
    return subprocess.run(
        [LINT, "--config", str(config), "--no-cache"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_every_import_keeps_the_layers():
    done = _lint(ROOT, ROOT / "pyproject.toml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_an_upward_import_breaks_the_contract(tmp_path):
    modules = [
        "service/__init__.py",
        "service/cli.py",
        "service/server.py",
        "service/worker.py",
        "service/storage.py",
        "service/api/__init__.py",
        "service/web/__init__.py",
        "service/demo/__init__.py",
        "service/services/__init__.py",
        "service/engine/__init__.py",
        "service/db/__init__.py",
        "service/domain/__init__.py",
        "SpiffWorkflow/__init__.py",
    ]
    for name in modules:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    for room in ("workflow", "membership", "education", "finance", "documents", "schedules"):
        (tmp_path / "service/services" / room).mkdir()
        (tmp_path / "service/services" / room / "__init__.py").write_text("")
    # a use case that reaches up into the REST layer, and one that imports the engine library
    (tmp_path / "service/services/workflow/tasks.py").write_text(
        "from service.api import common\nimport SpiffWorkflow\n"
    )
    config = tmp_path / "contracts.toml"
    ours = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    lines = [
        "[tool.importlinter]",
        'root_packages = ["service", "SpiffWorkflow"]',
    ]
    for contract in ours["tool"]["importlinter"]["contracts"]:
        lines.append("[[tool.importlinter.contracts]]")
        for key, value in contract.items():
            lines.append(f"{key} = {_toml(value)}")
    config.write_text("\n".join(lines) + "\n")
    done = _lint(tmp_path, config)
    assert done.returncode != 0
    assert "service.services.workflow.tasks -> service.api" in done.stdout
    assert "is not allowed to import SpiffWorkflow" in done.stdout


def _toml(value) -> str:
    if isinstance(value, str):
        return '"' + value.replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    return "[" + ", ".join(_toml(v) for v in value) + "]"
