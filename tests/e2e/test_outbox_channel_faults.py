"""The outbox with a channel written wrongly or failing in our own code: the messages of that
channel fail with the reason (and go once corrected), the other channel's are sent, and
nothing is left 发送中 (which would become 结果未知, never sent) by an exception.

Real outbox rows, delivered to a real SMTP server (aiosmtpd) and a real HTTP gateway."""

from __future__ import annotations

import email
import json
import logging
import socket
import threading
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from conftest import in_db, make_app, seed_world

from service.db import db
from service.db.models import Account, OutboxMessage
from service.db.uow import UnitOfWork
from service.services.schedules import outbox


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.content, policy=email_policy)
        self.messages.append((envelope.rcpt_tos, parsed["Subject"]))
        return "250 OK"


class Gateway(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 - http.server's name
        type(self).received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def channels():
    """(inbox, a working SMTP URL, a working SMS URL)."""
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    Gateway.received = []
    http = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield (
        inbox,
        f"smtp://127.0.0.1:{smtp.port}?from=noreply@gdjlxh.org",
        f"http://127.0.0.1:{http.server_address[1]}/sms",
    )
    http.shutdown()
    http.server_close()
    smtp.stop()


def wired(db_url, tmp_path, smtp_url, sms_url, attempts=8):
    app = make_app(db_url, tmp_path, smtp_url=smtp_url, sms_url=sms_url, outbox_attempts=attempts)
    seed_world(app)
    return app


def queue(app, emails: int = 3, sms: int = 2) -> None:
    """Pending messages, as the business writes them: emails first, then SMS."""

    def add(s):
        account_id = s.scalar(sa.select(sa.func.min(Account.id)))
        for i in range(emails):
            s.add(
                OutboxMessage(
                    account_id=account_id,
                    channel="email",
                    address=f"unit{i}@zhujiang.cn",
                    kind="returned",
                    title=f"业务退回 {i}",
                    body="您提交的业务已退回，请修改后重新提交。",
                    dedupe_key=f"returned:{i}",
                )
            )
        for i in range(sms):
            s.add(
                OutboxMessage(
                    account_id=account_id,
                    channel="sms",
                    address=f"1380013800{i}",
                    kind="returned",
                    title=f"业务退回 {i}",
                    body="您提交的业务已退回，请修改后重新提交。",
                    dedupe_key=f"returned:{i}",
                )
            )
        s.commit()

    in_db(app, add)


def deliver(app) -> dict:
    with app.app_context():
        try:
            return outbox.deliver(app.extensions["memberflow"], UnitOfWork(db.session))
        finally:
            db.session.remove()


def rows(app) -> list[tuple]:
    return in_db(
        app,
        lambda s: [
            (m.channel, m.status, m.attempts, m.last_error)
            for m in s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        ],
    )


def test_a_typo_in_the_smtp_port_fails_the_emails_and_sends_the_sms(
    db_url, tmp_path, channels, caplog
):
    inbox, _smtp_url, sms_url = channels
    app = wired(db_url, tmp_path, "smtp://127.0.0.1:25x?from=noreply@gdjlxh.org", sms_url)
    queue(app)
    caplog.set_level(logging.INFO, logger="memberflow")
    assert deliver(app) == {"sent": 2, "retry": 3, "failed": 0, "unknown": 0}
    # the operator reads it once a batch, not once a message
    [said] = [r for r in caplog.records if r.name == "memberflow.outbox"]
    assert said.levelno == logging.ERROR and "端口「25x」" in said.getMessage()
    listed = rows(app)
    assert [r[:3] for r in listed] == [("email", "pending", 1)] * 3 + [("sms", "sent", 1)] * 2
    reason = listed[0][3]
    assert "MEMBERFLOW_SMTP_URL" in reason and "端口「25x」" in reason, reason
    assert len(Gateway.received) == 2 and inbox.messages == []


def test_an_sms_url_without_scheme_fails_the_sms_and_sends_the_emails(db_url, tmp_path, channels):
    inbox, smtp_url, _sms_url = channels
    app = wired(db_url, tmp_path, smtp_url, "sms.example.com/send")
    queue(app)
    assert deliver(app) == {"sent": 3, "retry": 2, "failed": 0, "unknown": 0}
    listed = rows(app)
    assert [r[:2] for r in listed] == [("email", "sent")] * 3 + [("sms", "pending")] * 2
    assert "MEMBERFLOW_SMS_URL" in listed[-1][3] and "http://" in listed[-1][3]
    assert len(inbox.messages) == 3


def test_a_wrong_address_is_retried_and_given_up_like_an_unreachable_server(
    db_url, tmp_path, channels
):
    _inbox, smtp_url, _sms_url = channels
    app = wired(db_url, tmp_path, smtp_url, "http://127.0.0.1:80x/sms", attempts=1)
    queue(app, emails=0, sms=1)
    assert deliver(app) == {"sent": 0, "retry": 0, "failed": 1, "unknown": 0}
    [(channel, status, _attempts, reason)] = rows(app)
    assert (channel, status) == ("sms", "failed") and "端口「80x」" in reason


def test_an_error_of_ours_while_sending_fails_that_message_alone(
    db_url, tmp_path, channels, monkeypatch
):
    inbox, smtp_url, sms_url = channels
    app = wired(db_url, tmp_path, smtp_url, sms_url)
    queue(app)
    real = outbox.send_email

    def flaky(url, to, subject, body, timeout=15):
        if to == "unit1@zhujiang.cn":
            raise ValueError("a bug of ours")
        return real(url, to, subject, body, timeout)

    monkeypatch.setattr(outbox, "send_email", flaky)
    assert deliver(app) == {"sent": 4, "retry": 1, "failed": 0, "unknown": 0}
    listed = rows(app)
    assert [r[1] for r in listed] == ["sent", "pending", "sent", "sent", "sent"]
    assert listed[1][3] == "发送时出错：ValueError: a bug of ours"
    assert len(inbox.messages) == 2 and len(Gateway.received) == 2


def test_a_batch_stopped_midway_gives_back_what_it_did_not_reach(
    db_url, tmp_path, channels, monkeypatch
):
    """The process is stopped (or the batch fails) during the second email: that one's
    outcome is unknown (it stays 发送中, later 结果未知); those after it are pending again,
    their attempt not counted, and the next run sends them."""
    inbox, smtp_url, sms_url = channels
    app = wired(db_url, tmp_path, smtp_url, sms_url)
    queue(app)
    real = outbox.send_email

    def stopped(url, to, subject, body, timeout=15):
        if to == "unit1@zhujiang.cn":
            raise KeyboardInterrupt
        return real(url, to, subject, body, timeout)

    monkeypatch.setattr(outbox, "send_email", stopped)
    with pytest.raises(KeyboardInterrupt):
        deliver(app)
    assert [r[1:3] for r in rows(app)] == [
        ("sent", 1),
        ("sending", 1),
        ("pending", 0),
        ("pending", 0),
        ("pending", 0),
    ]
    monkeypatch.setattr(outbox, "send_email", real)
    assert deliver(app) == {"sent": 3, "retry": 0, "failed": 0, "unknown": 0}
    assert len(inbox.messages) == 2 and len(Gateway.received) == 2


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("smtp://127.0.0.1:25x?from=a@gdjlxh.org", "端口「25x」不是 1–65535 之间的数字"),
        ("smtp://mail.gdjlxh.org:99999", "端口「99999」"),
        ("smtps://mail.gdjlxh.org:465", "地址应以 smtp:// 开头"),
        ("smtp://:25", "缺少主机名"),
        ("smtp://mail.gdjlxh.org?from=noreply", "发件地址 from=「noreply」不是邮箱地址"),
        ("smtp://mail.gdjlxh.org?starttls=yes", "starttls=「yes」应为 1 或 0"),
        ("smtp://user:pa/ss9@mail.gdjlxh.org:25", "地址无法解析"),
    ],
)
def test_smtp_url_problems_are_named_without_the_password(url, said):
    problem = outbox.smtp_url_problem(url)
    assert problem is not None and problem.startswith("MEMBERFLOW_SMTP_URL 配置有误：")
    assert said in problem and "pa/ss9" not in problem and "ss9" not in problem


@pytest.mark.parametrize(
    "url",
    [
        "smtp://mail.gdjlxh.org",
        "smtp://user:p%40ss@mail.gdjlxh.org:587?from=noreply@gdjlxh.org&starttls=1",
        "smtp://[::1]:25",
    ],
)
def test_good_smtp_urls_pass(url):
    assert outbox.smtp_url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "said"),
    [
        ("sms.example.com/send", "地址应以 http:// 或 https:// 开头"),
        ("sms.example.com:8080/send", "地址应以 http:// 或 https:// 开头"),
        ("http://sms.example.com:80x/send", "端口「80x」"),
        ("http:///send", "缺少主机名"),
    ],
)
def test_sms_url_problems_are_named(url, said):
    problem = outbox.sms_url_problem(url)
    assert problem is not None and problem.startswith("MEMBERFLOW_SMS_URL 配置有误：")
    assert said in problem


@pytest.mark.parametrize("url", ["http://127.0.0.1:8080/sms", "https://sms.example.com/send"])
def test_good_sms_urls_pass(url):
    assert outbox.sms_url_problem(url) is None
