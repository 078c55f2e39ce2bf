"""Certificates issued and changed by passed learning: the effects a process may declare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Certificate, LearningTask, Member
from service.domain.dates import zh_date
from service.domain.person_facts import years_later
from service.services.workflow.effects import Change
from service.services.workflow.messages import recipients_of
from service.services.workflow.numbers import next_number

CERTIFICATE_CODES = {"安全监理员": "AQ", "监理员": "JL", "专业监理工程师": "ZJ"}


def certificate_number(session: Session, cert_type: str, today: date) -> str:
    """The next certificate number of the year for a type, e.g. JL2026000001."""
    code = CERTIFICATE_CODES[cert_type]
    number = next_number(session, f"CERT-{code}", str(today.year))
    return f"{code}{today.year}{number:06d}"


def _certificate(c: Change, member: Member, cert_type: str) -> Certificate | None:
    return c.session.scalars(
        select(Certificate).where(Certificate.member_id == member.id, Certificate.type == cert_type)
    ).first()


def _validity(c: Change, start: date) -> date:
    return years_later(start, c.years("certificate_validity_years", 3)) - timedelta(days=1)


def _initial_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    number = certificate_number(c.session, task.certificate_type, c.today)
    cert = _certificate(c, member, task.certificate_type)
    if cert is None:
        cert = Certificate(member_id=member.id, type=task.certificate_type, number=number)
        c.session.add(cert)
    cert.number = number
    cert.specialty_1, cert.specialty_2 = line.get("specialty_1"), line.get("specialty_2")
    cert.first_issued_on, cert.renewed_on = c.today, None
    cert.valid_until, cert.unit_name = _validity(c, c.today), c.unit_name()
    cert.status, cert.cancelled_on = "valid", None
    cert.instance_id, cert.updated_at = c.row.id, c.now


def _continuing_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    cert = _certificate(c, member, task.certificate_type)
    if cert is None:
        return
    # the new period runs on from the old expiry (or from today if it lapsed meanwhile)
    start = max(cert.valid_until + timedelta(days=1), c.today)
    cert.valid_until, cert.renewed_on = _validity(c, start), c.today
    cert.unit_name, cert.instance_id, cert.updated_at = c.unit_name(), c.row.id, c.now


def _upgrade_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    number = certificate_number(c.session, "专业监理工程师", c.today)
    old = _certificate(c, member, "监理员")
    target = _certificate(c, member, "专业监理工程师")
    if old is None:
        return
    if target is None:
        target, old_kept = old, False
    else:
        old_kept = True
    specialties = (old.specialty_1, old.specialty_2)
    target.type = "专业监理工程师"
    target.number = number
    target.specialty_1, target.specialty_2 = specialties
    target.first_issued_on, target.renewed_on = c.today, None
    target.valid_until, target.unit_name = _validity(c, c.today), c.unit_name()
    target.status, target.cancelled_on = "valid", None
    target.instance_id, target.updated_at = c.row.id, c.now
    if old_kept:  # an earlier, cancelled engineer certificate is reused; the 监理员 one ends
        old.status, old.cancelled_on, old.updated_at = "cancelled", c.today, c.now


def _specialty_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    for cert in c.session.scalars(
        select(Certificate).where(Certificate.member_id == member.id, Certificate.status == "valid")
    ):
        cert.specialty_1, cert.specialty_2 = line.get("specialty_1"), line.get("specialty_2")
        cert.instance_id, cert.updated_at = c.row.id, c.now


LearningEffect = Callable[[Change, LearningTask, dict, Member], None]

# what a passed learning task may declare (`learning_effect`, engine/declarations.py)
LEARNING_EFFECTS: dict[str, LearningEffect] = {
    "issue_certificate": _initial_passed,
    "renew_certificate": _continuing_passed,
    "upgrade_certificate": _upgrade_passed,
    "change_specialty": _specialty_passed,
}


def apply_learning_passed(c: Change, tasks: list[LearningTask], messages=None) -> None:
    """The certificate effect the form's process declares, for each person's passed learning;
    each certificate issued or changed is told to its holder and unit (业务消息)."""
    name = c.defn.declarations.learning_effect
    if name is None:
        return
    effect = LEARNING_EFFECTS[name]
    lines = {person.id_number: dict(person.line) for person, _ in c.persons()}
    with c.session.no_autoflush:  # a certificate is built over several look-ups
        for task in tasks:
            member = c.session.get(Member, task.member_id) if task.member_id else None
            if member is not None:
                held = _held(c, member) if messages is not None else {}
                effect(c, task, lines.get(task.id_number, {}), member)
                if messages is not None:
                    _tell(c, messages, member, held)


def _held(c: Change, member: Member) -> dict[int, tuple]:
    certs = c.session.scalars(select(Certificate).where(Certificate.member_id == member.id))
    return {cert.id: _facts(cert) for cert in certs}


def _facts(cert: Certificate) -> tuple:
    return (cert.type, cert.number, cert.valid_until, cert.specialty_1, cert.specialty_2)


def _tell(c: Change, messages, member: Member, held: dict[int, tuple]) -> None:
    """certificate_issued for each certificate of the member the effect wrote or changed."""
    c.session.flush()
    for cert in c.session.scalars(select(Certificate).where(Certificate.member_id == member.id)):
        if held.get(cert.id) == _facts(cert):
            continue
        messages.send(
            c.session,
            "certificate_issued",
            recipients_of(c.session, member.unit_id, [member.id]),
            {
                "person": member.name,
                "certificate_type": cert.type,
                "certificate_number": cert.number,
                "valid_until": zh_date(cert.valid_until),
            },
            f"certificate_issued:{cert.id}:{cert.valid_until.isoformat()}:{c.row.id}",
            c.now,
            member_id=member.id,
            unit_id=member.unit_id,
        )
