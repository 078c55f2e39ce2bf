"""暂存: a start form saved without submitting, to finish later (manual §3.1, §3.4 screens:
留存 saves, the list shows 暂存 rows with 删除).

A draft keeps the data as typed — nothing is checked but its size and shape, since a
half-filled form is the point — and belongs to the unit that saved it (a unit's main and
sub-accounts share their drafts, as they share everything of the unit) or, for anyone
else, to the account. Submitting a draft starts the process with the full checks and
marks the draft submitted in the same transaction (the row stays, emptied, as a marker
naming the form it became): a refused submission keeps the draft.

A page open on a draft carries its `version` and business: saving or submitting over a
newer 留存 (another tab, a colleague) is refused with who saved it when (StaleDraft), and
a page of another business never touches the draft. A new form's page carries a key
(`page_key`): its 留存 sent again — a double click, or Back and 留存 again — is a 留存 again
of the draft that page made, never a second draft.
"""

from __future__ import annotations

import hashlib
import json
import uuid

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from service.db.locks import hold_row
from service.db.models import Account, Draft, ProcessInstance
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import Conflict, Forbidden, FormInvalid, NotFound
from service.services.workflow import instances
from service.services.workflow.context import SHANGHAI, Context
from service.services.workflow.paging import page_of
from service.services.workflow.scope import is_unit_admin, may_start

MAX_BYTES = 256 * 1024  # a draft's data as JSON; uploads are stored apart, by id
MAX_DRAFTS = 50  # per unit (or per account)
GONE = "该暂存表单已被删除或已提交"


class StaleDraft(Conflict):
    """The draft was saved again since the page showed it: who saved it, when (stored as
    UTC, said in Beijing time), and the version now (a page that decides to save over it
    anyway sends that one; the API's `errors.version` says it)."""

    def __init__(self, saved_by: str, saved_at, version: int):
        super().__init__(
            f"该暂存表单已于 {saved_at + SHANGHAI:%Y-%m-%d %H:%M} 由 {saved_by} 再次留存，"
            "本页的修改尚未保存。",
            {"version": f"暂存表单现为第{version}版，请重新打开后再修改或提交"},
        )
        self.saved_by, self.saved_at, self.version = saved_by, saved_at, version
        self.draft_id: int | None = None  # the draft, for a page that did not name it


def _scope(actor: Actor) -> list:
    held = Draft.submitted_key.is_(None)
    if is_unit_admin(actor):
        return [Draft.unit_id == actor.unit_id, held]
    return [Draft.owner_id == actor.id, held]


def _definition(ctx: Context, actor: Actor, key: str):
    defn = ctx.definitions.current.get(key)
    if defn is None:
        raise NotFound("业务类型不存在")
    if not may_start(actor, defn.start_roles):
        raise Forbidden(f"当前账号无权发起“{defn.name}”")
    return defn


def _checked(data) -> dict:
    if not isinstance(data, dict):
        raise FormInvalid({"data": "暂存内容应为表单数据（JSON 对象）"})
    size = len(json.dumps(data, ensure_ascii=False).encode())
    if size > MAX_BYTES:
        raise FormInvalid(
            {"data": f"暂存内容过大（{size // 1024}KB），不能超过{MAX_BYTES // 1024}KB"}
        )
    return data


def _summary(defn, data: dict) -> str:
    """What the list shows of a draft: the persons' names, or the applicant's."""
    names = []
    persons = data.get("persons")
    if isinstance(persons, list):
        names = [p.get("name") for p in persons if isinstance(p, dict) and p.get("name")]
    elif isinstance(data.get("name"), str):
        names = [data["name"]]
    text = "、".join(str(n) for n in names[:5])
    if len(names) > 5:
        text += f" 等{len(names)}人"
    return (text or "（未填写人员）")[:200]


def _view(ctx: Context, draft: Draft, with_data: bool = False) -> dict:
    defn = ctx.definitions.current.get(draft.process_key)
    view = {
        "id": draft.id,
        "process_key": draft.process_key,
        "process_name": defn.name if defn else draft.process_key,
        "summary": draft.summary,
        "status": "暂存",
        "created_at": draft.created_at,
        "updated_at": draft.updated_at,
        "version": draft.version,
    }
    if with_data:
        view["data"] = draft.data
    return view


