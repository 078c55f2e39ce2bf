"""业务办理: a unit starts each business from its start form, drawn from the form's schema.

Two steps, both plain HTML: first the unit picks persons from its own people, the eligible
and the ineligible side by side (each ineligible one greyed with the rules' reasons), then
fills in the form. 预览 re-draws the form with each person's check and fee (the process's
own tables, through the preview use case); 提交 starts the process. Errors stay at their
line and field. Businesses without persons to pick (a join application) open the form at
once.
"""

from __future__ import annotations

import uuid

from flask import Blueprint, flash, redirect, render_template, request, url_for

from service.domain.actor import Actor
from service.domain.errors import (
    Conflict,
    FormInvalid,
    NotFound,
    RuleFailed,
    ServiceError,
    StepFailed,
)
from service.engine import Definition
from service.services.membership import profile, records
from service.services.workflow import drafts, eligibility, incidents, instances
from service.web import lists, nav, schemaform
from service.web.pages import ctx, signed_in, store_uploads, uow

bp = Blueprint("business", __name__, url_prefix="/business")
ROLES = frozenset({"unit_admin"})
PICK_PAGE = 50
MAX_PICKED = schemaform.MAX_ROWS
# the manual's menu words (UI.md) for each `category` a BPMN declares, in the menu's order
GROUPS = (
    ("普通会员教育学习报名 → 报名申请", "education"),
    ("人员管理", "membership"),
    ("证书业务", "certificate"),
    ("专业会员（注师）继教", "cpd"),
    ("缴费业务", "payment"),
    ("单位业务（变更申请）", "unit"),
)
PICKED_FIELDS = ("id_number", "name")  # a picked person's fields: shown, never typed


def _definition(key: str, role: str = "unit_admin") -> Definition:
    """The business `key` when its diagram lets `role` start it; else the 404 page."""
    defn = ctx().definitions.current.get(key)
    if defn is None or role not in defn.start_roles:
        raise NotFound("页面不存在或您无权查看")
    return defn


def _line_props(defn: Definition) -> tuple[dict, list]:
    items = (defn.start_fields.get("persons") or {}).get("items") or {}
    props, required = dict(items.get("properties") or {}), list(items.get("required") or [])
    for sub in items.get("allOf") or []:
        props.update(sub.get("properties") or {})
        required += sub.get("required") or []
    return props, required


def _choices(defn: Definition) -> dict:
    """What the picker asks before listing persons: a certificate type, a reason."""
    props, required = _line_props(defn)
    wanted = {}
    if "certificate_type" in props:
        schema = props["certificate_type"]
        wanted["certificate_type"] = {
            "title": schema.get("title") or "证书类型",
            "options": [(v, v) for v in schema.get("enum") or []],
            "required": "certificate_type" in required,
        }
    if "reason" in defn.start_fields:
        schema = defn.start_fields["reason"]
        labels = schema.get("x-labels") or {}
        wanted["reason"] = {
            "title": schema.get("title") or "原因",
            "options": [(v, labels.get(v, v)) for v in schema.get("enum") or []],
            "required": True,
        }
    return wanted


def _many(defn: Definition) -> bool:
    """Whether the form lists persons (a table), or is about one person."""
    return "persons" in defn.start_fields


def _limit(defn: Definition) -> int:
    """How many persons one form takes: its schema's `maxItems` (200 on every form)."""
    declared = (defn.start_fields.get("persons") or {}).get("maxItems")
    return min(declared, MAX_PICKED) if isinstance(declared, int) else MAX_PICKED


