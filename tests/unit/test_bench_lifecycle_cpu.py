"""bench_lifecycle's count of a process's CPU: the scheduler's own, in milliseconds.

The benchmark splits a lifecycle on PostgreSQL into this process's CPU, the database's
backends' CPU and the rest; the backends' share is read from /proc/PID/schedstat, and a
process it cannot read (gone, or on another machine) must say so rather than count as idle.
"""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "bench_lifecycle.py"
pytestmark = pytest.mark.skipif(
    not Path(f"/proc/{os.getpid()}/schedstat").exists(), reason="Linux /proc/PID/schedstat"
)


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location("bench_lifecycle_under_test", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    try:
        spec.loader.exec_module(module)
        yield module
    finally:
        del sys.modules[spec.name]


def test_a_busy_process_counts_its_cpu_and_a_sleeping_one_does_not(bench):
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.3)  # its start-up done
        mine, theirs = bench._on_cpu_ms([os.getpid()]), bench._on_cpu_ms([sleeper.pid])
        spin_until = time.process_time() + 0.2
        while time.process_time() < spin_until:
            pass
        time.sleep(0.2)
        spent = bench._on_cpu_ms([os.getpid()]) - mine
        slept = bench._on_cpu_ms([sleeper.pid]) - theirs
    finally:
        sleeper.kill()
        sleeper.wait()
    assert 150 <= spent <= 2000, spent  # 200 ms of CPU, in milliseconds
    assert slept < 20, slept


def test_a_process_it_cannot_read_makes_the_count_unknown(bench):
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    assert bench._on_cpu_ms([os.getpid(), gone.pid]) is None
    assert bench._on_cpu_ms([]) == 0
