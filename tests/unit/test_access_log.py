"""`memberflow serve`'s access log: `server.AccessLogger` writes gunicorn's own line.

gunicorn's logger builds every header and environment variable into the values its format
could name; ours writes the default format from the nine values it names. The two loggers,
given the same requests, must write the same lines, byte for byte; any other format is
gunicorn's own.
"""

from __future__ import annotations

import base64
import logging
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger

from service.server import AccessLogger


@pytest.fixture(autouse=True)
def _access_logger_restored():
    """gunicorn's loggers configure the process-wide `gunicorn.access` logger: put it back."""
    access = logging.getLogger("gunicorn.access")
    handlers, propagate, level = list(access.handlers), access.propagate, access.level
    yield
    access.handlers, access.propagate = handlers, propagate
    access.setLevel(level)


class _Lines(logging.Handler):
    def __init__(self):
        super().__init__()
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


def _lines_of(cls, access_log_format: str | None = None) -> list[str]:
    """The access lines a logger of `cls` writes for the cases (gunicorn's loggers share one
    `gunicorn.access` logging.Logger: one at a time)."""
    cfg = Config()
    cfg.set("accesslog", "-")
    if access_log_format is not None:
        cfg.set("access_log_format", access_log_format)
    logger = cls(cfg)
    lines = _Lines()
    logger.access_log.handlers = [lines]
    logger.access_log.propagate = False
    logger.now = lambda: "[05/Dec/2026:06:00:00 +0000]"  # both at the same instant
    _log_all(logger)
    return lines.lines


def _environ(**extra) -> dict:
    environ = {
        "REMOTE_ADDR": "10.0.0.7",
        "REQUEST_METHOD": "POST",
        "RAW_URI": "/api/v1/tasks/12/complete?x=1",
        "PATH_INFO": "/api/v1/tasks/12/complete",
        "QUERY_STRING": "x=1",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_USER_AGENT": 'Mozilla/5.0 (iPhone) "微信"',
        "wsgi.url_scheme": "http",
    }
    environ.update(extra)
    return environ


_BASIC = "Basic " + base64.b64encode("审核员:secret".encode()).decode()
CASES = [
    # (status, bytes sent, environ)
    ("200 OK", 1834, _environ(HTTP_AUTHORIZATION="Bearer abc.def")),
    ("201 CREATED", 0, _environ(HTTP_REFERER='https://example.cn/start?a="b"')),
    ("422 UNPROCESSABLE ENTITY", None, _environ(HTTP_AUTHORIZATION=_BASIC)),
    (404, 12, _environ(REMOTE_ADDR="::1", HTTP_AUTHORIZATION="Basic !!notbase64")),
    ("304 NOT MODIFIED", 0, {k: v for k, v in _environ().items() if k != "HTTP_USER_AGENT"}),
]


def _log_all(logger) -> None:
    for status, sent, environ in CASES:
        resp = SimpleNamespace(
            status=status,
            sent=sent,
            headers=[("Content-Type", "application/json"), ("X-Frame-Options", "DENY")],
        )
        req = SimpleNamespace(headers=[("Host", "127.0.0.1"), ("User-Agent", "x")])
        logger.access(resp, req, environ, timedelta(seconds=1, microseconds=2345))


def test_the_default_format_writes_gunicorn_s_own_lines():
    theirs = _lines_of(Logger)
    ours = _lines_of(AccessLogger)
    assert len(theirs) == len(CASES)
    assert ours == theirs
    # what the cases are there for: a quote escaped, a Basic user named, no size as "-"
    assert '\\"微信\\"' in ours[0]
    assert " 审核员 " in ours[2] and " 422 - " in ours[2]


def test_another_format_is_gunicorn_s_own():
    form = '%(h)s %({host}i)s %({x-frame-options}o)s %(L)s %(p)s "%(r)s"'
    theirs = _lines_of(Logger, form)
    ours = _lines_of(AccessLogger, form)
    assert ours == theirs
    assert "127.0.0.1 DENY 1.002345" in ours[0]


@pytest.mark.parametrize("cls", [Logger, AccessLogger])
def test_no_access_log_writes_nothing(cls):
    cfg = Config()
    logger = cls(cfg)
    lines = _Lines()
    logger.access_log.handlers = [lines]
    _log_all(logger)
    assert lines.lines == []