def _select(
    who: Actor, defn: Definition, filters: dict, listing: dict, picked: list[int], errors: dict
) -> None:
    """全选本页 / 全选筛选结果: the eligible persons of this page, or of every page the filter
    finds, join those already picked, unless together they are more than a form takes
    (then nothing is added and `errors` says why)."""
    limit = _limit(defn)
    if filters.get("select_all"):
        with uow() as u:
            found = eligibility.eligible_member_ids(
                ctx(),
                u,
                who,
                who.unit_id,
                defn.key,
                limit,
                certificate_type=filters.get("certificate_type"),
                reason=filters.get("reason"),
                q=filters.get("q"),
            )
        scope = "筛选结果中"
    else:
        found = [p["member_id"] for p in listing["items"] if p["eligible"]]
        scope = "本页"
    added = [i for i in found if i not in picked]
    if len(picked) + len(added) > limit:
        errors["select"] = (
            f"{scope}可以办理的人员连同已选的{len(picked)}人超过{limit}人"
            f"（每张表单最多{limit}人），未作全选；请输入姓名或身份证号缩小范围后再全选，"
            "或分多张表单办理"
        )
        return
    picked += added


def _picked(values: list[str], errors: dict) -> list[int]:
    ids = []
    for raw in values[:MAX_PICKED]:
        try:
            number = int(raw)
        except ValueError:
            errors["member"] = "所选人员有误，请重新选择"
            continue
        if 1 <= number <= lists.MAX_ID and number not in ids:
            ids.append(number)
    return ids


@bp.route("")
@signed_in(ROLES)
def index(who):
    """The businesses a unit starts, under the manual's menu words for their category."""
    current = ctx().definitions.current
    startable = [current[k] for k in nav.offered(who)]
    groups = [
        (title, [d for d in startable if d.declarations.category == category])
        for title, category in GROUPS
    ]
    listed = {category for _, category in GROUPS}
    others = [d for d in startable if d.declarations.category not in listed]
    if others:
        groups.append(("其他业务", others))
    return render_template("business/index.html", groups=[g for g in groups if g[1]])


@bp.route("/<key>")
@signed_in(ROLES)
def pick(who, key):
    """Step 1: the unit's persons, eligible and not, side by side; the unit ticks whom to add."""
    defn = _definition(key)
    if not defn.eligibility_decision:
        return redirect(url_for("business.form", key=key))
    choices = _choices(defn)
    selects = ("select_page", "select_all")  # 全选本页 / 全选筛选结果, naming the page shown
    names = ("q", "member", *selects, *choices)
    filters, paging, errors = lists.parse(request.args, names, ids=selects)
    filters.pop("member", None)
    picked = _picked(request.args.getlist("member"), errors)
    selecting = [n for n in selects if filters.get(n)]
    if selecting and not _many(defn):
        errors[selecting[0]] = f"“{defn.name}”一次只能办理一名人员，不能全选"
    elif selecting:
        paging["page"] = filters[selecting[0]]
    for name, choice in choices.items():
        allowed = [v for v, _ in choice["options"]]
        if filters.get(name) and filters[name] not in allowed:
            errors[name] = f"{choice['title']}应为：" + "、".join(str(v) for v in allowed)
    missing = [c["title"] for n, c in choices.items() if c["required"] and not filters.get(n)]
    listing = None
    if not errors and not missing:
        try:
            with uow() as u:
                listing = eligibility.unit_eligibility(
                    ctx(),
                    u,
                    who,
                    who.unit_id,
                    key,
                    certificate_type=filters.get("certificate_type"),
                    reason=filters.get("reason"),
                    q=filters.get("q"),
                    page=paging["page"],
                    page_size=PICK_PAGE,
                )
        except FormInvalid as exc:
            errors = {**errors, **(exc.errors or {"_form": exc.message})}
    if listing and selecting and not errors:
        _select(who, defn, filters, listing, picked, errors)
    html = render_template(
        "business/pick.html",
        defn=defn,
        choices=choices,
        filters=filters,
        missing=missing,
        listing=listing,
        picked=picked,
        many=_many(defn),
        errors=errors,
        pages=lists.page_count(listing) if listing else 1,
        limit=_limit(defn),
    )
    return html, 422 if errors else 200


# --- step 2: the form ---------------------------------------------------------------------


