"""member_join walked through every path, saving and restoring the state between steps."""

import json
import uuid
from pathlib import Path

import pytest

from service.domain.validation import make_resident_id
from service.engine import (
    EngineError,
    Instance,
    TaskNotReady,
    build_definition,
    load_definitions,
)

REPO = Path(__file__).resolve().parents[2]
BPMN_NAME = "processes/member_join.bpmn"
VALID_ID = "440308199901101512"
BAD_CHECK_ID = "440308199901101513"

APPROVE = {"decision": "approve"}
PAY = {"fee_voucher": "a" * 32}
REVIEW_STAGES = ["unit_pre_review", "agency_review", "association_review", "finance_review"]


def pre_review_approve(level: str = "普通会员") -> dict:
    return {"decision": "approve", "member_level": level}


def give_back(stage: str) -> dict:
    return {"decision": "return", "remark": f"{stage}：请补充材料"}


# (task, status shown while it waits, form data) for the path with no returns
HAPPY_PATH = [
    ("unit_pre_review", "单位预审中", pre_review_approve()),
    ("agency_review", "机构初审中", APPROVE),
    ("association_review", "协会初审中", APPROVE),
    ("unit_pay", "待缴费", PAY),
    ("finance_review", "财务复核中", APPROVE),
]
STAGE_INDEX = {name: i for i, (name, _, _) in enumerate(HAPPY_PATH)}


@pytest.fixture(scope="module")
def defn():
    definitions = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
    return definitions["member_join"]


def start_data(**overrides) -> dict:
    data = {
        "variant": "full",
        "name": "张三",
        "id_type": "resident_id",
        "id_number": VALID_ID,
        "birth_date": None,
        "mobile": "13800138000",
        "submitted_on": "2026-11-28",
        "is_member": False,
        "held_levels": [],
        "member_elsewhere": False,
        "join_in_flight": False,
    }
    data.update(overrides)
    return data


def restored(defn, inst: Instance) -> Instance:
    """Save the state and rebuild the instance from it, as the service does per request."""
    return Instance.load(defn, inst.dumps())


def ready(inst: Instance, name: str):
    """The single ready task, which must be `name`."""
    tasks = inst.ready_tasks()
    assert [t.name for t in tasks] == [name]
    return tasks[0]


def step(defn, inst: Instance, name: str, data: dict) -> Instance:
    """Restore, complete the single ready task `name` with `data`, restore again."""
    inst = restored(defn, inst)
    task = ready(inst, name)
    inst.complete(task.id, data)
    return restored(defn, inst)


def walk(defn, inst: Instance, path) -> Instance:
    """Complete each (task, status, data) of `path` in turn, checking the status shown."""
    for name, status, data in path:
        assert inst.status == status, name
        assert not inst.finished
        inst = step(defn, inst, name, data)
    return inst


def assert_approved(inst: Instance) -> None:
    assert inst.finished
    assert inst.status == "审批完成"
    assert inst.end_event == "approved_end"
    assert inst.ready_tasks() == []


def assert_ineligible(inst: Instance, fragment: str, end: str = "ineligible_end") -> list[str]:
    assert inst.finished
    assert inst.end_event == end
    assert inst.status == "不符合条件"
    reasons = inst.data["failure_reasons"]
    assert reasons
    assert any(fragment in reason for reason in reasons), reasons
    return reasons


def return_and_resubmit(defn, inst, stage: str, resubmit: dict) -> Instance:
    """Return at `stage`, check the unit sees 退回, resubmit; back at agency_review."""
    inst = step(defn, inst, stage, give_back(stage))
    assert not inst.finished
    assert inst.status == "退回"
    resubmit_task = ready(inst, "unit_resubmit")
    assert resubmit_task.data["decision"] is None
    inst = step(defn, inst, "unit_resubmit", resubmit)
    assert inst.status == "机构初审中"
    review = ready(inst, "agency_review")
    assert review.data["decision"] is None
    assert review.data["remark"] is None
    assert review.data["failure_reasons"] == []
    return inst


@pytest.mark.parametrize(("level", "fee"), [("普通会员", "200.00"), ("专业会员", "300.00")])
def test_approving_every_stage_finishes_with_the_fee_of_the_level(defn, level, fee):
    inst = Instance.start(defn, start_data())
    path = [("unit_pre_review", "单位预审中", pre_review_approve(level)), *HAPPY_PATH[1:]]
    inst = walk(defn, inst, path[:3])
    assert inst.data["fee_amount"] == fee
    inst = walk(defn, inst, path[3:])
    assert_approved(inst)
    assert inst.data["fee_amount"] == fee
    assert inst.data["member_level"] == level


BOTH = ["普通会员", "专业会员"]


