"""States saved by earlier versions of the engine adapter still load and run on."""

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from service.engine import Instance, load_definitions

REPO = Path(__file__).resolve().parents[2]
# member_join waiting at unit_pay with its 30-day payment deadline, saved on 2026-11-28
# 02:00 UTC by the adapter that still patched SpiffWorkflow's timer classes at import
SAVED_BEFORE_TIMER_SUBCLASSES = REPO / "tests/fixtures/member_join_awaiting_payment.state.json"
DUE = datetime(2026, 12, 28, 2, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def defn():
    return load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")["member_join"]


def saved_state() -> str:
    return SAVED_BEFORE_TIMER_SUBCLASSES.read_text(encoding="utf-8")


def test_a_state_saved_before_the_timer_subclasses_loads_with_its_deadline(defn):
    inst = Instance.load(defn, saved_state(), DUE - timedelta(days=1))
    assert inst.status == "待缴费"
    assert [t.name for t in inst.ready_tasks()] == ["unit_pay"]
    assert [(e["kind"], e["name"], e["due"]) for e in inst.waiting_events()] == [
        ("timer", "缴费期限", DUE.isoformat())
    ]


def test_its_deadline_fires_when_the_service_says_it_is_due_and_not_before(defn):
    inst = Instance.load(defn, saved_state(), DUE - timedelta(seconds=1))
    assert inst.fire_timers(DUE - timedelta(seconds=1)) == []
    assert inst.status == "待缴费"
    inst = Instance.load(defn, inst.dumps(), DUE)
    assert inst.fire_timers(DUE) == [{"name": "缴费期限", "correlation": None}]
    assert inst.finished and inst.end_event == "payment_expired_end"
    assert inst.status == "已关闭"


def test_it_can_still_be_paid_and_approved(defn):
    inst = Instance.load(defn, saved_state(), DUE - timedelta(days=2))
    [pay] = inst.ready_tasks()
    inst.complete(pay.id, {"fee_voucher": "a" * 32})
    inst = Instance.load(defn, inst.dumps(), DUE - timedelta(days=1))
    assert inst.waiting_events() == []
    [review] = inst.ready_tasks()
    assert review.name == "finance_review"
    inst.complete(review.id, {"decision": "approve"})
    assert inst.finished and inst.status == "审批完成"
