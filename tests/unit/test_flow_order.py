"""`flow_order`: a definition's user tasks in the order its flow reaches them from the start,
which the status panels and the process map's table follow (the map's table sorted equal
counts by element id: 财务复核 before 单位预审)."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.engine import flow_order, load_definitions

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def definitions():
    return load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")


def test_the_join_steps_come_in_the_order_an_application_meets_them(definitions):
    join = definitions["member_join"]
    order = flow_order(join)
    chain = ["unit_pre_review", "agency_review", "association_review", "unit_pay", "finance_review"]
    assert [name for name in order if name in chain] == chain
    assert sorted(order) == sorted(join.user_tasks)  # every task once


def test_every_definition_lists_each_of_its_user_tasks_once(definitions):
    for key, defn in definitions.items():
        order = flow_order(defn)
        assert len(order) == len(set(order)) and set(order) == set(defn.user_tasks), key
