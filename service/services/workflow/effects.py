"""What a finished process changes in the records: members, memberships, certificates."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import Select, and_, bindparam, literal, select, update
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session

from service.db.models import (
    Account,
    Certificate,
    CpdCompletion,
    InstancePerson,
    Member,
    Membership,
    ProcessInstance,
    Unit,
)
from service.db.search import hold_login
from service.db.uow import Later, Reads, insert_statement, write
from service.domain.errors import Conflict
from service.domain.passwords import UNUSABLE
from service.domain.person_facts import CERTIFICATE_TYPES, membership_until
from service.engine import Definition
from service.services.workflow import audit
from service.services.workflow.facts import name_taken
from service.services.workflow.messages import Note, Recipients, queue_recipients_by_number


@dataclass
class Change:
    """Where an effect applies: the session, the instance row, its data and definition."""

    session: Session
    row: ProcessInstance
    data: dict
    defn: Definition
    today: date
    now: datetime
    later: Later | None = None  # for the writes nothing reads again: kept for the COMMIT
    # the move's audit records kept for its save (PostgreSQL, with the COMMIT), in order
    records: list[dict] | None = None
    # the recipients of the move's messages, when the effect read them with its own writes
    recipients: Recipients | None = None
    # what the effect did to a person that the approval's message does not say (业务消息)
    notes: list[Note] = field(default_factory=list)

    def record(self, step: audit.Step) -> None:
        """Append a step to the form's audit trail: after the move's own records, with its
        save when that is kept for the COMMIT, else at once."""
        if self.records is None:
            audit.write(self.session, step, self.now, self.row)
        else:
            self.records.append(audit.values(step, self.now, self.row))

    @property
    def policy(self) -> dict:
        return self.defn.policy

    def years(self, name: str, default: int) -> int:
        return int(self.policy.get(name, default))

    def persons(self) -> list[tuple[InstancePerson, Member | None]]:
        rows = self.session.execute(
            select(InstancePerson, Member)
            .outerjoin(Member, Member.id == InstancePerson.member_id)
            .where(InstancePerson.instance_id == self.row.id)
            .order_by(InstancePerson.position)
        )
        return [(p, m) for p, m in rows]

    def unit_name(self) -> str:
        unit = self.session.get(Unit, self.row.unit_id) if self.row.unit_id else None
        return unit.name if unit else ""


LEVELS = ("普通会员", "专业会员")


def joined_levels(data: dict) -> list[str]:
    """The levels a join applies for: `member_level`, and any of `member_levels` (both levels
    on one application, manual §3.2), in the order of LEVELS."""
    asked = {data.get("member_level"), *(data.get("member_levels") or [])}
    return [level for level in LEVELS if level in asked]


def listed_levels(data: dict) -> str | None:
    """The levels a join applies for as the instance row keeps them for its list
    (`process_instances.member_levels`): 普通会员、专业会员, or None (none chosen yet)."""
    return "、".join(joined_levels(data)) or None


def grant_membership(c: Change, member_id: int, level: str) -> None:
    """The member holds `level` from today for its policy term (a lapsed or cancelled
    membership of that level starts again): one upsert, kept for the COMMIT if it can."""
    until = membership_until(c.policy.get("membership_validity_years", 1), level, c.today)
    values = {
        "member_id": member_id,
        "level": level,
        "valid_from": c.today,
        "valid_until": until,
        "cancelled_on": None,
        "instance_id": c.row.id,
    }
    dialect = c.session.get_bind().dialect.name
    upsert = insert_statement(dialect, Membership, ("member_id", "level"), tuple(values))
    write(c.session, upsert, values, c.later)


# the join's member: every field the application gives is written, on a new record or an
# existing one (status, unit and agency included); the rest of an existing record stays
_JOINED = (
    "name",
    "id_type",
    "gender",
    "birth_date",
    "mobile",
    "address",
    "photo_file_id",
    "id_front_file_id",
    "id_back_file_id",
    "education",
    "title",
    "unit_id",
    "agency_id",
    "status",
)


def _member_join_approved(c: Change) -> None:
    session, inst, data = c.session, c.row, c.data
    applicant = data.get("applicant") or {}
    id_number = str(data["id_number"]).upper()
    birth = applicant.get("birth_date") or data.get("birth_date")
    values = {
        "id_number": id_number,
        "name": data["name"],
        "id_type": data["id_type"],
        "gender": applicant.get("gender") or data.get("gender"),
        "birth_date": date.fromisoformat(birth) if birth else None,
        "mobile": data.get("mobile"),
        "address": data.get("address"),
        "photo_file_id": data.get("photo"),
        "id_front_file_id": data.get("id_front"),
        "id_back_file_id": data.get("id_back"),
        "education": data.get("education"),
        "title": data.get("title"),
        "unit_id": inst.unit_id,
        "agency_id": inst.agency_id,  # the unit's agency when the application started
        "status": "自由态",
        "created_at": c.now,
    }
    # no password yet: the unit issues a random one-time password (reset, or a QR code
    # that shows it to the person), changed at the first sign-in. Written now: the
    # approval's message goes to it.
    account = {
        "username": id_number,
        "name": data["name"],
        "role": "member",
        "unit_id": inst.unit_id,
        "password_hash": UNUSABLE,
        "must_change_password": True,
        "created_at": c.now,
    }
    # the instance row's own UPDATE waits for the member's id: one UPDATE, not two
    dialect = session.get_bind().dialect.name
    with session.no_autoflush:
        if dialect == "postgresql":
            # the member and its account in one statement, and the recipients of the
            # approval's message (the new account among them) read after it, in one round trip
            both = _member_and_account(tuple(values), tuple(account))
            params = {**values, **{f"account_{k}": v for k, v in account.items()}}
            reads = Reads(session)
            taken = reads.add(_LOGIN_TAKEN, {"username": id_number})
            joined = reads.add(both, params)
            told = queue_recipients_by_number(reads, inst.unit_id, id_number)
            reads.run()
            _refuse_taken_login(taken.rows)
            member_id = joined.rows[0][0]
            c.recipients = Recipients((inst.unit_id, member_id), told)
        else:
            _refuse_taken_login(session.execute(_LOGIN_TAKEN, {"username": id_number}).all())
            upsert = insert_statement(
                dialect, Member, ("id_number",), tuple(values), _JOINED, (Member.id,)
            )
            member_id = session.execute(upsert, values).scalar_one()
            account["member_id"] = member_id
            absent = insert_statement(dialect, Account, ("username",), tuple(account), ())
            session.execute(absent, account)
        for level in joined_levels(data):
            grant_membership(c, member_id, level)
    inst.member_id = member_id


# another kind of account signing in with the applicant's ID number (a staff login made
# before such logins were refused): the member's account could not be made, so the approval
# is refused rather than finishing with a member who can never sign in. A member account of
# that number is the same person's (joining again): it is kept.
_LOGIN_TAKEN = select(Account.username, Account.role).where(
    Account.username == bindparam("username"), Account.role != "member"
)


def _refuse_taken_login(rows) -> None:
    if rows:
        raise Conflict(
            f"该证件号码已被其他账号（{rows[0][0]}）用作登录名，无法为其开通个人会员账号："
            "请秘书处停用并更换该账号后再审批"
        )


# `_member_and_account`'s statements, per shape (the member's and the account's columns)
_MEMBER_AND_ACCOUNT: dict[tuple, Select] = {}


def _member_and_account(member: tuple[str, ...], account: tuple[str, ...]) -> Select:
    """PostgreSQL: the join's member upserted (its columns `member` bound by their names)
    and the member's account inserted unless its username is taken (its columns `account`
    bound as account_<column>, the member's id from the upsert), as data-modifying CTEs of
    one statement that returns the member's id."""
    shape = (member, account)
    found = _MEMBER_AND_ACCOUNT.get(shape)
    if found is not None:
        return found
    upsert = insert_statement("postgresql", Member, ("id_number",), member, _JOINED, (Member.id,))
    joined = upsert.cte("joined_member")
    table = Account.__table__
    # the columns' own defaults (an INSERT in a CTE gets none from SQLAlchemy): as literals
    defaults = {
        c.name: c.default.arg
        for c in table.c
        if c.name not in account and c.default is not None and c.default.is_scalar
    }
    source = select(
        *(bindparam(f"account_{c}", type_=table.c[c].type) for c in account),
        *(literal(v, type_=table.c[c].type) for c, v in defaults.items()),
        joined.c.id,
    )
    added = (
        postgresql.insert(table)
        .from_select([*account, *defaults, "member_id"], source)
        .on_conflict_do_nothing(index_elements=["username"])
        .cte("joined_account")
    )
    found = _MEMBER_AND_ACCOUNT[shape] = select(joined.c.id).add_cte(added)
    return found


