"""单位信息 the unit's administrators keep up to date (manual 3.15): the 工商信息 of the
business licence and the unit's qualifications (资质: 住建监理资质 and 其他资质).

The unit's name, credit code and agency are not edited here: the name changes through a
reviewed 单位名称变更, the others through the secretariat. Every field is checked and each
problem is reported on its own field (`registration.founded_on`,
`qualifications.2.valid_until`); a refused change changes nothing. Texts are kept without
their surrounding spaces, and refused with control or invisible characters in them (a
right-to-left override, a zero-width space; line breaks only in 经营范围). The dates of the
licence (企业成立时间, 核准日期) cannot lie after today; a qualification's 有效期至 may be
past (a unit may keep its history), and the page marks it 已过期. A qualification sent
with nothing in it is refused at its index over the API; the page's own blank rows (rows
offered to add one) are left out.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date

from service.db.locks import hold_row
from service.db.models import Unit, utcnow
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid
from service.domain.validation import invisible_problem, iso_date
from service.services.membership.unit_admin import own_unit, unit_profile
from service.services.workflow import audit


@dataclass(frozen=True)
class Field:
    name: str
    label: str
    kind: str = "text"  # text | date | count
    limit: int = 100
    not_after_today: bool = False  # a date that cannot lie in the future (the licence's)
    lines: bool = False  # a text of several lines (the page's textarea)


# the 工商信息 block of the manual's 单位信息 screen, in its order
REGISTRATION = (
    Field("former_name", "曾用名", limit=200),
    Field("founded_on", "企业成立时间", "date", not_after_today=True),
    Field("registered_capital", "注册资本", limit=50),
    Field("registration_status", "登记状态", limit=20),
    Field("registration_authority", "登记机关", limit=100),
    Field("approved_on", "核准日期", "date", not_after_today=True),
    Field("industry", "所属行业", limit=50),
    Field("staff_size", "人员规模", "count"),
    Field("address", "企业注册地址", limit=200),
    Field("business_scope", "经营范围", limit=2000, lines=True),
)
QUALIFICATION_CATEGORIES = ("住建监理资质", "其他资质")
QUALIFICATION = (
    Field("name", "资质名称", limit=100),
    Field("grade", "资质等级", limit=30),
    Field("number", "证书编号", limit=50),
    Field("issuer", "发证机关", limit=100),
    Field("valid_until", "有效期至", "date"),
)
MAX_QUALIFICATIONS = 30


def _value(errors: dict, key: str, field: Field, raw, today: date):
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if field.kind == "date":
        try:
            day = iso_date(str(raw).strip())
        except ValueError:
            errors[key] = f"「{field.label}」应为日期，如 2013-03-05"
            return None
        if field.not_after_today and day > today:
            errors[key] = f"「{field.label}」不能晚于今天"
            return None
        return day.isoformat()
    if field.kind == "count":
        text = str(raw).strip()
        if not text.isdigit() or int(text) > 10_000_000:
            errors[key] = f"「{field.label}」应为不小于0的整数"
            return None
        return int(text)
    if not isinstance(raw, str):
        errors[key] = f"「{field.label}」应为文字"
        return None
    text = raw.strip()
    if len(text) > field.limit:
        errors[key] = f"「{field.label}」不能超过{field.limit}个字"
        return None
    problem = invisible_problem(text, field.lines)
    if problem:  # a right-to-left override would turn what the page shows after it around
        errors[key] = f"「{field.label}」{problem}"
        return None
    return text


def check_registration(data, errors: dict, today: date) -> dict:
    """The 工商信息 as stored: known fields only, empty ones left out."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        errors["registration"] = "工商信息格式不正确"
        return {}
    unknown = sorted(set(data) - {f.name for f in REGISTRATION})
    if unknown:
        errors["registration"] = "工商信息中有不认识的字段：" + "、".join(unknown)
    checked = {}
    for field in REGISTRATION:
        value = _value(errors, f"registration.{field.name}", field, data.get(field.name), today)
        if value is not None:
            checked[field.name] = value
    founded, approved = checked.get("founded_on"), checked.get("approved_on")
    if founded and approved and approved < founded:
        errors["registration.approved_on"] = "「核准日期」不能早于「企业成立时间」"
    return checked


