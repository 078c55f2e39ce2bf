"""Every shell example of the README runs, in order, against a fresh demo served for real.

The README's ```sh blocks (but the first, which installs) are joined into one bash script
with `set -euo pipefail` and a `curl` that fails on any HTTP error (`--fail-with-body`), so a
refused request, a broken pipe into `jq` or an unset variable fails the test. The demo is
made by the README's own commands: `memberflow demo-data --reset`, then `memberflow serve`.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests import served

ROOT = Path(__file__).resolve().parents[2]
BLOCK = re.compile(r"```sh\n(.*?)```", re.S)
PRELUDE = """set -euo pipefail
curl() { command curl --fail-with-body --show-error "$@"; }
"""


def readme_script(port: int) -> str:
    blocks = BLOCK.findall((ROOT / "README.md").read_text(encoding="utf-8"))
    assert blocks[0].startswith("scripts/demo"), "the README must start with its two commands"
    examples = "\n".join(blocks[1:])
    assert "API=http://127.0.0.1:5000/api/v1" in examples
    return PRELUDE + examples.replace("127.0.0.1:5000", f"127.0.0.1:{port}")


def _tools() -> None:
    missing = [tool for tool in ("bash", "curl", "jq") if shutil.which(tool) is None]
    if missing:
        message = f"the README's examples need {', '.join(missing)}"
        if os.environ.get("CI") == "true":
            pytest.fail("CI requires " + message)
        pytest.skip("SKIPPED LOUDLY: " + message)


def _demo(tmp_path: Path) -> dict:
    env = {
        **os.environ,
        "MEMBERFLOW_INSTANCE_DIR": str(tmp_path / "instance"),
        "MEMBERFLOW_DATABASE_URL": f"sqlite:///{tmp_path / 'instance' / 'demo.sqlite3'}",
        "MEMBERFLOW_ENV": "development",
    }
    env.pop("MEMBERFLOW_STORAGE", None)
    made = subprocess.run(
        [str(served.MEMBERFLOW), "demo-data", "--reset"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert made.returncode == 0, made.stderr[-3000:]
    assert "广州珠江工程建设监理有限公司" in made.stdout
    return env


def test_every_readme_example_succeeds_against_a_fresh_demo(tmp_path):
    _tools()
    env = _demo(tmp_path)
    server = served.start(env, tmp_path, "readme", "--workers", "1", "--threads", "4")
    try:
        port = int(server.url.rsplit(":", 1)[1])
        work = tmp_path / "work"
        work.mkdir()
        run = subprocess.run(
            ["bash", "-c", readme_script(port)],
            cwd=work,
            capture_output=True,
            text=True,
            timeout=300,
        )
    finally:
        server.stop()
    assert run.returncode == 0, (
        f"exit {run.returncode}\n--- stdout\n{run.stdout[-4000:]}\n--- stderr\n"
        f"{run.stderr[-4000:]}\n--- server\n{server.output()[-3000:]}"
    )
    out = run.stdout
    # the join walk-through ends approved, with every step in the approval record
    assert '"审批完成"' in out
    assert "学历验证报告不清晰" in out
    # the education starts succeed, the learning result applies, the codes are confirmed
    assert out.count('"status":"机构初审中"') >= 2, out[-3000:]
    assert "专业监理工程师" in out
    assert '"kind_label"' in out


def test_demo_data_reset_starts_over(tmp_path):
    """Run twice, the demo is the same fresh demo (the README's walk-through can run again)."""
    _demo(tmp_path)
    env = _demo(tmp_path)
    from sqlalchemy import create_engine, text

    engine = create_engine(env["MEMBERFLOW_DATABASE_URL"])
    try:
        with engine.connect() as conn:
            admins = conn.execute(
                text("SELECT count(*) FROM accounts WHERE username = 'admin'")
            ).scalar()
            forms = conn.execute(
                text("SELECT count(*) FROM process_instances WHERE process_key = 'member_join'")
            ).scalar()
    finally:
        engine.dispose()
    assert admins == 1
    assert forms == 8  # the demo's eight applicants, not sixteen
