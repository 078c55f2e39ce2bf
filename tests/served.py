"""Real `memberflow serve` processes for the multi-process tests: started on a free port,
waited for, and stopped (their whole process group) however the test ends."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import pytest

MEMBERFLOW = Path(sys.executable).with_name("memberflow")
if not MEMBERFLOW.exists():
    MEMBERFLOW = Path(shutil.which("memberflow") or "memberflow")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Server:
    proc: subprocess.Popen
    url: str
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def workers(self) -> list[int]:
        """The pids of the master's child processes (gunicorn's workers)."""
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def workers_when(self, count: int, seconds: float = 20) -> list[int]:
        """The workers once `count` of them are born (the master forks them one by one: the
        first may answer before the last is born) and half a second has passed without a
        new one, so that more than `count` show; what there are after `seconds` if fewer."""
        deadline = time.monotonic() + seconds
        while len(self.workers()) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)
        return self.workers()

    def kill(self, signum=signal.SIGKILL) -> None:
        """Signal the server's whole process group (master and workers)."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signum)
        self.proc.wait(timeout=20)

    def stop(self) -> int:
        """SIGTERM (a clean stop); its exit status. Waits longer than gunicorn's own
        graceful_timeout (20 s, service/server.py), after which the master ends a worker
        still busy and exits: waiting exactly as long raced with it."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(timeout=35)
        finally:
            self.reap()

    def reap(self) -> None:
        """Make sure nothing of the server is left running (its process group)."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.proc.poll() is None:
            self.proc.wait(timeout=20)


def start(env: dict, workdir: Path, name: str, *args: str, ready: bool = True) -> Server:
    """`memberflow serve --port <free> *args` with `env` added to this environment."""
    port = free_port()
    log = workdir / f"{name}.log"
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", **env}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [str(MEMBERFLOW), "serve", "--port", str(port), *args],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=workdir,
            start_new_session=True,  # its own process group: the test can end all of it
        )
    server = Server(proc, f"http://127.0.0.1:{port}", log)
    if ready:
        wait_ready(server)
    return server


def wait_ready(server: Server, timeout: float = 30) -> None:
    began = time.monotonic()
    while time.monotonic() - began < timeout:
        if server.proc.poll() is not None:
            pytest.fail(f"the server exited ({server.proc.returncode}):\n{server.output()}")
        try:
            with urllib.request.urlopen(server.url + "/api/v1/openapi.json", timeout=2):
                return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    server.reap()
    pytest.fail(f"the server did not answer within {timeout}s:\n{server.output()}")
