"""A person's learning, as the diagram waits for it: a learning task opens when the wait
for the person's `learning_passed` message starts, and expires when its deadline fires.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Certificate, InstancePerson, LearningTask, ProcessInstance
from service.db.uow import Later
from service.domain.dates import zh_date
from service.domain.person_facts import CERTIFICATE_TYPES
from service.services.workflow.context import SHANGHAI
from service.services.workflow.messages import Messages, names_in_short, recipients_of

LEARNING_MESSAGE = "learning_passed"
# the person failed the exam as many times as the policy allows (max_exam_attempts)
LEARNING_FAILED = "learning_failed"
OPEN = ("开课未学习", "学习中")
PASSED, EXPIRED, FAILED = "已通过", "已过期", "未通过"


def _deadline(due: str | None) -> date | None:
    if not due:
        return None
    moment = datetime.fromisoformat(due)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return (moment.astimezone(UTC).replace(tzinfo=None) + SHANGHAI).date()


def open_learning(
    session: Session,
    row: ProcessInstance,
    events: list[dict],
    now,
    messages: Messages | None = None,
    process_name: str = "",
    later: Later | None = None,
) -> None:
    """A wait for a person's learning result opens that person's learning task, once, and
    tells the person (业务消息 learning_opened) and the unit — one message for all the
    persons opened at once, as the bill's names them (a 24-person form is one notice, not
    24): the messages written in one statement, now or kept in `later` for the COMMIT
    (after the move's own, kept before)."""
    waits = {
        ev["correlation"]: ev
        for ev in events
        if ev["kind"] == "message" and ev["name"] == LEARNING_MESSAGE and ev.get("correlation")
    }
    if not waits:
        return
    existing = set(
        session.scalars(select(LearningTask.id_number).where(LearningTask.instance_id == row.id))
    )
    new = [n for n in waits if n not in existing]
    if not new:
        return
    # the deadline is the timer waiting beside the message, for the same person
    deadlines = {
        ev["correlation"]: ev["due"] for ev in events if ev["kind"] == "timer" and ev["due"]
    }
    persons = {
        p.id_number: p
        for p in session.scalars(
            select(InstancePerson).where(
                InstancePerson.instance_id == row.id, InstancePerson.id_number.in_(new)
            )
        )
    }
    held = _held_types(session, [p for p in persons.values() if not p.certificate_type])
    notices, outbox = [], []
    for n in new:
        person = persons.get(n)
        data = waits[n].get("data") or {}
        deadline = _deadline(deadlines.get(n))
        if messages is not None and person is not None and person.member_id is not None:
            more = messages.rows(
                "learning_opened",
                recipients_of(session, None, [person.member_id]),
                _opened(row, process_name, person.name, deadline),
                f"learning_opened:{row.id}:{n}",
                now,
                member_id=person.member_id,
                unit_id=row.unit_id,
            )
            notices += more[0]
            outbox += more[1]
        session.add(
            LearningTask(
                instance_id=row.id,
                member_id=person.member_id if person else None,
                unit_id=row.unit_id,
                id_number=n,
                name=person.name if person else "",
                process_key=row.process_key,
                certificate_type=(person.certificate_type or held.get(person.member_id))
                if person
                else None,
                required_hours=data.get("required_hours") or 0,
                deadline=deadline,
                opened_at=now,
                updated_at=now,
            )
        )
    if messages is not None and row.unit_id is not None:  # the unit: once for them all
        names = [persons[n].name if n in persons else n for n in new]
        ends = [d for d in (_deadline(deadlines.get(n)) for n in new) if d]
        alone = persons.get(new[0]) if len(new) == 1 else None
        more = messages.rows(
            "learning_opened",
            recipients_of(session, row.unit_id, []),
            _opened(row, process_name, names_in_short(names), min(ends) if ends else None),
            f"learning_opened:{row.id}:{new[0]}:unit",
            now,
            member_id=alone.member_id if alone else None,
            unit_id=row.unit_id,
        )
        notices += more[0]
        outbox += more[1]
    if messages is not None:
        if later is None:
            messages.write(session, notices, outbox, now)
        else:
            messages.keep(later, notices, outbox, now)


def _opened(row: ProcessInstance, process_name: str, person: str, deadline) -> dict:
    """The fields of a learning_opened message about `person` (one name, or several)."""
    return {
        "business_key": row.business_key,
        "process_name": process_name,
        "person": person,
        "deadline": zh_date(deadline) if deadline else "学习期限",
    }


def _held_types(session: Session, persons: list[InstancePerson]) -> dict[int, str]:
    """The certificate types each of these persons holds now (valid, current), by member,
    as 培训类别 and 证书类型 name a learning that the form gives no type for: 员升师 learns on
    the 监理员 certificate, 专业变更 on every certificate held (安全监理员、监理员)."""
    members = [p.member_id for p in persons if p.member_id is not None]
    if not members:
        return {}
    rows = session.execute(
        select(Certificate.member_id, Certificate.type).where(
            Certificate.member_id.in_(members),
            Certificate.status == "valid",
            Certificate.current(),
        )
    )
    found: dict[int, set[str]] = {}
    for member_id, kind in rows:
        found.setdefault(member_id, set()).add(kind)
    order = {kind: i for i, kind in enumerate(CERTIFICATE_TYPES)}
    return {
        member_id: "、".join(sorted(kinds, key=lambda k: order.get(k, len(order))))
        for member_id, kinds in found.items()
    }


def expire(session: Session, row: ProcessInstance, id_number: str, now) -> None:
    """The person's learning task, still open when its deadline fired, has expired."""
    task = session.scalars(
        select(LearningTask).where(
            LearningTask.instance_id == row.id, LearningTask.id_number == id_number
        )
    ).first()
    if task is not None and task.status in OPEN:
        task.status, task.updated_at = EXPIRED, now
