"""业务消息 delivered for real: a join application's moves write in-app notices and outbox
messages in their own transaction; the outbox is delivered to a real SMTP server (aiosmtpd)
and to an SMS gateway (a local HTTP server recording requests), retried with backoff when
the gateway fails, never sent twice, and listed for operators when it cannot be sent.
SQLite and PostgreSQL."""

from __future__ import annotations

import email
import json
import socket
import threading
from datetime import timedelta
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import sqlalchemy as sa
from aiosmtpd.controller import Controller
from conftest import PASSWORD, in_db, make_app, seed_world, token_headers
from test_member_join_api import approve_to_end, complete, open_task, start_join

from service.db import db
from service.db.models import Notification, OutboxMessage
from service.db.uow import UnitOfWork
from service.services.schedules import outbox
from service.services.workflow.messages import TemplateError, parse_templates

MOBILE = "13800138000"
ATTEMPTS = 3


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """aiosmtpd's handler: every message received, parsed."""

    def __init__(self):
        self.messages = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        parsed = email.message_from_bytes(envelope.content, policy=email_policy)
        self.messages.append((envelope.rcpt_tos, parsed["Subject"], parsed.get_content()))
        return "250 OK"


class Gateway(BaseHTTPRequestHandler):
    """The SMS gateway: records each request; answers 503 while `failures` is above zero."""

    received: list = []
    failures = 0

    def do_POST(self):  # noqa: N802 - http.server's name
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        cls = type(self)
        if cls.failures > 0:
            cls.failures -= 1
            self.send_response(503)
            self.end_headers()
            return
        cls.received.append((self.headers.get("Authorization"), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, *args):
        pass


@pytest.fixture
def servers():
    inbox = Inbox()
    smtp = Controller(inbox, hostname="127.0.0.1", port=_port())
    smtp.start()
    Gateway.received, Gateway.failures = [], 0
    http = ThreadingHTTPServer(("127.0.0.1", 0), Gateway)
    threading.Thread(target=http.serve_forever, daemon=True).start()
    yield inbox, smtp.port, f"http://127.0.0.1:{http.server_address[1]}/sms"
    http.shutdown()
    http.server_close()
    smtp.stop()


@pytest.fixture
def wired(db_url, tmp_path, servers):
    inbox, smtp_port, sms_url = servers
    app = make_app(
        db_url,
        tmp_path,
        smtp_url=f"smtp://127.0.0.1:{smtp_port}?from=noreply@gdjlxh.org",
        sms_url=sms_url,
        sms_token="gateway-secret",
        outbox_attempts=ATTEMPTS,
    )
    world = seed_world(app)
    client = app.test_client()
    tokens: dict = {}

    def login(who):
        if who not in tokens:
            tokens[who] = token_headers(client, world.logins.get(who, who))
        return tokens[who]

    # the unit's admin reads mail; its sub-account carries the mobile for SMS
    assert (
        client.put(
            "/api/v1/auth/email", headers=login("unit"), json={"email": "admin@zhujiang.cn"}
        ).status_code
        == 200
    )
    made = client.post(
        f"/api/v1/units/{world.unit_id}/accounts",
        headers=login("unit"),
        json={"name": "张敏", "mobile": MOBILE, "password": PASSWORD},
    )
    assert made.status_code == 201, made.get_json()
    return app, client, login, world, inbox


def deliver(app) -> dict:
    with app.app_context():
        try:
            return outbox.deliver(app.extensions["memberflow"], UnitOfWork(db.session))
        finally:
            db.session.remove()


def outbox_rows(app) -> list[tuple]:
    return in_db(
        app,
        lambda s: [
            (m.kind, m.channel, m.address, m.status, m.attempts)
            for m in s.scalars(sa.select(OutboxMessage).order_by(OutboxMessage.id))
        ],
    )


def test_a_join_application_tells_the_unit_by_notice_mail_and_sms(wired):
    app, client, login, world, inbox = wired
    inst = start_join(client, login)
    task = open_task(client, login("unit"), inst["id"])
    approve_to_end(client, login, inst["id"], stop_at="agency_review")
    task = open_task(client, login("agency"), inst["id"])
    complete(
        client, login("agency"), task["id"], {"decision": "return", "remark": "学历验证报告不清晰"}
    )

    notices = in_db(
        app,
        lambda s: [
            (n.kind, n.title) for n in s.scalars(sa.select(Notification).order_by(Notification.id))
        ],
    )
    key = inst["business_key"]
    assert ("submitted", f"业务已提交：{key}") in notices
    assert ("returned", f"业务被退回：{key}") in notices
    # written with the moves, not yet sent: the main account by mail, the sub-account by SMS
    assert outbox_rows(app) == [
        ("submitted", "email", "admin@zhujiang.cn", "pending", 0),
        ("returned", "email", "admin@zhujiang.cn", "pending", 0),
        ("returned", "sms", MOBILE, "pending", 0),
    ]
    assert deliver(app) == {"sent": 3, "retry": 0, "failed": 0, "unknown": 0}
    assert [(to, subject) for to, subject, _ in inbox.messages] == [
        (["admin@zhujiang.cn"], f"业务已提交：{key}"),
        (["admin@zhujiang.cn"], f"业务被退回：{key}"),
    ]
    assert "退回原因：学历验证报告不清晰" in inbox.messages[1][2]
    assert inbox.messages[0][2].startswith(
        f"{world.unit_name}已提交个人会员入会申请"
    )  # the unit sent it
    [(auth, sms)] = Gateway.received
    assert auth == "Bearer gateway-secret" and sms["mobile"] == MOBILE
    assert sms["text"].startswith("【广东省建设监理协会】") and "学历验证报告不清晰" in sms["text"]
    # nothing is sent twice
    assert deliver(app) == {"sent": 0, "retry": 0, "failed": 0, "unknown": 0}
    assert len(inbox.messages) == 2 and len(Gateway.received) == 1
    assert {row[3] for row in outbox_rows(app)} == {"sent"}


def test_a_failing_gateway_is_retried_with_backoff_then_reported(wired):
    app, client, login, world, inbox = wired
    ctx = app.extensions["memberflow"]
    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"], stop_at="agency_review")
    task = open_task(client, login("agency"), inst["id"])
    complete(client, login("agency"), task["id"], {"decision": "return", "remark": "照片不清晰"})
    Gateway.failures = 100  # the gateway is down
    start = ctx.now()

    def sms_row():
        return in_db(
            app,
            lambda s: s.scalars(
                sa.select(OutboxMessage).where(OutboxMessage.channel == "sms")
            ).one(),
        )

    assert deliver(app)["retry"] == 1
    first = sms_row()
    assert (first.status, first.attempts) == ("pending", 1) and "503" in first.last_error
    assert first.next_attempt_at >= start + timedelta(seconds=59)
    assert deliver(app)["retry"] == 0  # not due yet
    ctx.clock = lambda: start + timedelta(seconds=61)
    assert deliver(app)["retry"] == 1  # the second failure waits two minutes
    assert sms_row().next_attempt_at >= start + timedelta(seconds=61 + 119)
    ctx.clock = lambda: start + timedelta(minutes=4)
    assert deliver(app)["failed"] == 1  # the third of ATTEMPTS: given up, reported
    assert sms_row().status == "failed"

    admin = token_headers(client, "admin")
    [failed] = client.get("/api/v1/outbox", headers=admin).get_json()["items"]
    assert failed["status_label"] == "发送失败" and failed["attempts"] == ATTEMPTS
    assert client.get("/api/v1/outbox", headers=login("unit")).status_code == 404
    again = client.post(f"/api/v1/outbox/{failed['id']}/retry", headers=admin)
    assert again.status_code == 200 and again.get_json()["status"] == "pending"
    assert client.post(f"/api/v1/outbox/{failed['id']}/retry", headers=admin).status_code == 409
    Gateway.failures = 0  # back up: the retried message goes out once
    assert deliver(app)["sent"] == 1
    assert len(Gateway.received) == 1 and "照片不清晰" in Gateway.received[0][1]["text"]


def test_a_send_cut_short_is_reported_never_resent(wired):
    app, client, login, world, inbox = wired
    ctx = app.extensions["memberflow"]
    start_join(client, login)
    now = ctx.now()

    def crashed(s):  # a worker that marked it sending and died before the result
        s.execute(
            sa.update(OutboxMessage).values(status="sending", attempts=1, next_attempt_at=now)
        )
        s.commit()

    in_db(app, crashed)
    ctx.clock = lambda: now + timedelta(minutes=11)
    assert deliver(app) == {"sent": 0, "retry": 0, "failed": 0, "unknown": 1}
    assert inbox.messages == []
    [row] = outbox_rows(app)
    assert row[3] == "unknown"
    admin = token_headers(client, "admin")
    [listed] = client.get("/api/v1/outbox", headers=admin).get_json()["items"]
    assert listed["status_label"] == "结果未知" and "未自动重发" in listed["last_error"]


def test_bad_templates_are_named_with_their_kind():
    with pytest.raises(TemplateError) as caught:
        parse_templates(
            json.dumps(
                {
                    "returned": {
                        "title": "退回：{business_key}",
                        "body": "原因：{reson}",
                        "channels": ["in_app", "fax"],
                        "fields": ["business_key", "colour"],
                    },
                    "birthday": {"title": "x", "body": "y"},
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    assert caught.value.problems == [
        "rules/messages.json:2 [returned]: channels 只能是 in_app、email、sms，不认识：['fax']",
        "rules/messages.json:2 [returned]: fields 中 colour 不是这种消息提供的字段，可用："
        "business_key、process_name、reason、status、subject、unit_name",
        "rules/messages.json:2 [returned]: body 使用了未在 fields 中列出的占位符 ['reson']",
        "rules/messages.json:14 [birthday]: 未知的消息种类，可用：submitted、returned、"
        "bill_issued、payment_confirmed、approved、membership_ended、learning_opened、learning_failed、"
        "certificate_issued、learning_deadline、task_digest",
    ]


def test_the_bill_the_payment_and_the_approval_are_told_and_reviewers_get_a_digest(wired):
    app, client, login, world, inbox = wired
    from service.services.schedules.scheduler import reminders_job

    inst = start_join(client, login)
    approve_to_end(client, login, inst["id"], stop_at="agency_review")

    def digest():
        with app.app_context():
            try:
                return reminders_job(app.extensions["memberflow"], UnitOfWork(db.session))
            finally:
                db.session.remove()

    assert digest()["task_digest"] == 1  # the agency reviewer's pool holds the review
    assert digest()["task_digest"] == 0  # once a day
    agency_notices = client.get("/api/v1/notifications", headers=login("agency")).get_json()
    [note] = [n for n in agency_notices["items"] if n["title"].startswith("待办任务提醒")]
    assert note["title"] == "待办任务提醒：1条" and "个人会员入会申请" in note["body"]

    approve_to_end(client, login, inst["id"], from_task="agency_review")
    kinds = in_db(
        app,
        lambda s: [
            n.kind
            for n in s.scalars(sa.select(Notification).where(Notification.kind != "task_digest"))
        ],
    )
    for kind in ("submitted", "bill_issued", "payment_confirmed", "approved"):
        assert kind in kinds, kind
    assert "returned" not in kinds
    assert deliver(app)["sent"] >= 4
    subjects = [subject for _, subject, _ in inbox.messages]
    assert f"审批完成：{inst['business_key']}" in subjects
    assert any(sms["text"].count("缴费单") for _, sms in Gateway.received)
