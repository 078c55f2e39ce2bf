"""Operators' and designers' pages: where a process's instances wait, drawn on its diagram
as a heat map, and the incidents (流程出错) list.

The deploy and version pages are the designers' catalogue; these read the same versions.
"""

from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from markupsafe import Markup

from service.domain.errors import Conflict, FormInvalid, NotFound, StepFailed
from service.services.workflow import (
    definitions,
    incident_retry,
    incidents,
    migration,
    process_map,
    scope,
)
from service.web import lists
from service.web.diagram import render_svg
from service.web.pages import ctx, signed_in, uow

MIGRATION_SHOWN = 200  # rows of a plan's result shown on the page (the counts cover all)

bp = Blueprint("operations", __name__)


@bp.route("/processes/map")
@signed_in()
def pick_map(who):
    """The process chosen in the map page's selector (the first process by default)."""
    names = ctx().definitions.names()
    key = request.args.get("key") or min(names, key=names.get)
    if key not in names:
        raise NotFound("没有该业务流程")
    return redirect(url_for("operations.process_map_page", key=key))


@bp.route("/processes/<key>/map")
@signed_in()
def process_map_page(who, key):
    """流程运行图: one version's diagram with the number of running instances per step."""
    errors: dict = {}
    raw = request.args.get("version", "").strip()
    number = None
    if raw and not (raw.isdigit() and 0 < int(raw) < 1_000_000):
        errors["version"] = "版本应为正整数"
    elif raw:
        number = int(raw)
    with uow() as u:
        try:
            found = process_map.process_map(ctx(), u, who, key, number)
        except FormInvalid as exc:  # no such version: the current one, with the message
            errors.update(exc.errors or {"version": exc.message})
            found = process_map.process_map(ctx(), u, who, key)
    title = f"{found['process_name']}（第 {found['version']} 版）"
    # a step with an open incident but no open task still shows (an incident is work waiting)
    heat = dict(found["waiting"])
    for element_id, n in found["incidents"].items():
        heat.setdefault(element_id, n)
    diagram = Markup(render_svg(found["bpmn"], title=title, heat=heat))
    processes = sorted(ctx().definitions.names().items(), key=lambda kv: kv[1])
    html = render_template(
        "operations/process_map.html",
        found=found,
        diagram=diagram,
        processes=processes,
        errors=errors,
        may_migrate=scope.may_migrate(who),
    )
    return html, 422 if errors else 200


@bp.route("/incidents")
@signed_in()
def incidents_page(who):
    """流程出错: open incidents by default, newest first, each linking to its form."""
    filters, paging, errors = lists.parse(request.args, ("status",))
    status = filters.get("status", "open")
    listing = {"items": [], "total": 0, **paging}
    try:
        with uow() as u:
            listing = incidents.list_incidents(ctx(), u, who, status=status, **paging)
    except FormInvalid as exc:
        errors = exc.errors or {"status": exc.message}
    names = ctx().definitions.names()
    html = render_template(
        "operations/incidents.html",
        listing=listing,
        status=status,
        names=names,
        opens_forms=scope.sees_everything(who),
        errors=errors,
        page_sizes=lists.PAGE_SIZES,
        pages=lists.page_count(listing),
    )
    return html, 422 if errors else 200


def _versions(who, key: str) -> list[dict]:
    """The versions of `key`, newest first, with which one is current and their counts."""
    with uow() as u:
        return definitions.list_versions(ctx(), u, who, key)["items"]


def _default_plan(versions: list[dict]) -> tuple[int | None, int | None]:
    """(from, to) a migration is most likely about: onto the current version (after going
    back to an older one it is not the newest), from the newest other version with forms
    running on it (else the newest other one)."""
    current = next((v["number"] for v in versions if v["current"]), None)
    if current is None and versions:
        current = versions[0]["number"]
    others = [v for v in versions if v["number"] != current]
    running = [v for v in others if v["running"]]
    source = (running or others or [None])[0]
    return (source["number"] if source else None), current


