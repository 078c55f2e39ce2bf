"""The registry of functions that BPMN scripts, conditions and DMN cells may call.

Designers see exactly these names; anything else is refused by the sandbox. Values
passed in and out are JSON-friendly (dates as ISO text) because task data is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date
from typing import Any

from service.domain.validation import InvalidValue, age_on, parse_id


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def id_facts(id_type: str, id_number: str, on: str, birth_date: str | None = None) -> dict:
    """Validity, age on `on`, birth date and gender of an identity document."""
    facts: dict[str, Any] = {
        "valid": False,
        "problem": None,
        "age": None,
        "birth_date": None,
        "gender": None,
    }
    on_date = _as_date(on) or date.today()
    try:
        info = parse_id(id_type, id_number or "", today=on_date)
    except InvalidValue as exc:
        facts["problem"] = exc.message
        return facts
    born = info.birth_date or _as_date(birth_date)
    if born is None:
        facts["problem"] = "该证件不含出生日期，请填写出生日期"
        return facts
    facts.update(
        valid=True, age=age_on(born, on_date), birth_date=born.isoformat(), gender=info.gender
    )
    return facts


def years_between(start: str, end: str) -> int:
    """Whole years from one ISO date to another."""
    return age_on(_as_date(start), _as_date(end))


def build_helpers(policy: Mapping[str, Any], today: Callable[[], str]) -> dict[str, Callable]:
    """The helper registry for one definition version (its policy parameters)."""

    def policy_value(name: str) -> Any:
        if name not in policy:
            raise KeyError(f"rules/policy.json 中没有参数 {name}")
        return policy[name]

    return {
        "id_facts": id_facts,
        "years_between": years_between,
        "policy": policy_value,
        "today": today,
    }