def _start_values(who: Actor, defn: Definition, args) -> tuple[dict, dict]:
    """The form's first values from the picked persons, and their reasons (row errors)."""
    errors: dict = {}
    choices = _choices(defn)
    chosen = {n: args.get(n) for n in choices if args.get(n)}
    picked = _picked(args.getlist("member"), errors)
    if errors or not picked:
        raise _BackToPicker("请先选择要办理的人员")
    if not _many(defn) and len(picked) > 1:
        raise _BackToPicker(f"“{defn.name}”一次只能办理一名人员")
    try:
        with uow() as u:
            found = eligibility.unit_eligibility(
                ctx(),
                u,
                who,
                who.unit_id,
                defn.key,
                certificate_type=chosen.get("certificate_type"),
                reason=chosen.get("reason"),
                member_ids=picked,
                page_size=MAX_PICKED,
            )
    except FormInvalid as exc:
        raise _BackToPicker(next(iter((exc.errors or {}).values()), exc.message)) from exc
    chosen_ids = set(picked)  # the lines in the picker's (the archive's) order, not ticks'
    people = [item for item in found["items"] if item["member_id"] in chosen_ids]
    if not people:
        raise _BackToPicker("所选人员不在本单位，请重新选择")
    values: dict = {k: v for k, v in chosen.items() if k in defn.start_fields}
    if _many(defn):
        props, _ = _line_props(defn)
        lines = []
        for i, p in enumerate(people):
            line = {"id_number": p["id_number"], "name": p["name"]}
            if "certificate_type" in props and chosen.get("certificate_type"):
                line["certificate_type"] = chosen["certificate_type"]
            if "member_level" in props and p.get("member_level"):  # the one level held
                line["member_level"] = p["member_level"]
            lines.append(line)
            if not p["eligible"]:
                errors[f"persons.{i}"] = "；".join(p["reasons"])
        values["persons"] = lines
    else:
        person = people[0]
        values.update(id_number=person["id_number"], name=person["name"])
        if not person["eligible"]:
            errors["eligibility"] = person["reasons"]
    return values, errors


