"""Facts from the database that a process's rules read, computed before the engine runs.

Each process names the facts it needs here; the rules (DMN) decide what they mean.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from service.db.models import Member, Membership, ProcessInstance


def _member_join(session: Session, data: dict, today: date, instance_id: int | None) -> dict:
    id_number = str(data.get("id_number") or "").strip().upper()
    is_member = exists().where(
        Member.id_number == id_number,
        Membership.member_id == Member.id,
        Membership.valid_until >= today,
    )
    in_flight = exists().where(
        ProcessInstance.process_key == "member_join",
        ProcessInstance.subject_id_number == id_number,
        ProcessInstance.finished.is_(False),
    )
    if instance_id is not None:
        in_flight = in_flight.where(ProcessInstance.id != instance_id)
    member, flight = session.execute(select(is_member, in_flight)).one()
    return {"is_member": bool(member), "join_in_flight": bool(flight)}


# the keys the providers add to task data (shown to nobody: the API strips them)
FACT_KEYS = frozenset({"is_member", "join_in_flight"})

FACTS: dict[str, Callable[[Session, dict, date, int | None], dict]] = {
    "member_join": _member_join,
}


def facts_for(
    session: Session, process_key: str, data: dict, today: date, instance_id: int | None = None
) -> dict:
    """The database facts a process's rules need, for the data about to be submitted."""
    provider = FACTS.get(process_key)
    return provider(session, data, today, instance_id) if provider else {}
