"""The persons a form lists (报名人员): checked before the engine runs, mirrored after."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import (
    ColumnElement,
    ScalarSelect,
    bindparam,
    case,
    delete,
    exists,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.orm import Session, aliased

from service.db.models import Certificate, InstancePerson, Member, ProcessInstance, Specialty
from service.db.uow import Later, Reads, write
from service.domain import disclosure
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, RuleFailed
from service.domain.validation import InvalidValue, clean_code, clean_name, parse_id, shorten
from service.engine import Definition
from service.services.workflow.facts import persons_on
from service.services.workflow.scope import is_member, is_unit_admin

SPECIALTY_FIELDS = ("specialty_1", "specialty_2")


def normalize(data: dict) -> dict:
    """The form's ID numbers and persons' names as kept: an ID number typed with full-width
    digits or spaces as its clean form, a name without padding (validation.clean_code,
    clean_name), in the persons' list or for the form's one person. Run before the form is
    checked, so that "４４０１…" is checked, stored and compared as "4401…"; a value of the
    wrong type is left for the form's check to refuse."""
    out = dict(data)
    if isinstance(out.get("persons"), list):
        out["persons"] = [_clean_line(p) if isinstance(p, dict) else p for p in out["persons"]]
        return out
    if isinstance(out.get("id_number"), str):
        out["id_number"] = clean_code(out["id_number"])
    if isinstance(out.get("name"), str):
        out["name"] = clean_name(out["name"])
    return out


def _clean_line(line: dict) -> dict:
    number = line.get("id_number")
    clean = {**line, "id_number": clean_code(number) if isinstance(number, str) else number or ""}
    if isinstance(line.get("name"), str):
        clean["name"] = clean_name(line["name"])
    return clean


def check_lines(session: Session, data: dict) -> None:
    """Field errors the schema cannot express: a person twice, a specialty not in the list
    (FormInvalid, by each line's field: `line_errors`)."""
    errors = line_errors(session, data)
    if errors:
        raise FormInvalid(errors)


def line_errors(session: Session, data: dict) -> dict[str, str]:
    """What `check_lines` refuses of a form's persons, by path (`persons.1.specialty_2`): the
    start and a resubmission refuse the form for it, the preview says it at each line."""
    persons = data.get("persons")
    if not isinstance(persons, list):
        return {}
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    for i, p in enumerate(persons):
        n = p.get("id_number")
        if n in seen:
            errors[f"persons.{i}.id_number"] = f"该人员已在第{seen[n] + 1}行，同一表单不能重复报名"
        seen.setdefault(n, i)
    wanted = {p.get(f) for p in persons for f in SPECIALTY_FIELDS if p.get(f)}
    if wanted:
        listed = dict(
            session.execute(
                select(Specialty.name, Specialty.active).where(Specialty.name.in_(wanted))
            ).all()
        )
        for i, p in enumerate(persons):
            for f in SPECIALTY_FIELDS:
                if not p.get(f) or listed.get(p[f]):
                    continue
                errors[f"persons.{i}.{f}"] = (
                    f"专业“{p[f]}”已停用，请选择其他专业"
                    if p[f] in listed
                    else f"专业“{p[f]}”不在专业字典中"
                )
            if p.get("specialty_1") and p.get("specialty_1") == p.get("specialty_2"):
                errors[f"persons.{i}.specialty_2"] = "专业2不能与专业1相同"
    return errors


def check_identity(data: dict, today: date) -> None:
    """The form's identity document number must be valid for its type (said at the field,
    before the rules run), and a birth date or gender the form states must be the one a
    resident ID or residence permit number gives (the number's is the one kept on the
    member)."""
    id_type, number, stated = data.get("id_type"), data.get("id_number"), data.get("birth_date")
    if not (isinstance(id_type, str) and isinstance(number, str)):
        return
    try:
        found = parse_id(id_type, number, today)
    except InvalidValue as exc:
        raise FormInvalid({"id_number": exc.message}) from None
    errors = {}
    born, gender = found.birth_date, data.get("gender")
    if born is not None and isinstance(stated, str) and stated != born.isoformat():
        errors["birth_date"] = f"「出生日期」与证件号码中的出生日期（{born}）不一致"
    if found.gender and isinstance(gender, str) and gender and gender != found.gender:
        errors["gender"] = f"「性别」与证件号码中的性别（{found.gender}）不一致"
    if errors:
        raise FormInvalid(errors)