class _BackToPicker(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def _draw(
    defn: Definition,
    values: dict,
    errors: dict | None = None,
    preview: dict | None = None,
    status: int = 200,
    token: str | None = None,
    draft_id: int | None = None,
    own: bool = False,
    draft_version: int | None = None,
    notice: dict | None = None,
    who: Actor | None = None,
):
    """The start form; `own`: a member's form for themself (no picker, no drafts). `notice`:
    why a stale page's 留存 or 提交 was refused ({message, form: the form the draft became}),
    with 另存为新的暂存表单 offered."""
    form = schemaform.build_form(defn.start_form, values, errors)
    rows = {}
    if preview:
        rows = {item["index"]: item for item in preview["items"]}
    with uow() as u:  # the specialty dictionary, offered as the lines' suggestions
        specialties = [s["name"] for s in records.list_specialties(u)["items"]]
        in_flight = instances.open_forms(ctx(), u, who) if own and who is not None else []
    html = render_template(
        "business/form.html",
        defn=defn,
        form=form,
        fixed=PICKED_FIELDS if defn.eligibility_decision or own else (),
        own=own,
        preview=preview,
        preview_rows=rows,
        charged="business_fee" in (defn.decisions or ()),
        can_preview=_can_preview(defn, own),
        token=token or uuid.uuid4().hex,
        picker_url=url_for("business.pick", key=defn.key),
        specialties=specialties,
        draft_id=draft_id,
        draft_version=draft_version,
        notice=notice,
        in_flight=in_flight,
    )
    return html, status


@bp.route("/<key>/form")
@signed_in(ROLES)
def form(who, key):
    """Step 2: the start form with the picked persons on it."""
    defn = _definition(key)
    if not defn.eligibility_decision:
        return _draw(defn, {})
    try:
        values, errors = _start_values(who, defn, request.args)
    except _BackToPicker as exc:
        flash(exc.message, "error")
        keep = {k: v for k, v in request.args.items(multi=True) if k != "member"}
        return redirect(url_for("business.pick", key=key, **keep))
    return _draw(defn, values, errors)


def _posted(who: Actor, defn: Definition) -> tuple[dict, dict]:
    """The posted form as data (uploads stored), without the lines marked 移除."""
    reading = schemaform.build_form(defn.start_form)
    data, upload_errors = schemaform.read_form(
        reading, request.form, request.files, store_uploads(who)
    )
    lines = data.get("persons")
    if isinstance(lines, list):
        dropped = {i for i in range(len(lines)) if f"persons.{i}.__drop" in request.form}
        if dropped:
            data["persons"] = [p for i, p in enumerate(lines) if i not in dropped]
            upload_errors = {}  # the rows moved: the files kept are shown again as uploaded
    return data, upload_errors


def _can_preview(defn: Definition, own: bool = False) -> bool:
    """Whether the start form offers 预览: a unit's form listing persons, with their check."""
    return bool(defn.eligibility_decision) and _many(defn) and not own


# the start form's buttons (business/form.html), by their `action`
ACTIONS = {
    "preview": "预览",
    "draft": "留存",
    "draft_new": "另存为新的暂存表单",
    "submit": "提交",
}


def _action(defn: Definition, own: bool = False) -> str:
    """The button the start form was sent with, if the page offers it; a form sent without
    one is 提交 (the page sends itself once a photo is scaled down, with no button). Any
    other is refused (400) before anything is stored: the form is neither kept nor started."""
    action = request.form.get("action", "submit")
    offered = ["submit"] if own else ["draft", "draft_new", "submit"]
    if _can_preview(defn, own):
        offered.insert(0, "preview")
    if action not in offered:
        buttons = "、".join(f"“{ACTIONS[a]}”" for a in offered if a != "draft_new")
        raise ServiceError(
            f"本表单不支持该操作（只能{buttons}），未保存也未提交，请返回表单重新操作"
        )
    return action


@bp.route("/<key>/form", methods=["POST"])
@signed_in(ROLES)
def submit(who, key):
    """预览 (each person's check and fee), 留存 or 提交 (start the business)."""
    defn = _definition(key)
    action = _action(defn)
    token = (request.form.get("idempotency_key") or "").strip()[:64] or None
    draft_id = _draft_id(request.form.get("draft_id"))
    version = _draft_id(request.form.get("draft_version"))
    data, upload_errors = _posted(who, defn)
    if action == "draft_new":  # 另存为新的暂存表单: a stale page's data, kept apart
        return _keep_draft(who, defn, data, None, token)
    if action == "draft":  # 留存: kept as typed, checked at 提交
        return _keep_draft(who, defn, data, draft_id, token, version)
    draft = {"draft_id": draft_id, "draft_version": version}
    if upload_errors:  # with what else is wrong: one send shows every mistake
        with uow() as u:  # (the lines' specialties read from the dictionary)
            problems = instances.start_form_problems(defn, data, ctx().today(), session=u.session)
        errors = {**problems, **upload_errors}
        return _draw(defn, data, errors, status=422, token=token, **draft)
    c = ctx()
    if action == "preview":
        try:
            with uow() as u:
                found = eligibility.preview(c, u, who, key, data)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
            return _draw(defn, data, errors, status=422, token=token, **draft)
        reasons = {
            f"persons.{item['index']}": "；".join(item["reasons"])
            for item in found["items"]
            if not item["eligible"]
        }
        return _draw(defn, data, reasons, preview=found, token=token, **draft)
    try:
        with uow() as u:
            if draft_id is not None:
                view, created = drafts.submit_draft(
                    c, u, who, draft_id, data, token, tied=False, key=key, version=version
                )
            else:
                view, created = instances.start_process(
                    c, u, who, key, data, idempotency_key=token, tied=False
                )
    except drafts.StaleDraft as exc:
        return _stale(defn, data, token, draft_id, exc, "提交")
    except NotFound as exc:
        if draft_id is None:
            raise
        return _draft_gone(who, defn, data, token, draft_id, exc)
    except (FormInvalid, RuleFailed) as exc:
        errors = dict(exc.errors or {}) or {"_form": exc.message}
        return _draw(defn, data, errors, status=422, token=token, **draft)
    except StepFailed as exc:  # the diagram failed: no form made; the form as it was filled
        flash(exc.message, "error")
        return _draw(defn, data, None, status=exc.status, token=token, **draft)
    return _started(view, created)


def _started(view: dict, created: bool):
    """After 提交: say what was started (or that this very form was already), then show it."""
    if created:
        flash(f"已提交：{view['business_key']}，当前状态：{view['status']}", "success")
    else:
        flash(f"该表单已提交过：{view['business_key']}，当前状态：{view['status']}", "info")
    return redirect(url_for("forms.detail", instance_id=view["id"]))


# --- a member's own form -------------------------------------------------------------------


def _own_person(who: Actor) -> dict:
    """The signed-in member's own 证件号码 and 姓名, the form's person (never typed)."""
    with uow() as u:
        person = profile.my_record(ctx(), u, who)["person"]
    return {"id_number": person["id_number"], "name": person["name"]}


@bp.route("/<key>/mine")
@signed_in({"member"})
def own_form(who, key):
    """A business a member starts for themself (个人会员信息变更: the unit pre-reviews it);
    the member's forms still in progress are named first (one may hold this one back)."""
    return _draw(_definition(key, "member"), _own_person(who), own=True, who=who)


@bp.route("/<key>/mine", methods=["POST"])
@signed_in({"member"})
def submit_own(who, key):
    """提交 a member's own form: the person is the member, whatever the form says."""
    defn = _definition(key, "member")
    _action(defn, own=True)
    token = (request.form.get("idempotency_key") or "").strip()[:64] or None
    data, upload_errors = _posted(who, defn)
    data.update(_own_person(who))
    if upload_errors:
        errors = {**instances.start_form_problems(defn, data, ctx().today()), **upload_errors}
        return _draw(defn, data, errors, status=422, token=token, own=True, who=who)
    try:
        with uow() as u:
            view, created = instances.start_process(
                ctx(), u, who, key, data, idempotency_key=token, tied=False
            )
    except (FormInvalid, RuleFailed) as exc:
        errors = dict(exc.errors or {}) or {"_form": exc.message}
        return _draw(defn, data, errors, status=422, token=token, own=True, who=who)
    except StepFailed as exc:  # the diagram failed: no form made; the form as it was filled
        flash(exc.message.replace(incidents.KEEP_DRAFT, ""), "error")  # members keep no drafts
        return _draw(defn, data, None, status=exc.status, token=token, own=True, who=who)
    return _started(view, created)


# --- 暂存 -----------------------------------------------------------------------------------


def _draft_id(raw: str | None) -> int | None:
    try:
        number = int(raw or "")
    except ValueError:
        return None
    return number if 1 <= number <= lists.MAX_ID else None


def _keep_draft(
    who: Actor,
    defn: Definition,
    data: dict,
    draft_id: int | None,
    token,
    version: int | None = None,
):
    """留存: save the form as typed (new or again), then the drafts list. Again over a
    newer 留存, or on a draft deleted or submitted meanwhile: the page again with the
    typed values, saying so (nothing saved)."""
    try:
        with uow() as u:
            if draft_id is not None:
                drafts.update_draft(ctx(), u, who, draft_id, data, key=defn.key, version=version)
            else:
                drafts.save_draft(ctx(), u, who, defn.key, data, page_key=token)
    except FormInvalid as exc:
        errors = dict(exc.errors or {}) or {"_form": exc.message}
        return _draw(
            defn, data, errors, status=422, token=token, draft_id=draft_id, draft_version=version
        )
    except drafts.StaleDraft as exc:  # (a new form's page names its draft by its key)
        return _stale(defn, data, token, draft_id or exc.draft_id, exc, "留存")
    except NotFound as exc:
        if draft_id is None:
            raise
        return _draft_gone(who, defn, data, token, draft_id, exc)
    except Conflict as exc:
        return _draw(defn, data, {"_form": exc.message}, status=409, token=token)
    flash(f"已留存：{defn.name}。可在“暂存表单”中继续填写和提交。", "success")
    return redirect(url_for("business.drafts_page"))


def _stale(defn: Definition, data: dict, token, draft_id: int, exc, verb: str):
    """A page older than the draft's last 留存: the typed values again, who saved when; the
    page now carries the draft's version, so that the person decides: the same button again
    saves (or submits) this page over it, or 另存为新的暂存表单 keeps both."""
    notice = {
        "message": f"{exc.message}再次点击“{verb}”将以本页内容为准；"
        "也可点击“另存为新的暂存表单”，两份都保留。"
    }
    return _draw(
        defn,
        data,
        status=409,
        token=token,
        draft_id=draft_id,
        draft_version=exc.version,
        notice=notice,
    )


def _draft_gone(who: Actor, defn: Definition, data: dict, token, draft_id: int, exc):
    """A page whose draft was submitted (or deleted) meanwhile: the typed values again, the
    form the draft became named, and 另存为新的暂存表单 offered."""
    with uow() as u:
        form = drafts.submitted_form(u, who, draft_id)
    if form:
        message = "该暂存表单已提交，单号："
    else:
        message = f"{exc.message}。"
    notice = {
        "message": message,
        "form": form,
        "after": "本页填写的内容尚未保存，可点击“另存为新的暂存表单”保留。",
    }
    return _draw(defn, data, status=409, token=token, notice=notice)


NO_PERSONS = "（未填写人员）"  # drafts.py's summary of a draft naming nobody


def _draft_row(draft: dict) -> dict:
    """A draft as the list shows it: a business of the unit itself (单位名称变更, 单位会员入会:
    its rules read the unit, it lists no persons) is never said to lack persons; its summary
    (the new name, where there is one) or —."""
    defn = ctx().definitions.current.get(draft["process_key"])
    personless = defn is not None and defn.declarations.facts == "unit"
    if personless and draft["summary"] in (NO_PERSONS, ""):
        return {**draft, "summary": "—"}
    return draft


@bp.route("/drafts")
@signed_in(ROLES)
def drafts_page(who):
    """暂存表单: the unit's saved start forms, last saved first, with 继续填写 and 删除."""
    _filters, paging, errors = lists.parse(request.args, ())
    listing = {"items": [], "total": 0, "page": 1, "page_size": 20}
    if not errors:
        with uow() as u:
            listing = drafts.list_drafts(ctx(), u, who, **paging)
        listing["items"] = [_draft_row(d) for d in listing["items"]]
    html = render_template(
        "business/drafts.html",
        listing=listing,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


@bp.route("/drafts/<int:draft_id>")
@signed_in(ROLES)
def draft_form(who, draft_id: int):
    """继续填写: the start form with the draft's data; 提交 submits the draft."""
    with uow() as u:
        draft = drafts.get_draft(ctx(), u, who, draft_id)
    defn = _definition(draft["process_key"])
    return _draw(defn, draft["data"], draft_id=draft_id, draft_version=draft["version"])


@bp.route("/drafts/<int:draft_id>/delete", methods=["POST"])
@signed_in(ROLES)
def delete_draft(who, draft_id: int):
    """删除 a draft (one deleted or submitted meanwhile, from a list left open: said so)."""
    try:
        with uow() as u:
            drafts.delete_draft(ctx(), u, who, draft_id)
    except NotFound as exc:
        flash(exc.message, "error")
    else:
        flash("已删除暂存表单", "success")
    return redirect(url_for("business.drafts_page"))
