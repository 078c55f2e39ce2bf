"""The registry of functions that BPMN scripts, conditions and DMN cells may call.

Designers see exactly these names; anything else is refused by the sandbox. Values
passed in and out are JSON-friendly (dates as ISO text) because task data is stored.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from service.domain.validation import InvalidValue, age_on, parse_id
from service.engine.frozen import freeze, hand_out


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def identity_facts(id_type: str, id_number: str, on: date, birth_date: str | None = None) -> dict:
    """Validity, age on `on`, birth date and gender of an identity document."""
    facts: dict[str, Any] = {
        "valid": False,
        "problem": None,
        "age": None,
        "birth_date": None,
        "gender": None,
    }
    try:
        info = parse_id(id_type, id_number or "", today=on)
    except InvalidValue as exc:
        facts["problem"] = exc.message
        return facts
    born = info.birth_date or _as_date(birth_date)
    if born is None:
        facts["problem"] = "该证件不含出生日期，请填写出生日期"
        return facts
    facts.update(valid=True, age=age_on(born, on), birth_date=born.isoformat(), gender=info.gender)
    return facts


def years_between(start: str, end: str) -> int:
    """Whole years from one ISO date to another."""
    return age_on(_as_date(start), _as_date(end))


def money_total(lines: Iterable[Mapping[str, Any]], *fields: str) -> str:
    """The sum of money fields (text such as "60.00") over lines, as text with 2 decimals."""
    total = Decimal("0")
    for line in lines:
        for name in fields or ("support_fee", "membership_fee"):
            value = line.get(name) if isinstance(line, Mapping) else None
            if value in (None, ""):
                continue
            try:
                total += Decimal(str(value))
            except InvalidOperation as exc:
                raise ValueError(f"金额格式错误：{value!r}") from exc
    return f"{total:.2f}"


def end_of_day(day: str | None) -> str | None:
    """The last second of an ISO date in Asia/Shanghai, as an ISO timestamp (for timers)."""
    if not day:
        return None
    return f"{_as_date(day).isoformat()}T23:59:59+08:00"


def has_failures(results: Iterable[Any]) -> bool:
    """Whether any per-person rule result holds a reason."""
    return any(bool(r) for r in results or [])


def dated_helpers(today: Callable[[], str]) -> dict[str, Callable]:
    """The helpers that read the date, on the clock of the engine run (`today`: ISO text)."""

    def id_facts(id_type: str, id_number: str, on: str | None, birth_date: str | None = None):
        """Validity, age on `on` (empty: today), birth date and gender of an identity document."""
        return identity_facts(id_type, id_number, _as_date(on or today()), birth_date)

    return {"today": today, "id_facts": id_facts}


def policy_helpers(policy: Mapping[str, Any]) -> dict[str, Callable]:
    """The helpers of one definition version that read no date (its policy parameters...)."""
    # shared by every instance of the version: scripts get a copy they cannot change
    frozen_policy = freeze(dict(policy))

    def policy_value(name: str) -> Any:
        """A policy parameter (rules/policy.json), read-only: lists as tuples."""
        if name not in frozen_policy:
            raise KeyError(f"rules/policy.json 中没有参数 {name}")
        return hand_out(frozen_policy[name])

    def conflicts(keys: Iterable[str], process_key: str) -> list[str]:
        """The businesses in `keys` that may not run at the same time as `process_key`."""
        allowed = set(policy.get("business_combinations", {}).get(process_key, []))
        return sorted({k for k in keys or [] if k not in allowed})

    def business_names(keys: Iterable[str], names: Mapping[str, str] | None = None) -> str:
        """Chinese names of business types, joined for a sentence.

        `names` is the request's `process_names` (each process's BPMN name, passed in by
        the service); a version stored before that kept the names in its policy.json.
        """
        names = names if names is not None else policy.get("business_names", {})
        return "、".join(names.get(k, k) for k in keys or [])

    return {
        "years_between": years_between,
        "policy": policy_value,
        "money_total": money_total,
        "end_of_day": end_of_day,
        "has_failures": has_failures,
        "conflicts": conflicts,
        "business_names": business_names,
    }


def build_helpers(policy: Mapping[str, Any], today: Callable[[], str]) -> dict[str, Callable]:
    """The whole helper registry for one definition version on the clock behind `today`."""
    return {**policy_helpers(policy), **dated_helpers(today)}
