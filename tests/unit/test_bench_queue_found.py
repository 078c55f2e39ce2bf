"""bench_queue says what each search found at each size, and how many persons its text names,
beside its growth: a search's cost follows the persons its text names, so the reader sees
25 → 2,500 where the growth shows."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "scripts"


@pytest.fixture(scope="module")
def bench():
    sys.path.insert(0, str(SCRIPTS))
    try:
        import bench_queue

        yield bench_queue
    finally:
        sys.path.remove(str(SCRIPTS))


def test_a_search_row_says_what_it_found_at_each_size(bench):
    small = bench.Size(1_000, "postgresql://small", "small")
    large = bench.Size(100_000, "postgresql://large", "large")
    for size, found, named in ((small, 5, 25), (large, 500, 2_500)):
        size.found["queue search name"], size.named["queue search name"] = found, named
        size.found["queue search, not in the queue"] = 0
        size.named["queue search, not in the queue"] = named
    assert bench.found_note([small, large], "queue search name") == (
        "  (found 5 → 500; persons named 25 → 2,500)"
    )
    assert bench.found_note([small, large], "queue search, not in the queue") == (
        "  (found 0 → 0; persons named 25 → 2,500)"
    )
    # a row that is no search, or one not asked at every size, says nothing more
    assert bench.found_note([small, large], "queue available (agency)") == ""
    large.found["instances search name"], large.named["instances search name"] = 2_500, 2_500
    assert bench.found_note([small, large], "instances search name") == ""


@pytest.mark.parametrize("instances", [1_000, 100_000])
def test_the_rare_name_is_held_by_the_same_kind_of_forms_at_each_size(bench, instances):
    """Five forms in the association's queue, five finished (which it has done), all in the
    first agency's area, at every size: its search finds the same at 1,000 and 100,000."""
    import bench_workbench

    tasks = bench_workbench.OPEN_TASKS  # the open form i waits for tasks[i % len(tasks)]
    forms = bench.rare_forms(instances)
    opened = instances // bench.OPEN_SHARE
    queue = {n for n, task in enumerate(tasks) if task[2] == "association_reviewer"}
    assert len(set(forms)) == 10 and all(1 <= form <= instances for form in forms)
    waiting = [form for form in forms if form <= opened]
    assert len(waiting) == 5 and all(form % len(tasks) in queue for form in waiting)
    assert all(1 + (form % 400) // 100 == 1 for form in forms)  # agency of the seeded units
