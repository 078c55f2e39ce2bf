"""首页: the figures of the caller's scope as charts with their tables (UI.md's 首页 cards)."""

from __future__ import annotations

from flask import Blueprint, render_template, request

from service.services import accounts, statistics
from service.web import charts, lists
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
        agencies = (
            accounts.list_agencies(u) if who.role not in ("unit_admin", "agency_reviewer") else []
        )
    html = render_template(
        "home/index.html",
        figures=figures,
        errors=errors,
        agencies=agencies,
        filters=request.args,
        charts=_charts(figures) if figures else {},
    )
    return html, 422 if errors else 200


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