def _version_field(name: str, errors: dict) -> int | None:
    raw = (request.form.get(name) or request.args.get(name) or "").strip()
    if not raw:
        return None
    if not raw.isdigit() or not 0 < int(raw) < 1_000_000:
        errors[name] = "版本应为正整数"
        return None
    return int(raw)


@bp.route("/processes/<key>/migrations", methods=["GET", "POST"])
@signed_in()
def migration_page(who, key):
    """迁移流程版本: choose two versions, try the plan (试运行) and then execute it."""
    if key not in ctx().definitions.current:
        raise NotFound("没有该业务流程")
    versions = _versions(who, key)
    errors: dict = {}
    source = _version_field("from_version", errors)
    target = _version_field("to_version", errors)
    mapping_text = (request.form.get("task_map") or "").strip()
    task_map = _task_map(mapping_text, errors)
    result = None
    status = 200
    if request.method == "POST" and not errors:
        execute = request.form.get("action") == "execute"
        if source is None:
            errors["from_version"] = "请选择原版本"
        if target is None:
            errors["to_version"] = "请选择目标版本"
        if not errors:
            try:
                with uow() as u:
                    result = migration.run_plan(
                        ctx(), u, who, key, source, target, dry_run=not execute, task_map=task_map
                    )
            except FormInvalid as exc:
                errors = exc.errors or {"_form": exc.message}
            except Conflict as exc:
                errors = {"_form": exc.message}
    if errors:
        status = 422
    elif result is not None and not result["dry_run"]:  # the forms moved: the counts anew
        versions = _versions(who, key)
    planned = _default_plan(versions)
    html = render_template(
        "operations/migration.html",
        key=key,
        name=ctx().definitions.current[key].name,
        versions=versions,
        source=source if source is not None else planned[0],
        target=target if target is not None else planned[1],
        result=result,
        shown=(result or {}).get("items", [])[:MIGRATION_SHOWN],
        errors=errors,
        opens_forms=scope.sees_everything(who),
        mapping_text=mapping_text,
    )
    return html, status


def _task_map(text: str, errors: dict) -> dict[str, str]:
    """任务映射 as typed: one "原任务=新任务" a line (or separated by commas)."""
    found: dict[str, str] = {}
    for part in text.replace("，", ",").replace(",", "\n").splitlines():
        if not part.strip():
            continue
        old, sep, new = part.partition("=")
        if not sep or not old.strip() or not new.strip():
            example = "如 association_review=association_check"
            errors["task_map"] = f"任务映射每行应为 原任务=新任务，{example}：{part.strip()[:60]}"
            return {}
        found[old.strip()] = new.strip()
    return found


@bp.route("/incidents/<int:incident_id>/retry", methods=["POST"])
@signed_in()
def incident_retry_page(who, incident_id):
    """重试: take the failed step again (after the form was migrated to a fixed version)."""
    try:
        with uow() as u:
            incident_retry.retry(ctx(), u, who, incident_id)
        flash("已重试，出错的步骤已完成", "info")
    except (Conflict, FormInvalid, StepFailed) as exc:  # StepFailed: failed again, counted
        flash(exc.message, "error")
    return redirect(url_for("operations.incidents_page"))


@bp.route("/incidents/<int:incident_id>/close", methods=["POST"])
@signed_in()
def incident_close_page(who, incident_id):
    """关闭: settle an incident by hand (a start's, which no form carries), with a note."""
    try:
        with uow() as u:
            found = incidents.close(ctx(), u, who, incident_id, request.form.get("reason"))
        flash(f"事故 {found['number']} 已关闭", "info")
    except (Conflict, FormInvalid) as exc:
        flash(exc.message if not exc.errors else "；".join(exc.errors.values()), "error")
    return redirect(url_for("operations.incidents_page"))
