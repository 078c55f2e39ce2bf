"""Who may do a business, and why not: the process's eligibility table, before a start.

The manual's screens hide ineligible persons; here every person is listed with the
reasons. The table is the one the process's business rule task calls at start, evaluated
with the same context, so this answer and the check at start agree.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import false, or_, select

from service.db.models import Member, Unit
from service.db.uow import UnitOfWork
from service.domain import disclosure
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.domain.person_facts import (
    CERTIFICATE_TYPES,
    ORDINARY,
    PROFESSIONAL,
    person_facts,
)
from service.domain.validation import clean_code, clean_name
from service.engine import Definition
from service.engine.formats import FormValidator
from service.engine.helpers import money_total
from service.services.workflow.context import Context
from service.services.workflow.facts import person_records
from service.services.workflow.paging import page_of
from service.services.workflow.persons import line_errors, normalize
from service.services.workflow.scope import administers_unit, is_unit_admin, sees_every_person

CANCELLATION_DECISION = "certificate_cancellation_membership"
FEE_DECISION = "business_fee"  # the fee table a process calls after the association's review
ELIGIBLE_BATCH = 200  # members judged at a time when every eligible one is wanted


def _definition(ctx: Context, key: str) -> Definition:
    defn = ctx.definitions.current.get(key)
    if defn is None:
        raise NotFound(f"业务类型 {key} 不存在")
    if not defn.eligibility_decision:
        raise FormInvalid({"process": f"“{defn.name}”不按单位人员核验办理条件"})
    return defn


def _line_fields(defn: Definition) -> tuple[dict, list]:
    """The properties and required fields of one person line on the start form."""
    persons = defn.start_fields.get("persons") or {}
    items = persons.get("items") or {}
    props, required = dict(items.get("properties") or {}), list(items.get("required") or [])
    for sub in items.get("allOf") or []:
        props.update(sub.get("properties") or {})
        required += sub.get("required") or []
    return props, required


def _check_lines(defn: Definition, lines: list) -> None:
    """Each line's fields as the start form types them; materials may still be missing."""
    props, required = _line_fields(defn)
    files = {
        path.rsplit(".", 1)[-1] for path in defn.start_file_fields if path.startswith("persons.")
    }
    wanted = [f for f in required if f != "name" and f not in files]
    schema = {"$id": defn.start_form.get("$id", ""), "type": "object", "properties": props}
    validator = FormValidator(schema, registry=defn.registry)
    errors: dict[str, str] = {}
    for i, line in enumerate(lines):
        if not isinstance(line, dict):
            errors[f"persons.{i}"] = "每名人员应为一个对象"
            continue
        for field in wanted:
            if line.get(field) in (None, ""):
                title = props.get(field, {}).get("title", field)
                errors[f"persons.{i}.{field}"] = f"请填写第{i + 1}行「{title}」"
        for err in validator.iter_errors(line):
            field = str(err.absolute_path[0]) if err.absolute_path else "_line"
            title = props.get(field, {}).get("title", field)
            errors.setdefault(f"persons.{i}.{field}", f"第{i + 1}行「{title}」填写有误")
    if errors:
        raise FormInvalid(errors)


def _context(
    defn: Definition, form: dict, line: dict, facts: dict, unit: Unit | None, today, names: dict
):
    return {
        **form,
        "person": line,
        "facts": facts,
        "process_key": defn.key,
        "process_names": names,
        "initiator_role": "unit_admin",
        "submitted_on": today.isoformat(),
        "unit_name": unit.name if unit else None,
    }


def _judge(defn: Definition, context: dict, now: datetime) -> dict:
    found = defn.decisions.evaluate(defn.eligibility_decision, context, now)
    reasons = disclosure.reason_list(found.get("failure_reasons"))  # UNIQUE: one string
    answer = {"eligible": not reasons, "reasons": reasons}
    if CANCELLATION_DECISION in defn.decisions and "certificate_types" in context["person"]:
        facts = context["facts"]
        cancelling = set(context["person"].get("certificate_types") or [])
        remaining = [
            t
            for t, c in facts.get("certificates", {}).items()
            if c["status"] != "cancelled" and t not in cancelling
        ]
        outcome = defn.decisions.evaluate(
            CANCELLATION_DECISION, {"remaining_types": remaining}, now
        )
        answer["cancels_membership"] = bool(outcome.get("cancels_membership"))
        answer["membership_note"] = outcome.get("membership_note")
    return answer


