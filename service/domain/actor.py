"""Who is acting: a signed-in account, or an applicant holding a unit's join code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The caller of a use case, with the organisation that scopes what it sees."""

    id: int | None
    name: str
    role: str
    unit_id: int | None = None
    agency_id: int | None = None
    member_id: int | None = None

    @classmethod
    def applicant(cls, unit_id: int, agency_id: int | None) -> Actor:
        """An applicant who is not signed in, acting through a unit's join code."""
        return cls(None, "申请人", "applicant", unit_id=unit_id, agency_id=agency_id)
