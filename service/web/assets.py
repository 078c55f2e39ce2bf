"""Static files (versioned by content), template filters and what every template sees."""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from flask import Blueprint, Flask, Response, request, url_for
from jinja2.bccache import Bucket, BytecodeCache

from service.domain.masking import mask_id_number
from service.domain.roles import ROLES
from service.services.workflow.context import SHANGHAI
from service.services.workflow.definitions import STARTED
from service.web import lists, nav, schemaform
from service.web.pages import ctx, page_actor

STATIC = Path(__file__).parent / "static"
# a static file asked for with its current content version (`static_url`) never changes at
# that address: a phone keeps it a year and asks nothing again (on 3G each revalidation is
# a round trip of its own); any other address of it is revalidated every time
FOREVER = "public, max-age=31536000, immutable"
bp = Blueprint(
    "assets",
    __name__,
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",  # every page template lives here
)


class SharedTemplateCode(BytecodeCache):
    """Compiled templates kept for the process, shared by every app in it (each app has a
    Jinja environment of its own, and compiled every template it rendered anew: about 7 % of
    the test suite's time). Keyed by Jinja's own key (the template's name and source) and by
    what else changes the compiled code: the environment's syntax and whitespace settings,
    its autoescaping, extensions and finalizer."""

    def __init__(self) -> None:
        self._code: dict[tuple, bytes] = {}

    @staticmethod
    def _key(bucket: Bucket) -> tuple:
        env = bucket.environment

        def named(fn) -> str:
            return getattr(fn, "__qualname__", repr(fn))

        return (
            bucket.key,
            bucket.checksum,
            env.block_start_string,
            env.variable_start_string,
            env.comment_start_string,
            env.line_statement_prefix,
            env.line_comment_prefix,
            env.trim_blocks,
            env.lstrip_blocks,
            env.newline_sequence,
            env.keep_trailing_newline,
            env.optimized,
            named(env.autoescape),
            named(env.finalize),
            tuple(sorted(env.extensions)),
        )

    def load_bytecode(self, bucket: Bucket) -> None:
        code = self._code.get(self._key(bucket))
        if code is not None:
            bucket.bytecode_from_string(code)

    def dump_bytecode(self, bucket: Bucket) -> None:
        self._code[self._key(bucket)] = bucket.bytecode_to_string()


# every page's Jinja settings (app.jinja_options, set before the environment is made)
JINJA_OPTIONS = {
    "trim_blocks": True,
    "lstrip_blocks": True,
    "bytecode_cache": SharedTemplateCode(),
}


def _versions() -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest()[:10]
        for p in STATIC.iterdir()
        if p.is_file()
    }


def local_time(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A stored (naive UTC) time as Asia/Shanghai wall-clock text."""
    if value is None:
        return ""
    return (value + SHANGHAI).strftime(fmt)


def local_date(value) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return local_time(value, "%Y-%m-%d")
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def waited(since: datetime | None) -> str:
    """How long something has waited, in the largest two units: 3天5小时, 2小时10分钟."""
    if since is None:
        return ""
    minutes = max(int((ctx().now() - since).total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分钟" if mins else f"{hours}小时"
    return f"{mins}分钟"


def money(value) -> str:
    try:
        return f"{Decimal(str(value)):,.2f}"
    except (InvalidOperation, ValueError):
        return str(value or "")


def hours(value) -> str:
    """Learning hours as a person writes them: 16, 7.5 (never 16.0); the one formatter of
    every page that shows hours (the 学习进度.xlsx export writes them the same way)."""
    try:
        number = Decimal(str(value)).normalize()
    except (InvalidOperation, ValueError):
        return str(value or "")
    return f"{number:f}" if number.is_finite() else str(value)


def deployer(deployed_by: str | None) -> str:
    """Who deployed a version, as the designer's pages say it: a person's login, or the
    system when a server started on new files (stored as `definitions.STARTED`)."""
    if not deployed_by:
        return "—"
    return "系统（服务器启动时）" if deployed_by == STARTED else deployed_by


def file_size(size: int | None) -> str:
    if not size:
        return ""
    if size >= 1024 * 1024:
        return f"{size / 1048576:.1f} MB"
    return f"{max(size // 1024, 1)} KB"


def install(app: Flask) -> None:
    """Filters and globals for every template."""
    versions = _versions()

    def static_url(name: str) -> str:
        return url_for("assets.static", filename=name, v=versions.get(name, "0"))

    @app.after_request
    def _keep_versioned(response: Response) -> Response:
        if request.endpoint == "assets.static" and response.status_code in (200, 304):
            name = (request.view_args or {}).get("filename")
            asked = request.args.get("v")
            if asked and asked == versions.get(name):
                response.headers["Cache-Control"] = FOREVER
        return response

    app.jinja_env.filters.update(
        local_time=local_time,
        local_date=local_date,
        waited=waited,
        money=money,
        hours=hours,
        file_size=file_size,
        masked=mask_id_number,
    )
    # a video field's upload limit, for the forms' macros (service/web/templates/_macros.html)
    max_video_bytes = app.extensions["memberflow"].config.max_video_bytes

    def this_page() -> str:
        """This page's address with its query (a list's filters and page): what a link to a
        detail page carries as `next`, for the detail's back link to return to."""
        return request.full_path.rstrip("?")

    def today_iso() -> str:
        """The business day (the app's clock), for a date box that may not go past it."""
        return app.extensions["memberflow"].today().isoformat()

    app.jinja_env.globals.update(
        static_url=static_url,
        role_label=ROLES.get,
        deployer=deployer,
        max_video_bytes=max_video_bytes,
        today_iso=today_iso,
        this_page=this_page,
        query_labels=lists.LABELS,
        limit_attributes=schemaform.limit_attributes,
    )

    @app.context_processor
    def _frame() -> dict:
        who = page_actor()
        sections = nav.menu(who) if who else []
        return {"me": who, "menu": sections, "searches_forms": nav.lists_forms(sections)}