def _shown(answer: dict, facts: dict) -> dict:
    """The answer as the form's unit may read it: all of it for its own people; for anyone
    else only whether they can be put on the form, with a generic reason (no dates, bills or
    businesses, nothing about the membership a cancellation would end)."""
    if disclosure.employs(facts):
        return answer
    return {
        "eligible": answer["eligible"],
        "reasons": disclosure.person_reasons(answer["reasons"], facts),
    }


def _only_level(facts: dict) -> str | None:
    """The one membership level a person holds (valid or lapsed, not cancelled), if one."""
    held = [
        level
        for level, key in (
            (ORDINARY, "ordinary_membership"),
            (PROFESSIONAL, "professional_membership"),
        )
        if facts.get(key) in ("valid", "expired")
    ]
    return held[0] if len(held) == 1 else None


def unit_eligibility(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    process: str,
    certificate_type: str | None = None,
    reason: str | None = None,
    page: int = 1,
    page_size: int = 50,
    member_ids: list[int] | None = None,
    q: str | None = None,
) -> dict:
    """Every member of a unit, eligible or not for a business, with the reasons; optionally
    only some of them (`member_ids`), or those whose name or ID number `q` finds (a name in
    part, an ID number in full or by its last four characters)."""
    if not administers_unit(actor, unit_id) and not sees_every_person(actor):
        raise NotFound("单位不存在")
    unit = uow.session.get(Unit, unit_id)
    if unit is None:
        raise NotFound("单位不存在")
    defn = _definition(ctx, process)
    props, required = _line_fields(defn)
    if certificate_type is not None and certificate_type not in CERTIFICATE_TYPES:
        raise FormInvalid({"certificate_type": "证书类型应为 " + "、".join(CERTIFICATE_TYPES)})
    if "certificate_type" in required and certificate_type is None:
        raise FormInvalid({"certificate_type": f"“{defn.name}”须先选择证书类型"})
    form = {"reason": reason} if reason else {}
    if "reason" in defn.start_fields and not reason:
        options = defn.start_fields["reason"].get("enum") or []
        form = {"reason": options[-1]} if options else {}
    today, names = ctx.today(), ctx.definitions.names()
    now = ctx.now()  # the moment the rules' today() sees
    stmt = select(Member).where(Member.unit_id == unit_id)
    if member_ids is not None:
        stmt = stmt.where(Member.id.in_(member_ids))
    if q and q.strip():
        code = clean_code(q)  # an ID number typed with full-width digits or spaces
        stmt = stmt.where(
            or_(
                Member.name.contains(clean_name(q), autoescape=True),
                Member.id_number == code,
                Member.id_number.endswith(code, autoescape=True) if len(code) == 4 else false(),
            )
        )
    total, rows = page_of(uow.session, stmt, Member.id, page, page_size)
    members = list(rows.scalars())
    records = person_records(uow.session, [m.id_number for m in members])
    items = []
    for m in members:
        facts = person_facts(records.get(m.id_number), m.id_number, m.name, unit_id, today)
        line = {"id_number": m.id_number, "name": m.name}
        if "certificate_type" in props and certificate_type:
            line["certificate_type"] = certificate_type
        if "certificate_types" in props:
            held = [t for t, c in facts["certificates"].items() if c["status"] != "cancelled"]
            line["certificate_types"] = [certificate_type] if certificate_type else held
        context = _context(defn, form, line, facts, unit, today, names)
        answer = _shown(_judge(defn, context, now), facts)
        item = {"member_id": m.id, "id_number": m.id_number, "name": m.name, **answer}
        if "member_level" in props and disclosure.employs(facts) and (only := _only_level(facts)):
            item["member_level"] = only  # the line's 会员级别 needs no choosing
        items.append(item)
    return {
        "process": defn.key,
        "process_name": defn.name,
        "certificate_type": certificate_type,
        "items": items,
        "total": total,
        "page": page,
        "page_size": page_size,
    }


def eligible_member_ids(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    unit_id: int,
    process: str,
    limit: int,
    certificate_type: str | None = None,
    reason: str | None = None,
    q: str | None = None,
) -> list[int]:
    """The ids of a unit's members eligible for a business whom `q` finds (every member
    without `q`), in the list's order: all of them, or the first `limit` + 1 when there are
    more than `limit` (a caller refuses then, and the rest need not be judged)."""
    found: list[int] = []
    page = 1
    while True:
        listing = unit_eligibility(
            ctx,
            uow,
            actor,
            unit_id,
            process,
            certificate_type=certificate_type,
            reason=reason,
            q=q,
            page=page,
            page_size=ELIGIBLE_BATCH,
        )
        found += [item["member_id"] for item in listing["items"] if item["eligible"]]
        if len(found) > limit:
            return found[: limit + 1]
        if page * ELIGIBLE_BATCH >= listing["total"]:
            return found
        page += 1


