"""`memberflow serve`: gunicorn with threaded workers (production), or Flask's development
server with `--dev`.

The app is built once in the master before the workers fork (so a broken definition or
setting stops the start with its message, not once per worker); each worker then drops
the database connections it inherited and opens its own.

Logging: memberflow's own records from INFO, everything else's from WARNING, each line with
its time, process id, level and logger (`configure_logging`), beside gunicorn's. The access
log never holds what a person typed into a search or lookup: the values of the query
parameters that may carry a name, an ID number or a mobile number are written `***`, and
so is anything in the address that looks like an ID or mobile number (`redact_uri`).
"""

from __future__ import annotations

import gc
import logging
import re
from urllib.parse import quote, unquote_plus

from flask import Flask
from gunicorn.app.base import BaseApplication
from gunicorn.config import AccessLogFormat
from gunicorn.glogging import Logger
from gunicorn.http.errors import LimitRequestHeaders, LimitRequestLine
from gunicorn.util import write_nonblock
from gunicorn.workers.gthread import ThreadWorker
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


# what gunicorn refuses before the app sees a request, and a person can cause (a long search
# in the address, a browser's cookies grown too large): said in Chinese, as the app would
_REFUSED_EARLY = (
    (
        LimitRequestLine,
        "414 URI Too Long",
        "请求地址过长",
        "这个地址超过了服务器可处理的长度（约 4,000 个字符），通常是搜索或筛选的内容过多。"
        "请缩短搜索内容后重试，或返回首页重新进入。",
    ),
    (
        LimitRequestHeaders,
        "431 Request Header Fields Too Large",
        "请求头过大",
        "浏览器发送的信息（如 Cookie）过多，服务器无法处理。请清除本站的 Cookie 后重新登录。",
    ),
)


def refusal_page(status: str, title: str, text: str) -> bytes:
    """A whole HTTP response (the connection closed after it): a small page in Chinese."""
    body = (
        '<!doctype html><html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{title}</title><style>body{{font-family:system-ui,sans-serif;"
        "max-width:40rem;margin:3rem auto;padding:0 1rem;line-height:1.7;color:#222}"
        "h1{font-size:1.4rem;color:#a61b1b}a{color:#1a56a6}</style></head>"
        f"<body><h1>{title}</h1><p>{text}</p>"
        '<p><a href="/">返回首页</a></p></body></html>'
    ).encode()
    head = (
        f"HTTP/1.1 {status}\r\nConnection: close\r\nContent-Type: text/html; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nX-Content-Type-Options: nosniff\r\n\r\n"
    )
    return head.encode("ascii") + body


class Worker(ThreadWorker):
    """gunicorn's threaded worker, answering in Chinese the requests it refuses before the app
    sees them that a person can cause (`_REFUSED_EARLY`); every other refusal is gunicorn's
    own. The refusal is logged as gunicorn logs it."""

    def handle_error(self, req, client, addr, exc):
        said = next((said for kind, *said in _REFUSED_EARLY if isinstance(exc, kind)), None)
        if said is None:
            return super().handle_error(req, client, addr, exc)
        ip = (addr or ("", -1))[0]
        self.log.warning("Invalid request from ip=%s: %s", ip, exc)
        try:
            write_nonblock(client, refusal_page(*said))
        except Exception:  # noqa: BLE001 (the client is gone: nothing to tell it)
            self.log.debug("Failed to send error message.")
        return None


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


LOG_FORMAT = "[%(asctime)s] [%(process)d] [%(levelname)s] %(name)s: %(message)s"
LOG_DATE_FORMAT = "%Y-%m-%d %H:%M:%S %z"  # as gunicorn's own lines


def configure_logging(stream=None) -> None:
    """Log memberflow's records from INFO (jobs done, workers started, deployments followed,
    errors with their 出错编号) and other libraries' from WARNING to standard error, each line
    with time, pid, level and logger. Left as it is when the process configured logging
    already (a handler on the root logger), apart from memberflow's level. `stream`:
    standard error unless given."""
    root = logging.getLogger()
    if not root.handlers:
        handler = logging.StreamHandler(stream)
        handler.setFormatter(RedactingFormatter(LOG_FORMAT, LOG_DATE_FORMAT))
        root.addHandler(handler)
        if root.level == logging.NOTSET:
            root.setLevel(logging.WARNING)
    logging.getLogger("memberflow").setLevel(logging.INFO)


# query parameters whose values the access log never holds: what people type into the
# lookup and search boxes (a name, an ID number or its last digits, a mobile number…)
SENSITIVE_PARAMETERS = frozenset(
    {"q", "id_number", "name", "number", "mobile", "phone", "email", "password", "token"}
)
REDACTED = "***"
# an ID number (18 characters, or the 15 digits of the first generation) or a mobile
# number anywhere else in an address: the path, another parameter, a `next` link
_PERSONAL = re.compile(r"(?<![0-9])(?:[0-9]{17}[0-9Xx]|[0-9]{15}|1[3-9][0-9]{9})(?![0-9])")