@pytest.mark.parametrize(
    ("levels", "applied", "fee"),
    [
        ({"member_levels": BOTH}, BOTH, "500.00"),
        ({"member_level": "专业会员", "member_levels": ["普通会员"]}, BOTH, "500.00"),
        ({"member_levels": []}, ["普通会员"], "200.00"),
        ({"member_levels": None}, ["普通会员"], "200.00"),
    ],
)
def test_both_levels_on_one_join_pay_the_sum_of_their_fees(defn, levels, applied, fee):
    inst = Instance.start(defn, start_data())
    path = [("unit_pre_review", "单位预审中", {**pre_review_approve(), **levels}), *HAPPY_PATH[1:]]
    inst = walk(defn, inst, path[:3])
    assert (inst.data["applied_levels"], inst.data["fee_amount"]) == (applied, fee)
    assert [x["member_level"] for x in inst.data["level_fees"]] == applied
    assert_approved(walk(defn, inst, path[3:]))


def test_a_resubmission_naming_one_level_is_billed_for_that_level_alone(defn):
    both = {**pre_review_approve(), "member_levels": ["普通会员", "专业会员"]}
    inst = walk(defn, Instance.start(defn, start_data()), [("unit_pre_review", "单位预审中", both)])
    inst = return_and_resubmit(
        defn, inst, "agency_review", {"member_level": "专业会员", "member_levels": None}
    )
    inst = walk(defn, inst, HAPPY_PATH[1:3])
    assert (inst.data["applied_levels"], inst.data["fee_amount"]) == (["专业会员"], "300.00")


def test_the_first_review_task_starts_with_a_cleared_decision(defn):
    inst = restored(defn, Instance.start(defn, start_data()))
    task = ready(inst, "unit_pre_review")
    assert task.data["decision"] is None
    assert task.data["failure_reasons"] == []
    assert task.data["applicant"]["age"] == 27


@pytest.mark.parametrize("stage", REVIEW_STAGES)
def test_a_return_at_any_review_stage_goes_back_to_the_unit_and_can_finish(defn, stage):
    inst = Instance.start(defn, start_data())
    inst = walk(defn, inst, HAPPY_PATH[: STAGE_INDEX[stage]])
    # the resubmission form requires member_level (forms/member_join/unit_resubmit)
    inst = return_and_resubmit(defn, inst, stage, {"member_level": "专业会员"})
    inst = walk(defn, inst, HAPPY_PATH[1:])
    assert_approved(inst)
    assert inst.data["fee_amount"] == "300.00"


def test_two_consecutive_returns_still_finish(defn):
    inst = Instance.start(defn, start_data())
    inst = walk(defn, inst, HAPPY_PATH[:1])
    inst = return_and_resubmit(defn, inst, "agency_review", {"member_level": "普通会员"})
    inst = walk(defn, inst, HAPPY_PATH[1:4])
    inst = return_and_resubmit(defn, inst, "finance_review", {"member_level": "普通会员"})
    inst = walk(defn, inst, HAPPY_PATH[1:])
    assert_approved(inst)
    assert inst.data["fee_amount"] == "200.00"


def test_an_invalid_id_number_ends_the_application_at_once(defn):
    inst = restored(defn, Instance.start(defn, start_data(id_number=BAD_CHECK_ID)))
    reasons = assert_ineligible(inst, "校验位")
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in reason) for reason in reasons)
    assert inst.ready_tasks() == []


def test_an_under_age_applicant_is_refused_with_the_age_rule(defn):
    born_2010 = make_resident_id("44030820100110151")
    inst = restored(defn, Instance.start(defn, start_data(id_number=born_2010)))
    [reason] = assert_ineligible(inst, "18")
    assert "现为16周岁" in reason


def test_a_member_of_both_levels_is_refused(defn):
    held = start_data(is_member=True, held_levels=["普通会员", "专业会员"])
    inst = restored(defn, Instance.start(defn, held))
    assert assert_ineligible(inst, "已是") == [
        "申请人已是本协会普通会员、专业会员，不能重复申请入会"
    ]


def test_a_member_of_one_level_joins_for_the_other_alone(defn):
    # a 专业会员 (registered-engineer CPD) needs 普通会员 for certificates (FAQ 3.20)
    held = start_data(is_member=True, held_levels=["专业会员"])
    inst = restored(defn, Instance.start(defn, held))
    assert [t.name for t in inst.ready_tasks()] == ["unit_pre_review"]
    task = ready(inst, "unit_pre_review")
    inst.complete(task.id, {**pre_review_approve(), "member_levels": ["普通会员", "专业会员"]})
    assert inst.data["failure_reasons"] == [
        "申请人已是本协会专业会员，不能重复申请该级别；请只申请其他会员级别"
    ]
    again = restored(defn, Instance.start(defn, held))
    task = ready(again, "unit_pre_review")
    again.complete(task.id, {**pre_review_approve(), "member_level": "普通会员"})
    assert again.data["failure_reasons"] == [] and again.status == "机构初审中"


