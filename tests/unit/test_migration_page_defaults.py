"""The 迁移流程版本 page's preselected plan: onto the current version, from the newest other
one with forms running on it. After going back to version 1 (version 2 broken), it offered
1 → 2, the newest, which moves the forms onto the broken version."""

from __future__ import annotations

from service.web.operations import _default_plan


def version(number: int, current: bool = False, running: int = 0) -> dict:
    return {"number": number, "current": current, "running": running, "finished": 0}


def test_after_going_back_the_plan_is_from_the_newer_version_onto_the_current_one():
    versions = [version(2, running=1), version(1, current=True)]
    assert _default_plan(versions) == (2, 1)


def test_after_a_new_version_the_plan_is_from_the_one_with_forms_onto_it():
    versions = [version(3, current=True), version(2), version(1, running=4)]
    assert _default_plan(versions) == (1, 3)
    versions = [version(3, current=True), version(2), version(1)]
    assert _default_plan(versions) == (2, 3)


def test_one_version_has_nothing_to_move_from():
    assert _default_plan([version(1, current=True)]) == (None, 1)
    assert _default_plan([]) == (None, None)