def _line_refusals(errors: dict[str, str], i: int, props: dict) -> list[str]:
    """The errors of line `i` among `errors` (persons.line_errors, by path), each naming its
    field: “专业2：专业“…”不在专业字典中”."""
    prefix, said = f"persons.{i}.", []
    for path, message in errors.items():
        if not path.startswith(prefix):
            continue
        field = path[len(prefix) :]
        title = props.get(field, {}).get("title", field)
        said.append(message if title in message else f"{title}：{message}")
    return said


def preview(ctx: Context, uow: UnitOfWork, actor: Actor, key: str, data: dict) -> dict:
    """What the rules would say of each person on a form, before it is submitted, and for a
    business with a fee each eligible person's fee and the total (when every person is
    eligible and employed by the unit: a fee may tell of a membership, as a reason would).
    A line the start would refuse as filled in (persons.line_errors, the start's own check:
    a person twice, a specialty not in the dictionary or twice) is not eligible either: its
    reasons say that first, then the rules'. Materials may still be missing.
    A form of one person (no `persons` list) is not previewed: its diagram builds the person
    the rules read, and its start says the reasons."""
    if not is_unit_admin(actor):
        raise NotFound("没有可预览的业务")
    defn = _definition(ctx, key)
    if "persons" not in defn.start_fields:  # one person, checked by the diagram's own script
        message = (
            f"“{defn.name}”每张表单只办理一名人员，没有人员名单可预检：请直接提交"
            f"（POST /api/v1/processes/{key}/instances），不符合办理条件时会说明原因；"
            "本单位哪些人员可以办理，可查询 GET /api/v1/units/{单位编号}/eligibility"
            f"?process={key}"
        )
        raise FormInvalid({"process": message}, message)
    if not isinstance(data, dict):
        raise FormInvalid({"data": "data 应为 JSON 对象"})
    payload = normalize(data)
    lines = payload.get("persons")
    if not isinstance(lines, list) or not lines:
        raise FormInvalid({"persons": "请至少填写一名人员"})
    most = defn.start_fields["persons"].get("maxItems")
    if isinstance(most, int) and len(lines) > most:  # as the start refuses it, before any work
        message = defn.start_fields["persons"].get("x-error") or f"报名人员不能超过{most}人"
        raise FormInvalid({"persons": message}, message)
    _check_lines(defn, lines)
    refused = line_errors(uow.session, payload)
    props, _ = _line_fields(defn)
    unit = uow.session.get(Unit, actor.unit_id)
    today, names = ctx.today(), ctx.definitions.names()
    now = ctx.now()  # the moment the rules' today() sees
    records = person_records(uow.session, [p["id_number"] for p in lines])
    form = {k: v for k, v in payload.items() if k != "persons"}
    charged = FEE_DECISION in defn.decisions
    items = []
    for i, line in enumerate(lines):
        facts = person_facts(
            records.get(line["id_number"]),
            line["id_number"],
            line.get("name"),
            actor.unit_id,
            today,
        )
        context = _context(defn, form, line, facts, unit, today, names)
        answer = _judge(defn, context, now)
        item = {"index": i, "id_number": line["id_number"], "name": line.get("name")}
        item.update(_shown(answer, facts))
        wrong = _line_refusals(refused, i, props)
        if wrong:  # the start would refuse the line as it is: not eligible, said first
            item.update(eligible=False, reasons=wrong + item["reasons"])
        elif charged and answer["eligible"] and disclosure.employs(facts):
            item.update(_fee(defn, context, now))  # (may tell of another unit's member)
        items.append(item)
    view = {"process": defn.key, "process_name": defn.name, "items": items}
    if charged:
        fees = [x for x in items if "support_fee" in x]
        view["fee_total"] = money_total(fees) if len(fees) == len(items) else None
    return view


def _fee(defn: Definition, context: dict, now: datetime) -> dict:
    """One eligible person's fee as the process will bill it (its fee table, same context)."""
    found = defn.decisions.evaluate(FEE_DECISION, context, now)
    return {
        "support_fee": found.get("support_fee") or "0.00",
        "membership_fee": found.get("membership_fee") or "0.00",
    }
