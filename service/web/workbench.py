"""The reviewers' workbench: 待办, 我的认领, 已办, and the 审核 page.

Lists search and filter as the API does (the same use case); claim and release straight
from the list; after a decision the reviewer goes on to the next task of the same queue.
Losing a race shows a message on the page, never an error page.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from markupsafe import Markup

from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound, RuleFailed, StepFailed
from service.services.membership import accounts
from service.services.workflow import prefill, review, tasks
from service.services.workflow.scope import manages_queue, sees_all_agencies
from service.web import lists, schemaform
from service.web.diagram import render_svg
from service.web.pages import QUEUE_ROLES, back_to, ctx, signed_in, store_uploads, uow

bp = Blueprint("workbench", __name__, url_prefix="/workbench")

SCOPES = {"todo": "available", "mine": "mine", "done": "done", "claimed": "claimed"}
SCOPE_TITLES = {"todo": "待办任务", "mine": "我的认领", "done": "已办任务", "claimed": "已认领任务"}
SORTS = {"waiting": "等待最久", "submitted": "最新提交", "submitted_asc": "最早提交"}
FILTERS = ("q", "key", "task_name", "agency_id", "submitted_from", "submitted_to", "sort")


def parse_query(args) -> tuple[dict, dict, dict[str, str]]:
    """(filters, paging, errors) from a queue's URL."""
    return lists.parse(args, FILTERS, ids=("agency_id",), cursor=True)


def _choices(who: Actor) -> dict:
    """What the filter row offers: business types, their tasks, agencies."""
    c = ctx()
    processes = [
        {
            "key": key,
            "name": defn.name,
            "tasks": [
                {"id": t.id, "title": t.title}
                for t in defn.user_tasks.values()
                if t.role == who.role or manages_queue(who)
            ],
        }
        for key, defn in sorted(c.definitions.current.items())
    ]
    agencies = []
    if sees_all_agencies(who):
        with uow() as u:
            agencies = accounts.list_agencies(u)
    processes = [p for p in processes if p["tasks"]]
    # without a business type a step is its id in every business, as it filters: one name
    # for it, though the diagrams may title it differently
    titles: dict[str, list[str]] = {}
    for p in processes:
        for t in p["tasks"]:
            titles.setdefault(t["id"], [])
            if t["title"] not in titles[t["id"]]:
                titles[t["id"]].append(t["title"])
    steps = [{"id": k, "title": _step_title(k, v)} for k, v in titles.items()]
    return {"processes": processes, "steps": steps, "agencies": agencies}


# a step the diagrams title differently, named once for the 环节 filter of all businesses:
# association_review is 协会初审 in some, 协会复核 in others, 协会审核 in one
SHARED_STEP_TITLES = {"association_review": "协会审核（初审/复核）"}


def _step_title(step: str, titles: list[str]) -> str:
    """The 环节 filter's name of a step across businesses: its title when all diagrams agree."""
    if len(titles) == 1:
        return titles[0]
    return SHARED_STEP_TITLES.get(step) or "/".join(titles)


@bp.route("/")
@signed_in(QUEUE_ROLES | {"secretariat_admin"})
def index(who):
    return redirect(url_for("workbench.queue", scope="claimed" if manages_queue(who) else "todo"))


def _panel(c, u, who: Actor, scope: str, count_filters: dict) -> tuple[dict, dict]:
    """The counts panel of a queue (`count_filters` narrowing it) and its tabs' totals: what
    waits in each queue, whatever the search (a search finding nothing is not an empty
    queue)."""
    counts = tasks.queue_counts(c, u, who, scope=SCOPES[scope], **count_filters)
    narrowed = any(v not in (None, "") for v in count_filters.values())
    whole = tasks.queue_counts(c, u, who, scope=SCOPES[scope]) if narrowed else counts
    tabs = {scope: whole["total"]}
    if scope in ("todo", "mine"):
        other = "mine" if scope == "todo" else "todo"
        tabs[other] = tasks.queue_counts(c, u, who, scope=SCOPES[other])["total"]
    return counts, tabs