def check_qualifications(rows, errors: dict, today: date, drop_blank: bool = False) -> list[dict]:
    """The qualifications as stored: each with its category and name. A row with nothing in
    it is refused at its index, unless `drop_blank` (the page's blank rows to add one)."""
    if rows is None:
        return []
    if not isinstance(rows, list):
        errors["qualifications"] = "资质应为列表"
        return []
    if len(rows) > MAX_QUALIFICATIONS:
        errors["qualifications"] = f"资质最多{MAX_QUALIFICATIONS}条"
        return []
    checked = []
    for i, row in enumerate(rows):
        if not isinstance(row, dict):
            errors[f"qualifications.{i}"] = "资质格式不正确"
            continue
        unknown = sorted(set(row) - {"category"} - {f.name for f in QUALIFICATION})
        if unknown:  # as 工商信息's: not dropped unsaid
            errors[f"qualifications.{i}"] = "资质中有不认识的字段：" + "、".join(unknown)
        values = {
            f.name: _value(errors, f"qualifications.{i}.{f.name}", f, row.get(f.name), today)
            for f in QUALIFICATION
        }
        if not any(values.values()) and not any(
            k.startswith(f"qualifications.{i}.") for k in errors
        ):
            if not drop_blank:
                errors[f"qualifications.{i}"] = (
                    "该条资质未填写任何内容：请填写「资质名称」等，或删除该条"
                )
            continue
        category = row.get("category")
        if category not in QUALIFICATION_CATEGORIES:
            errors[f"qualifications.{i}.category"] = "资质类别应为：" + "、".join(
                QUALIFICATION_CATEGORIES
            )
        if not values["name"]:
            errors.setdefault(f"qualifications.{i}.name", "请填写「资质名称」")
        checked.append({"category": category, **{k: v for k, v in values.items() if v}})
    return checked


CHANGED = (
    "打开本页后，单位信息已被修改（可能是本单位的其他账号在另一页面保存）：本页的修改尚未保存。"
    "请先在“单位信息”中查看最新内容；如仍要以本页内容为准，请核对后再次保存。"
)


class StaleInformation(Conflict):
    """The unit's information changed since the page (or the API's `If-Match`) saw it."""


def fingerprint(registration, qualifications) -> str:
    """What an edit page showed of the unit's information, in short (its save's `seen`)."""
    shown = {"registration": registration or {}, "qualifications": qualifications or []}
    text = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def expired(qualification: dict, today: date) -> bool:
    """Whether a qualification's 有效期至 has passed (kept, shown as 已过期)."""
    until = qualification.get("valid_until")
    return bool(until) and str(until) < today.isoformat()


def update_unit_information(
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    registration,
    qualifications,
    *,
    today: date,
    drop_blank: bool = False,
    seen: str | None = None,
) -> dict:
    """Replace the unit's 工商信息 and 资质 (its admins only); the unit profile after.
    `today`: the business day the licence's dates may not lie after; `drop_blank`: leave the
    page's blank qualification rows out instead of refusing them; `seen`: the `fingerprint`
    of what the page showed — if another of the unit's accounts saved since, nothing is
    saved (two tabs or two admins do not silently overwrite each other)."""
    unit = own_unit(uow, actor, unit_id)
    if seen is not None:
        hold_row(uow.session, Unit, unit.id)  # two saves go one after the other: then compare
        uow.session.refresh(unit)
        if seen != fingerprint(unit.registration, unit.qualifications):
            raise StaleInformation(CHANGED)
    errors: dict[str, str] = {}
    checked_registration = check_registration(registration, errors, today)
    checked_qualifications = check_qualifications(qualifications, errors, today, drop_blank)
    if errors:
        raise FormInvalid(errors)
    before = {"registration": unit.registration, "qualifications": unit.qualifications}
    unit.registration = checked_registration
    unit.qualifications = checked_qualifications
    audit.write(
        uow.session,
        audit.Step(actor, "unit_info_update", detail={"unit_id": unit.id, "before": before}),
        utcnow(),
    )
    uow.commit()
    return unit_profile(uow, actor)