INFO_FIELDS = ("mobile", "address", "education", "title", "registration_number")


def _info_change_approved(c: Change) -> None:
    member = c.session.scalars(
        select(Member).where(Member.id_number == str(c.data["id_number"]).upper())
    ).first()
    if member is None:
        return
    changes = c.data.get("changes") or {}
    for name in INFO_FIELDS:
        if name in changes:
            setattr(member, name, changes[name])
    if "photo" in changes:
        member.photo_file_id = changes["photo"]
    if changes.get("registration_number"):
        quals = list(member.qualifications or [])
        if "注册监理工程师注册证" not in quals:
            member.qualifications = [*quals, "注册监理工程师注册证"]
    if changes.get("member_level") == "专业会员":  # 普通会员 → 专业会员, paid (§2.11.2.1)
        grant_membership(c, member.id, "专业会员")


def move_member(session: Session, member: Member, unit: Unit | None) -> None:
    """Move a member to `unit` (None: leaves its unit); the member's login follows.

    Joining a unit takes the unit's agency; leaving keeps the member's agency.
    """
    member.unit_id = unit.id if unit is not None else None
    if unit is not None:
        member.agency_id = unit.agency_id
    session.execute(
        update(Account)
        .where(Account.member_id == member.id, Account.role == "member")
        .values(unit_id=member.unit_id)
    )