def birth_reader(
    today: date, lookup: Callable[[str], date | None] | None = None
) -> Callable[[dict], date | None]:
    """born(person): the birth date of a form's person (the form, or a line of its persons
    list) for the dates that may not precede it (forms.refuse_dates_before_birth): the one a
    resident ID or residence permit number gives (of the type the form names; a form naming
    none, as a member's 信息变更, a number of either shape), else the form's 出生日期 (a
    passport or a permit; not one after today, refused at its own field), else `lookup`'s
    of that number (member_births: a member the caller may read); None when none tells."""

    def born(person: dict) -> date | None:
        number, kind = person.get("id_number"), person.get("id_type")
        number = clean_code(number) if isinstance(number, str) else ""
        if number:
            kinds = (
                (kind,) if isinstance(kind, str) and kind else ("resident_id", "residence_permit")
            )
            for each in kinds:
                try:
                    found = parse_id(each, number, today)
                except InvalidValue:
                    continue
                if found.birth_date is not None:
                    return found.birth_date
        stated = person.get("birth_date")
        if isinstance(stated, str):
            try:
                day = date.fromisoformat(stated)
            except ValueError:
                day = None
            if day is not None and day <= today:  # a later one is refused at its own field
                return day
        return lookup(number) if lookup is not None and number else None

    return born


def member_births(session: Session, actor: Actor) -> Callable[[str], date | None] | None:
    """The recorded birth date of a member by ID number, among those the caller reads
    anyway — a member their own, a unit's admin its unit's members — so that a refused date
    never tells anyone a birth date they could not read; None for anyone else (an applicant
    through a join code, staff)."""
    if is_member(actor) and actor.member_id is not None:
        mine = Member.id == actor.member_id
    elif is_unit_admin(actor) and actor.unit_id is not None:
        mine = Member.unit_id == actor.unit_id
    else:
        return None
    return lambda number: session.scalar(
        select(Member.birth_date).where(Member.id_number == number, mine)
    )


def refuse_ineligible(data: dict, request_facts: dict | None = None) -> None:
    """RuleFailed, per person, when the process's rules found reasons at start or resubmit.

    Only the unit that employs a person reads the rules' reasons about them (their facts'
    `in_unit`, from the engine run's `request_facts`); anyone else gets one generic reason
    (`domain.disclosure`).
    """
    facts = (request_facts or data).get("person_facts")
    facts = facts if isinstance(facts, dict) else {}
    per_person = data.get("person_reasons")
    if isinstance(per_person, list) and isinstance(data.get("persons"), list):
        failures = [
            {
                "index": i,
                "id_number": p.get("id_number"),
                "name": p.get("name"),
                "reasons": disclosure.person_reasons(reasons, facts.get(p.get("id_number"))),
            }
            for i, (p, reasons) in enumerate(zip(data["persons"], per_person, strict=False))
            if disclosure.reason_list(reasons)
        ]
        if failures:
            raise RuleFailed(
                [f"{f['name']}（{f['id_number']}）：{r}" for f in failures for r in f["reasons"]],
                persons=failures,
            )
        return
    reasons = disclosure.reason_list(data.get("failure_reasons"))
    if reasons:
        if facts:  # a one-person form: the person's facts, by the form's ID number
            raise RuleFailed(disclosure.person_reasons(reasons, facts.get(data.get("id_number"))))
        raise RuleFailed(disclosure.applicant_reasons(reasons, data))


# what the list shows a form under (process_instances.subject_name is a varchar(50))
SUBJECT_NAME_LENGTH = ProcessInstance.__table__.c.subject_name.type.length


def subject_of(data: dict) -> tuple[str | None, str | None, int]:
    """The name and ID number a form is listed under, and how many persons it has (a one-
    person form: one; a unit's own business, naming nobody: none)."""
    persons = persons_on(data)
    if not persons:
        n, name, count = data.get("id_number"), data.get("name"), 1 if data.get("id_number") else 0
    else:
        (n, name), count = persons[0], len(persons)
    if not isinstance(name, str):
        return name, n, count
    # a name at its limit (50) with 等2人 would not fit: the name is cut, never the count
    more = f"等{count}人" if count > 1 else ""
    return shorten(name, SUBJECT_NAME_LENGTH - len(more)) + more, n, count


def lines_of(data: dict) -> list[dict]:
    """The form's person lines as instance_persons mirrors them (a one-person form: one)."""
    lines = data.get("persons")
    if not isinstance(lines, list):
        lines = [{"id_number": data.get("id_number"), "name": data.get("name")}]
    return [dict(p) for p in lines if isinstance(p, dict) and p.get("id_number")]


_PERSONS = InstancePerson.__table__
# one row per run, its columns bound by name (`Later` compiles it once)
_LINES = _PERSONS.insert().values(
    {
        c: bindparam(c, type_=_PERSONS.c[c].type)
        for c in (
            "instance_id",
            "member_id",
            "id_number",
            "name",
            "certificate_type",
            "line",
            "position",
        )
    }
)


