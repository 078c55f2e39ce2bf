"""Delivering 业务消息 by email (SMTP) and SMS (an HTTP gateway), from the outbox.

Messages are written into `outbox_messages` with the change that causes them (see
`services/workflow/messages.py`); the scheduler's `outbox` job (every minute) and
`memberflow deliver-messages` send what is due:

- a message is claimed by marking it `sending` and committing (on PostgreSQL with
  SKIP LOCKED, so two schedulers never take the same one), then sent, then marked `sent`;
- a failure is retried with a growing wait (1, 2, 4 … minutes, at most an hour) until
  MEMBERFLOW_OUTBOX_ATTEMPTS (8) attempts, then `failed`;
- a message left `sending` for ten minutes (the process died mid-send) is marked
  `unknown` and not sent again by itself: nobody gets a message twice. Operators list the
  failed and unknown ones (secretariat, GET /api/v1/outbox) and send one again on purpose;
- a channel whose address is written wrongly (MEMBERFLOW_SMTP_URL's port `25x`, an SMS URL
  without `http://`) fails that channel's messages with the reason, like a server that does
  not answer (retried, so they go once the address is corrected); the other channel's are
  sent. Any other error of ours while sending fails that message alone, logged: nothing is
  left `sending` by an exception, and what a batch claimed but did not reach (the database
  went away, the process is stopping) is given back as `pending`.
"""

from __future__ import annotations

import http.client
import json
import logging
import smtplib
import ssl
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

from sqlalchemy import select, update

from service.config import sms_url_problem, smtp_url_problem
from service.db.models import OutboxMessage
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, FormInvalid, NotFound
from service.services.workflow.context import Context
from service.services.workflow.paging import page_of
from service.services.workflow.scope import may_manage_accounts

log = logging.getLogger("memberflow.outbox")

STALE = timedelta(minutes=10)
FIRST_WAIT, LONGEST_WAIT = 60, 3600
SIGNATURE = "【广东省建设监理协会】"
STATUS_LABELS = {
    "pending": "待发送",
    "sending": "发送中",
    "sent": "已发送",
    "failed": "发送失败",
    "unknown": "结果未知",
}
UNKNOWN = "发送过程中断（进程退出），结果未知，未自动重发"


class DeliveryError(Exception):
    """A channel refused or could not take a message; the text says why (kept, shortened)."""


def channel_problems(config) -> dict[str, str]:
    """Per channel, why its messages cannot be sent now: not configured, or configured with
    an address that cannot be used."""
    problems = {}
    if not config.smtp_url:
        problems["email"] = "未配置邮件服务器（MEMBERFLOW_SMTP_URL）"
    elif problem := smtp_url_problem(config.smtp_url):
        problems["email"] = problem
    if not config.sms_url:
        problems["sms"] = "未配置短信网关（MEMBERFLOW_SMS_URL）"
    elif problem := sms_url_problem(config.sms_url):
        problems["sms"] = problem
    return problems


def send_email(smtp_url: str, to: str, subject: str, body: str, timeout: float = 15) -> None:
    """Send one message through the SMTP server of `smtp_url`
    (smtp://[user:password@]host:port?from=address&starttls=1)."""
    problem = smtp_url_problem(smtp_url)
    if problem:
        raise DeliveryError(problem)
    parts = urlsplit(smtp_url.strip())
    query = parse_qs(parts.query)
    sender = (query.get("from") or [f"noreply@{parts.hostname}"])[0]
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = sender, to, subject
    message.set_content(body)
    try:
        with smtplib.SMTP(parts.hostname, parts.port or 25, timeout=timeout) as server:
            if (query.get("starttls") or ["0"])[0].lower() in ("1", "true"):
                server.starttls(context=ssl.create_default_context())
            if parts.username:
                server.login(unquote(parts.username), unquote(parts.password or ""))
            server.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryError(f"邮件发送失败：{type(exc).__name__}: {exc}") from exc


def send_sms(url: str, token: str | None, mobile: str, text: str, timeout: float = 15) -> None:
    """POST one SMS to the gateway: JSON {"mobile", "text"}, bearer `token`; 2xx is sent."""
    problem = sms_url_problem(url)
    if problem:
        raise DeliveryError(problem)
    body = json.dumps({"mobile": mobile, "text": SIGNATURE + text}, ensure_ascii=False).encode()
    request = urllib.request.Request(url.strip(), data=body, method="POST")
    request.add_header("Content-Type", "application/json; charset=utf-8")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as reply:  # noqa: S310 - configured
            reply.read()
    except urllib.error.HTTPError as exc:
        raise DeliveryError(f"短信网关返回 {exc.code}") from exc
    except (OSError, urllib.error.URLError) as exc:
        raise DeliveryError(f"短信网关无法连接：{exc}") from exc
    except http.client.HTTPException as exc:  # an answer that is not HTTP
        raise DeliveryError(f"短信网关的应答无法识别：{type(exc).__name__}: {exc}") from exc


def _send(ctx: Context, message: OutboxMessage, problems: dict[str, str]) -> None:
    config = ctx.config
    if message.channel in problems:
        raise DeliveryError(problems[message.channel])
    if message.channel == "email":
        send_email(config.smtp_url, message.address, message.title, message.body)
    elif message.channel == "sms":
        send_sms(config.sms_url, config.sms_token, message.address, message.body)
    else:
        raise DeliveryError(f"不认识的渠道 {message.channel}")


