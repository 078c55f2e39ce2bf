"""What saving a loaded instance's state costs: its task ids written from the loaded text or
formatted anew.

A move loads the instance's state, steps the engine and saves the state again
(`Instance.dumps`). Each task's id, its parent's and its children's are written as text; a
loaded workflow keeps the text each id was read from (`_Workflow.id_texts`) and writes it
back, where `str(UUID)` (Python code) formatted every id anew. This script loads a state
of a join at the association's review and of an education form of 100 persons after its
finance review, and times `dumps` both ways in turns, in one process (CPU time, so that a
neighbour's load counts less): the kept texts, and the same workflow with `id_texts`
emptied (every id formatted, as before). It checks both ways write the same state.

Run:  python scripts/bench_dumps.py [--rounds 20] [--batch 200]
"""

from __future__ import annotations

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_education  # noqa: E402
import bench_lifecycle  # noqa: E402
from bench_lifecycle import REPO  # noqa: E402

from service.engine import Instance, load_definitions  # noqa: E402


def states() -> dict[str, tuple[object, str]]:
    """A join's state at the association's review, and a 100-person enrolment's at the
    learning (the last state before its batch), with the definition of each."""
    defs = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
    join: list[str] = []
    bench_lifecycle.engine_lifecycle(defs["member_join"], join)
    education: list[str] = []
    bench_education.engine_lifecycle(defs["initial_education"], 100, education)
    return {
        "join (association's review)": (defs["member_join"], join[3]),
        "education, 100 persons": (defs["initial_education"], education[-2]),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20, help="turns of each way")
    parser.add_argument("--batch", type=int, default=200, help="dumps per turn (join)")
    args = parser.parse_args(argv)
    logging.getLogger("spiff").setLevel(logging.WARNING)
    print(f"{'state':30s} {'tasks':>6s} {'kept µs':>9s} {'formatted µs':>13s} {'ratio':>6s}")
    for label, (defn, text) in states().items():
        inst = Instance.load(defn, text)
        kept = inst.workflow.id_texts
        assert kept, "a loaded workflow keeps its ids' texts"
        written = inst.dumps()
        inst.workflow.id_texts = {}
        assert inst.dumps() == written, "both ways write the same state"
        batch = max(1, args.batch * 8_000 // max(len(text), 8_000))
        times: dict[str, list[float]] = {"kept": [], "formatted": []}
        for _ in range(args.rounds):
            for way in times:
                inst.workflow.id_texts = kept if way == "kept" else {}
                began = time.process_time()
                for _ in range(batch):
                    inst.dumps()
                times[way].append((time.process_time() - began) / batch * 1e6)
        k, f = statistics.median(times["kept"]), statistics.median(times["formatted"])
        print(f"{label:30s} {len(kept):6d} {k:9.0f} {f:13.0f} {k / f:6.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