def sync(
    session: Session,
    row: ProcessInstance,
    data: dict,
    new: bool = False,
    locked: dict[str, int | None] | None = None,
    later: Later | None = None,
) -> None:
    """Mirror the form's persons into instance_persons (used for facts, lists and scope);
    `new`: the instance was just inserted, so it has no rows to replace yet; `locked`: what
    `lock` returned in this transaction (the member ids it read need not be read again);
    `later`: the new rows are kept there for the COMMIT (nothing in the request reads
    them again), else written at once."""
    lines = lines_of(data)
    if locked is not None and all(p["id_number"] in locked for p in lines):
        members = {n: i for n, i in locked.items() if i is not None}
    else:
        members = dict(
            session.execute(
                select(Member.id_number, Member.id).where(
                    Member.id_number.in_([p["id_number"] for p in lines])
                )
            ).all()
        )
    if not new:
        session.execute(delete(_PERSONS).where(_PERSONS.c.instance_id == row.id))
    if lines:  # one Core statement for any number of persons (the ORM's flush cost more)
        write(
            session,
            _LINES,
            [
                {
                    "instance_id": row.id,
                    "member_id": members.get(p["id_number"]),
                    "id_number": p["id_number"],
                    "name": p.get("name") or "",
                    "certificate_type": p.get("certificate_type"),
                    "line": p,
                    "position": i,
                }
                for i, p in enumerate(lines)
            ],
            later,
        )
    row.subject_name, row.subject_id_number, row.person_count = subject_of(data)
    member_id = subject_member(lines, members)
    if member_id:
        row.member_id = member_id


def subject_member(lines: list[dict], members: dict[str, int | None]) -> int | None:
    """The member a one-person form is about (`lines`: `lines_of` the form; `members`:
    ID number -> member id), whom its messages go to; None for any other form."""
    return members.get(lines[0]["id_number"]) if len(lines) == 1 else None


_MEMBERS = Member.__table__
# a Core statement on the table (the ORM's bulk UPDATE cost twice the Python for nothing)
_LOCK = (
    update(_MEMBERS)
    .where(_MEMBERS.c.id_number.in_(bindparam("numbers", expanding=True)))
    .values(id=_MEMBERS.c.id)
    .returning(_MEMBERS.c.id_number, _MEMBERS.c.id)
)


def lock(reads: Reads, data: dict) -> Callable[[], dict[str, int | None]]:
    """Serialize forms about the same persons: lock their member rows, in a fixed order.
    The lock is queued in `reads`, to go to the server with the reads after it (the
    facts'); once they have run, the function returned gives each ID number locked with
    its member's id (None: not a member yet).

    Taken before the facts are read, so of two forms listing one person at the same time
    the second sees the first (in flight) and is refused, instead of both passing.
    """
    numbers = sorted({n for n, _ in persons_on(data) if n})
    if not numbers:
        return dict
    answer = reads.add(_LOCK, {"numbers": numbers})
    return lambda: {**dict.fromkeys(numbers), **dict(answer.rows)}


# the passed learning that gives a person a certificate they do not hold yet (初始教育,
# 员升师); a renewal or a specialty change is never a first time (`learning_effect`)
FIRST_TIME_EFFECTS = ("issue_certificate", "upgrade_certificate")


def gives_first_certificate(defn: Definition) -> bool:
    """Whether a form of this business may be a person's first (是否首次)."""
    return defn.declarations.learning_effect in FIRST_TIME_EFFECTS


def first_enrolment(first_time: list[str]) -> ColumnElement[bool]:
    """True, for a form line (`InstancePerson` of a `ProcessInstance`), when the form's
    business gives a certificate not held yet (one of `first_time`) and no earlier form of
    the same kind lists this person for this certificate."""
    earlier, earlier_form = aliased(InstancePerson), aliased(ProcessInstance)
    same_type = func.coalesce(earlier.certificate_type, "") == func.coalesce(
        InstancePerson.certificate_type, ""
    )
    return ProcessInstance.process_key.in_(first_time) & ~exists().where(
        earlier.id_number == InstancePerson.id_number,
        earlier.instance_id == earlier_form.id,
        earlier_form.process_key == ProcessInstance.process_key,
        earlier_form.id < ProcessInstance.id,
        same_type,
    )


def held_specialty(column) -> ScalarSelect:
    """The specialty on the person's current certificate the line is about (its type, or
    any they hold when the line names none, a 监理员/专业监理工程师 one first): what a
    continuing, upgrade or specialty-change line shows when it has no specialties itself."""
    return (
        select(column)
        .where(
            Certificate.member_id == InstancePerson.member_id,
            Certificate.current(),
            or_(
                InstancePerson.certificate_type.is_(None),
                Certificate.type == InstancePerson.certificate_type,
            ),
        )
        .order_by(case((Certificate.type == "安全监理员", 1), else_=0), Certificate.id)
        .limit(1)
        .scalar_subquery()
    )
