"""memberflow: the BPMN workflow service of the member service platform."""

from __future__ import annotations

import logging

import sqlalchemy as sa
from flask import Flask

from service.config import Config, ConfigError, load_config


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.close()


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
    from service.limits import limiter
    from service.services.membership import sessions
    from service.services.workflow import deploy
    from service.services.workflow.context import Context
    from service.services.workflow.definitions import Definitions
    from service.web import register_web

    config = config or load_config()
    logging.getLogger("spiff").setLevel(logging.WARNING)
    definitions = Definitions.from_folders(config)
    # static files are the pages' own (service/web/static), served by their blueprint
    app = Flask(__name__, instance_path=str(config.instance_dir.resolve()), static_folder=None)
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
        db.engine.dispose()  # connections made before are made again, through the hook
        sessions.install(db.engine, config.session_recheck_seconds)
        try:
            definitions.sync(db.session)
        except sa.exc.SQLAlchemyError as exc:
            raise ConfigError(
                "数据库尚未初始化或无法连接，请先运行 memberflow db upgrade"
                f"（{type(exc).__name__}）"
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