def _unit_change_approved(c: Change) -> None:
    unit = c.session.get(Unit, c.row.unit_id)
    moving = c.data.get("reason") == "new_employment"
    for _person, member in c.persons():
        if member is None:
            continue
        if moving:
            move_member(c.session, member, unit)
        for cert in c.session.scalars(
            select(Certificate).where(
                Certificate.member_id == member.id,
                Certificate.status != "cancelled",
                Certificate.current(),
            )
        ):
            cert.unit_name, cert.updated_at, cert.instance_id = unit.name, c.now, c.row.id


def _cancellation_approved(c: Change) -> None:
    for person, member in c.persons():
        if member is None:
            continue
        cancelling = set((person.line or {}).get("certificate_types") or [])
        certs = list(
            c.session.scalars(
                select(Certificate).where(Certificate.member_id == member.id, Certificate.current())
            )
        )
        cancelled = set()
        for cert in certs:
            if cert.type in cancelling and cert.status != "cancelled":
                cert.status, cert.cancelled_on = "cancelled", c.today
                cert.updated_at, cert.instance_id = c.now, c.row.id
                cancelled.add(cert.type)
        remaining = [cert.type for cert in certs if cert.status != "cancelled"]
        outcome = c.defn.decisions.evaluate(
            "certificate_cancellation_membership", {"remaining_types": remaining}, c.now
        )
        if outcome.get("cancels_membership"):
            ended = c.session.execute(
                update(Membership)
                .where(
                    Membership.member_id == member.id,
                    Membership.level == "普通会员",
                    Membership.cancelled_on.is_(None),
                )
                .values(cancelled_on=c.today)
            )
            if ended.rowcount:  # a membership there was ended: the person and unit are told
                c.notes.append(_membership_ended(c, member, cancelled or cancelling))


def _membership_ended(c: Change, member: Member, types: set[str]) -> Note:
    """membership_ended: the certificates cancelled took the person's 普通会员 membership."""
    values = {
        "business_key": c.row.business_key,
        "process_name": c.defn.name,
        "unit_name": c.unit_name(),
        "person": member.name,
        "certificate_types": "、".join(t for t in CERTIFICATE_TYPES if t in types)
        or "、".join(sorted(types)),
    }
    dedupe = f"membership_ended:{c.row.id}:{member.id}"
    return Note("membership_ended", member.id, member.unit_id, values, dedupe)


def _cpd_approved(c: Change) -> None:
    for person, member in c.persons():
        c.session.add(
            CpdCompletion(
                instance_id=c.row.id,
                member_id=member.id if member else None,
                unit_id=c.row.unit_id,
                id_number=person.id_number,
                name=person.name,
                completed_at=c.now,
            )
        )


