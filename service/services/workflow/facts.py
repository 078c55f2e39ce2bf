"""Facts from the database that a process's rules read, computed before the engine runs.

Each process declares the facts it needs (`facts` on its BPMN process: a name in FACTS
below); the rules (DMN) decide what they mean.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, timedelta

from sqlalchemy import Select, and_, bindparam, exists, not_, or_, select, true, update
from sqlalchemy.orm import Session

from service.db.models import (
    Account,
    Bill,
    Certificate,
    CpdBatch,
    CpdCompletion,
    InstancePerson,
    LearningTask,
    Member,
    Membership,
    ProcessInstance,
    Unit,
    UserTask,
)
from service.db.search import same_login
from service.db.uow import Reads
from service.domain.person_facts import (
    CPD_AWAITING_OPENING,
    CPD_AWAITING_REPORT,
    ORDINARY,
    PROFESSIONAL,
    CertificateRecord,
    CpdEnrolmentRecord,
    MembershipRecord,
    PersonRecord,
    person_facts,
)
from service.engine import Definition

OPEN_LEARNING = ("开课未学习", "学习中")
LEVELS = (ORDINARY, PROFESSIONAL)  # the membership levels, in their order
SHANGHAI = timedelta(hours=8)  # a stored (naive UTC) time's day in Asia/Shanghai


def _applicant(
    reads: Reads,
    process_key: str,
    data: dict,
    today: date,
    instance_id: int | None,
    unit_id: int | None,
) -> dict:
    """One applicant: already a member? another application of this process in flight?"""
    id_number = str(data.get("id_number") or "").strip().upper()
    params = {
        "applicant_id_number": id_number,
        "applicant_today": today,
        "applicant_process_key": process_key,
    }
    if instance_id is not None:
        params["applicant_instance_id"] = instance_id
    if unit_id is not None:
        params["applicant_unit_id"] = unit_id
    query = _applicant_query(instance_id is not None, unit_id is not None)
    answer = reads.add(query, params)  # with whatever the caller queued before (a lock)
    reads.run()
    (row,) = answer.rows
    return {
        "is_member": bool(row[0]),
        "join_in_flight": bool(row[1]),
        "records_here": (not row[0] or bool(row[2])) and (not row[1] or bool(row[3])),
        # the levels held now: a join through the member's own unit may add the other one
        # (manual §3.2, FAQ 3.20); a member of another unit moves by 调入 first
        "held_levels": [level for level, held in zip(LEVELS, row[4:], strict=True) if held],
        "member_elsewhere": bool(row[0]) and not row[2],
    }


# `_applicant`'s query, built once per shape (with or without an instance and a unit) and
# run with the applicant's values bound: building it anew cost more Python than running it
_APPLICANT_QUERIES: dict[tuple[bool, bool], Select] = {}


def _applicant_query(has_instance: bool, has_unit: bool) -> Select:
    """Is the person a member, is an application in flight, and each in the unit itself.

    Without a unit, the unit's conditions compare with None (`IS NULL`), as they did when
    the query was built with the caller's values."""
    found = _APPLICANT_QUERIES.get((has_instance, has_unit))
    if found is not None:
        return found
    id_number = bindparam("applicant_id_number", type_=Member.id_number.type)
    unit_id = bindparam("applicant_unit_id", type_=Member.unit_id.type) if has_unit else None
    is_member = exists().where(  # a cancelled membership is none, though its end is ahead
        Member.id_number == id_number,
        Membership.member_id == Member.id,
        Membership.valid_until >= bindparam("applicant_today", type_=Membership.valid_until.type),
        Membership.cancelled_on.is_(None),
    )
    in_flight = exists().where(
        ProcessInstance.process_key
        == bindparam("applicant_process_key", type_=ProcessInstance.process_key.type),
        ProcessInstance.subject_id_number == id_number,
        ProcessInstance.finished.is_(False),
    )
    if has_instance:
        in_flight = in_flight.where(
            ProcessInstance.id != bindparam("applicant_instance_id", type_=ProcessInstance.id.type)
        )
    # found in the unit's own records (its member, its join): the unit may be told so
    member_here = is_member.where(Member.unit_id == unit_id)
    join_here = in_flight.where(ProcessInstance.unit_id == unit_id)
    held = [is_member.where(Membership.level == level) for level in LEVELS]
    query = select(is_member, in_flight, member_here, join_here, *held)
    _APPLICANT_QUERIES[(has_instance, has_unit)] = query
    return query


