"""memberflow: the BPMN workflow service of the member service platform."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask

from service.config import Config, ConfigError, load_config, shown_url
from service.db.search import register_login_key


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()
    register_login_key(dbapi_conn)


def engine_options(url: str) -> dict:
    """Connection settings per database kind."""
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": 30, "check_same_thread": False}}
    # every statement prepared at its first use (psycopg's default waits for the fifth): a
    # request's statements repeat from request to request, and a prepared one is parsed and
    # planned by PostgreSQL once per connection (about 7 % less time per join lifecycle)
    return {
        "pool_size": 10,
        "max_overflow": 20,
        "pool_recycle": 1800,
        "connect_args": {"prepare_threshold": 0},
    }


def _alive(dbapi_conn, _record, _proxy) -> None:
    """The pool's `checkout` event on PostgreSQL: a connection the server has closed while it
    lay in the pool (a restart, pg_terminate_backend, an idle timeout) is replaced before the
    request uses it, instead of failing the request.

    No round trip (`pool_pre_ping` would add one to every request): the server sends an idle
    connection nothing, until it closes it with its farewell (FATAL: terminating connection…)
    and the end of the stream. So a socket with something to read, looked at without waiting
    (one poll system call: a few microseconds), is a connection the server has ended; the
    pool drops it on DisconnectionError and hands out a new one. (The odd asynchronous
    message that is not a farewell costs a needless reconnection, nothing more.) A connection
    that dies while in use still fails that request; SQLAlchemy then invalidates the whole
    pool (a disconnect's default), so that older connections are replaced at their checkout."""
    import select

    if dbapi_conn.closed:
        raise sa.exc.DisconnectionError("connection closed")
    poll = select.poll()
    poll.register(dbapi_conn.pgconn.socket, select.POLLIN | select.POLLPRI)
    if poll.poll(0):
        raise sa.exc.DisconnectionError("the server ended this idle connection")


def _one_line(exc: BaseException) -> str:
    """A driver's error message on one line (psycopg's spans several)."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def _check_schema(engine: sa.Engine, url: str) -> None:
    """Start only on a database at this code's schema revision: one query (the Alembic
    version), at start-up only. A database never upgraded, at an older revision or at one
    this code does not know (newer code ran its migrations) stops the start with what to do,
    instead of requests failing later with 500 on a table or column that is not there."""
    from service.db.migrate import code_revisions

    where = f"MEMBERFLOW_DATABASE_URL={shown_url(url)}"
    try:
        conn = engine.connect()
    except sa.exc.DBAPIError as exc:
        raise ConfigError(f"无法连接数据库（{where}）：{_one_line(exc)}") from exc
    try:
        with conn:
            found = set(conn.scalars(sa.text("SELECT version_num FROM alembic_version")))
    except sa.exc.DBAPIError as exc:
        if "alembic_version" in str(exc.orig) and not exc.connection_invalidated:
            raise ConfigError(
                f"数据库尚未初始化（{where} 中没有数据库结构），请先运行 memberflow db upgrade"
            ) from exc
        raise ConfigError(f"无法读取数据库的版本（{where}）：{_one_line(exc)}") from exc
    known, heads = code_revisions()
    if found == heads:
        return
    shown, wanted = "、".join(sorted(found)) or "（空）", "、".join(sorted(heads))
    if found - known:
        raise ConfigError(
            f"数据库版本为 {shown}，比本程序新（本程序最高为 {wanted}）：数据库已由较新版本的"
            f"程序升级，请运行与之相符的程序版本（{where}）"
        )
    raise ConfigError(
        f"数据库版本为 {shown}，本程序需要 {wanted}：请先运行 memberflow db upgrade（{where}）"
    )


def _check_files_folder(config: Config) -> None:
    """The local files folder exists (made if need be) and takes a file, checked at start-up
    rather than at the first upload."""
    if config.storage != "local":
        return
    from service.storage.local import LocalStorage

    LocalStorage(config.files_dir).check_writable()


def _check_certificate_font(config: Config) -> None:
    """The configured certificate font loads (registered once, as a certificate would)."""
    if not config.certificate_font:
        return
    from service.services.documents.certificate_pdf import check_font

    check_font(config.certificate_font)


def _reads_only_on_get(app: Flask) -> None:
    """A GET (or HEAD) request's transaction only reads: READ ONLY on PostgreSQL, ended by
    COMMIT (`db.uow.begin_read_only`). The pages' static files touch no database."""
    from flask import request

    from service.db import db
    from service.db.uow import begin_read_only

    @app.before_request
    def _read_only() -> None:
        if request.method in ("GET", "HEAD") and request.endpoint != "assets.static":
            begin_read_only(db.session)


