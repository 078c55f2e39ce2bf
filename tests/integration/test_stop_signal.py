"""SIGTERM stops `memberflow scheduler` and `memberflow worker` however busy their loop is.

Their loops wait on a threading.Event. A handler that set the Event itself could hang the
process for good: Python runs the handler in the main thread, between two bytecodes,
possibly inside that Event's own `wait()` while it holds the Event's lock, which `set()` then
waits for (reproduced by QA with MEMBERFLOW_SCHEDULER_RETRY=-1: SIGTERM hung 2 runs in 3).
Here the loop waits with no timeout at all, spinning inside `wait()`: the handler lands in
it nearly every time."""

from __future__ import annotations

import signal
import subprocess
import sys

import pytest

pytestmark = pytest.mark.alone  # see scripts/test

SPINNING = """
import sys
from types import SimpleNamespace

from service import cli, worker
from service.services.schedules import scheduler

def spin(self, stop):
    print("ready", flush=True)
    while not stop.wait(0):  # the busiest loop: always inside Event.wait
        pass
    print("stopped", flush=True)

# the command as it is, but for its app and its loop (no database, no jobs: the signal alone)
config = SimpleNamespace(database_url="sqlite://")
cli._app = lambda: SimpleNamespace(extensions={"memberflow": SimpleNamespace(config=config)})
for runner in (scheduler.SchedulerRunner, worker.LocalWorker):
    runner.__init__ = lambda self, *args, **kwargs: None
    runner.run = spin
cli.main([sys.argv[1]])
"""


# the old handler hung in most rounds (the same helper serves both commands)
@pytest.mark.parametrize("command, rounds", [("scheduler", 3), ("worker", 1)])
def test_sigterm_stops_a_loop_spinning_on_its_stop_event(command, rounds):
    for _ in range(rounds):
        proc = subprocess.Popen(
            [sys.executable, "-c", SPINNING, command],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        try:
            lines = []
            while (line := proc.stdout.readline()) and line.strip() != "ready":
                lines.append(line)
            assert line.strip() == "ready", "".join(lines)
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pytest.fail(f"`memberflow {command}` hung after SIGTERM")
            assert code == 0 and "stopped" in proc.stdout.read()
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
            proc.stdout.close()
