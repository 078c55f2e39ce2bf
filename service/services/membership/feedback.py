"""问题反馈: a unit or a member asks the association (manual: “可通过系统问题菜单的‘问题
反馈’提交申请”) — a person it cannot find in an eligibility list, a wrong certificate, a
system problem — and the secretariat or the association's reviewers answer.

A feedback belongs to the unit whose admin submitted it (the unit's main and sub-accounts
share it) or to the member who did; the handlers (`scope.FEEDBACK_HANDLERS`) see all of
them. Out of scope answers 404. Each reply is kept (text, who, when) and tells the submitter
by a 系统通知 in the same transaction; a closed feedback takes no more replies. Every
account may submit a limited number a day (`feedback_daily_limit` in rules/policy.json,
else `DAILY_LIMIT`), so the association's inbox cannot be flooded.
"""

from __future__ import annotations

import math
import unicodedata
from datetime import timedelta

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from service.db.locks import hold_row
from service.db.models import (
    Account,
    Feedback,
    FeedbackFile,
    FeedbackReply,
    ProcessInstance,
    StoredFile,
    Unit,
)
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound, TooManyRequests
from service.domain.validation import shows_nothing
from service.services.schedules import notifications
from service.services.workflow import files
from service.services.workflow.context import SHANGHAI, Context
from service.services.workflow.paging import page_of
from service.services.workflow.scope import (
    feedback_in_scope,
    handles_feedback,
    instances_in_scope,
    is_unit_admin,
    may_submit_feedback,
)
from service.storage import Blob

CATEGORIES = ("报名条件咨询", "证书信息有误", "系统问题", "其他")
PENDING, REPLIED, CLOSED = "待处理", "已回复", "已关闭"
STATUSES = (PENDING, REPLIED, CLOSED)
MAX_TITLE, MAX_CONTENT, MAX_REPLY, MAX_FILES = 50, 2000, 2000, 3
MAX_BUSINESS_KEY = 40
DAILY_LIMIT = 20  # per account in any 24 hours, unless rules/policy.json says otherwise
WINDOW = timedelta(days=1)
REPLY_KIND = "feedback_reply"  # the 系统通知's kind
GONE = "问题反馈不存在"


def _text(errors: dict, name: str, label: str, value, limit: int) -> str:
    if value is None or (isinstance(value, str) and (not value.strip() or shows_nothing(value))):
        errors[name] = f"请填写{label}"  # (a U+200B alone looks as blank as spaces)
        return ""
    if not isinstance(value, str):
        errors[name] = f"{label}应为文本"
        return ""
    value = value.strip()
    if len(value) > limit:
        errors[name] = f"{label}不能超过{limit}个字（现有{len(value)}个字）"
    return value


def _scope(actor: Actor) -> list:
    where = feedback_in_scope(actor, Feedback.unit_id, Feedback.member_id)
    if where is None:
        raise NotFound(GONE)
    return where


def _own(uow: UnitOfWork, actor: Actor, feedback_id: int, lock: bool = False) -> Feedback:
    """The feedback in the actor's scope; `lock`: held until the transaction ends
    (`hold_row`, on SQLite too), so that replies to it go one after the other."""
    if lock:
        hold_row(uow.session, Feedback, feedback_id)
    stmt = select(Feedback).where(Feedback.id == feedback_id, *_scope(actor))
    row = uow.session.scalars(stmt.execution_options(populate_existing=True)).first()
    if row is None:
        raise NotFound(GONE)
    return row


def _unit_names(uow: UnitOfWork, unit_ids) -> dict[int, str]:
    ids = {u for u in unit_ids if u is not None}
    if not ids:
        return {}
    return dict(uow.session.execute(select(Unit.id, Unit.name).where(Unit.id.in_(ids))).all())


