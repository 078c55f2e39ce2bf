"""Certificates issued and changed by passed learning: the effects a process may declare."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from service.db.models import Certificate, LearningTask, Member
from service.domain.dates import zh_date
from service.domain.person_facts import next_day, term_end
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
    """The person's current certificate of a type (not one replaced by a newer one)."""
    return c.session.scalars(
        select(Certificate).where(
            Certificate.member_id == member.id,
            Certificate.type == cert_type,
            Certificate.current(),
        )
    ).first()


def _validity(c: Change, start: date) -> date:
    """The last day of a certificate issued or renewed on `start`: the day before the same date
    its term's years later (`term_end`: from 29 February, 28 February as from 1 March)."""
    return term_end(start, c.years("certificate_validity_years", 3))


def _supersede(c: Change, old: Certificate | None, number: str, status: str) -> None:
    """The old certificate stays, replaced by `number`: the lookup still finds it, with a
    status that is no longer 有效."""
    if old is None:
        return
    # an upgraded certificate ends as such even if it lapsed during the learning; one still
    # valid when reissued is cancelled (an expired or cancelled one keeps its status)
    if old.status == "valid" and (status == "upgraded" or old.valid_until >= c.today):
        old.status, old.cancelled_on = status, c.today
    old.superseded_by, old.updated_at = number, c.now
    c.session.flush()  # the one current certificate per type is free before the new one


def _issue(
    c: Change, member: Member, cert_type: str, number: str, specialties: tuple
) -> Certificate:
    """A new certificate record, issued today with the form's unit name."""
    cert = Certificate(
        member_id=member.id,
        type=cert_type,
        number=number,
        specialty_1=specialties[0],
        specialty_2=specialties[1],
        first_issued_on=c.today,
        renewed_on=None,
        valid_until=_validity(c, c.today),
        unit_name=c.unit_name(),
        status="valid",
        cancelled_on=None,
        instance_id=c.row.id,
        updated_at=c.now,
    )
    c.session.add(cert)
    return cert


def _initial_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    number = certificate_number(c.session, task.certificate_type, c.today)
    # a certificate held before (cancelled, or expired) stays under its own number
    _supersede(c, _certificate(c, member, task.certificate_type), number, "cancelled")
    specialties = (line.get("specialty_1"), line.get("specialty_2"))
    _issue(c, member, task.certificate_type, number, specialties)


def _upgraded_into(c: Change, member: Member, cert_type: str) -> tuple[Certificate | None, ...]:
    """The person's certificate of a type that an upgrade replaced (已升级), and the current
    certificate that replaced it; (None, None) when there is none."""
    old = c.session.scalars(
        select(Certificate)
        .where(
            Certificate.member_id == member.id,
            Certificate.type == cert_type,
            Certificate.status == "upgraded",
        )
        .order_by(Certificate.id.desc())
    ).first()
    if old is None or old.superseded_by is None:
        return None, None
    new = c.session.scalars(
        select(Certificate).where(Certificate.number == old.superseded_by, Certificate.current())
    ).first()
    return (old, new) if new is not None else (None, None)


def _continuing_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    renewed = cert = _certificate(c, member, task.certificate_type)
    if cert is None:
        # 延续 and 员升师 together (FAQ 3.7), the upgrade passed first: the renewal paid for
        # on the 监理员 certificate goes to the engineer one that replaced it
        renewed, cert = _upgraded_into(c, member, task.certificate_type)
        if cert is None:
            return
    # the new period runs on from the old expiry (or from today if it lapsed meanwhile); a
    # certificate already valid for longer keeps its own
    start = max(next_day(renewed.valid_until), c.today)
    cert.valid_until, cert.renewed_on = max(cert.valid_until, _validity(c, start)), c.today
    cert.unit_name, cert.instance_id, cert.updated_at = c.unit_name(), c.row.id, c.now


def _upgrade_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    old = _certificate(c, member, "监理员")
    if old is None:
        return
    number = certificate_number(c.session, "专业监理工程师", c.today)
    specialties = (old.specialty_1, old.specialty_2)
    # the 监理员 certificate ends as 已升级; an earlier (cancelled) engineer one stays too
    _supersede(c, _certificate(c, member, "专业监理工程师"), number, "cancelled")
    _supersede(c, old, number, "upgraded")
    issued = _issue(c, member, "专业监理工程师", number, specialties)
    # a 监理员 certificate renewed beyond the new one's term (延续 passed first) loses nothing
    issued.valid_until = max(issued.valid_until, old.valid_until)


def _specialty_passed(c: Change, task: LearningTask, line: dict, member: Member) -> None:
    for cert in c.session.scalars(
        select(Certificate).where(
            Certificate.member_id == member.id,
            Certificate.status == "valid",
            Certificate.current(),
        )
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