@bp.route("/<scope>")
@signed_in(QUEUE_ROLES | {"secretariat_admin"})
def queue(who, scope):
    """A queue list with its counts panel, filter row and paging."""
    if scope not in SCOPES or (scope == "claimed") != manages_queue(who):
        raise NotFound("页面不存在或您无权查看")
    filters, paging, errors = parse_query(request.args)
    listing = {"items": [], "total": 0, **paging}
    counts, tabs = {"total": 0, "by_process": []}, {}
    if not errors:
        try:
            with uow() as u:
                c = ctx()
                if scope == "done":  # a done list grows for years: no panel, a bounded total
                    listing = tasks.list_tasks(c, u, who, scope="done", **filters, **paging)
                else:
                    listing = tasks.list_tasks(c, u, who, scope=SCOPES[scope], **filters, **paging)
                    count_filters = {k: v for k, v in filters.items() if k != "sort"}
                    counts, tabs = _panel(c, u, who, scope, count_filters)
        except FormInvalid as exc:
            errors = exc.errors or {"_form": exc.message}
    if errors and scope != "done":
        # a refused query lists nothing, but the panel and the tabs still say what waits (0
        # there read as an empty queue): the whole queue's counts, unfiltered
        with uow() as u:
            counts, tabs = _panel(ctx(), u, who, scope, {})
    if scope in ("todo", "mine") and not errors:
        session["queue"] = {"scope": scope, "filters": request.args.to_dict()}
    html = render_template(
        "workbench/queue.html",
        scope=scope,
        title=SCOPE_TITLES[scope],
        listing=listing,
        counts=counts,
        tabs=tabs,
        filters=request.args,
        errors=errors,
        choices=_choices(who),
        many=sees_all_agencies(who),  # offer the agency filter and column
        sorts=SORTS,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


def _came_from() -> str:
    """The list the reviewer last looked at (待办任务 before they looked at any)."""
    scope = (session.get("queue") or {}).get("scope")
    return scope if scope in SCOPES else "todo"


def _list_url(scope: str | None = None) -> str:
    """The list `scope` (the one the reviewer came from, by default) with its filters kept
    when it is the one they came from."""
    scope = scope or _came_from()
    remembered = session.get("queue") or {}
    if remembered.get("scope") == scope:
        return url_for("workbench.queue", scope=scope, **remembered.get("filters", {}))
    return url_for("workbench.queue", scope=scope)


def _at_row(url: str, task_id: int) -> str:
    """A list to return to, at the task's row (#task-12: app.js gives it the focus, where
    the reviewer was); the task's own page stays as it is."""
    if "#" in url or urlsplit(url).path == url_for("workbench.task_page", task_id=task_id):
        return url
    return f"{url}#task-{task_id}"


@bp.route("/tasks/<int:task_id>/claim", methods=["POST"])
@signed_in(QUEUE_ROLES)
def claim(who, task_id):
    """认领 from a list or the task page."""
    try:
        with uow() as u:
            task = tasks.claim_task(ctx(), u, who, task_id)
            number = tasks.form_number(u, task_id)
        flash(f"已认领：{number}（{task['title']}）", "success")
    except Conflict as exc:
        flash(_lost(task_id, who, exc), "error")
    except NotFound:
        flash(OUT_OF_SCOPE, "error")
        return redirect(_list_url())
    return redirect(_at_row(back_to(_list_url()), task_id))


@bp.route("/tasks/<int:task_id>/release", methods=["POST"])
@signed_in(QUEUE_ROLES)
def release(who, task_id):
    """释放 a task I hold, back to the queue."""
    try:
        with uow() as u:
            task = tasks.unclaim_task(ctx(), u, who, task_id)
            number = tasks.form_number(u, task_id)
        flash(f"已释放：{number}（{task['title']}），其他人可以认领", "success")
    except Conflict as exc:
        flash(_lost(task_id, who, exc), "error")
    except NotFound:
        flash(OUT_OF_SCOPE, "error")
        return redirect(_list_url())
    return redirect(_at_row(back_to(_list_url()), task_id))


def _lost(task_id: int, who: Actor, exc: Conflict) -> str:
    """The lost race in words: who holds the task now, or that it is done."""
    try:
        with uow() as u:
            task = review.task_review(ctx(), u, who, task_id)["task"]
    except NotFound:
        return exc.message
    if task["state"] != "open":
        return task["ended"]
    if task.get("claimed_by_name") and not task["mine"]:
        return f"该任务已被{task['claimed_by_name']}认领，您不能再认领或办理"
    return exc.message


OUT_OF_SCOPE = (
    "该任务已不在您的办理范围内（表单所属单位可能已转到其他会员服务机构），您不能再认领或办理"
)


def _unsent(remark) -> str:
    """A remark typed but not kept, shown to copy."""
    if isinstance(remark, str) and remark.strip():
        return f"。您填写的意见未提交，可复制留用：{remark.strip()}"
    return ""


def _gone_from_scope(remark):
    """The task left the reviewer's scope while the page was open: said, back to the list."""
    flash(OUT_OF_SCOPE + _unsent(remark), "error")
    return redirect(_list_url())


def _diagram(app: dict) -> Markup:
    d = app["diagram"]
    return Markup(render_svg(d["bpmn"], d["current"], d["done"], title=app["process_name"]))


def _render_task(who: Actor, task_id: int, values=None, errors=None, status: int = 200):
    with uow() as u:
        page = review.task_review(ctx(), u, who, task_id)
    task, app = page["task"], page["application"]
    form = None
    if task["can_act"]:
        filled = _filled(task["form"], app["data"])
        form = schemaform.build_form(task["form"], {**filled, **(values or {})}, errors)
        schemaform.borrow_labels(form, app["schemas"])
    html = render_template(
        "workbench/review.html",
        task=task,
        app=app,
        form=form,
        fields=schemaform.view_fields(app["schemas"], prefill.application_values(app["data"])),
        diagram=_diagram(app),
        list_url=_list_url(),
        list_title=SCOPE_TITLES[_came_from()],
    )
    return html, status


def _filled(schema: dict, data: dict) -> dict:
    """The form's fields the application fills in: what the page shows in them, and what
    its branches follow (finance's 电子财政收据 boxes are there when a membership fee is)."""
    fields, _, _ = schemaform.collect(schema, data)
    shown = prefill.application_values(data)
    return {k: v for k, v in shown.items() if k in fields}


@bp.route("/tasks/<int:task_id>")
@signed_in(QUEUE_ROLES)
def task_page(who, task_id):
    """审核: the application read-only, its materials, bill, record, diagram and the form."""
    return _render_task(who, task_id)


@bp.route("/tasks/<int:task_id>", methods=["POST"])
@signed_in(QUEUE_ROLES)
def complete(who, task_id):
    """通过 / 退回 / 提交: complete the task, then on to the next one in the queue."""
    try:
        with uow() as u:
            task = tasks.get_task(ctx(), u, who, task_id)
    except NotFound:  # e.g. the unit moved to another agency while the page was open
        return _gone_from_scope(request.form.get("remark"))
    # read as it was drawn: the boxes the application's values draw are read back too
    form = schemaform.build_form(task["form"], _filled(task["form"], task["instance"]["data"]))
    data, upload_errors = schemaform.read_form(
        form, request.form, request.files, store_uploads(who)
    )
    if upload_errors:
        return _render_task(who, task_id, data, upload_errors, 422)
    try:
        with uow() as u:
            result = tasks.complete_task(ctx(), u, who, task_id, data)
    except (FormInvalid, RuleFailed) as exc:
        errors = dict(exc.errors or {}) or {"_form": exc.message}
        return _render_task(who, task_id, data, errors, 422)
    except Conflict as exc:
        flash(_lost(task_id, who, exc) + _unsent(data.get("remark")), "error")
        return redirect(url_for("workbench.task_page", task_id=task_id))
    except NotFound:
        return _gone_from_scope(data.get("remark"))
    except StepFailed as exc:  # the diagram failed: nothing kept; the page as it was filled
        flash(exc.message, "error")
        return _render_task(who, task_id, data, None, exc.status)
    decision = form.buttons.label if form.buttons and data.get("decision") else "提交"
    if form.buttons and data.get("decision"):
        decision = dict(form.buttons.options).get(data["decision"], decision)
    flash(f"已{decision}：{result['business_key']}，当前状态：{result['status']}", "success")
    if who.role in ("unit_admin", "member") and not form.buttons:
        # a unit's own step (resubmit, pay): back to its form, to see the new status there
        return redirect(url_for("forms.detail", instance_id=result["id"]))
    return redirect(_next_task_url(who))


def _next_task_url(who: Actor) -> str:
    """The next task of the queue the reviewer came from, 待办任务 or 我的认领 (its
    filters kept), else that list."""
    scope = _came_from()
    scope = scope if scope in ("todo", "mine") else "todo"
    remembered = session.get("queue") or {}
    kept = remembered.get("filters") if remembered.get("scope") == scope else None
    filters, _paging, errors = parse_query(kept or {})
    if not errors:
        try:
            with uow() as u:
                found = tasks.list_tasks(
                    ctx(), u, who, scope=SCOPES[scope], **filters, page=1, page_size=1
                )
        except FormInvalid:
            found = {"items": []}
        if found["items"]:
            return url_for("workbench.task_page", task_id=found["items"][0]["id"])
    flash("我的认领中已没有任务" if scope == "mine" else "当前队列已没有待办任务", "info")
    return _list_url(scope)


# --- the secretariat: release or reassign a claimed task ---------------------------------------


@bp.route("/tasks/<int:task_id>/release-any", methods=["POST"])
@signed_in({"secretariat_admin"})
def release_any(who, task_id):
    """The secretariat releases a task someone holds."""
    try:
        with uow() as u:
            task = tasks.release_task(ctx(), u, who, task_id)
            number = tasks.form_number(u, task_id)
        flash(f"已释放：{number}（{task['title']}）", "success")
    except Conflict as exc:
        flash(exc.message, "error")
    return redirect(back_to(url_for("workbench.queue", scope="claimed")))


@bp.route("/tasks/<int:task_id>/reassign", methods=["GET", "POST"])
@signed_in({"secretariat_admin"})
def reassign(who, task_id):
    """The secretariat hands a claimed task to another person who may act on it."""
    error = None
    if request.method == "POST":
        raw = request.form.get("account_id", "")
        try:
            account_id = int(raw)
        except ValueError:
            error = "请选择改派给谁"
        else:
            try:
                with uow() as u:
                    task = tasks.reassign_task(ctx(), u, who, task_id, account_id)
                flash(f"已改派：{task['title']} → {task.get('claimed_by_name') or ''}", "success")
                return redirect(url_for("workbench.queue", scope="claimed"))
            except (FormInvalid, Conflict) as exc:
                error = (exc.errors or {}).get("account_id") or exc.message
    with uow() as u:
        task = tasks.claimed_task(ctx(), u, who, task_id)
        people = tasks.assignees(ctx(), u, who, task_id)
    html = render_template("workbench/reassign.html", task=task, people=people, error=error)
    return html, 422 if error else 200
