"""Who sees what and who may do what: the scope rules of ARCHITECTURE.md in one place.

Every check of the caller's role is made here: the named capability sets below, their
predicates, and the `*_in_scope` query filters. Services ask these; they do not compare
`actor.role` themselves (tests/unit/test_scope_module.py enforces it).

Out of scope is indistinguishable from absent: callers answer 404.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, exists, false, select, union
from sqlalchemy.orm import Session

from service.db.models import Account, InstancePerson, Member, ProcessInstance, UserTask
from service.domain.actor import Actor

# --- the named capability sets ------------------------------------------------------------

SEES_EVERYTHING = frozenset({"association_reviewer", "finance_reviewer", "secretariat_admin"})
"""The association's roles, finance included: every instance, unit archive, bill, invoice,
certificate list, learning task and statistic of every agency (and may narrow to one)."""

SEES_EVERY_PERSON = frozenset({"association_reviewer", "secretariat_admin"})
"""The association's roles that judge persons, finance left out: any unit's eligibility
list, any certificate's PDF, the CPD batch reports. Narrower than `SEES_EVERYTHING` on
purpose (finance deals with bills, not with persons' qualifications); the certificate
*list* still uses `SEES_EVERYTHING`, as it always has."""

LEARNING_RECORDERS = frozenset({"association_reviewer", "secretariat_admin"})
"""Who records learning results from the learning platform (by hand or by Excel import)."""

ADMINISTRATORS = frozenset({"secretariat_admin"})
"""The secretariat: manages units, agencies, staff and accounts, resets any password,
edits the dictionaries, sees every background job and uploaded file, and sees every held
task (releases or reassigns it)."""

PROCESS_MAP_READERS = frozenset({"association_reviewer", "secretariat_admin", "designer"})
"""Who reads where a process's running instances wait (the heat map on its diagram) and
the open incidents per step: the association's reviewers, the secretariat, designers."""

DESIGNERS = frozenset({"designer"})
"""Process designers: deploy new versions of processes/, rules/ and forms/ without a
restart (memberflow deploy, POST /processes/deploy), read the versions and the incidents,
migrate forms and retry or close incidents (`MIGRATORS`).
They review no task and see no unit's, member's or instance's records."""

DEFINITION_READERS = SEES_EVERYTHING | DESIGNERS
"""Who reads the process catalogue: each process's versions and their instance counts."""

INCIDENT_READERS = ADMINISTRATORS | DESIGNERS
"""Who lists the incidents (流程出错); settling a stuck form stays with the secretariat."""

PROCESS_KEY_READERS = ADMINISTRATORS | DESIGNERS
"""Who is shown a process's key (certificate_cancellation) beside its Chinese name: the people
who deploy, migrate and name processes in files and API calls; a reviewer reads the name."""

MIGRATORS = ADMINISTRATORS | DESIGNERS
"""Who moves running instances to another version of their process (migration plans),
retries an incident's failed step once it is fixed and closes an incident by hand: the
secretariat and designers."""

UNIT_BOUND = frozenset({"unit_admin", "applicant"})
"""Roles whose instances are their unit's (`applicant`: a join code's anonymous starter)."""

UNBOUND_TASK_ROLES = frozenset({"association_reviewer", "finance_reviewer"})
"""Roles whose open tasks are not tied to a unit, an agency or a member: any task of
their lane is theirs to take."""

STAFF_ROLES = (
    "agency_reviewer",
    "association_reviewer",
    "finance_reviewer",
    "secretariat_admin",
    "designer",
)
"""The roles of staff accounts the secretariat creates, in the order forms list them."""


# --- predicates on the caller ---------------------------------------------------------------


def sees_everything(actor: Actor) -> bool:
    """Whether the actor sees every unit's and agency's records (see `SEES_EVERYTHING`)."""
    return actor.role in SEES_EVERYTHING


def sees_process_maps(actor: Actor) -> bool:
    """Whether the actor reads the heat map of a process (see `PROCESS_MAP_READERS`)."""
    return actor.role in PROCESS_MAP_READERS


def sees_process_keys(actor: Actor) -> bool:
    """Whether the pages show the actor process keys (see `PROCESS_KEY_READERS`)."""
    return actor.role in PROCESS_KEY_READERS


def sees_definitions(actor: Actor) -> bool:
    """Whether the actor reads the process catalogue (see `DEFINITION_READERS`)."""
    return actor.role in DEFINITION_READERS


def may_deploy(actor: Actor) -> bool:
    """Whether the actor deploys new versions of the designers' files (see `DESIGNERS`)."""
    return actor.role in DESIGNERS


def sees_incidents(actor: Actor) -> bool:
    """Whether the actor lists the incidents (see `INCIDENT_READERS`)."""
    return actor.role in INCIDENT_READERS


def may_migrate(actor: Actor) -> bool:
    """Whether the actor migrates instances and retries incidents (see `MIGRATORS`)."""
    return actor.role in MIGRATORS


def sees_all_agencies(actor: Actor) -> bool:
    """Whether the actor's scope spans every agency (so it may filter by one)."""
    return sees_everything(actor)


def may_narrow_to_agency(actor: Actor) -> bool:
    """Whether the actor may narrow statistics or lists to one agency of its choice."""
    return sees_all_agencies(actor)


def sees_every_person(actor: Actor) -> bool:
    """Whether the actor reads any person's eligibility, certificate PDF and CPD batches."""
    return actor.role in SEES_EVERY_PERSON


def may_record_learning(actor: Actor) -> bool:
    """Whether the actor may record learning results (see `LEARNING_RECORDERS`)."""
    return actor.role in LEARNING_RECORDERS


def may_manage_accounts(actor: Actor) -> bool:
    """Whether the actor manages units, agencies, staff and accounts and resets passwords."""
    return actor.role in ADMINISTRATORS


def may_edit_dictionaries(actor: Actor) -> bool:
    """Whether the actor edits the association's dictionaries (specialties)."""
    return actor.role in ADMINISTRATORS


def sees_every_upload(actor: Actor) -> bool:
    """Whether the actor sees everyone's background jobs and uploaded files."""
    return actor.role in ADMINISTRATORS


def manages_queue(actor: Actor) -> bool:
    """Whether the actor may see every held task and release or reassign it."""
    return actor.role in ADMINISTRATORS


def is_unit_admin(actor: Actor) -> bool:
    """Whether the actor is a unit's admin (main or sub-account), acting for its unit only."""
    return actor.role == "unit_admin"


def is_member(actor: Actor) -> bool:
    """Whether the actor is a personal member, acting for itself only."""
    return actor.role == "member"


def administers_unit(actor: Actor, unit_id: int | None) -> bool:
    """Whether the actor is the admin of this very unit."""
    return is_unit_admin(actor) and actor.unit_id == unit_id


SUB_ACCOUNTS_BY_MAIN = "子账号由单位主账号管理（新增、编辑、停用、重置密码），请用主账号登录后操作"


def manages_sub_accounts(session: Session, actor: Actor, unit_id: int | None) -> bool:
    """Whether the actor adds, edits, disables and resets the unit's sub-accounts: the
    unit's main account (manual 3.15: 登录公司主账号→单位信息→管理员维护) and the
    secretariat. A sub-account has the main account's rights in the unit's business, not
    over the other sub-accounts (it would take one over by resetting its password)."""
    if may_manage_accounts(actor):
        return True
    if not administers_unit(actor, unit_id):
        return False
    return session.scalar(select(Account.sub_slot).where(Account.id == actor.id)) is None


def unit_acts(session: Session, unit_id: int) -> bool:
    """Whether an administrator of the unit can sign in, and so act for it (pre-review, take
    people in): not a unit the secretariat has disabled (停用: every administrator's account)."""
    admins = select(Account.id).where(
        Account.unit_id == unit_id, Account.role == "unit_admin", Account.active.is_(True)
    )
    return session.scalar(select(exists(admins))) or False


def reviews_agency(actor: Actor, agency_id: int | None) -> bool:
    """Whether the actor is the reviewer of this very agency."""
    return actor.role == "agency_reviewer" and actor.agency_id == agency_id


def may_see_unit(actor: Actor, unit_id: int, agency_id: int | None) -> bool:
    """Whether the actor may read a unit's archive: the association, the unit's own admin,
    the reviewer of the unit's agency."""
    return (
        sees_everything(actor)
        or administers_unit(actor, unit_id)
        or reviews_agency(actor, agency_id)
    )


def may_start(actor: Actor, start_roles) -> bool:
    """Whether the actor's role is one of a business type's starting lanes."""
    return actor.role in start_roles


def holds_lane(actor: Actor, lanes) -> bool:
    """Whether the actor's role is one of `lanes`, roles the definitions declare (the lanes
    of the tasks of some kind, e.g. those that confirm a form's bill)."""
    return actor.role in lanes


def is_staff_role(role: str | None) -> bool:
    """Whether `role` names a staff account's role (see `STAFF_ROLES`)."""
    return role in STAFF_ROLES


# --- query filters --------------------------------------------------------------------------


def records_in_scope(actor: Actor, unit_column, member_column=None) -> list | None:
    """The conditions keeping the actor to the records it may list: a unit admin to its
    unit's, a member to its own (when the records name a member: `member_column`), the
    association (`SEES_EVERYTHING`) to all; None: none at all (the caller answers 404)."""
    if is_unit_admin(actor):
        return [unit_column == actor.unit_id]
    if is_member(actor) and member_column is not None:
        # an account without a member sees none (`== None` would match those naming none)
        return [member_column == actor.member_id if actor.member_id is not None else false()]
    if sees_everything(actor):
        return []
    return None


def member_scope(actor: Actor, agency_id: int | None = None) -> tuple[str, list] | None:
    """Whose records the actor's figures count: ("unit" | "agency" | "association",
    conditions on members), narrowed to one agency for the association; None: nobody's."""
    if is_unit_admin(actor):
        return "unit", [Member.unit_id == actor.unit_id]
    if actor.role == "agency_reviewer":
        return "agency", [Member.agency_id == actor.agency_id]
    if sees_everything(actor):
        if agency_id is not None:
            return "agency", [Member.agency_id == agency_id]
        return "association", []
    return None


def instances_in_scope(stmt: Select, actor: Actor) -> Select:
    """Restrict a query on process_instances to what the actor may see."""
    if sees_everything(actor):
        return stmt
    if actor.role in UNIT_BOUND:
        return stmt.where(ProcessInstance.unit_id == actor.unit_id)
    if actor.role == "agency_reviewer":
        return stmt.where(ProcessInstance.agency_id == actor.agency_id)
    if actor.role == "member":
        if actor.member_id is None:  # compared with `=`, None would match forms naming none
            return stmt.where(false())
        return stmt.where(ProcessInstance.id.in_(member_forms(actor.member_id)))
    return stmt.where(false())


_SUBJECT_OF = ProcessInstance.__table__.alias("subject_of")


def member_forms(member_id: int):
    """The ids of the forms a member sees: those whose member it is and those listing it among
    their persons, each found by its index (migration 0025), so that a member's list costs
    what the member's few forms cost (an OR with an EXISTS walked every form newest first and
    looked each one's persons up: 72 ms at 100,000 forms)."""
    return union(
        select(_SUBJECT_OF.c.id).where(_SUBJECT_OF.c.member_id == member_id),
        select(InstancePerson.instance_id).where(InstancePerson.member_id == member_id),
    )


def task_scope(actor: Actor, tasks: Any = UserTask) -> list:
    """The conditions on user_tasks that keep an actor to the tasks it may act on (`tasks`:
    the mapped class, or the table's columns `UserTask.__table__.c` for a Core statement)."""
    conditions = [tasks.role == actor.role]
    if actor.role == "unit_admin":
        conditions.append(tasks.unit_id == actor.unit_id)
    elif actor.role == "agency_reviewer":
        conditions.append(tasks.agency_id == actor.agency_id)
    elif actor.role == "member":
        conditions.append(tasks.member_id == actor.member_id)
    elif actor.role not in UNBOUND_TASK_ROLES:
        conditions.append(false())
    return conditions


def agency_lane(tasks: Any = UserTask):
    """The condition of the tasks an agency's reviewers work (机构初审): those that follow
    their form's agency when a unit moves to another one."""
    return tasks.role == "agency_reviewer"


def task_holders(task: UserTask) -> list:
    """The conditions on accounts that may hold `task`: `task_scope` seen from the task."""
    conditions = [Account.active.is_(True), Account.role == task.role]
    if task.role == "unit_admin":
        conditions.append(Account.unit_id == task.unit_id)
    elif task.role == "agency_reviewer":
        conditions.append(Account.agency_id == task.agency_id)
    elif task.role == "member":
        conditions.append(Account.member_id == task.member_id)
    elif task.role not in UNBOUND_TASK_ROLES:
        conditions.append(false())
    return conditions


def tasks_in_scope(stmt: Select, actor: Actor) -> Select:
    """Restrict a query on user_tasks to those the actor may act on."""
    return stmt.where(*task_scope(actor))


def line_reader(session: Session, actor: Actor) -> str | None:
    """Whose person line the actor reads in full on the forms it sees: None, every line (a
    unit, its agency, the association, finance); a member, only their own — the ID number
    returned ("" for an account without a member), the other persons by name with the ID
    number masked and their materials hidden (`domain.disclosure.own_lines`)."""
    if not is_member(actor):
        return None
    if actor.member_id is None:
        return ""
    return session.scalar(select(Member.id_number).where(Member.id == actor.member_id)) or ""


def lines_in_scope(actor: Actor) -> list:
    """The conditions on instance_persons keeping the actor to the person lines it reads in
    full (see `line_reader`): a member to its own, everyone else to every line."""
    if not is_member(actor):
        return []
    if actor.member_id is None:  # compared with `=`, None would match lines naming none
        return [false()]
    return [InstancePerson.member_id == actor.member_id]


def can_see_instance(session: Session, actor: Actor, instance_id: int) -> bool:
    """Whether the actor may read this instance."""
    stmt = instances_in_scope(
        select(ProcessInstance.id).where(ProcessInstance.id == instance_id), actor
    )
    return session.scalar(stmt) is not None


# --- 问题反馈 (feedback to the association) -----------------------------------------------

FEEDBACK_HANDLERS = frozenset({"association_reviewer", "secretariat_admin"})
"""Who reads every unit's and member's feedback (问题反馈), replies and closes it: the
secretariat and the association's reviewers (finance and the agencies are left out)."""


def handles_feedback(actor: Actor) -> bool:
    """Whether the actor reads all feedback, replies and closes (see `FEEDBACK_HANDLERS`)."""
    return actor.role in FEEDBACK_HANDLERS


def may_submit_feedback(actor: Actor) -> bool:
    """Whether the actor submits feedback: a unit's admin (for its unit) or a member."""
    return is_unit_admin(actor) or is_member(actor)


def feedback_in_scope(actor: Actor, unit_column, member_column) -> list | None:
    """The conditions keeping the actor to the feedback it may read: a unit admin to its
    unit's, a member to its own, the handlers to all; None: none at all (404)."""
    if handles_feedback(actor):
        return []
    if is_unit_admin(actor):
        return [unit_column == actor.unit_id]
    if is_member(actor) and actor.member_id is not None:
        return [member_column == actor.member_id]
    return None
