"""The access log never holds what a person typed into the certificate lookup or a search
box: a name, an ID number, a mobile number (`server.redact_uri`), under gunicorn (its
default line and any other format) and under the development server; and `serve` logs
memberflow's records from INFO with time, pid and level (`server.configure_logging`)."""

from __future__ import annotations

import io
import logging
import os
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from service.server import (
    LOG_DATE_FORMAT,
    LOG_FORMAT,
    AccessLogger,
    RedactingFormatter,
    _Handler,
    configure_logging,
    redact_uri,
)

ID_NUMBER = "440106199106069126"
NAME = "%E5%86%AF%E4%BD%A9%E7%8F%8A"  # 冯佩珊
LOOKUP = f"/lookup?id_number={ID_NUMBER}&name={NAME}"


@pytest.mark.parametrize(
    ("sent", "logged"),
    [
        (LOOKUP, "/lookup?id_number=***&name=***"),
        (
            "/workbench/queue?q=%E5%86%AF&status=open&page=2",
            "/workbench/queue?q=***&status=open&page=2",
        ),
        (f"/api/v1/instances?q={ID_NUMBER[-4:]}&page=1", "/api/v1/instances?q=***&page=1"),
        ("/lookup?number=JL2023000001", "/lookup?number=***"),
        ("/api/v1/members?mobile=13800138000", "/api/v1/members?mobile=***"),
        # ID-number- and mobile-like values wherever they are
        (f"/forms?unit=x&other={ID_NUMBER}", "/forms?unit=x&other=***"),
        ("/forms?contact=13800138000", "/forms?contact=***"),
        ("/members/44010619910606912X/card", "/members/***/card"),
        (
            f"/login?next=%2Fforms%3Fq%3D{ID_NUMBER}%26page%3D2",
            "/login?next=%2Fforms%3Fq%3D***%26page%3D2",
        ),
        (
            f"https://hy.gdjlxh.org.cn{LOOKUP}",
            "https://hy.gdjlxh.org.cn/lookup?id_number=***&name=***",
        ),
        # the rest as sent, byte for byte
        ("/api/v1/tasks/12/complete?x=1", "/api/v1/tasks/12/complete?x=1"),
        ("/forms?business_key=JY-20250402000001&q=", "/forms?business_key=JY-20250402000001&q="),
        ("/static/app.css?v=9d25a55211", "/static/app.css?v=9d25a55211"),
        ("/x?a&b=&c=%20d", "/x?a&b=&c=%20d"),
        ("-", "-"),
    ],
)
def test_redact_uri(sent, logged):
    assert redact_uri(sent) == logged


@pytest.fixture(autouse=True)
def _access_logger_restored():
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


def _line(access_log_format: str | None = None) -> str:
    cfg = Config()
    cfg.set("accesslog", "-")
    if access_log_format is not None:
        cfg.set("access_log_format", access_log_format)
    logger = AccessLogger(cfg)
    lines = _Lines()
    logger.access_log.handlers = [lines]
    logger.access_log.propagate = False
    environ = {
        "REMOTE_ADDR": "10.0.0.7",
        "REQUEST_METHOD": "GET",
        "RAW_URI": LOOKUP,
        "PATH_INFO": "/lookup",
        "QUERY_STRING": LOOKUP.partition("?")[2],
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": f"https://hy.gdjlxh.org.cn{LOOKUP}",
        "HTTP_USER_AGENT": "Mozilla/5.0",
        "wsgi.url_scheme": "https",
    }
    resp = SimpleNamespace(status="200 OK", sent=100, headers=[])
    req = SimpleNamespace(headers=[("Referer", environ["HTTP_REFERER"])])
    logger.access(resp, req, environ, timedelta(seconds=0, microseconds=1200))
    [line] = lines.lines
    return line


def _holds_nothing_typed(line: str) -> None:
    assert ID_NUMBER not in line and NAME not in line and "冯佩珊" not in line, line