def redact_uri(uri: str) -> str:
    """`uri` (a request's path and query, or a whole URL such as a Referer) as the access
    log may hold it: sensitive parameters' values `***`, ID-number-like and mobile-number-
    like values `***` wherever they are, a link in a parameter (`next=/forms?q=…`) likewise.
    Anything else is left as sent, byte for byte."""
    path, mark, query = uri.partition("?")
    if _PERSONAL.search(path):
        path = _PERSONAL.sub(REDACTED, path)
    return f"{path}?{redact_query(query)}" if mark else path


def redact_query(query: str) -> str:
    """A query string (without its `?`) as `redact_uri` leaves it."""
    pairs = []
    for pair in query.split("&"):
        key, equals, value = pair.partition("=")
        if value:
            if unquote_plus(key).strip().lower() in SENSITIVE_PARAMETERS:
                value = REDACTED
            else:
                value = _redact_value(value)
        pairs.append(key + equals + value)
    return "&".join(pairs)


def _redact_value(raw: str) -> str:
    """A parameter's value (as sent, percent-encoded) with what `redact_uri` hides hidden."""
    text = unquote_plus(raw)
    if "?" in text and text.startswith(("/", "http://", "https://")):  # a link
        inner = redact_uri(text)
        return raw if inner == text else quote(inner, safe="*")
    if _PERSONAL.search(text):
        return REDACTED
    return raw


def mask_personal(text: str) -> str:
    """`text` with ID-number-like and mobile-number-like values written `***`."""
    return _PERSONAL.sub(REDACTED, text) if _PERSONAL.search(text) else text


class RedactingFormatter(logging.Formatter):
    """A log line, traceback included, with ID-number- and mobile-number-like values written
    `***`: a database's error may quote the values of a row (PostgreSQL's DETAIL)."""

    def format(self, record: logging.LogRecord) -> str:
        return mask_personal(super().format(record))


class _RedactAddresses(logging.Filter):
    """gunicorn's error log names a failed request by its address (`Error handling request
    /lookup?…`): written as the access log writes it."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and record.args:
            record.args = tuple(
                redact_uri(a) if isinstance(a, str) and a.startswith("/") else a
                for a in record.args
            )
        return True


class AccessLogger(Logger):
    """gunicorn's logger, writing an access line in gunicorn's default format from the nine
    values that format names.

    gunicorn's own first makes every request header, response header and environment
    variable a value the format could name (escaping each), whatever the format names:
    about 2 % of a request's CPU (py-spy under bench_throughput.py, 5 December 2026). The
    line is the same (`tests/unit/test_access_log.py` compares the two loggers' lines); any
    other format (`access_log_format`) goes to gunicorn's own. Either way the request line
    and the referrer are written as `redact_uri` leaves them."""

    def setup(self, cfg) -> None:
        super().setup(cfg)
        if not any(isinstance(f, _RedactAddresses) for f in self.error_log.filters):
            self.error_log.addFilter(_RedactAddresses())
        for handler in self.error_log.handlers:
            if getattr(handler, "_gunicorn", False) and handler.formatter is not None:
                handler.setFormatter(RedactingFormatter(self.error_fmt, self.datefmt))

    def atoms(self, resp, req, environ, request_time) -> dict:
        """gunicorn's values for another format, the address ones redacted."""
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "f", "{referer}i", "{raw_uri}e", "{http_referer}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_uri(atoms[key])
        for key in ("q", "{query_string}e"):
            if isinstance(atoms.get(key), str):
                atoms[key] = redact_query(atoms[key])
        return atoms

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
            "r": (
                f"{environ['REQUEST_METHOD']} {redact_uri(environ['RAW_URI'])} "
                f"{environ['SERVER_PROTOCOL']}"
            ),
            "s": status,
            "b": "-" if sent is None else str(sent),
            "f": redact_uri(environ.get("HTTP_REFERER", "-")),
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
    configure_logging()
    _forget_connections(app, close=True)  # the master serves no requests: it keeps no connection
    frozen = tune_collector()
    options = {
        "bind": f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "service.server.Worker",  # gthread, refusing in Chinese
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

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        """The request's line, its address as `redact_uri` leaves it."""
        path = getattr(self, "path", None)
        if isinstance(path, str):
            self.path = redact_uri(path)
        super().log_request(code, size)


def run_dev(app: Flask, host: str, port: int) -> None:
    """Flask's development server (threaded), for `memberflow serve --dev` only."""
    configure_logging()
    app.run(host=host, port=port, threaded=True, request_handler=_Handler)