def test_a_resubmission_that_makes_the_applicant_ineligible_ends_the_application(defn):
    inst = Instance.start(defn, start_data())
    inst = walk(defn, inst, HAPPY_PATH[:1])
    inst = step(defn, inst, "agency_review", give_back("agency_review"))
    held = {"is_member": True, "held_levels": ["普通会员"], "member_level": "普通会员"}
    inst = step(defn, inst, "unit_resubmit", held)
    assert_ineligible(inst, "已是", end="recheck_ineligible_end")
    assert inst.ready_tasks() == []


def test_a_task_cannot_be_completed_twice(defn):
    inst = Instance.start(defn, start_data())
    task = ready(inst, "unit_pre_review")
    inst.complete(task.id, pre_review_approve())
    with pytest.raises(TaskNotReady):
        inst.complete(task.id, pre_review_approve())
    with pytest.raises(TaskNotReady):
        restored(defn, inst).complete(task.id, pre_review_approve())
    assert inst.status == "机构初审中"
    assert [t.name for t in inst.ready_tasks()] == ["agency_review"]


def test_a_task_id_the_engine_never_issued_is_not_ready(defn):
    inst = Instance.start(defn, start_data())
    with pytest.raises(TaskNotReady):
        inst.complete(str(uuid.uuid4()), APPROVE)


def test_a_task_of_a_finished_instance_is_not_ready(defn):
    inst = Instance.start(defn, start_data())
    last_id = None
    for name, _, data in HAPPY_PATH:
        last_id = ready(inst, name).id
        inst.complete(last_id, data)
    assert_approved(inst)
    with pytest.raises(TaskNotReady):
        inst.complete(last_id, APPROVE)


def test_the_stored_state_does_not_embed_the_spec(defn):
    inst = walk(defn, Instance.start(defn, start_data()), HAPPY_PATH)
    assert_approved(inst)
    state = inst.dumps()
    assert len(state) < 15000
    keys = set(json.loads(state))
    assert {"tasks", "root", "data"} <= keys
    assert "spec" not in keys
    assert "subprocess_specs" not in keys
    assert '"task_specs"' not in state


def test_an_instance_keeps_running_on_its_own_definition_version(defn):
    files = dict(defn.files)
    old_label = 'value="机构初审中"'
    assert files[BPMN_NAME].count(old_label) == 1
    files[BPMN_NAME] = files[BPMN_NAME].replace(old_label, 'value="机构审核中"')
    new_defn = build_definition("member_join", files)
    assert new_defn.digest != defn.digest
    assert new_defn.user_tasks["agency_review"].status == "机构审核中"

    old_inst = Instance.start(defn, start_data())
    old_state = step(defn, old_inst, "unit_pre_review", pre_review_approve()).dumps()
    new_inst = Instance.start(new_defn, start_data())
    new_inst = step(new_defn, new_inst, "unit_pre_review", pre_review_approve())

    old_inst = Instance.load(defn, old_state)
    assert old_inst.status == "机构初审中"
    old_inst = walk(defn, old_inst, HAPPY_PATH[1:])
    assert_approved(old_inst)

    assert new_inst.status == "机构审核中"
    new_inst = walk(new_defn, new_inst, [("agency_review", "机构审核中", APPROVE)])
    new_inst = walk(new_defn, new_inst, HAPPY_PATH[2:])
    assert_approved(new_inst)


def test_a_form_returned_too_often_stops_with_a_reason_before_its_next_step_is_lost(defn):
    """Each return and resubmission makes the task tree deeper; SpiffWorkflow's iterator
    finds no task below depth 1000, so the form would wait for nothing, silently. The move
    that takes it that deep is refused instead, and the form as it was still has its step."""
    inst = Instance.start(defn, start_data())
    inst.complete(ready(inst, "unit_pre_review").id, pre_review_approve())
    for _round in range(400):
        saved = inst.dumps()
        try:
            inst.complete(ready(inst, "agency_review").id, give_back("agency_review"))
            inst.complete(ready(inst, "unit_resubmit").id, {"member_level": "普通会员"})
        except EngineError as exc:
            assert "往复退回次数过多" in str(exc)
            break
    else:
        pytest.fail("never refused")
    kept = Instance.load(defn, saved)
    assert [t.name for t in kept.ready_tasks()] == ["agency_review"]
    assert kept.depth() < 990