def _own(
    uow: UnitOfWork,
    actor: Actor,
    draft_id: int,
    lock: bool = False,
    key: str | None = None,
    version: int | None = None,
) -> Draft:
    """The actor's draft `draft_id`; with `key`, only a draft of that business (a page of
    another business never touches it); with `version`, only as the page showed it.

    `lock`: the draft's row is held until the transaction ends (`hold_row`, on SQLite
    too), so that simultaneous submits of one draft go one after the other and the later
    ones find it submitted."""
    if lock:
        hold_row(uow.session, Draft, draft_id)
    stmt = select(Draft).where(Draft.id == draft_id, *_scope(actor))
    draft = uow.session.scalars(stmt.execution_options(populate_existing=True)).first()
    if draft is None or (key is not None and draft.process_key != key):
        raise NotFound(GONE)
    if version is not None and version > draft.version:  # a version it never had
        message = f"暂存表单现为第{draft.version}版，请重新打开后再修改或提交"
        raise Conflict(f"版本号有误：{message}", {"version": message})
    if version is not None and draft.version != version:
        raise _stale(uow, draft)
    return draft


def _stale(uow: UnitOfWork, draft: Draft) -> StaleDraft:
    who = uow.session.get(Account, draft.updated_by or draft.owner_id)
    stale = StaleDraft(who.name if who else "其他账号", draft.updated_at, draft.version)
    stale.draft_id = draft.id
    return stale


def submitted_form(uow: UnitOfWork, actor: Actor, draft_id: int) -> dict | None:
    """The form a submitted draft of the actor's became ({id, business_key}), or None."""
    scope = [Draft.id == draft_id, Draft.submitted_key.is_not(None)]
    scope.append(
        Draft.unit_id == actor.unit_id if is_unit_admin(actor) else Draft.owner_id == actor.id
    )
    marker = uow.session.scalars(select(Draft).where(*scope)).first()
    if marker is None:
        return None
    found = uow.session.execute(
        select(ProcessInstance.id, ProcessInstance.business_key).where(
            ProcessInstance.idempotency_owner == f"account:{marker.submitted_by}",
            ProcessInstance.idempotency_key == marker.submitted_key,
        )
    ).first()
    return {"id": found.id, "business_key": found.business_key} if found else None


def save_draft(
    ctx: Context, uow: UnitOfWork, actor: Actor, key: str, data, page_key: str | None = None
) -> dict:
    """留存: a new draft of business `key`. `page_key`: the page's own key (its
    Idempotency-Key); the draft that key already made is saved again instead — if someone
    else saved it since, StaleDraft says who (the page then carries its id and version)."""
    defn = _definition(ctx, actor, key)
    data = _checked(data)
    page_key = _page_key(page_key)
    if page_key and (made := _made_by(uow, actor, page_key)) is not None:
        return _again(ctx, uow, actor, made, key, data)
    held = uow.session.scalar(select(func.count()).select_from(Draft).where(*_scope(actor)))
    if held >= MAX_DRAFTS:
        raise Conflict(f"暂存表单已达{MAX_DRAFTS}份，请先提交或删除不需要的暂存表单")
    now = ctx.now()
    draft = Draft(
        process_key=key,
        owner_id=actor.id,
        unit_id=actor.unit_id if is_unit_admin(actor) else None,
        summary=_summary(defn, data),
        data=data,
        created_at=now,
        updated_at=now,
        updated_by=actor.id,
        page_key=page_key,
    )
    try:
        with uow.session.begin_nested():  # the same page's 留存 twice at once: one draft
            uow.session.add(draft)
    except IntegrityError:
        made = _made_by(uow, actor, page_key) if page_key else None
        if made is None:
            raise
        return _again(ctx, uow, actor, made, key, data)
    view = _view(ctx, draft, with_data=True)
    uow.commit()
    return view


def _page_key(key: str | None) -> str | None:
    """A page's key as kept (64 characters): a longer one by its digest, never cut short
    (two keys alike in their first 64 characters are two pages)."""
    key = (key or "").strip()
    if len(key) > 64:
        return hashlib.sha256(key.encode()).hexdigest()
    return key or None


def _made_by(uow: UnitOfWork, actor: Actor, page_key: str) -> int | None:
    return uow.session.scalar(
        select(Draft.id).where(Draft.owner_id == actor.id, Draft.page_key == page_key)
    )