def persons_on(data: dict) -> list[tuple[str, str | None]]:
    """(ID number, name) of every person a form lists: `persons`, or the form's own person."""
    persons = data.get("persons")
    if isinstance(persons, list):
        return [
            (str(p.get("id_number") or "").strip().upper(), p.get("name"))
            for p in persons
            if isinstance(p, dict)
        ]
    if data.get("id_number"):
        return [(str(data["id_number"]).strip().upper(), data.get("name"))]
    return []


def person_records(
    session: Session, id_numbers: list[str], instance_id: int | None = None
) -> dict[str, PersonRecord]:
    """Everything the eligibility facts need about these persons, in one round trip."""
    reads = Reads(session)
    records = queue_person_records(reads, id_numbers, instance_id)
    reads.run()
    return records()


def queue_person_records(
    reads: Reads, id_numbers: list[str], instance_id: int | None = None
) -> Callable[[], dict[str, PersonRecord]]:
    """`person_records`, its seven queries queued in `reads` (with what is queued there
    before, to go to the server together); once they have run, the function returned
    gives the records (a form's own instance, `instance_id`, is not in flight)."""
    ids = sorted(set(id_numbers))
    if not ids:
        return dict
    queries = _person_queries(instance_id is not None)
    params = {"person_ids": ids}
    if instance_id is not None:
        params["person_instance_id"] = instance_id
    answers = [reads.add(query, params) for query in queries]

    def records() -> dict[str, PersonRecord]:
        members, memberships, certificates, in_flight, unpaid, learning, cpd = (
            a.rows for a in answers
        )
        found = {row[1]: PersonRecord(row[1], *row[2:]) for row in members}
        by_member = {row[0]: found[row[1]] for row in members}
        for member_id, level, valid_until, cancelled_on in memberships:
            by_member[member_id].memberships.append(
                MembershipRecord(level, valid_until, cancelled_on)
            )
        for member_id, *certificate in certificates:
            by_member[member_id].certificates.append(CertificateRecord(*certificate))
        for rows, kept in (
            (in_flight, "in_flight"),
            (unpaid, "unpaid_bills"),
            (learning, "open_learning"),
        ):
            for number, key in rows:
                if number in found:
                    getattr(found[number], kept).append(key)
        for number, batch_id, completed_at in cpd:
            if number in found:
                state = CPD_AWAITING_REPORT if batch_id is None else CPD_AWAITING_OPENING
                day = (completed_at + SHANGHAI).date()
                found[number].cpd_enrolments.append(CpdEnrolmentRecord(state, day))
        return found

    return records


# `queue_person_records`'s queries, built once per shape (with or without the form's own
# instance to leave out) and run with the persons' ID numbers bound
_PERSON_QUERIES: dict[bool, tuple[Select, ...]] = {}