def test_gunicorn_s_default_line_holds_no_id_number_or_name():
    line = _line()
    _holds_nothing_typed(line)
    assert '"GET /lookup?id_number=***&name=*** HTTP/1.1" 200 100' in line
    assert '"https://hy.gdjlxh.org.cn/lookup?id_number=***&name=***"' in line


def test_another_format_holds_none_either():
    line = _line('"%(r)s" %(q)s "%(f)s" "%({referer}i)s" %({raw_uri}e)s %({query_string}e)s')
    _holds_nothing_typed(line)
    assert "id_number=***&name=***" in line


def test_the_development_server_s_line_holds_none_either():
    handler = object.__new__(_Handler)
    handler.path, handler.command, handler.request_version = LOOKUP, "GET", "HTTP/1.1"
    said = []
    handler.log = lambda _type, message, *args: said.append(message % args)
    handler.log_request(200, 100)
    [line] = said
    _holds_nothing_typed(line)
    assert "/lookup?id_number=***&name=***" in line


@pytest.fixture
def clean_logging():
    """The process's logging as it was (configure_logging changes the root logger)."""
    root, ours = logging.getLogger(), logging.getLogger("memberflow")
    handlers, level, our_level = list(root.handlers), root.level, ours.level
    yield
    root.handlers, ours.level = handlers, our_level
    root.setLevel(level)


def test_serve_logs_memberflow_info_with_time_pid_and_level(clean_logging):
    stream = io.StringIO()
    logging.getLogger().handlers = []  # as in `serve` (pytest adds its own for each phase)
    configure_logging(stream)
    configure_logging(stream)  # twice: one handler
    assert len(logging.getLogger().handlers) == 1
    logging.getLogger("memberflow.worker").info("后台任务处理程序已启动 (worker started)")
    logging.getLogger("memberflow.worker").debug("not this")
    logging.getLogger("some.library").info("nor this")
    logging.getLogger("some.library").warning("but this")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2, lines
    stamp = r"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\]"
    pid = os.getpid()
    assert lines[0].startswith("[") and f"] [{pid}] [INFO] memberflow.worker: 后台任务" in lines[0]
    assert f"] [{pid}] [WARNING] some.library: but this" in lines[1]
    assert re.match(stamp, lines[0]), lines[0]
    assert LOG_FORMAT.startswith("[%(asctime)s] [%(process)d] [%(levelname)s]")
    assert "%z" in LOG_DATE_FORMAT


def test_gunicorn_s_error_log_names_a_failed_request_without_what_was_typed():
    cfg = Config()
    logger = AccessLogger(cfg)
    stream = io.StringIO()
    [handler] = [h for h in logger.error_log.handlers if getattr(h, "_gunicorn", False)]
    handler.stream = stream
    try:
        raise ValueError(f"bad row: Key (id_number)=({ID_NUMBER}) already exists")
    except ValueError:
        logger.exception("Error handling request %s %s", "GET", LOOKUP)
    text = stream.getvalue()
    assert "Error handling request GET /lookup?id_number=***&name=***" in text
    _holds_nothing_typed(text)
    assert "Key (id_number)=(***) already exists" in text  # the traceback too


def test_the_log_s_lines_hold_no_id_or_mobile_number():
    formatter = RedactingFormatter(LOG_FORMAT, LOG_DATE_FORMAT)
    try:
        raise RuntimeError(f"DETAIL: Key (mobile)=(13800138000), ({ID_NUMBER})")
    except RuntimeError as exc:
        record = logging.LogRecord(
            "memberflow.api", logging.ERROR, __file__, 1, "failed for %s", (ID_NUMBER,), None
        )
        record.exc_info = (type(exc), exc, exc.__traceback__)
    text = formatter.format(record)
    assert "failed for ***" in text and "Key (mobile)=(***), (***)" in text
    assert ID_NUMBER not in text and "13800138000" not in text