def _summary(row: Feedback, unit_name: str | None, replies: int, last_reply) -> dict:
    return {
        "id": row.id,
        "category": row.category,
        "title": row.title,
        "status": row.status,
        "business_key": row.business_key,
        "submitter_name": row.submitter_name,
        "unit_id": row.unit_id,
        "unit_name": unit_name,
        "reply_count": replies,
        "last_replied_at": last_reply,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def _view(uow: UnitOfWork, actor: Actor, row: Feedback) -> dict:
    replies = uow.session.scalars(
        select(FeedbackReply)
        .where(FeedbackReply.feedback_id == row.id)
        .order_by(FeedbackReply.created_at, FeedbackReply.id)
    ).all()
    attached = uow.session.scalars(
        select(StoredFile)
        .join(FeedbackFile, FeedbackFile.file_id == StoredFile.id)
        .where(FeedbackFile.feedback_id == row.id)
        .order_by(FeedbackFile.position)
    ).all()
    unit_name = _unit_names(uow, [row.unit_id]).get(row.unit_id)
    view = _summary(row, unit_name, len(replies), replies[-1].created_at if replies else None)
    instance_id = None
    if row.instance_id is not None:  # the form itself only to those who may open it
        seen = instances_in_scope(
            select(ProcessInstance.id).where(ProcessInstance.id == row.instance_id), actor
        )
        instance_id = uow.session.scalar(seen)
    view.update(
        content=row.content,
        instance_id=instance_id,
        closed_at=row.closed_at,
        closed_by_name=row.closed_by_name,
        files=[files.describe(f) for f in attached],
        replies=[
            {"id": r.id, "body": r.body, "author_name": r.author_name, "created_at": r.created_at}
            for r in replies
        ],
        may_reply=handles_feedback(actor) and row.status != CLOSED,
        may_close=handles_feedback(actor) and row.status != CLOSED,
    )
    return view


def daily_limit(ctx: Context) -> int:
    return notifications.policy_int(ctx, "feedback_daily_limit", DAILY_LIMIT)


def _check_rate(ctx: Context, uow: UnitOfWork, actor: Actor) -> None:
    """At most `daily_limit` submissions per account in any 24 hours; the account's row is
    locked first, so simultaneous submissions count one by one."""
    hold_row(uow.session, Account, actor.id)
    since = ctx.now() - WINDOW
    count, oldest = uow.session.execute(
        select(func.count(Feedback.id), func.min(Feedback.created_at)).where(
            Feedback.submitted_by == actor.id, Feedback.created_at > since
        )
    ).one()
    limit = daily_limit(ctx)
    if count >= limit:
        wait = math.ceil(((oldest or since) + WINDOW - ctx.now()).total_seconds())
        raise TooManyRequests(
            f"每个账号24小时内最多提交{limit}条问题反馈，请稍后再提交，或在已提交的反馈中补充说明",
            retry_after=max(wait, 1),
        )


def _related(uow: UnitOfWork, actor: Actor, errors: dict, business_key) -> tuple[str, int] | None:
    """The form a feedback names by its number: it must exist and be the submitter's to see."""
    if business_key is None or (isinstance(business_key, str) and not business_key.strip()):
        return None
    if not isinstance(business_key, str):
        errors["business_key"] = "业务单号应为文本"
        return None
    key = business_key.strip().upper()
    if len(key) > MAX_BUSINESS_KEY:
        errors["business_key"] = f"业务单号不能超过{MAX_BUSINESS_KEY}个字符"
        return None
    stmt = instances_in_scope(
        select(ProcessInstance.id).where(ProcessInstance.business_key == key), actor
    )
    instance_id = uow.session.scalar(stmt)
    if instance_id is None:
        errors["business_key"] = f"业务单号“{key}”不存在，或不是本账号可查看的业务"
        return None
    return key, instance_id


def _file_ids(errors: dict, value) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        errors["file_ids"] = "附件应为上传后得到的文件编号列表"
        return []
    if len(value) > MAX_FILES:
        errors["file_ids"] = f"附件最多{MAX_FILES}个（现有{len(value)}个）"
        return []
    if len(set(value)) != len(value):
        errors["file_ids"] = "同一个文件不能重复添加"
        return []
    return list(value)


def submit_feedback(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    category,
    title,
    content,
    business_key=None,
    file_ids=None,
    idempotency_key: str | None = None,
) -> dict:
    """提交反馈: checked field by field (every wrong field named at once), then the daily
    limit; the attachments are taken into use with it. The same `idempotency_key` again (a
    page sent twice) is the feedback it made: its view, `replayed` true, nothing new."""
    if not may_submit_feedback(actor) or actor.id is None:
        raise Forbidden("只有单位管理员和个人会员可以提交问题反馈")
    key = (idempotency_key or "").strip()[:64] or None
    if key and (found := already_submitted(uow, actor, key)) is not None:
        return found
    errors: dict = {}
    if category not in CATEGORIES:
        errors["category"] = f"请选择问题类型：{'、'.join(CATEGORIES)}"
    title = _text(errors, "title", "标题", title, MAX_TITLE)
    content = _text(errors, "content", "问题描述", content, MAX_CONTENT)
    related = _related(uow, actor, errors, business_key)
    ids = _file_ids(errors, file_ids)
    if ids and "file_ids" not in errors:
        try:
            files.check_references(uow, actor, {"file_ids": ids}, {"file_ids.*"})
        except FormInvalid as exc:
            errors.update(exc.errors or {})
    if errors:
        raise FormInvalid(errors)
    _check_rate(ctx, uow, actor)
    account = uow.session.get(Account, actor.id)
    now = ctx.now()
    row = Feedback(
        category=category,
        title=title,
        content=content,
        business_key=related[0] if related else None,
        instance_id=related[1] if related else None,
        status=PENDING,
        submitted_by=actor.id,
        submitter_name=(account.name if account else actor.name)[:200],
        unit_id=actor.unit_id if is_unit_admin(actor) else None,
        member_id=None if is_unit_admin(actor) else actor.member_id,
        created_at=now,
        updated_at=now,
        idempotency_key=key,
    )
    uow.session.add(row)
    try:
        uow.session.flush()
    except IntegrityError:  # the same page sent twice at once: the other request made it
        uow.rollback()
        found = already_submitted(uow, actor, key) if key else None
        if found is None:
            raise
        return found
    for position, file_id in enumerate(ids):
        uow.session.add(FeedbackFile(feedback_id=row.id, file_id=file_id, position=position))
    uow.session.flush()
    view = _view(uow, actor, row)
    uow.commit()
    return view


def already_submitted(uow: UnitOfWork, actor: Actor, key: str | None) -> dict | None:
    """The feedback the actor's page with idempotency `key` made (its view, `replayed`), or
    None."""
    if not key or actor.id is None:
        return None
    row = uow.session.scalars(
        select(Feedback).where(
            Feedback.submitted_by == actor.id, Feedback.idempotency_key == key[:64]
        )
    ).first()
    return {**_view(uow, actor, row), "replayed": True} if row is not None else None


def list_feedback(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    status: str | None = None,
    category: str | None = None,
    q: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """The feedback the caller may read (我的反馈 / all of it for the handlers), newest first."""
    where = feedback_in_scope(actor, Feedback.unit_id, Feedback.member_id)
    if where is None:
        raise Forbidden("当前账号不能查看问题反馈")
    errors = {}
    if status and status not in STATUSES:
        errors["status"] = f"没有“{status}”这个状态，可选：{'、'.join(STATUSES)}"
    if category and category not in CATEGORIES:
        errors["category"] = f"没有“{category}”这个问题类型，可选：{'、'.join(CATEGORIES)}"
    if errors:
        raise FormInvalid(errors, "查询条件有误：" + "；".join(errors.values()))
    stmt = select(Feedback).outerjoin(Unit, Unit.id == Feedback.unit_id).where(*where)
    if status:
        stmt = stmt.where(Feedback.status == status)
    if category:
        stmt = stmt.where(Feedback.category == category)
    if q and q.strip():
        text = q.strip()
        stmt = stmt.where(
            or_(
                Feedback.title.contains(text, autoescape=True),
                Unit.name.contains(text, autoescape=True),
                Feedback.submitter_name.contains(text, autoescape=True),
                Feedback.business_key == text.upper(),
            )
        )
    stmt = stmt.order_by(Feedback.created_at.desc())
    total, rows = page_of(uow.session, stmt, Feedback.id.desc(), page, page_size)
    found = list(rows.scalars())
    counts = {}
    if found:
        counts = {
            fid: (n, last)
            for fid, n, last in uow.session.execute(
                select(
                    FeedbackReply.feedback_id,
                    func.count(FeedbackReply.id),
                    func.max(FeedbackReply.created_at),
                )
                .where(FeedbackReply.feedback_id.in_([f.id for f in found]))
                .group_by(FeedbackReply.feedback_id)
            )
        }
    names = _unit_names(uow, [f.unit_id for f in found])
    items = [_summary(f, names.get(f.unit_id), *counts.get(f.id, (0, None))) for f in found]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def get_feedback(ctx: Context, uow: UnitOfWork, actor: Actor, feedback_id: int) -> dict:
    return _view(uow, actor, _own(uow, actor, feedback_id))


class RepeatedReply(Conflict):
    """The same reply again (Back and 回复, a double click): kept once, said so."""


def _as_read(text: str) -> str:
    """A reply as a reader sees it, to tell a repeated one: NFKC (a full-width letter or
    space is the narrow one), without the characters that print as nothing (U+200B, U+FEFF
    …, as `shows_nothing` finds them), each run of whitespace one space."""
    shown = (
        ch for ch in unicodedata.normalize("NFKC", text) if ch.isspace() or not shows_nothing(ch)
    )
    return " ".join("".join(shown).split())


def reply_feedback(ctx: Context, uow: UnitOfWork, actor: Actor, feedback_id: int, body) -> dict:
    """回复: the reply kept with its author and time, the status 已回复, and the submitter
    told by a 系统通知 — all in one transaction."""
    row = _own(uow, actor, feedback_id, lock=True)
    if not handles_feedback(actor):
        raise Forbidden("只有秘书处和协会审核人员可以回复问题反馈")
    errors: dict = {}
    text = _text(errors, "body", "回复内容", body, MAX_REPLY)
    if errors:
        raise FormInvalid(errors)
    if row.status == CLOSED:
        raise Conflict("该问题反馈已关闭，不能再回复")
    last = uow.session.scalars(
        select(FeedbackReply)
        .where(FeedbackReply.feedback_id == row.id)
        .order_by(FeedbackReply.id.desc())
        .limit(1)
    ).first()
    if last is not None and (last.author_id, _as_read(last.body)) == (actor.id, _as_read(text)):
        raise RepeatedReply(
            f"这条回复已于 {last.created_at + SHANGHAI:%Y-%m-%d %H:%M} 发出，未重复发送"
        )
    account = uow.session.get(Account, actor.id)
    now = ctx.now()
    reply = FeedbackReply(
        feedback_id=row.id,
        body=text,
        author_id=actor.id,
        author_name=(account.name if account else actor.name)[:200],
        created_at=now,
    )
    uow.session.add(reply)
    row.status, row.updated_at = REPLIED, now
    uow.session.flush()
    notifications.send(
        uow,
        [
            {
                "account_id": row.submitted_by,
                "kind": REPLY_KIND,
                "title": f"问题反馈已回复：{row.title}"[:100],
                "body": f"您提交的问题反馈“{row.title}”（{row.category}）已由协会回复：{text}",
                "dedupe_key": f"{REPLY_KIND}:{row.id}:{reply.id}",
                "member_id": row.member_id,
                "unit_id": row.unit_id,
            }
        ],
        now,
    )
    view = _view(uow, actor, row)
    uow.commit()
    return view


def close_feedback(ctx: Context, uow: UnitOfWork, actor: Actor, feedback_id: int) -> dict:
    """关闭: the feedback is settled; it takes no more replies."""
    row = _own(uow, actor, feedback_id, lock=True)
    if not handles_feedback(actor):
        raise Forbidden("只有秘书处和协会审核人员可以关闭问题反馈")
    if row.status == CLOSED:
        raise Conflict("该问题反馈已关闭")
    account = uow.session.get(Account, actor.id)
    now = ctx.now()
    row.status, row.closed_at, row.updated_at = CLOSED, now, now
    row.closed_by = actor.id
    row.closed_by_name = (account.name if account else actor.name)[:200]
    view = _view(uow, actor, row)
    uow.commit()
    return view


def open_attachment(
    ctx: Context, uow: UnitOfWork, actor: Actor, feedback_id: int, file_id: str
) -> tuple[dict, Blob]:
    """An attachment of a feedback the caller may read, and its bytes."""
    _own(uow, actor, feedback_id)
    row = uow.session.scalars(
        select(StoredFile)
        .join(FeedbackFile, FeedbackFile.file_id == StoredFile.id)
        .where(FeedbackFile.feedback_id == feedback_id, StoredFile.id == file_id)
    ).first()
    if row is None:
        raise NotFound("附件不存在")
    return files.describe(row), Blob(ctx.storage, row.sha256)