def _person_queries(has_instance: bool) -> tuple[Select, ...]:
    """The persons' member records, their memberships and certificates (each with its
    member's id), then (ID number, process key) of their forms in flight, unpaid bills and
    open learning, and (ID number, batch, completion time) of their approved CPD enrolments
    whose learning has not been opened; each of the persons' ID numbers (`person_ids`)."""
    found = _PERSON_QUERIES.get(has_instance)
    if found is not None:
        return found
    ids = bindparam("person_ids", expanding=True)
    own = bindparam("person_instance_id", type_=ProcessInstance.id.type)
    named = Member.id_number.in_(ids)
    members = (
        select(
            Member.id,
            Member.id_number,
            Member.name,
            Member.unit_id,
            Member.birth_date,
            Member.education,
            Member.title,
            Member.registration_number,
            Member.qualifications,
            Member.violation_note,
            Unit.name,
        )
        .select_from(Member)
        .outerjoin(Unit, Unit.id == Member.unit_id)
        .where(named)
    )
    memberships = (
        select(
            Membership.member_id, Membership.level, Membership.valid_until, Membership.cancelled_on
        )
        .join(Member, Member.id == Membership.member_id)
        .where(named)
        .order_by(Membership.id)
    )
    certificates = (
        select(
            Certificate.member_id,
            Certificate.type,
            Certificate.number,
            Certificate.status,
            Certificate.valid_until,
            Certificate.specialty_1,
            Certificate.specialty_2,
            Certificate.unit_name,
        )
        .join(Member, Member.id == Certificate.member_id)
        .where(named, Certificate.current())
        .order_by(Certificate.id)
    )
    other = ProcessInstance.id != own if has_instance else true()
    under_review = exists().where(
        UserTask.instance_id == ProcessInstance.id, UserTask.state == "open"
    )
    listed = InstancePerson.id_number.in_(ids)
    in_flight = (
        select(InstancePerson.id_number, ProcessInstance.process_key)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .where(listed, ProcessInstance.finished.is_(False), other, under_review)
    )
    unpaid = (
        select(InstancePerson.id_number, ProcessInstance.process_key)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .join(Bill, Bill.instance_id == ProcessInstance.id)
        .where(listed, Bill.status == "unpaid", other)
    )
    learning = select(LearningTask.id_number, LearningTask.process_key).where(
        LearningTask.id_number.in_(ids),
        LearningTask.status.in_(OPEN_LEARNING),
        LearningTask.instance_id != own if has_instance else true(),
    )
    # reached through the persons' form lines (indexed by ID number) and each completion's
    # (form, ID number) key: the completions themselves have no index of ID numbers
    cpd = (
        select(CpdCompletion.id_number, CpdCompletion.batch_id, CpdCompletion.completed_at)
        .select_from(InstancePerson)
        .join(
            CpdCompletion,
            and_(
                CpdCompletion.instance_id == InstancePerson.instance_id,
                CpdCompletion.id_number == InstancePerson.id_number,
            ),
        )
        .outerjoin(CpdBatch, CpdBatch.id == CpdCompletion.batch_id)
        .where(
            listed,
            InstancePerson.instance_id != own if has_instance else true(),
            or_(CpdCompletion.batch_id.is_(None), CpdBatch.opened_at.is_(None)),
        )
    )
    found = (members, memberships, certificates, in_flight, unpaid, learning, cpd)
    _PERSON_QUERIES[has_instance] = found
    return found


def _persons(
    reads: Reads,
    process_key: str,
    data: dict,
    today: date,
    instance_id: int | None,
    unit_id: int | None,
) -> dict:
    persons = persons_on(data)
    # with what the caller queued before (a lock), which runs first
    queued = queue_person_records(reads, [n for n, _ in persons], instance_id)
    reads.run()
    records = queued()
    facts = {n: person_facts(records.get(n), n, name, unit_id, today) for n, name in persons if n}
    return {"person_facts": facts, "process_key": process_key}


def unit_membership(unit: Unit, today: date) -> str:
    """valid / expired / none: the unit's membership (单位会员) as of today. A member unit
    without an end date (carried over from the old platform) is valid."""
    until = unit.membership_valid_until
    if unit.member_unit and (until is None or until >= today):
        return "valid"
    if until is not None and until < today:
        return "expired"
    return "none"


def taken_name(session: Session, name: str, unit_id: int | None) -> str | None:
    """The spelling in which another unit has this name, or an account other than this
    unit's main account signs in with it (a unit's main login is its full name); None when
    the name is free. A name is one whatever its letter case and width (search.same_login),
    as a sign-in takes it."""
    other_unit = select(Unit.name).where(same_login(Unit.name, name), Unit.id != unit_id)
    own_main = and_(Account.is_main.is_(True), Account.unit_id == unit_id)
    login = select(Account.username).where(same_login(Account.username, name), not_(own_main))
    return session.scalar(other_unit.union_all(login).limit(1))


