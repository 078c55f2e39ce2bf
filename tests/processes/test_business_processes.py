"""The eight business processes walked with the engine alone, saving the state between steps.

Here: the approve paths, every return, and the eligibility checks at start and after a
resubmission. Learning and fees: test_business_learning_and_fees.py (it reuses the walk).
Like the service, the walk puts `person_facts` into the completion data of every task that
a business rule task follows.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

import pytest

from service.domain.validation import make_resident_id
from service.engine import Instance, ReadyTask, load_definitions

REPO = Path(__file__).resolve().parents[2]
ID_A = make_resident_id("44030819900101151")
ID_B = make_resident_id("11010119850615202")
PEOPLE = [(ID_A, "张三"), (ID_B, "李四")]
# SpiffWorkflow also fires a timer by itself once the wall clock passes it, so the
# learning deadlines lie far beyond any day these tests run on
DEADLINES = {ID_A: "2095-12-31", ID_B: "2096-06-30"}
SUBMITTED_ON = "2026-11-28"
FILE_ID = "f" * 32

UNKNOWN = "未找到该人员的会员记录"
NOT_IN_UNIT = "该人员不属于本单位"

APPROVE = {"decision": "approve"}
PAY = {"fee_voucher": "a" * 32}
RECEIPT = {"decision": "approve", "receipt_number": "R-1", "receipt_date": "2026-12-01"}

EDUCATION = ["initial_education", "continuing_education", "upgrade_education", "specialty_change"]
PAID = [*EDUCATION, "certificate_unit_change"]

# the form line of each person, beyond id_number and name (material file ids left out:
# the engine never reads them)
LINES = {
    "initial_education": [
        {"certificate_type": "监理员", "specialty_1": "房屋建筑工程"},
        {"certificate_type": "专业监理工程师", "specialty_1": "房屋建筑工程"},
    ],
    "continuing_education": [{"certificate_type": "监理员"}] * 2,
    "upgrade_education": [{}, {}],
    "specialty_change": [{"specialty_1": "市政公用工程"}] * 2,
    "certificate_unit_change": [{}, {}],
    "certificate_cancellation": [{"certificate_types": ["监理员"]}] * 2,
    "engineer_cpd": [{}, {}],
}
FORM_FIELDS = {
    **{key: {"pledge": FILE_ID} for key in EDUCATION},
    "certificate_unit_change": {"reason": "unit_renamed", "pledge": FILE_ID},
    "certificate_cancellation": {"cancellation_application": FILE_ID},
    "engineer_cpd": {"fee_voucher": FILE_ID},
}
# facts of a person who may enrol, where they differ from the all-clear person below
PROCESS_FACTS = {"initial_education": {"certificates": {}, "valid_types": []}}

# known, in the unit, both memberships valid, one valid 监理员 certificate expiring within
# 6 months, 本科 of a construction major, 中级 title, nothing in flight, unpaid or unlearned
ALL_CLEAR = {
    "known": True,
    "name_matches": True,
    "in_unit": True,
    "age": 40,
    "ordinary_membership": "valid",
    "membership_until": None,  # the person's deadline (DEADLINES)
    "professional_membership": "valid",
    "has_violation": False,
    "in_flight": [],
    "unpaid_bills": [],
    "open_learning": [],
    "cpd_enrolment": "none",
    "cpd_enrolled_on": None,
    "certificates": {
        "监理员": {
            "status": "valid",
            "number": "JL-0001",
            "valid_until": "2027-03-01",
            "months_to_expiry": 4,
            "specialty_1": "房屋建筑工程",
            "specialty_2": None,
        }
    },
    "valid_types": ["监理员"],
    "expired_types": [],
    "education_level": "本科",
    "years_since_graduation": 5,
    "major_category": "工程建设类",
    "title": "中级",
    "has_registration": True,
    "specialties_agree": True,
    "certificates_carry_unit_name": False,
}


@functools.cache
def definitions() -> dict:
    return load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")


def people(key: str) -> list[tuple[str, str]]:
    """(ID number, name) of everyone on the form: an info change names one member."""
    return PEOPLE[:1] if key == "member_info_change" else PEOPLE


def form(key: str, count: int = 2) -> dict:
    """The start form, also the resubmission form, naming the first `count` people."""
    if key == "member_info_change":
        changes = {"mobile": "13900139000"}
        return {"id_number": ID_A, "name": "张三", "changes": changes, "diploma_scan": FILE_ID}
    lines = [
        {"id_number": number, "name": name, **extra}
        for (number, name), extra in zip(people(key), LINES[key], strict=True)
    ]
    return {"persons": lines[:count], **FORM_FIELDS[key]}


def facts(key: str, *changes: dict) -> dict:
    """person_facts of the people on the form; changes[i] applies to the i-th person."""
    result = {}
    for i, (number, _) in enumerate(people(key)):
        person = copy.deepcopy(ALL_CLEAR)
        person["membership_until"] = DEADLINES[number]
        person.update(copy.deepcopy(PROCESS_FACTS.get(key, {})))
        person.update(changes[i] if i < len(changes) else {})
        result[number] = person
    return result


@dataclass(frozen=True)
class Flow:
    """One way through a process: the tasks with no return, who starts it."""

    key: str
    path: tuple[tuple[str, str, dict], ...]  # (task, status shown while it waits, form data)
    initiator: str = "unit_admin"

    @property
    def name(self) -> str:
        return self.key + ("-by-member" if self.initiator == "member" else "")

    @property
    def stages(self) -> list[str]:
        """The review tasks, each of which may return the form."""
        return [task for task, _, _ in self.path if task != "unit_pay"]

    def after_resubmission(self) -> tuple:
        """The path from the review a resubmitted form goes to (the unit has seen it)."""
        return tuple(s for s in self.path if s[0] != "unit_pre_review")

    def upto(self, task: str) -> tuple:
        return self.path[: [name for name, _, _ in self.path].index(task)]


PAID_PATH = (
    ("agency_review", "机构初审中", APPROVE),
    ("association_review", "协会初审中", APPROVE),
    ("unit_pay", "待缴费", PAY),
    ("finance_review", "财务复核中", RECEIPT),
)
PRE_REVIEW = ("unit_pre_review", "单位预审中", APPROVE)
TWO_REVIEWS = (
    ("agency_review", "机构初审中", APPROVE),
    ("association_review", "协会复核中", APPROVE),
)
FLOWS = [
    *(Flow(key, PAID_PATH) for key in PAID),
    Flow("certificate_cancellation", (("association_review", "协会复核中", APPROVE),)),
    Flow("engineer_cpd", TWO_REVIEWS),
    Flow("member_info_change", TWO_REVIEWS),
    Flow("member_info_change", (PRE_REVIEW, *TWO_REVIEWS), "member"),
]
FLOW = {flow.name: flow for flow in FLOWS}
ONE_FLOW_PER_KEY = [flow for flow in FLOWS if flow.initiator == "unit_admin"]


def by_flow(flows):
    return [pytest.param(flow, id=flow.name) for flow in flows]


def start(flow: Flow, person_facts: dict | None = None) -> Instance:
    """Start as the service does, then save and restore."""
    data = {
        "process_key": flow.key,
        "initiator_role": flow.initiator,
        "submitted_on": SUBMITTED_ON,
        "unit_name": "广州市某某监理有限公司",
        **form(flow.key),
        "person_facts": person_facts or facts(flow.key),
    }
    return restored(Instance.start(definitions()[flow.key], data))


def restored(inst: Instance) -> Instance:
    """Save the state and rebuild the instance from it, as the service does per request."""
    return Instance.load(inst.defn, inst.dumps())


def ready(inst: Instance, name: str) -> ReadyTask:
    """The single ready task, which must be `name`."""
    tasks = inst.ready_tasks()
    assert [t.name for t in tasks] == [name]
    return tasks[0]


def step(inst: Instance, name: str, data: dict, person_facts: dict) -> Instance:
    """Restore, complete the single ready task `name`, restore again.

    The facts go in when a business rule task follows, as the service does.
    """
    inst = restored(inst)
    task = ready(inst, name)
    if inst.defn.user_tasks[name].runs_rules:
        data = {**data, "person_facts": person_facts}
    inst.complete(task.id, data)
    return restored(inst)


def walk(inst: Instance, path, person_facts: dict) -> Instance:
    """Complete each (task, status, data) of `path` in turn, checking the status shown."""
    for name, status, data in path:
        assert not inst.finished, name
        assert inst.status == status, name
        inst = step(inst, name, data, person_facts)
    return inst


def give_back(stage: str) -> dict:
    return {"decision": "return", "remark": f"{stage}：请补充材料"}


def resubmit(flow: Flow, inst: Instance, person_facts: dict, count: int = 2) -> Instance:
    data = {**form(flow.key, count), "remark": "已补充"}
    return step(inst, "unit_resubmit", data, person_facts)


def assert_done(flow: Flow, inst: Instance) -> None:
    """Approved: finished, or (education) approved and waiting for the learning results."""
    assert inst.ready_tasks() == []
    assert inst.status == "审批完成"
    if flow.key in EDUCATION:
        assert not inst.finished
        assert inst.end_event is None
    else:
        assert inst.finished
        assert inst.end_event == "approved_end"


def reasons_by_person(flow: Flow, inst: Instance) -> list[list[str]]:
    if flow.key == "member_info_change":
        return [inst.data["failure_reasons"]]
    return inst.data["person_reasons"]


def assert_refused(flow: Flow, inst: Instance, end: str, expected: list[list[str]]) -> None:
    assert inst.finished
    assert inst.end_event == end
    assert inst.status == "不符合条件"
    assert inst.ready_tasks() == []
    assert reasons_by_person(flow, inst) == expected


@pytest.mark.parametrize("flow", by_flow(FLOWS))
def test_approving_every_stage_shows_each_status_and_ends_approved(flow):
    inst = start(flow)
    assert reasons_by_person(flow, inst) == [[] for _ in people(flow.key)]
    inst = walk(inst, flow.path, facts(flow.key))
    assert_done(flow, inst)


@pytest.mark.parametrize("flow", by_flow(FLOWS))
def test_each_review_task_starts_with_a_cleared_decision(flow):
    inst = start(flow)
    for name, status, data in flow.path:
        task = ready(inst, name)
        if name != "unit_pay":
            assert (task.data["decision"], task.data["remark"]) == (None, None), name
        inst = walk(inst, [(name, status, data)], facts(flow.key))


RETURNS = [
    pytest.param(flow, stage, id=f"{flow.name}-{stage}") for flow in FLOWS for stage in flow.stages
]


@pytest.mark.parametrize(("flow", "stage"), RETURNS)
def test_a_return_at_any_review_goes_to_the_unit_and_the_resubmission_to_the_first_review(
    flow, stage
):
    person_facts = facts(flow.key)
    inst = walk(start(flow), flow.upto(stage), person_facts)
    inst = step(inst, stage, give_back(stage), person_facts)
    assert not inst.finished
    assert inst.status == "退回"
    assert ready(inst, "unit_resubmit").data["decision"] is None

    inst = resubmit(flow, inst, person_facts)
    first, status, _ = flow.after_resubmission()[0]
    assert inst.status == status
    task = ready(inst, first)
    assert (task.data["decision"], task.data["remark"]) == (None, None)
    assert reasons_by_person(flow, inst) == [[] for _ in people(flow.key)]
    assert_done(flow, walk(inst, flow.after_resubmission(), person_facts))


@pytest.mark.parametrize("flow", by_flow(FLOWS))
def test_two_returns_in_a_row_still_end_approved(flow):
    person_facts = facts(flow.key)
    last = flow.stages[-1]
    inst = walk(start(flow), flow.upto(last), person_facts)
    inst = step(inst, last, give_back(last), person_facts)
    inst = resubmit(flow, inst, person_facts)
    first = flow.after_resubmission()[0][0]
    inst = step(inst, first, give_back(first), person_facts)
    inst = resubmit(flow, inst, person_facts)
    assert_done(flow, walk(inst, flow.after_resubmission(), person_facts))


@pytest.mark.parametrize("flow", by_flow(ONE_FLOW_PER_KEY))
def test_a_person_failing_a_rule_at_start_ends_the_form_with_that_persons_reasons_only(flow):
    *clear, _ = people(flow.key)
    inst = start(flow, facts(flow.key, *[{} for _ in clear], {"known": False}))
    assert_refused(flow, inst, "ineligible_end", [*([] for _ in clear), [UNKNOWN]])


@pytest.mark.parametrize("flow", by_flow(FLOWS))
def test_a_resubmission_that_makes_a_person_ineligible_ends_at_the_recheck(flow):
    person_facts = facts(flow.key)
    first = flow.path[0][0]
    inst = step(start(flow), first, give_back(first), person_facts)
    # since the return, the first person has left the unit
    inst = resubmit(flow, inst, facts(flow.key, {"in_unit": False}))
    others = [[] for _ in people(flow.key)[1:]]
    assert_refused(flow, inst, "recheck_ineligible_end", [[NOT_IN_UNIT], *others])


def test_a_change_started_by_a_member_waits_for_the_unit_pre_review_first():
    inst = start(FLOW["member_info_change-by-member"])
    assert inst.status == "单位预审中"
    assert ready(inst, "unit_pre_review").data["initiator_role"] == "member"


def test_a_change_started_by_the_unit_goes_straight_to_the_agency():
    inst = start(FLOW["member_info_change"])
    assert inst.status == "机构初审中"
    ready(inst, "agency_review")


def test_a_unit_return_at_pre_review_goes_to_resubmission_and_then_to_the_agency():
    flow = FLOW["member_info_change-by-member"]
    person_facts = facts(flow.key)
    inst = step(start(flow), "unit_pre_review", give_back("unit_pre_review"), person_facts)
    assert inst.status == "退回"
    ready(inst, "unit_resubmit")
    inst = resubmit(flow, inst, person_facts)
    # the unit resubmitted the form itself, so it does not pre-review it again
    assert inst.status == "机构初审中"
    assert_done(flow, walk(inst, TWO_REVIEWS, person_facts))