# a page's form sends its files with it (the join form up to eight): the request may carry
# this many of the largest image or PDF and one video besides (the join form's 视频证明);
# the API takes one file, or one JSON body, per request
PAGE_FILES = 10


def page_form_bytes(config: Config) -> int:
    """The largest request a page's form may send: `PAGE_FILES` files, a video and its fields."""
    return PAGE_FILES * config.max_upload_bytes + config.max_video_bytes + 256 * 1024


def _body_limits(app: Flask, config: Config) -> None:
    """An API request's body is at most one file (or a JSON body, which the guards bound
    further); a page's form may carry several files (`page_form_bytes`, the app's
    MAX_CONTENT_LENGTH). Set before any hook reads the body."""
    from flask import request

    api_bytes = config.largest_upload_bytes + 256 * 1024

    @app.before_request
    def _api_body_limit() -> None:
        if request.path.startswith("/api/"):
            request.max_content_length = api_bytes


def create_app(config: Config | None = None) -> Flask:
    """Build the WSGI app: parse the definitions (a broken file stops start-up), wire the API."""
    from service import headers, worker
    from service.api import register_api
    from service.db import begin, db
    from service.httputil import LazyRule
    from service.limits import limiter
    from service.services.membership import sessions
    from service.services.workflow import deploy
    from service.services.workflow.context import Context
    from service.services.workflow.definitions import Definitions
    from service.web import register_web

    config = config or load_config()
    logging.getLogger("spiff").setLevel(logging.WARNING)
    _check_files_folder(config)
    _check_certificate_font(config)
    definitions = Definitions.from_folders(config)
    # static files are the pages' own (service/web/static), served by their blueprint
    app = Flask(__name__, instance_path=str(config.instance_dir.resolve()), static_folder=None)
    app.url_rule_class = LazyRule  # URL builders compiled at their first use
    app.config.update(
        SECRET_KEY=config.secret_key,
        SQLALCHEMY_DATABASE_URI=config.database_url,
        SQLALCHEMY_ENGINE_OPTIONS=engine_options(config.database_url),
        MAX_CONTENT_LENGTH=page_form_bytes(config),
        TESTING=config.testing,
        JSON_AS_ASCII=False,
    )
    app.json.ensure_ascii = False
    db.init_app(app)
    with app.app_context():
        if config.database_url.startswith("sqlite"):
            sa.event.listen(db.engine, "connect", _sqlite_pragmas)
        else:  # a transaction's BEGIN goes with its first statement
            sa.event.listen(db.engine, "do_connect", begin.connect)
            sa.event.listen(db.engine, "checkout", _alive)
        db.engine.dispose()  # connections made before are made again, through the hook
        _check_schema(db.engine, config.database_url)
        sessions.install(db.engine, config.session_recheck_seconds)
        try:
            definitions.sync(db.session)
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(
                "数据库尚未初始化或无法连接，请先运行 memberflow db upgrade"
                f"（MEMBERFLOW_DATABASE_URL={shown_url(config.database_url)}：{_one_line(exc)}）"
            ) from exc
        finally:
            db.session.remove()
    app.extensions["memberflow"] = Context(definitions=definitions, config=config)
    _reads_only_on_get(app)  # first: before any other hook reads the database
    _body_limits(app, config)  # before any hook reads the body
    deploy.install(app)  # every worker follows the newest deployment within seconds
    app.config["RATELIMIT_STORAGE_URI"] = config.ratelimit_storage
    limiter.init_app(app)
    register_api(app)
    register_web(app)
    headers.install(app, config)
    worker.install(app)  # SQLite: background jobs run in a local thread
    return app
