"""业务消息: what the unit and the person concerned are told when a business moves, written
in the same transaction as the change.

The words live in `rules/messages.json`, which designers edit: one template per kind of
message (its title, body, channels and the fields it may use). Each message is written
once per account and cause (`dedupe_key`): in-app at once as a 系统通知; by email and SMS
into the outbox (`outbox_messages`), delivered afterwards with retries by
`services/schedules/outbox.py`. A channel without a configured server writes nothing.

Which moves speak: a form submitted, returned (with the reason), its bill issued, its
payment confirmed and the form approved; what an approval's effect did to a person that the
approval does not say (a cancellation ending the 普通会员 membership: `Note`, `tell`);
learning opened, a certificate issued, a learning deadline near; and a daily digest of each
reviewer's pool. Other status changes (one review passing to the next) are the queue's
business, not a message.
"""

from __future__ import annotations

import json
import string
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from sqlalchemy import ScalarSelect, Select, and_, bindparam, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from service.db.models import Account, Member, Notification, OutboxMessage, ProcessInstance, Unit
from service.db.uow import Answer, Later, Reads, insert_statement

FILE = "rules/messages.json"
CHANNELS = ("in_app", "email", "sms")
# each kind of message and the fields the code fills in for it
KINDS = {
    # submitter: who sent the form, the unit (its name) or a member themself (their name)
    "submitted": {"business_key", "process_name", "unit_name", "submitter", "subject", "status"},
    "returned": {"business_key", "process_name", "unit_name", "subject", "status", "reason"},
    "bill_issued": {"business_key", "process_name", "unit_name", "subject", "status"},
    "payment_confirmed": {"business_key", "process_name", "unit_name", "subject", "status"},
    "approved": {"business_key", "process_name", "unit_name", "subject", "status"},
    # a 证书注销 approved that left the person no certificate: the 普通会员 membership ended
    "membership_ended": {
        "business_key",
        "process_name",
        "unit_name",
        "person",
        "certificate_types",
    },
    "learning_opened": {"business_key", "process_name", "person", "deadline"},
    "learning_failed": {"business_key", "process_name", "person", "attempts"},
    "certificate_issued": {"person", "certificate_type", "certificate_number", "valid_until"},
    "learning_deadline": {
        "person",
        "process_name",
        "deadline",
        "completed_hours",
        "required_hours",
    },
    "task_digest": {"count", "new", "summary"},
}
RETURNED, PAYING, REVIEWING_PAYMENT, DONE = "退回", "待缴费", "财务复核中", "审批完成"


class TemplateError(ValueError):
    """rules/messages.json is wrong: `items` are (kind, line, message), `problems` the same
    as Chinese lines naming the file and the kind."""

    def __init__(self, items: list[tuple[str | None, int | None, str]], where: str = FILE):
        self.items = items
        self.problems = [
            f"{where}{f':{line}' if line else ''}{f' [{kind}]' if kind else ''}: {message}"
            for kind, line, message in items
        ]
        super().__init__("\n".join(self.problems))


@dataclass(frozen=True)
class Template:
    kind: str
    title: str
    body: str
    channels: tuple[str, ...]

    def render(self, values: dict) -> tuple[str, str]:
        text = {k: "" if v is None else str(v) for k, v in values.items()}
        return self.title.format_map(text)[:100], self.body.format_map(text)


