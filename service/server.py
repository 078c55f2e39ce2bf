"""`memberflow serve`: gunicorn with threaded workers (production), or Flask's development
server with `--dev`.

The app is built once in the master before the workers fork (so a broken definition or
setting stops the start with its message, not once per worker); each worker then drops
the database connections it inherited and opens its own.
"""

from __future__ import annotations

import gc

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger
from werkzeug.serving import WSGIRequestHandler

from service.headers import SERVER_NAME


def _one_server_header(wsgi_app):
    """gunicorn writes `Server: gunicorn` itself and has no setting to change it; its
    start_response is a method of its response object, whose `version` names the server.
    Name us there and drop the app's own Server header, so one `Server: memberflow` leaves."""

    def app(environ, start_response):
        response = getattr(start_response, "__self__", None)
        if response is None or not hasattr(response, "version"):
            return wsgi_app(environ, start_response)
        response.version = SERVER_NAME

        def start(status, headers, exc_info=None):
            kept = [(k, v) for k, v in headers if k.lower() != "server"]
            return start_response(status, kept, exc_info)

        return wsgi_app(environ, start)

    return app


def _forget_connections(app: Flask, close: bool) -> None:
    from service.db import db

    with app.app_context():
        db.engine.dispose(close=close)


# The cyclic garbage collector's young generation is collected every this many allocations
# (Python's default is 700). A request builds and drops an engine's task tree, whose tasks
# and workflow refer to each other: cycles only the collector frees. At 700 a busy worker
# collected dozens of times a second, each time moving the objects of the requests still in
# flight on to the older generations, where they are walked again. Measured with
# gc.callbacks in both workers under bench_throughput: the collector's CPU per request fell
# from 0.23 ms (the default) to 0.14 ms with the freeze below and to about 0.08 ms with this
# threshold as well, each young collection then taking about 3 ms.
YOUNG_COLLECTION_THRESHOLD = 10_000


def tune_collector() -> int:
    """Ready the garbage collector for a long-running server; returns the objects frozen.

    Called in the master once the app is built, before the workers fork: everything built
    so far (the app, the definitions, the libraries) goes to the collector's permanent
    generation, so a worker's full collections no longer walk it (they took about 90 ms
    each, every few seconds; about 5 ms after) nor write to its pages, which the workers
    then keep sharing with the master. The workers inherit the threshold above."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, middle, old)
    return gc.get_freeze_count()


class AccessLogger(Logger):
    """gunicorn's logger, writing an access line in gunicorn's default format from the nine
    values that format names.

    gunicorn's own first makes every request header, response header and environment
    variable a value the format could name (escaping each), whatever the format names:
    about 2 % of a request's CPU (py-spy under bench_throughput.py, 5 December 2026). The
    line is the same (`tests/unit/test_access_log.py` compares the two loggers' lines); any
    other format (`access_log_format`) goes to gunicorn's own."""

    def access(self, resp, req, environ, request_time) -> None:
        enabled = getattr(self, "access_log_enabled", None)  # gunicorn 27 and newer
        if enabled is None or self.cfg.access_log_format != AccessLogFormat.default:
            super().access(resp, req, environ, request_time)
            return
        if not enabled:
            return
        status = resp.status
        if isinstance(status, str):
            status = status.split(None, 1)[0]
        sent = getattr(resp, "sent", None)
        values = {
            "h": environ.get("REMOTE_ADDR", "-"),
            "l": "-",
            "u": self._get_user(environ) or "-",
            "t": self.now(),
            "r": f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}",
            "s": status,
            "b": "-" if sent is None else str(sent),
            "f": environ.get("HTTP_REFERER", "-"),
            "a": environ.get("HTTP_USER_AGENT", "-"),
        }
        for key, value in values.items():  # as gunicorn escapes them
            if isinstance(value, str):
                values[key] = value.replace('"', '\\"')
        try:
            self.access_log.info(AccessLogFormat.default, values)
        except Exception:  # noqa: BLE001 - as gunicorn's: a failed line is logged, not raised
            self.exception("the access log line could not be written")


class _Gunicorn(BaseApplication):
    """gunicorn run in-process with our settings, serving an app already built."""

    def __init__(self, app: Flask, options: dict):
        self.app = app
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorns lack some settings
                self.cfg.set(key, value)

    def load(self):
        return _one_server_header(self.app)


def run_gunicorn(app: Flask, host: str, port: int, workers: int, threads: int) -> None:
    """Serve `app` with gunicorn's threaded workers until SIGTERM/SIGINT."""
    _forget_connections(app, close=True)  # the master serves no requests: it keeps no connection
    frozen = tune_collector()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        # connections inherited from the master are its own; each worker opens its own
        "post_fork": lambda _server, _worker: _forget_connections(app, close=False),
        "when_ready": lambda server: server.log.info(
            "Garbage collector: %d objects frozen; young generation collected every %d allocations",
            frozen,
            YOUNG_COLLECTION_THRESHOLD,
        ),
        "accesslog": "-",
        "errorlog": "-",
        "logger_class": AccessLogger,
        "timeout": 60,
        "graceful_timeout": 20,
        # X-Forwarded-* are trusted only through MEMBERFLOW_PROXIES (ProxyFix in the app)
        "secure_scheme_headers": {},
        # no control socket: one per user by default, so two servers on a host would clash
        "control_socket_disable": True,
    }
    _Gunicorn(app, options).run()


class _Handler(WSGIRequestHandler):
    """The development server without its `Werkzeug/… Python/…` banner."""

    def version_string(self) -> str:
        return SERVER_NAME


def run_dev(app: Flask, host: str, port: int) -> None:
    """Flask's development server (threaded), for `memberflow serve --dev` only."""
    app.run(host=host, port=port, threaded=True, request_handler=_Handler)