def _again(ctx: Context, uow: UnitOfWork, actor: Actor, made: int, key: str, data) -> dict:
    """A new form's page saved again: the draft it made (held, then read), saved again as
    the page last saw it — its own 留存, unless another account saved since."""
    business = uow.session.scalar(select(Draft.process_key).where(Draft.id == made))
    if business is not None and business != key:  # a key sent again for another business
        raise Conflict("该 Idempotency-Key 已用于另一种业务的暂存表单，请为新的表单使用新的 Key")
    try:
        draft = _own(uow, actor, made, lock=True, key=key)
    except NotFound:
        became = submitted_form(uow, actor, made)
        if became is None:
            raise
        raise Conflict(
            f"本页的内容已留存为暂存表单，并已提交（单号 {became['business_key']}），不能再留存"
        ) from None
    if draft.updated_by != actor.id:  # another's 留存 is one this page never saw
        raise _stale(uow, draft)
    return _saved_again(ctx, uow, actor, draft, data)


def update_draft(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    draft_id: int,
    data,
    key: str | None = None,
    version: int | None = None,
) -> dict:
    """留存 again: the draft's data replaced (`key`, `version`: as the page showed it)."""
    draft = _own(uow, actor, draft_id, lock=True, key=key, version=version)
    return _saved_again(ctx, uow, actor, draft, data)


def _saved_again(ctx: Context, uow: UnitOfWork, actor: Actor, draft: Draft, data) -> dict:
    defn = _definition(ctx, actor, draft.process_key)
    draft.data = _checked(data)
    draft.summary = _summary(defn, draft.data)
    draft.updated_at = ctx.now()
    draft.updated_by = actor.id
    draft.version += 1
    view = _view(ctx, draft, with_data=True)
    uow.commit()
    return view


def get_draft(ctx: Context, uow: UnitOfWork, actor: Actor, draft_id: int) -> dict:
    return _view(ctx, _own(uow, actor, draft_id), with_data=True)


def list_drafts(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    key: str | None = None,
    page: int = 1,
    page_size: int = 20,
) -> dict:
    """The caller's drafts (a unit's: the unit's), last saved first."""
    if key and key not in ctx.definitions.current:  # a mistake, not an empty list
        raise FormInvalid({"key": f"没有名为 {key} 的业务类型"})
    stmt = select(Draft).where(*_scope(actor))
    if key:
        stmt = stmt.where(Draft.process_key == key)
    stmt = stmt.order_by(Draft.updated_at.desc())  # then by id: the same second, newest first
    total, rows = page_of(uow.session, stmt, Draft.id.desc(), page, page_size)
    items = [_view(ctx, d) for d in rows.scalars()]
    return {"items": items, "total": total, "page": page, "page_size": page_size}


def delete_draft(ctx: Context, uow: UnitOfWork, actor: Actor, draft_id: int) -> None:
    """删除: the draft is gone (its uploads stay with the unit, as any upload)."""
    uow.session.delete(_own(uow, actor, draft_id, lock=True))
    uow.commit()


def submit_draft(
    ctx: Context,
    uow: UnitOfWork,
    actor: Actor,
    draft_id: int,
    data=None,
    idempotency_key: str | None = None,
    tied: bool = True,
    key: str | None = None,
    version: int | None = None,
) -> tuple[dict, bool]:
    """提交: start the process from the draft (with `data`, when given, as last edited) and
    mark the draft submitted in the same transaction; a refused start keeps the draft
    (`tied`: as `instances.start_process`; `key`, `version`: as the page showed it). Without
    an idempotency key the draft's submission is given one: the marker names the form."""
    draft = _own(uow, actor, draft_id, lock=True, key=key, version=version)
    key = draft.process_key
    payload = _checked(data) if data is not None else dict(draft.data)
    idempotency_key = idempotency_key or f"draft:{draft_id}:{uuid.uuid4().hex}"
    marked = {"submitted_by": actor.id, "submitted_key": idempotency_key, "data": {}}
    for name, value in marked.items():
        setattr(draft, name, value)
    view, created = instances.start_process(
        ctx, uow, actor, key, payload, idempotency_key=idempotency_key, tied=tied
    )
    if not created:  # the same submission again: the form exists, the draft is done
        uow.session.execute(
            update(Draft).where(Draft.id == draft_id, *_scope(actor)).values(**marked)
        )
        uow.commit()
    return view, created