def _wait(attempts: int) -> timedelta:
    return timedelta(seconds=min(FIRST_WAIT * 2 ** max(attempts - 1, 0), LONGEST_WAIT))


def _claim(ctx: Context, uow: UnitOfWork, now: datetime, limit: int) -> list[int]:
    """Mark up to `limit` due messages `sending` and commit; their ids."""
    stmt = (
        select(OutboxMessage.id)
        .where(OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= now)
        .order_by(OutboxMessage.id)
        .limit(limit)
    )
    if uow.session.get_bind().dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    ids = list(uow.session.scalars(stmt))
    if ids:
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "pending")
            .values(
                status="sending",
                attempts=OutboxMessage.attempts + 1,
                next_attempt_at=now,
            )
            .execution_options(synchronize_session=False)
        )
    uow.commit()
    return ids


def _give_back(uow: UnitOfWork, ids: list[int]) -> None:
    """Messages claimed but not tried (the batch stopped before them): `pending` again, their
    claim's attempt not counted. When the database cannot take it, they are reported
    `unknown` after ten minutes as before."""
    if not ids:
        return
    try:
        uow.session.rollback()
        uow.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
            .values(status="pending", attempts=OutboxMessage.attempts - 1)
            .execution_options(synchronize_session=False)
        )
        uow.commit()
    except Exception:  # noqa: BLE001 - the error that stopped the batch is the one raised
        log.exception("%d claimed messages could not be given back as pending", len(ids))


def deliver(ctx: Context, uow: UnitOfWork, limit: int = 200) -> dict:
    """Send the messages due now; counts of sent, retried, failed and unknown."""
    now = ctx.now()
    stale = uow.session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.status == "sending", OutboxMessage.next_attempt_at < now - STALE)
        .values(status="unknown", last_error=UNKNOWN)
        .execution_options(synchronize_session=False)
    ).rowcount
    uow.commit()
    counts = {"sent": 0, "retry": 0, "failed": 0, "unknown": stale}
    problems = channel_problems(ctx.config)
    said: set[str] = set()
    claimed = _claim(ctx, uow, now, limit)
    for n, message_id in enumerate(claimed):
        tried = False
        try:
            message = uow.session.get(OutboxMessage, message_id)
            if message.channel in problems and message.channel not in said:
                said.add(message.channel)  # once a batch, for the operator
                log.error(
                    "outbox: %s messages not sent: %s", message.channel, problems[message.channel]
                )
            tried = True
            try:
                _send(ctx, message, problems)
            except DeliveryError as exc:
                reason = str(exc)
            except Exception as exc:  # noqa: BLE001 - our fault fails this message, not the batch
                log.exception(
                    "outbox message %s (%s) could not be sent", message.id, message.channel
                )
                reason = f"发送时出错：{type(exc).__name__}: {exc}"
            else:
                reason = None
            if reason is None:
                message.status, message.sent_at, message.last_error = "sent", ctx.now(), None
                counts["sent"] += 1
            else:
                message.last_error = reason[:500]
                if message.attempts >= ctx.config.outbox_attempts:
                    message.status = "failed"
                    counts["failed"] += 1
                else:
                    message.status = "pending"
                    message.next_attempt_at = ctx.now() + _wait(message.attempts)
                    counts["retry"] += 1
            uow.commit()  # each message's outcome on its own: a crash loses at most one
        except BaseException:
            # the message being sent stays `sending` (whether it went is not known: reported
            # `unknown` later, never sent twice); those not reached are given back
            _give_back(uow, claimed[n + 1 :] if tried else claimed[n:])
            raise
    return counts


def _operator(actor: Actor) -> None:
    if not may_manage_accounts(actor):
        raise NotFound("没有该功能")


def message_view(m: OutboxMessage) -> dict:
    return {
        "id": m.id,
        "account_id": m.account_id,
        "channel": m.channel,
        "address": m.address,
        "kind": m.kind,
        "title": m.title,
        "status": m.status,
        "status_label": STATUS_LABELS.get(m.status, m.status),
        "attempts": m.attempts,
        "last_error": m.last_error,
        "created_at": m.created_at,
        "sent_at": m.sent_at,
        "next_attempt_at": m.next_attempt_at,
    }


def list_messages(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """The outbox for operators (secretariat), newest first; by default what went wrong."""
    _operator(actor)
    wanted = [status] if status else ["failed", "unknown"]
    if any(s not in STATUS_LABELS for s in wanted):
        raise FormInvalid({"status": "状态应为：" + "、".join(STATUS_LABELS)})
    stmt = select(OutboxMessage).where(OutboxMessage.status.in_(wanted))
    total, rows = page_of(uow.session, stmt, OutboxMessage.id.desc(), page, page_size)
    items = [message_view(m) for m in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def retry(ctx: Context, uow: UnitOfWork, actor: Actor, message_id: int) -> dict:
    """Send a failed (or unknown) message again, on purpose: back to pending, due now."""
    _operator(actor)
    message = uow.session.get(OutboxMessage, message_id)
    if message is None:
        raise NotFound("消息不存在")
    if message.status not in ("failed", "unknown"):
        raise Conflict(f"该消息{STATUS_LABELS.get(message.status, message.status)}，不能重发")
    message.status, message.next_attempt_at, message.attempts = "pending", ctx.now(), 0
    view = message_view(message)
    uow.commit()
    return view