FORMER_NAME_LIMIT = 200  # 曾用名 in the unit's 工商信息 (membership/unit_information.py)


def _former_names(former: str, kept: str | None) -> str:
    """The 曾用名 after a rename: the name just left first, then the earlier ones kept,
    as many as the field holds."""
    names = [former] + [n for n in (kept or "").split("；") if n.strip() and n != former]
    text = names[0][:FORMER_NAME_LIMIT]
    for name in names[1:]:
        if len(text) + 1 + len(name) > FORMER_NAME_LIMIT:
            break
        text += "；" + name
    return text


def _rename_unit(c: Change) -> None:
    """单位名称变更 approved: the unit takes its new name, and so does its main account's
    login (the unit's full name); the name it leaves becomes its 曾用名 (工商信息). The
    certificates keep the name printed on them until the unit runs 证书变更（单位名称）."""
    unit = c.session.get(Unit, c.row.unit_id)
    new_name = str(c.data.get("new_name") or "").strip()
    if unit is None or not new_name or new_name == unit.name:
        return
    hold_login(c.session, new_name)  # a unit created meanwhile with a name alike is seen
    if name_taken(c.session, new_name, unit.id):  # taken since the unit submitted the form
        raise Conflict(
            f"新单位名称“{new_name}”已被其他单位使用（或已被用作登录名），不能通过，请退回单位修改"
        )
    former = unit.name
    registration = dict(unit.registration or {})
    registration["former_name"] = _former_names(former, registration.get("former_name"))
    unit.name, unit.registration = new_name, registration
    c.session.execute(
        update(Account)
        .where(and_(Account.unit_id == unit.id, Account.is_main.is_(True)))
        .values(username=new_name, name=new_name)
    )
    detail = {"unit_id": unit.id, "before": former, "after": new_name}
    c.record(audit.Step(audit.SYSTEM, "unit_rename", detail=detail))


def _admit_unit(c: Change) -> None:
    """单位会员入会 confirmed by finance: the unit is a member unit (单位会员) to the end of
    the year `unit_membership_validity_years` counts (1: this year, as the manual's
    screenshot shows 到期时间 2025-12-31); its first join date (首次入会时间) is kept."""
    unit = c.session.get(Unit, c.row.unit_id)
    if unit is None:
        return
    years = max(c.years("unit_membership_validity_years", 1), 1)
    before = {
        "member_unit": unit.member_unit,
        "joined_on": unit.joined_on.isoformat() if unit.joined_on else None,
        "membership_valid_until": unit.membership_valid_until.isoformat()
        if unit.membership_valid_until
        else None,
    }
    unit.member_unit = True
    unit.joined_on = unit.joined_on or c.today
    unit.membership_valid_until = date(c.today.year + years - 1, 12, 31)
    detail = {
        "unit_id": unit.id,
        "before": before,
        "membership_valid_until": unit.membership_valid_until.isoformat(),
    }
    c.record(audit.Step(audit.SYSTEM, "unit_admit", detail=detail))


Effect = Callable[[Change], None]

# the effects an end event may declare (`effect` property, engine/declarations.py EFFECTS)
EFFECTS: dict[str, Effect] = {
    "admit_member": _member_join_approved,
    "change_member_info": _info_change_approved,
    "change_certificate_unit": _unit_change_approved,
    "cancel_certificates": _cancellation_approved,
    "record_cpd": _cpd_approved,
    "rename_unit": _rename_unit,
    "admit_unit": _admit_unit,
}


def apply_effects(
    session: Session,
    inst: ProcessInstance,
    end_event: str | None,
    data: dict,
    defn: Definition,
    today: date,
    now: datetime,
    later: Later | None = None,
    records: list[dict] | None = None,
) -> Change | None:
    """Apply the records change the end event reached declares, if it declares one; the
    writes nothing in the request reads again may be kept in `later` for the COMMIT, and
    its audit records appended to `records`, the move's own, to go with its save. The
    change applied (None: none), with the recipients of the move's messages when the effect
    read them with its writes, and the messages it asks for (`notes`)."""
    name = defn.declarations.effects.get(end_event or "")
    if name is None:
        return None
    change = Change(session, inst, data, defn, today, now, later, records)
    EFFECTS[name](change)
    return change
