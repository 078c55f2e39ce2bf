"""业务查询 / 我的业务: the forms a person may see, and one form's detail.

The manual's list shape: a status panel with counts on the left, a filter row above,
paging below; a form opens read-only with its persons, materials, approval record and
diagram.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from service.domain.errors import Conflict, FormInvalid, NotFound
from service.services.education import learning
from service.services.workflow import drafts, incidents, instances, prefill, review, scope
from service.web import lists, schemaform
from service.web.diagram import render_svg
from service.web.pages import ctx, safe_next, signed_in, uow

bp = Blueprint("forms", __name__, url_prefix="/forms")
FILTERS = ("status", "key", "q", "submitted_from", "submitted_to")


@bp.route("")
@signed_in()
def index(who):
    """The forms in the caller's scope, by status, with the manual's filters."""
    filters, paging, errors = lists.parse(request.args, FILTERS, cursor=True)
    listing = {"items": [], "total": 0, **paging}
    summary = {"counts": {}, "total": 0}
    c = ctx()
    if not errors:
        try:
            with uow() as u:
                listing = instances.list_instances(c, u, who, **filters, **paging)
                summary = instances.summarize(c, u, who, **filters)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    if errors:  # nothing listed, but the panel still counts what there is (0 read as none)
        with uow() as u:
            summary = instances.summarize(c, u, who)
    picked = c.definitions.current.get(filters.get("key") or "")
    # a business picked: every status of its own diagram (no step it does not have); else
    # the usual chain's and those some form shows
    statuses = instances.known_statuses(c.definitions, filters.get("key") if picked else None)
    usual = instances.STATUS_ORDER if picked is None else statuses
    # a withdrawn or terminated form is rare: its status is offered when there is one
    usual = [s for s in usual if s not in instances.ENDED_BY_PEOPLE]
    statuses = [s for s in statuses if s in summary["counts"] or s in usual]
    drafts_held = None
    if who.role == "unit_admin":  # a unit keeps its unsent start forms (暂存)
        with uow() as u:
            drafts_held = drafts.list_drafts(c, u, who, page_size=1)["total"]
    html = render_template(
        "records/index.html",
        listing=listing,
        join_list=picked is not None and _asks_levels(picked),
        summary=summary,
        drafts_held=drafts_held,
        statuses=statuses,
        processes=sorted((k, d.name) for k, d in c.definitions.current.items()),
        filters=request.args,
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


def _asks_levels(defn) -> bool:
    """Whether a business's forms ask for the membership level (a join): its list then has
    the manual's 申请普通会员, 申请专业会员, 退回原因 and 初审机构 columns."""
    asked = [defn.start_fields, *(t.fields for t in defn.user_tasks.values())]
    return any("member_level" in fields for fields in asked)


@bp.route("/<int:instance_id>")
@signed_in()
def detail(who, instance_id):
    """One form: the application, persons, materials, bill, approval record and diagram."""
    with uow() as u:
        app = review.application(ctx(), u, who, instance_id)
        learning_tasks = _learning(u, who, app)
    data = prefill.application_values(app["data"])
    d = app["diagram"]
    return render_template(
        "records/detail.html",
        app=app,
        fields=schemaform.view_fields(app["schemas"], data),
        diagram=Markup(render_svg(d["bpmn"], d["current"], d["done"], app["process_name"])),
        # the list it was opened from, its filters and page kept
        back=safe_next(request.args.get("next"), url_for("forms.index")),
        my_tasks=[t for t in app["open_tasks"] if t["role"] == who.role and who.role in OWN_TASKS],
        learning_tasks=learning_tasks,
        settle=_settle_options(who, app),
    )


def _settle_options(who, app: dict) -> dict:
    """Whether this person may 撤回 (the unit, while the form is in its hands or stuck) or
    终止 (the secretariat) the form; the use cases check again."""
    if app["finished"]:
        return {}
    with uow() as u:
        stuck = incidents.open_incident_numbers(u, app["id"])
    roles = {t["role"] for t in app["open_tasks"]}
    return {
        "withdraw": who.role == "unit_admin" and (bool(stuck) or roles == {"unit_admin"}),
        # not a form whose fee finance confirmed (incidents.terminate says why)
        "terminate": scope.may_manage_accounts(who)
        and not (app.get("bill") and app["bill"]["status"] == "confirmed"),
        "incidents": stuck,
    }


@bp.route("/<int:instance_id>/withdraw", methods=["POST"])
@signed_in({"unit_admin"})
def withdraw(who, instance_id):
    """撤回 the unit's own form."""
    try:
        with uow() as u:
            done = incidents.withdraw(ctx(), u, who, instance_id, request.form.get("reason"))
    except Conflict as exc:
        flash(exc.message, "error")
    else:
        flash(f"已撤回：{done['business_key']}", "success")
    return redirect(url_for("forms.detail", instance_id=instance_id))


@bp.route("/<int:instance_id>/terminate", methods=["POST"])
@signed_in({"secretariat_admin"})
def terminate(who, instance_id):
    """终止 a form (the secretariat), with the reason."""
    try:
        with uow() as u:
            done = incidents.terminate(ctx(), u, who, instance_id, request.form.get("reason"))
    except (Conflict, FormInvalid) as exc:
        flash(next(iter((exc.errors or {}).values()), exc.message), "error")
    else:
        flash(f"已终止：{done['business_key']}", "success")
    return redirect(url_for("forms.detail", instance_id=instance_id))


OWN_TASKS = frozenset({"unit_admin", "member"})  # who works its own tasks from the form


def _learning(u, who, app: dict) -> list[dict]:
    """The learning an approved enrolment opened, for those who may see learning tasks."""
    try:
        found = learning.list_learning(ctx(), u, who, instance_id=app["id"], page_size=200)
    except NotFound:
        return []
    return found["items"]
