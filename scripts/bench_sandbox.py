"""What the script budget costs: the sandbox of git HEAD against the current one, side by side.

"before" runs the same parsed definitions with the script engine built from
service/engine/scripting.py and helpers.py as committed in git HEAD (taken from `git
show`); "after" with the current one (ticks in loops and calls, guarded operators, frozen
policy). Both run in this process, in alternating rounds, so machine noise hits both.

  lifecycle   one member_join lifecycle in memory (start, five tasks approved, 审批完成):
              bench_lifecycle.py's (a), where the scripts, conditions and DMN cells run
  for-loop    one script of a 999-turn loop (`for i in range(999): total += i`)
  while-loop  one script `while n < 999: n = n + 1`, the worst case for the budget: each
              turn pays a tick and a guarded `+` and does nothing else

Prints the median and p90 milliseconds of each, and the difference.

Run:  python scripts/bench_sandbox.py [--rounds 15] [--per-round 40]
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib.util
import logging
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

from service.engine import load_definitions
from service.engine.scripting import ServiceScriptEngine, make_script_engine, wall_clock

REPO = Path(__file__).resolve().parent.parent
LOOPS = {
    "for-loop": "total = 0\nfor i in range(999):\n    total += i",
    "while-loop": "n = 0\nwhile n < 999:\n    n = n + 1",
}


def head_module(path: str, name: str) -> types.ModuleType:
    """A module built from the file as committed in git HEAD."""
    source = subprocess.run(
        ["git", "show", f"HEAD:{path}"], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout
    module = types.ModuleType(name)
    exec(compile(source, f"HEAD:{path}", "exec"), module.__dict__)  # noqa: S102
    return module


def bench_lifecycle_module():
    spec = importlib.util.spec_from_file_location(
        "bench_lifecycle", REPO / "scripts/bench_lifecycle.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class OneEngine:
    """A definition's scripts that always hand out the engine under measurement."""

    def __init__(self, engine):
        self._engine = engine

    def engine(self, now=None):
        return self._engine


def timed(action, times: int) -> list[float]:
    samples = []
    for _ in range(times):
        t0 = time.perf_counter()
        action()
        samples.append((time.perf_counter() - t0) * 1000)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--per-round", type=int, default=40)
    args = parser.parse_args(argv)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    lifecycle = bench_lifecycle_module().engine_lifecycle
    old_scripting = head_module("service/engine/scripting.py", "head_scripting")
    old_helpers = head_module("service/engine/helpers.py", "head_helpers")
    defn = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")["member_join"]
    engines = {
        # HEAD's restricted environment, in the engine the timers now read their clock from
        "before": ServiceScriptEngine(
            old_scripting.make_script_engine(
                old_helpers.build_helpers(defn.policy, old_scripting.iso_today)
            ).environment,
            wall_clock,
        ),
        "after": defn.scripts.engine(),
    }
    assert type(engines["after"]) is type(make_script_engine({}))
    samples: dict[tuple[str, str], list[float]] = {}
    for _ in range(args.rounds):
        for which, engine in engines.items():
            bound = dataclasses.replace(defn, scripts=OneEngine(engine))
            env = engine.environment
            lifecycle(bound)  # warm this engine's compile caches
            samples.setdefault(("lifecycle", which), []).extend(
                timed(lambda bound=bound: lifecycle(bound), args.per_round)
            )
            for name, script in LOOPS.items():
                samples.setdefault((name, which), []).extend(
                    timed(lambda env=env, s=script: env.execute(s, {}), args.per_round)
                )
    print(f"{args.rounds} rounds x {args.per_round} per round, before and after alternating")
    print(f"{'':10} {'':7} {'median ms':>10} {'p90 ms':>8}")
    for what in ("lifecycle", *LOOPS):
        medians = {}
        for which in ("before", "after"):
            runs = sorted(samples[(what, which)])
            medians[which] = statistics.median(runs)
            p90 = runs[int(len(runs) * 0.9) - 1]
            label = what if which == "before" else ""
            print(f"{label:10} {which:7} {medians[which]:10.3f} {p90:8.3f}")
        change = (medians["after"] / medians["before"] - 1) * 100
        print(f"{'':10} {'change':7} {change:+9.1f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