def _placeholders(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def parse_templates(raw: str, where: str = FILE) -> dict[str, Template]:
    """The templates of a messages file; TemplateError listing every problem once."""
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise TemplateError([(None, exc.lineno, f"不是有效的 JSON（{exc.msg}）")], where) from exc
    if not isinstance(data, dict):
        raise TemplateError([(None, None, "应为以消息种类为键的对象")], where)
    problems, templates = [], {}
    for kind, spec in data.items():
        if kind.startswith("_"):
            continue  # a comment
        line = _line_of(raw, kind)
        if kind not in KINDS:
            problems.append((kind, line, f"未知的消息种类，可用：{'、'.join(KINDS)}"))
            continue
        if not isinstance(spec, dict):
            problems.append((kind, line, "应为对象（title、body、channels、fields）"))
            continue
        title, body = spec.get("title"), spec.get("body")
        channels, fields = spec.get("channels") or [], spec.get("fields") or []
        if not isinstance(title, str) or not title.strip():
            problems.append((kind, line, "缺少 title（标题）"))
        if not isinstance(body, str) or not body.strip():
            problems.append((kind, line, "缺少 body（正文）"))
        bad = [c for c in channels if c not in CHANNELS]
        if bad or not isinstance(channels, list):
            problems.append((kind, line, f"channels 只能是 {'、'.join(CHANNELS)}，不认识：{bad}"))
        unknown_fields = sorted(set(fields) - KINDS[kind])
        if unknown_fields:
            problems.append(
                (
                    kind,
                    line,
                    f"fields 中 {'、'.join(unknown_fields)} 不是这种消息提供的字段，"
                    f"可用：{'、'.join(sorted(KINDS[kind]))}",
                )
            )
        for part, text in (("title", title), ("body", body)):
            if not isinstance(text, str):
                continue
            try:
                used = _placeholders(text)
            except ValueError as exc:
                problems.append((kind, line, f"{part} 的花括号不成对（{exc}）"))
                continue
            missing = sorted(used - set(fields))
            if missing:
                problems.append((kind, line, f"{part} 使用了未在 fields 中列出的占位符 {missing}"))
        if isinstance(title, str) and isinstance(body, str):
            templates[kind] = Template(
                kind, title, body, tuple(c for c in channels if c in CHANNELS)
            )
    if problems:
        raise TemplateError(problems, where)
    return templates


def _line_of(raw: str, kind: str) -> int | None:
    """The line where `"kind":` opens in the file (for the messages)."""
    needle = f'"{kind}"'
    for number, text in enumerate(raw.splitlines(), start=1):
        if text.strip().startswith(needle):
            return number
    return None


def load_templates(rules_dir: Path) -> dict[str, Template]:
    """The templates of `rules_dir/messages.json` (none when the file is absent)."""
    path = Path(rules_dir) / "messages.json"
    if not path.exists():
        return {}
    return parse_templates(path.read_text(encoding="utf-8"))


@dataclass
class Messages:
    """The templates and the channels this server can send on."""

    templates: dict[str, Template]
    email: bool = False
    sms: bool = False

    def send(
        self,
        session: Session,
        kind: str,
        recipients: list[tuple[int, str | None, str | None]],
        values: dict,
        dedupe: str,
        now: datetime,
        member_id: int | None = None,
        unit_id: int | None = None,
    ) -> int:
        """Write one message of `kind` to each recipient (account id, email, mobile) on the
        template's channels; how many in-app notices were new."""
        notices, outbox = self.rows(kind, recipients, values, dedupe, now, member_id, unit_id)
        return self.write(session, notices, outbox, now)

    def rows(
        self,
        kind: str,
        recipients: list[tuple[int, str | None, str | None]],
        values: dict,
        dedupe: str,
        now: datetime,
        member_id: int | None = None,
        unit_id: int | None = None,
    ) -> tuple[list[dict], list[dict]]:
        """The in-app notices and the outbox rows of one message of `kind`."""
        template = self.templates.get(kind)
        if template is None or not recipients:
            return [], []
        title, body = template.render(values)
        notices, outbox = [], []
        for account_id, email, mobile in dict.fromkeys(recipients):
            base = {"account_id": account_id, "kind": kind, "title": title, "body": body}
            if "in_app" in template.channels:
                notices.append(
                    {**base, "dedupe_key": dedupe, "member_id": member_id, "unit_id": unit_id}
                )
            for channel, address, enabled in (
                ("email", email, self.email),
                ("sms", mobile, self.sms),
            ):
                if channel in template.channels and enabled and address:
                    outbox.append(
                        {
                            **base,
                            "channel": channel,
                            "address": address,
                            "dedupe_key": dedupe,
                            "status": "pending",
                            "attempts": 0,
                            "next_attempt_at": now,
                            "created_at": now,
                        }
                    )
        return notices, outbox

    @staticmethod
    def write(session: Session, notices: list[dict], outbox: list[dict], now: datetime) -> int:
        """Insert the notices and outbox rows not there yet; how many notices were new."""
        new = insert_absent(session, Notification, _NOTICE_KEYS, notices, now)
        insert_absent(session, OutboxMessage, _OUTBOX_KEYS, outbox, now)
        return new

    @staticmethod
    def keep(later: Later, notices: list[dict], outbox: list[dict], now: datetime) -> None:
        """`write`, kept in `later` for the COMMIT (nobody asks how many were new)."""
        for model, keys, rows in (
            (Notification, _NOTICE_KEYS, notices),
            (OutboxMessage, _OUTBOX_KEYS, outbox),
        ):
            if rows:
                unique = _unique(keys, rows, now)
                insert = insert_statement(later.dialect.name, model, keys, tuple(unique[0]), ())
                later.add(insert, unique)


_NOTICE_KEYS = ("account_id", "dedupe_key")
_OUTBOX_KEYS = ("account_id", "channel", "dedupe_key")


def insert_absent(session: Session, model, keys, rows: list[dict], now) -> int:
    """Insert the rows not there yet (by the unique `keys`), in one statement; how many new."""
    if not rows:
        return 0
    dialect = session.get_bind(model.__mapper__).dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    stmt = insert(model).on_conflict_do_nothing(index_elements=keys).returning(model.id)
    return len(session.execute(stmt, _unique(keys, rows, now)).all())


def _unique(keys, rows: list[dict], now: datetime) -> list[dict]:
    """The rows, one per unique `keys`, each with its created_at."""
    return list({tuple(r[k] for k in keys): {"created_at": now, **r} for r in rows}.values())


def recipients_of(
    session: Session, unit_id: int | None, member_ids: list[int]
) -> list[tuple[int, str | None, str | None]]:
    """The active admins of the unit and the members' own accounts: (account id, email,
    mobile — a member's from the member record)."""
    query = _recipients(unit_id, member_ids)
    return sorted(_recipient(r) for r in session.execute(query)) if query is not None else []


def _recipient(row) -> tuple[int, str | None, str | None]:
    """(account id, email, mobile) of a `_recipients` row: a member's mobile if the account
    has none."""
    account_id, email, mobile, member_mobile = row[:4]
    return account_id, email, mobile or member_mobile


def _recipients(unit_id: int | None, member_ids: list | ScalarSelect, *columns) -> Select | None:
    """The query of recipients_of, with `columns` added to each row (None: nobody); the
    members' ids a list, or a query of the one member's id. On the tables: a Core query
    costs less Python than the same through the ORM's entities.

    Each condition is one an index answers (the unit's admins by unit and role, the members'
    accounts by member: migration 0024), so the query reads the few accounts it finds
    whatever the number of accounts a unit and the association hold (3,000 member accounts in
    one unit: 0.04 and 0.2 ms, 4 and 16 buffers, where it took 0.66 and 3.0 ms, 56 and 215
    buffers, reading every account and hashing every member). A member given by a
    query is compared with `=` to its one id (ID numbers are unique): an `IN` of a subquery
    inside the OR could only be tested row by row, and PostgreSQL read every account (and
    joined every member) to answer it."""
    account, member = Account.__table__.c, Member.__table__.c  # the tables' columns
    conditions = []
    if unit_id is not None:
        conditions.append(and_(account.unit_id == unit_id, account.role == "unit_admin"))
    if isinstance(member_ids, ScalarSelect):
        conditions.append(account.member_id == member_ids)
    elif member_ids:
        conditions.append(account.member_id.in_(member_ids))
    if not conditions:
        return None
    # the member's mobile looked up for each account found, not joined: a join's plan is
    # chosen before the values are known, and for a large unit PostgreSQL hashed every
    # member. Unordered (the callers sort the few rows by account): with an ORDER BY id, a
    # plan made before the values are known could read every account in the primary key's
    # order rather than sort the few the indexes find.
    member_mobile = select(member.mobile).where(member.id == account.member_id).scalar_subquery()
    return (
        select(account.id, account.email, account.mobile, member_mobile, *columns)
        .select_from(Account.__table__)
        .where(account.active.is_(True), or_(*conditions))
    )


# after_move's query, built once per shape (whether the form has a unit; its member given
# by id, by ID number, or none) and run with the form's values bound: building it anew cost
# more Python than running it
_MOVE_QUERIES: dict[tuple[bool, str | None], Select | None] = {}


def _move_recipients(
    unit_id: int | None, member_id: int | None, id_number: str | None = None
) -> tuple[Select | None, dict]:
    """The query of the recipients of a move's messages and its values: `_recipients`,
    with the unit's name riding along with each recipient (one statement, not two). The
    member is given by its id, or by its ID number (`id_number`: a member written earlier
    in the same transaction, whose id is not known yet)."""
    by = "number" if id_number is not None else "id" if member_id else None
    shape = (unit_id is not None, by)
    if shape not in _MOVE_QUERIES:
        # no unit: compared as IS NULL, as the query built with the form's own None did
        unit = bindparam("move_unit_id") if unit_id is not None else None
        members: list | ScalarSelect = []
        if by == "id":
            members = [bindparam("move_member_id", type_=Account.member_id.type)]
        elif by == "number":
            member = Member.__table__.c
            number = bindparam("move_member_id_number", type_=member.id_number.type)
            members = select(member.id).where(member.id_number == number).scalar_subquery()
        units = Unit.__table__.c
        unit_name = select(units.name).where(units.id == unit).scalar_subquery()
        account = Account.__table__.c
        _MOVE_QUERIES[shape] = _recipients(unit, members, unit_name, account.role)
    params: dict = {}
    if unit_id is not None:
        params["move_unit_id"] = unit_id
    if by == "id":
        params["move_member_id"] = member_id
    elif by == "number":
        params["move_member_id_number"] = id_number
    return _MOVE_QUERIES[shape], params


@dataclass(frozen=True)
class Recipients:
    """The recipients of a move's messages, read ahead (`queue_recipients`) for the form's
    unit and member `of`; a move whose form has these still uses them (`after_move`)."""

    of: tuple[int | None, int | None]
    answer: Answer


def queue_recipients(reads: Reads, unit_id: int | None, member_id: int | None) -> Recipients | None:
    """Queue the query of the recipients a move of a form with this unit and member would
    send its messages to, in `reads`: read with other statements, not in a round trip of
    its own after the move (None: the form has nobody to tell)."""
    query, params = _move_recipients(unit_id, member_id)
    if query is None:
        return None
    return Recipients((unit_id, member_id), reads.add(query, params))


def queue_recipients_by_number(reads: Reads, unit_id: int | None, id_number: str) -> Answer:
    """Queue the query of the recipients a move would tell (as `queue_recipients`) for a
    form of this unit whose member is the one with this ID number, in `reads`: queued after
    the statement that writes that member and its account, it reads them in the same round
    trip. The caller makes its `Recipients` once the member's id is known."""
    query, params = _move_recipients(unit_id, None, id_number)
    return reads.add(query, params)


def _subject(row: ProcessInstance, data: dict) -> str:
    persons = data.get("persons")
    if isinstance(persons, list) and persons:
        return names_in_short(
            [str(p.get("name")) for p in persons if isinstance(p, dict) and p.get("name")]
        )
    return row.subject_name or ""


def names_in_short(names: list[str]) -> str:
    """Persons as one message names them: up to three, else the first three and how many."""
    shown = "、".join(names[:3])
    return f"{shown}等{len(names)}人" if len(names) > 3 else shown


def after_move(
    messages: Messages | None,
    session: Session,
    row: ProcessInstance,
    process_name: str,
    data: dict,
    before: str | None,
    after: str,
    reason: str | None,
    now: datetime,
    later: Later | None = None,
    ahead: Recipients | None = None,
) -> None:
    """The messages a move from status `before` to `after` sends (none for most moves):
    written now, or kept in `later` for the COMMIT; to the recipients read `ahead`, when
    they are the form's unit's and member's still."""
    if messages is None or before == after:
        return
    kinds = []
    if before is None:
        kinds.append("submitted")
    if after == RETURNED:
        kinds.append("returned")
    elif after == PAYING:
        kinds.append("bill_issued")
    if before == REVIEWING_PAYMENT and after != RETURNED:
        kinds.append("payment_confirmed")
    if after == DONE:
        kinds.append("approved")
    if not kinds:
        return
    if ahead is not None and ahead.of == (row.unit_id, row.member_id):
        found = ahead.answer.rows
    else:
        query, params = _move_recipients(row.unit_id, row.member_id)
        found = list(session.execute(query, params)) if query is not None else []
    if not found:
        return
    recipients = sorted(_recipient(r) for r in found)  # by account
    unit_name = found[0][4] or ""
    by_member = any(r[0] == row.started_by and r[5] == "member" for r in found)
    values = {
        "business_key": row.business_key,
        "process_name": process_name,
        "unit_name": unit_name,
        "submitter": (row.subject_name or "个人会员") if by_member else unit_name,
        # a unit's own business names no person: the unit is what it is about
        "subject": _subject(row, data) or unit_name,
        "status": after,
        "reason": reason or "见审批记录",
    }
    # a form returned again after a resubmission is a new message: the version tells them apart
    letters = (
        (
            kind,
            recipients,
            values,
            f"{kind}:{row.id}:{row.version or 0}",
            row.member_id,
            row.unit_id,
        )
        for kind in kinds
    )
    _send(messages, session, letters, now, later)


def _send(messages: Messages, session: Session, letters, now: datetime, later: Later | None):
    """Each letter — (kind, recipients, values, dedupe key, member id, unit id) — as its
    notices and outbox rows: written now, or kept in `later` for the COMMIT."""
    notices, outbox = [], []
    for kind, recipients, values, dedupe, member_id, unit_id in letters:
        more = messages.rows(
            kind, recipients, values, dedupe, now, member_id=member_id, unit_id=unit_id
        )
        notices += more[0]
        outbox += more[1]
    if later is None:
        messages.write(session, notices, outbox, now)
    else:
        messages.keep(later, notices, outbox, now)


@dataclass(frozen=True)
class Note:
    """A message an approval's effect asks for about one member, to the member and the
    admins of the member's unit; sent after the move's own (`tell`)."""

    kind: str
    member_id: int
    unit_id: int | None
    values: dict
    dedupe: str


def tell(
    messages: Messages | None,
    session: Session,
    notes: list[Note],
    now: datetime,
    later: Later | None = None,
) -> None:
    """The messages of a move's effects (`notes`), after the move's own (审批完成 first, then
    what it meant for each person): written now, or kept in `later` for the COMMIT."""
    if messages is None or not notes:
        return
    letters = (
        (
            n.kind,
            recipients_of(session, n.unit_id, [n.member_id]),
            n.values,
            n.dedupe,
            n.member_id,
            n.unit_id,
        )
        for n in notes
    )
    _send(messages, session, letters, now, later)