def name_taken(session: Session, name: str, unit_id: int | None) -> bool:
    """Whether another unit or login has this name (`taken_name`)."""
    return taken_name(session, name, unit_id) is not None


def _unit(
    reads: Reads,
    process_key: str,
    data: dict,
    today: date,
    instance_id: int | None,
    unit_id: int | None,
) -> dict:
    """The unit's own business (manual 3.24): its record, its unfinished forms of this
    business, and whether the new name a form asks for (`new_name`) is free."""
    reads.run()  # what the caller queued (a lock) goes first
    session = reads.session
    if unit_id is not None:  # serialize the unit's own forms: the second sees the first
        session.execute(
            update(Unit)
            .where(Unit.id == unit_id)
            .values(id=Unit.id)
            .execution_options(synchronize_session=False)
        )
    unit = session.get(Unit, unit_id) if unit_id is not None else None
    if unit is None:
        none = dict.fromkeys(("name", "membership_until", "joined_on", "new_name"))
        flags = dict.fromkeys(("found", "name_unchanged", "name_taken"), False)
        return {"unit_facts": {**none, **flags, "membership": "none", "in_flight": []}}
    pending = select(ProcessInstance.business_key).where(
        ProcessInstance.process_key == process_key,
        ProcessInstance.unit_id == unit.id,
        ProcessInstance.finished.is_(False),
    )
    if instance_id is not None:
        pending = pending.where(ProcessInstance.id != instance_id)
    new_name = str(data.get("new_name") or "").strip()
    until, joined = unit.membership_valid_until, unit.joined_on
    return {
        "unit_facts": {
            "found": True,
            "name": unit.name,
            "membership": unit_membership(unit, today),
            "membership_until": until.isoformat() if until else None,
            "joined_on": joined.isoformat() if joined else None,
            "in_flight": sorted(session.scalars(pending)),
            "new_name": new_name or None,
            "name_unchanged": bool(new_name) and new_name == unit.name,
            "name_taken": bool(new_name)
            and new_name != unit.name
            and name_taken(session, new_name, unit.id),
        }
    }


# a provider queues its queries in the `Reads` given (after what the caller queued) and
# runs them, or runs what was queued and goes on through its session
Facts = Callable[[Reads, str, dict, date, int | None, int | None], dict]

# the facts a process may declare (`facts` property, engine/declarations.py FACTS)
FACTS: dict[str, Facts] = {"applicant": _applicant, "persons": _persons, "unit": _unit}


# the keys the providers add to task data (shown to nobody: the API strips them)
FACT_KEYS = frozenset(
    {
        "is_member",
        "held_levels",
        "member_elsewhere",
        "join_in_flight",
        "records_here",
        "person_facts",
        "facts",
        "process_names",
        "unit_facts",
    }
)
# every name the service itself puts into task data or a decision's context: what
# `memberflow check` accepts besides form fields, script names and helpers (engine/names.py)
PROVIDED_NAMES = FACT_KEYS | {
    "submitted_on",  # start (instances.py)
    "process_key",
    "initiator_role",
    "unit_name",
    "remaining_types",  # certificate_cancellation_membership (effects.py, eligibility.py)
}


def facts_for(
    reads: Reads,
    defn: Definition,
    data: dict,
    today: date,
    instance_id: int | None = None,
    unit_id: int | None = None,
    names: Mapping[str, str] | None = None,
) -> dict:
    """The database facts a process's rules need, for the data about to be submitted;
    sent to the server with what the caller queued in `reads` before (a lock), which
    runs first.

    `names` (process key -> the BPMN's name) reach the rules as `process_names`, for
    reasons that name another business; the engine keeps them out of the stored state.
    """
    provider = FACTS[defn.declarations.facts or "persons"]
    facts = provider(reads, defn.key, data, today, instance_id, unit_id)
    return {**facts, "process_names": dict(names or {})}
