"""首页: the figures of the caller's scope as charts with their tables (UI.md's 首页 cards)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from service.services.membership import accounts, statistics
from service.services.schedules import notifications
from service.services.workflow import instances, scope, tasks
from service.web import charts, lists, nav
from service.web.pages import ctx, signed_in, uow

bp = Blueprint("home", __name__, url_prefix="/home")
STAFF = frozenset({"agency_reviewer", "association_reviewer", "finance_reviewer"})
ROLES = STAFF | {"unit_admin", "secretariat_admin"}


@bp.route("")
@signed_in(ROLES)
def index(who):
    """Members, valid certificates, their types, the last three years, 单/双证, age bands."""
    filters, _paging, errors = lists.parse(request.args, ("agency_id",), ids=("agency_id",))
    with uow() as u:
        figures = statistics.summary(ctx(), u, who, **filters) if not errors else None
        agencies = accounts.list_agencies(u) if scope.may_narrow_to_agency(who) else []
    html = render_template(
        "home/index.html",
        figures=figures,
        errors=errors,
        agencies=agencies,
        filters=request.args,
        charts=_charts(figures) if figures else {},
        unit=_unit_cards(who) if who.role == "unit_admin" else None,
    )
    return html, 422 if errors else 200


NOTICES_SHOWN = 5


def _unit_cards(who) -> dict:
    """A unit's own cards: its forms by business type and status, the work waiting on it, and
    its 系统通知 with the unread count (the same use cases as the API)."""
    c = ctx()
    with uow() as u:
        overall = instances.summarize(c, u, who)
        by_type = []
        for key, defn in sorted(c.definitions.current.items()):
            counts = instances.summarize(c, u, who, key=key)
            by_type.append({"key": key, "name": defn.name, **counts})
        pre_review = tasks.queue_counts(c, u, who, scope="available", task_name=PRE_REVIEW)
        notices = notifications.list_notifications(c, u, who, page_size=NOTICES_SHOWN)
    statuses = [s for s in instances.STATUS_ORDER if s in overall["counts"]]
    statuses += [s for s in overall["counts"] if s not in statuses]
    offer = set(nav.offered(who))  # what it has not yet done, of what it may start
    return {
        "statuses": statuses,
        "by_type": [row for row in by_type if row["total"]],
        "idle": [row["name"] for row in by_type if not row["total"] and row["key"] in offer],
        "returned": overall["counts"].get("退回", 0),
        "to_pay": overall["counts"].get("待缴费", 0),
        "to_pre_review": pre_review["total"],
        "notices": notices,
    }


PRE_REVIEW = "unit_pre_review"  # the unit's 单位预审 task (join and info-change applications)


def _charts(f: dict) -> dict:
    types = list(f["certificates_by_type"].items())
    years = [str(row["year"]) for row in f["issued_by_year"]]
    series = list(statistics.CERTIFICATE_TYPES)
    return {
        "types": charts.donut("证书类型", types),
        "years": charts.bars(
            "近三年获证情况",
            years,
            series,
            [[row["counts"][t] for t in series] for row in f["issued_by_year"]],
        ),
        "holders": charts.donut(
            "单/双证人数比例",
            [("单证", f["holders"]["single"]), ("双证", f["holders"]["double"])],
        ),
        "ages": charts.donut("年龄分布", list(f["age_bands"].items())),
    }
