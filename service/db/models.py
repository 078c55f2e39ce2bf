"""SQLAlchemy models: reference data, accounts, members, process instances and the queue.

Times are stored as naive UTC. Queue queries read `user_tasks` and its indexes only,
never engine state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import sqlalchemy as sa
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    """Now, as naive UTC (how every timestamp is stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    metadata = sa.MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


class Agency(Base):
    __tablename__ = "agencies"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(100), unique=True)
    city: Mapped[str] = mapped_column(sa.String(50))
    # 服务机构信息 (manual 四.4): what units are shown to reach their agency
    address: Mapped[str | None] = mapped_column(sa.String(200))
    phone: Mapped[str | None] = mapped_column(sa.String(100))
    qq_group: Mapped[str | None] = mapped_column(sa.String(20))
    website: Mapped[str | None] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Unit(Base):
    __tablename__ = "units"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(200), unique=True)
    credit_code: Mapped[str] = mapped_column(sa.String(18), unique=True)
    agency_id: Mapped[int] = mapped_column(sa.ForeignKey("agencies.id"))
    member_unit: Mapped[bool] = mapped_column(default=False)
    membership_valid_until: Mapped[date | None]
    joined_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # 单位信息 the unit's admins keep (manual 3.15): 工商信息 and the supervision and other
    # qualifications (资质), checked by services/membership/unit_admin.py
    registration: Mapped[dict | None] = mapped_column(sa.JSON)
    qualifications: Mapped[list | None] = mapped_column(sa.JSON)


class Member(Base):
    __tablename__ = "members"
    __table_args__ = (sa.Index("ix_members_agency_id", "agency_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50))
    id_type: Mapped[str] = mapped_column(sa.String(20))
    id_number: Mapped[str] = mapped_column(sa.String(20), unique=True)
    gender: Mapped[str | None] = mapped_column(sa.String(2))
    birth_date: Mapped[date | None]
    mobile: Mapped[str | None] = mapped_column(sa.String(11))
    address: Mapped[str | None] = mapped_column(sa.String(200))
    photo_file_id: Mapped[str | None] = mapped_column(sa.String(32))
    id_front_file_id: Mapped[str | None] = mapped_column(sa.String(32))
    id_back_file_id: Mapped[str | None] = mapped_column(sa.String(32))
    education: Mapped[dict | None] = mapped_column(sa.JSON)
    title: Mapped[str | None] = mapped_column(sa.String(10))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    status: Mapped[str] = mapped_column(sa.String(20), default="自由态")
    qualifications: Mapped[list | None] = mapped_column(sa.JSON)
    registration_number: Mapped[str | None] = mapped_column(sa.String(40))
    violation_note: Mapped[str | None] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Membership(Base):
    __tablename__ = "memberships"
    __table_args__ = (sa.UniqueConstraint("member_id", "level"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"))
    level: Mapped[str] = mapped_column(sa.String(10))
    valid_from: Mapped[date]
    valid_until: Mapped[date]
    cancelled_on: Mapped[date | None]
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instances.id"))


class Specialty(Base):
    """The specialty dictionary the association edits (seeded with the 14 categories)."""

    __tablename__ = "specialties"
    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(sa.String(50), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    sort: Mapped[int] = mapped_column(default=0)


class Certificate(Base):
    """A training certificate. A person holds at most one current certificate of each type;
    one replaced by a newer one (reissued after cancellation, upgraded) stays, with the
    number that replaced it, so that its number is still looked up."""

    __tablename__ = "certificates"
    __table_args__ = (
        sa.Index(
            "uq_certificates_member_id",
            "member_id",
            "type",
            unique=True,
            sqlite_where=sa.text("superseded_by IS NULL"),
            postgresql_where=sa.text("superseded_by IS NULL"),
        ),
        # the 首页 statistics count valid certificates per holder from this index alone
        sa.Index("ix_certificates_holder_validity", "member_id", "valid_until", "status"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(sa.ForeignKey("members.id"), index=True)
    type: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    specialty_1: Mapped[str | None] = mapped_column(sa.String(50))
    specialty_2: Mapped[str | None] = mapped_column(sa.String(50))
    first_issued_on: Mapped[date]
    renewed_on: Mapped[date | None]
    valid_until: Mapped[date]
    unit_name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(10), default="valid")
    cancelled_on: Mapped[date | None]
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instances.id"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # the number of the certificate that replaced this one; None while it is the current one
    superseded_by: Mapped[str | None] = mapped_column(sa.String(30))

    @classmethod
    def current(cls):
        """The condition of a person's current certificates (not replaced by a newer one)."""
        return cls.superseded_by.is_(None)


class Account(Base):
    __tablename__ = "accounts"
    __table_args__ = (
        sa.UniqueConstraint("unit_id", "sub_slot", name="uq_accounts_unit_sub_slot"),
        sa.CheckConstraint("sub_slot IS NULL OR (sub_slot BETWEEN 1 AND 3)", name="sub_slot"),
        # the recipients of a form's messages (messages._recipients): its unit's admins and
        # its member's own account, found without reading the unit's every staff account
        sa.Index("ix_accounts_unit_role", "unit_id", "role"),
        sa.Index("ix_accounts_member_id", "member_id"),
        # logins are unique whatever their letter case (migration 0037): two requests at
        # once cannot make both `Abc` and `abc`
        sa.Index("uq_accounts_username_lower", sa.text("lower(username)"), unique=True),
        # a login typed in other widths (half-width brackets, full-width letters) finds its
        # account by this key on PostgreSQL (migration 0042; `search.login_key`)
        sa.Index("ix_accounts_login_key", sa.text("lower(normalize(username, NFKC))")).ddl_if(
            dialect="postgresql"
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(sa.String(200), unique=True)
    name: Mapped[str] = mapped_column(sa.String(200))
    password_hash: Mapped[str] = mapped_column(sa.String(200))
    role: Mapped[str] = mapped_column(sa.String(30))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    is_main: Mapped[bool] = mapped_column(default=False)
    sub_slot: Mapped[int | None]
    mobile: Mapped[str | None] = mapped_column(sa.String(11))
    # where business messages are emailed (业务消息); none: in-app (and SMS to the mobile)
    email: Mapped[str | None] = mapped_column(sa.String(200))
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # a one-time password (issued by a reset or the QR) must be replaced at the next sign-in
    must_change_password: Mapped[bool] = mapped_column(default=False)
    # every token and page session carries it: a password change, reset, "sign out
    # everywhere" or disabling bumps it, which ends all of them at once
    auth_version: Mapped[int] = mapped_column(default=1)
    password_changed_at: Mapped[datetime | None]


class RevokedToken(Base):
    """A signed-out bearer token or page session, refused until it would have expired."""

    __tablename__ = "revoked_tokens"
    jti: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    expires_at: Mapped[datetime] = mapped_column(index=True)


class RateCounter(Base):
    """A rate-limit counter on PostgreSQL (the sign-in limiter, the lookup, the join codes).

    `expires_at` is seconds since the epoch by the database's clock, shared by every host.
    """

    __tablename__ = "rate_counters"
    key: Mapped[str] = mapped_column(sa.String(200), primary_key=True)
    count: Mapped[int]
    expires_at: Mapped[float] = mapped_column(sa.Double, index=True)


class JoinCode(Base):
    __tablename__ = "join_codes"
    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    variant: Mapped[str] = mapped_column(sa.String(10))
    expires_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class StoredFile(Base):
    __tablename__ = "files"
    id: Mapped[str] = mapped_column(sa.String(32), primary_key=True)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    name: Mapped[str] = mapped_column(sa.String(200))
    size: Mapped[int]
    content_type: Mapped[str] = mapped_column(sa.String(50))
    uploaded_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    join_code_id: Mapped[int | None] = mapped_column(sa.ForeignKey("join_codes.id"))
    instance_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("process_instances.id"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class DefinitionVersion(Base):
    """One version of a process's files: numbered 1, 2, 3 … per process key."""

    __tablename__ = "definition_versions"
    __table_args__ = (
        sa.UniqueConstraint("process_key", "digest"),
        sa.UniqueConstraint("process_key", "number", name="uq_definition_versions_key_number"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(sa.String(60))
    number: Mapped[int] = mapped_column(default=1)
    digest: Mapped[str] = mapped_column(sa.String(64))
    files: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str | None] = mapped_column(sa.String(200))  # who, or "服务器启动"


class DefinitionDeployment(Base):
    """One deployment: the version of each process that new instances start on from then on.

    The newest row is current. Its id is the generation every worker of every host compares
    every few seconds (MEMBERFLOW_DEFINITIONS_RECHECK), rebuilding its current definitions
    from the stored files when it changed (services/workflow/definitions.py).
    """

    __tablename__ = "definition_deployments"
    id: Mapped[int] = mapped_column(primary_key=True)
    versions: Mapped[dict] = mapped_column(sa.JSON)  # process key -> definition_versions.id
    created: Mapped[list] = mapped_column(sa.JSON, default=list)  # keys given a new version
    bundle_digest: Mapped[str] = mapped_column(sa.String(64), index=True)  # all of its files
    messages: Mapped[str | None] = mapped_column(sa.Text)  # rules/messages.json, if any
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deployed_by: Mapped[str] = mapped_column(sa.String(200))  # a designer, or "服务器启动"


class FormCounter(Base):
    __tablename__ = "form_counters"
    prefix: Mapped[str] = mapped_column(sa.String(10), primary_key=True)
    day: Mapped[str] = mapped_column(sa.String(8), primary_key=True)
    last: Mapped[int] = mapped_column(default=0)


def trigram_index(name: str, column: str, where: str | None = None) -> sa.Index:
    """A GIN trigram index, which LIKE '%…%' uses; created on PostgreSQL only (pg_trgm);
    `where`: of the rows that meet it alone."""
    return sa.Index(
        name,
        column,
        postgresql_using="gin",
        postgresql_ops={column: "gin_trgm_ops"},
        postgresql_where=sa.text(where) if where else None,
    ).ddl_if(dialect="postgresql")


def characters_index(name: str, column: str) -> sa.Index:
    """A GIN index of a column's characters, which a search of one or two characters uses
    (they have no trigram: `service.db.search`); created on PostgreSQL only."""
    return sa.Index(
        name, sa.text(f"string_to_array({column}, NULL)"), postgresql_using="gin"
    ).ddl_if(dialect="postgresql")


# the forms with a name and no person lines (no ID number): the one name a search cannot
# find among the persons (migration 0020)
UNLISTED_NAME = "subject_id_number IS NULL AND subject_name IS NOT NULL"
# the rows a member's own records are found by (most forms, persons and tasks name no member)
MEMBER_SET = "member_id IS NOT NULL"


def member_index(name: str, *columns: str) -> sa.Index:
    """An index of the rows that name a member, by member then `columns`: what a member
    signed in lists (migrations 0025, 0026)."""
    return sa.Index(
        name,
        "member_id",
        *columns,
        postgresql_where=sa.text(MEMBER_SET),
        sqlite_where=sa.text(MEMBER_SET),
    )


class Draft(Base):
    """A start form saved without submitting (暂存): its data as typed, kept for the unit (or
    the person) who saved it until it is submitted or deleted."""

    __tablename__ = "drafts"
    __table_args__ = (
        sa.Index("ix_drafts_scope", "unit_id", "owner_id", "updated_at"),
        # a new form's page 留存 twice (Back, a double click) is one draft (migration 0040)
        sa.Index("uq_drafts_page_key", "owner_id", "page_key", unique=True),
        # a page still open on a deleted draft never addresses a newer one (migration 0035)
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(sa.String(64))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    summary: Mapped[str] = mapped_column(sa.String(200))
    data: Mapped[dict] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    # each 留存 bumps `version`: a page carrying an older one saved over nothing it has not seen
    version: Mapped[int] = mapped_column(default=1, server_default="1")
    updated_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    # a submitted draft stays as a marker (its data emptied): the form it became is the one
    # its submitter's idempotency key names, what a page still open on the draft is told
    submitted_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    submitted_key: Mapped[str | None] = mapped_column(sa.String(100))
    # the key of the new form's page that made it (its Idempotency-Key), if it sent one
    page_key: Mapped[str | None] = mapped_column(sa.String(64))


class ProcessInstance(Base):
    __tablename__ = "process_instances"
    __table_args__ = (
        sa.UniqueConstraint(
            "idempotency_owner", "idempotency_key", name="uq_process_instances_idempotency"
        ),
        # one unfinished instance per (process, subject) where the process asks for it
        sa.Index(
            "uq_process_instances_active_subject",
            "process_key",
            "subject_lock",
            unique=True,
            postgresql_where=sa.text("NOT finished"),
            sqlite_where=sa.text("finished = 0"),
        ),
        # the instance list: each filter (a unit's or agency's with a status) by index, its
        # page's ids newest first from the index alone (migration 0008)
        sa.Index("ix_process_instances_unit_status_id", "unit_id", "status", "id"),
        sa.Index("ix_process_instances_agency_status_id", "agency_id", "status", "id"),
        sa.Index("ix_process_instances_status_id", "status", "id"),
        sa.Index("ix_process_instances_key_id", "process_key", "id"),
        sa.Index("ix_process_instances_submitted_at", "submitted_at", "id"),
        # a member's own forms (scope.instances_in_scope): those whose member it is
        member_index("ix_process_instances_member_id", "id"),
        # the name search, part of a name, where no listed person holds the form's name:
        # trigrams (pg_trgm) on PostgreSQL alone (the persons' names have their own)
        trigram_index("ix_process_instances_unlisted_name_trgm", "subject_name", UNLISTED_NAME),
        # 学习进度's 申请单号 box: a number containing what was typed (migration 0041)
        trigram_index("ix_process_instances_business_key_trgm", "business_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    process_key: Mapped[str] = mapped_column(sa.String(60))
    definition_version_id: Mapped[int] = mapped_column(sa.ForeignKey("definition_versions.id"))
    business_key: Mapped[str] = mapped_column(sa.String(30), unique=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    subject_name: Mapped[str | None] = mapped_column(sa.String(50))
    subject_id_number: Mapped[str | None] = mapped_column(sa.String(20), index=True)
    subject_lock: Mapped[str | None] = mapped_column(sa.String(40))
    person_count: Mapped[int] = mapped_column(default=1)
    # the membership levels a join applies for, as its list shows them (普通会员、专业会员)
    member_levels: Mapped[str | None] = mapped_column(sa.String(20))
    status: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.Text)
    version: Mapped[int] = mapped_column(default=1)
    finished: Mapped[bool] = mapped_column(default=False)
    end_event: Mapped[str | None] = mapped_column(sa.String(60))
    started_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    idempotency_owner: Mapped[str | None] = mapped_column(sa.String(40))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(100))
    # SHA-256 of the form data the key came with: the key replays that request alone
    idempotency_digest: Mapped[str | None] = mapped_column(sa.String(64))
    submitted_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]

    # every UPDATE checks and bumps `version`: a stale writer gets StaleDataError
    __mapper_args__ = {"version_id_col": version}


class InstancePerson(Base):
    """A person listed on a form (报名人员): what the form asks for that person."""

    __tablename__ = "instance_persons"
    __table_args__ = (
        sa.UniqueConstraint("instance_id", "id_number"),
        sa.Index("ix_instance_persons_id_number", "id_number"),
        # the work queue's search: a name within one form, the last four of an ID number
        sa.Index("ix_instance_persons_instance_name", "instance_id", "name"),
        sa.Index(
            "ix_instance_persons_id_last4", sa.text("substr(id_number, length(id_number) - 3)")
        ),
        trigram_index("ix_instance_persons_name_trgm", "name"),
        characters_index("ix_instance_persons_name_chars", "name"),
        # a member's own forms (scope.instances_in_scope): those listing it among their persons
        member_index("ix_instance_persons_member_id", "instance_id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instances.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    id_number: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(50))
    certificate_type: Mapped[str | None] = mapped_column(sa.String(20))
    line: Mapped[dict] = mapped_column(sa.JSON)
    position: Mapped[int] = mapped_column(default=0)


class Bill(Base):
    """One bill per form: membership fees and education support fees."""

    __tablename__ = "bills"
    __table_args__ = (sa.Index("ix_bills_unit_status", "unit_id", "status"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instances.id"), unique=True)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    kind: Mapped[str] = mapped_column(sa.String(20))
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    membership_amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2), default=Decimal("0"))
    lines: Mapped[list] = mapped_column(sa.JSON)
    status: Mapped[str] = mapped_column(sa.String(12), default="unpaid")
    voucher_file_id: Mapped[str | None] = mapped_column(sa.String(32))
    paid_at: Mapped[datetime | None]
    receipt_type: Mapped[str] = mapped_column(sa.String(20))
    receipt_number: Mapped[str | None] = mapped_column(sa.String(50))
    receipt_date: Mapped[date | None]
    confirmed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    confirmed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class BillReceipt(Base):
    """One document finance issued for a confirmed bill (开票记录's row): an 电子财政收据 for
    its membership fees, an 电子发票 for its support fees; a bill with both kinds of fee
    has one of each. A bill confirmed before documents were kept apart has a single one
    of its whole amount, named as the bill named its receipt ("电子发票、电子财政收据")."""

    __tablename__ = "bill_receipts"
    __table_args__ = (
        sa.Index("ix_bill_receipts_receipt_date", "receipt_date"),
        # a number is one in any letter case (bills.number_is; migration 0039)
        sa.Index("ix_bill_receipts_receipt_number_upper", sa.text("upper(receipt_number)")),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    bill_id: Mapped[int] = mapped_column(sa.ForeignKey("bills.id"), index=True)
    receipt_type: Mapped[str] = mapped_column(sa.String(20))  # 票据名称
    fee_kind: Mapped[str] = mapped_column(sa.String(20))  # 费用类型
    amount: Mapped[Decimal] = mapped_column(sa.Numeric(12, 2))
    receipt_number: Mapped[str | None] = mapped_column(sa.String(50), index=True)  # 票号
    receipt_code: Mapped[str | None] = mapped_column(sa.String(50))  # 票据代码
    receipt_serial: Mapped[str | None] = mapped_column(sa.String(50))  # 票据编码
    receipt_date: Mapped[date]
    # the unit's name when the document was issued (a later rename leaves it); None for a
    # document registered before migration 0038: the unit's current name is shown
    payer_name: Mapped[str | None] = mapped_column(sa.String(200))


class LearningTask(Base):
    """One person's learning after an approved education enrolment."""

    __tablename__ = "learning_tasks"
    __table_args__ = (
        sa.UniqueConstraint("instance_id", "id_number"),
        sa.Index("ix_learning_tasks_id_number_status", "id_number", "status"),
        # a member's own learning, newest first (learning.learning_query)
        member_index("ix_learning_tasks_member_id", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instances.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"), index=True)
    id_number: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(50))
    process_key: Mapped[str] = mapped_column(sa.String(60))
    certificate_type: Mapped[str | None] = mapped_column(sa.String(20))
    required_hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1))
    completed_hours: Mapped[Decimal] = mapped_column(sa.Numeric(6, 1), default=Decimal("0"))
    exam_attempts: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(sa.String(10), default="开课未学习")
    deadline: Mapped[date | None]
    opened_at: Mapped[datetime] = mapped_column(default=utcnow)
    passed_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class CpdCompletion(Base):
    """A person whose registered-engineer CPD enrolment completed (for the weekly report)."""

    __tablename__ = "cpd_completions"
    __table_args__ = (
        sa.UniqueConstraint("instance_id", "id_number"),
        sa.Index("ix_cpd_completions_completed_at", "completed_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instances.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    id_number: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str] = mapped_column(sa.String(50))
    completed_at: Mapped[datetime]
    batch_id: Mapped[int | None]


# what the queue lists filter, sort and count by, besides the scope (see services/workflow/queue.py)
QUEUE_COLUMNS = [
    "claimed_by",  # first: the held index has it as its key
    "process_key",
    "task_name",
    "submitted_at",
    "instance_id",
    "unit_id",
    "agency_id",
    "member_id",
]
# the columns besides the role that keep an actor to its tasks (scope.task_scope)
SCOPE_COLUMNS = ("unit_id", "agency_id", "member_id")
# the keys of the count indexes (`_count_index`): what an open queue's and a done list's
# conditions name (queue._in_scope), the equalities first
COUNTED_OPEN = ("role", "agency_id", "unit_id", "member_id", "claimed_by")
COUNTED_DONE = ("completed_by", "role", "agency_id", "unit_id", "member_id")


def _open_queue(name: str, *scope: str) -> sa.Index:
    """A partial index of the open tasks of one scope shape, in waiting order."""
    return sa.Index(
        name,
        *scope,
        "created_at",
        "id",
        postgresql_where=sa.text("state = 'open'"),
        sqlite_where=sa.text("state = 'open'"),
        postgresql_include=[c for c in QUEUE_COLUMNS if c not in scope],
    )


def _count_index(name: str, *keys: str, state: str) -> sa.Index:
    """A list's total counted from this index alone (PostgreSQL only): its keys name every
    column the list's conditions do, and it includes nothing else, so that B-tree
    deduplication keeps one entry per run of equal keys (an index with INCLUDE columns is
    never deduplicated). Counting a long list then reads a tenth of the pages it did from
    the list's covering index, and passes its rows on faster (measured at 100,000 forms:
    the association's 8,000 open tasks 1.4 → 0.8 ms, a done list's capped 10,001 1.6 →
    0.9 ms). SQLite has no deduplication: its lists count from the indexes above."""
    return sa.Index(name, *keys, postgresql_where=sa.text(f"state = '{state}'")).ddl_if(
        dialect="postgresql"
    )


class UserTask(Base):
    __tablename__ = "user_tasks"
    __table_args__ = (
        sa.UniqueConstraint("instance_id", "engine_task_id"),
        # the open queues, longest waiting first, per scope (role; role and agency or unit);
        # on PostgreSQL they carry every column a queue filters, sorts or counts by
        _open_queue("ix_user_tasks_open_role", "role"),
        _open_queue("ix_user_tasks_open_agency", "role", "agency_id"),
        _open_queue("ix_user_tasks_open_unit", "role", "unit_id"),
        # held tasks: "mine", and the secretariat's list of everything claimed
        sa.Index(
            "ix_user_tasks_held",
            "claimed_by",
            "created_at",
            "id",
            postgresql_where=sa.text("state = 'open' AND claimed_by IS NOT NULL"),
            sqlite_where=sa.text("state = 'open' AND claimed_by IS NOT NULL"),
            postgresql_include=["role", *QUEUE_COLUMNS[1:]],
        ),
        sa.Index(
            "ix_user_tasks_done",
            "completed_by",
            "completed_at",
            "id",
            postgresql_where=sa.text("completed_by IS NOT NULL"),
            sqlite_where=sa.text("completed_by IS NOT NULL"),
            postgresql_include=["role", "state", *QUEUE_COLUMNS],
        ),
        # a done list's total and plain pages: narrow, so counting a long list reads little;
        # on PostgreSQL it carries the scope columns too (scope.task_scope), so every role's
        # total is counted from it alone
        sa.Index(
            "ix_user_tasks_completed",
            "completed_by",
            "role",
            "completed_at",
            "id",
            postgresql_where=sa.text("state = 'completed'"),
            sqlite_where=sa.text("state = 'completed'"),
            postgresql_include=list(SCOPE_COLUMNS),
        ),
        # a done list's name-search total, counted form by form (queue._counted_by_forms):
        # the caller's completed tasks of one form, with the role and the scope on PostgreSQL
        sa.Index(
            "ix_user_tasks_completed_forms",
            "completed_by",
            "instance_id",
            postgresql_where=sa.text("state = 'completed'"),
            sqlite_where=sa.text("state = 'completed'"),
            postgresql_include=["role", *SCOPE_COLUMNS],
        ),
        # the totals of the open queues ("available") and of the done lists (`_count_index`)
        _count_index("ix_user_tasks_open_count", *COUNTED_OPEN, state="open"),
        _count_index("ix_user_tasks_done_count", *COUNTED_DONE, state="completed"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instances.id"))
    engine_task_id: Mapped[str] = mapped_column(sa.String(36))
    process_key: Mapped[str] = mapped_column(sa.String(60))
    task_name: Mapped[str] = mapped_column(sa.String(60))
    title: Mapped[str] = mapped_column(sa.String(100))
    lane: Mapped[str] = mapped_column(sa.String(50))
    role: Mapped[str] = mapped_column(sa.String(30))
    # the instance's unit and agency; the role says which one scopes the task (scope.py)
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    agency_id: Mapped[int | None] = mapped_column(sa.ForeignKey("agencies.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    # the instance's, so the queues filter and sort by it without reading instances
    submitted_at: Mapped[datetime]
    status_label: Mapped[str] = mapped_column(sa.String(20))
    state: Mapped[str] = mapped_column(sa.String(10), default="open")
    claimed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    claimed_at: Mapped[datetime | None]
    completed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    completed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditRecord(Base):
    __tablename__ = "audit_records"
    __table_args__ = (sa.Index("ix_audit_records_instance", "instance_id", "id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instances.id"))
    user_task_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user_tasks.id"))
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    action: Mapped[str] = mapped_column(sa.String(20))
    task_name: Mapped[str | None] = mapped_column(sa.String(60))
    task_title: Mapped[str | None] = mapped_column(sa.String(100))
    decision: Mapped[str | None] = mapped_column(sa.String(20))
    remark: Mapped[str | None] = mapped_column(sa.Text)
    status_before: Mapped[str | None] = mapped_column(sa.String(20))
    status_after: Mapped[str | None] = mapped_column(sa.String(20))
    detail: Mapped[dict | None] = mapped_column(sa.JSON)
    at: Mapped[datetime] = mapped_column(default=utcnow)


class WaitingEvent(Base):
    __tablename__ = "waiting_events"
    __table_args__ = (
        sa.Index("ix_waiting_events_due", "due_at"),
        sa.Index("ix_waiting_events_message", "name", "correlation_key"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    instance_id: Mapped[int] = mapped_column(sa.ForeignKey("process_instances.id"), index=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    name: Mapped[str | None] = mapped_column(sa.String(100))
    correlation_key: Mapped[str | None] = mapped_column(sa.String(100))
    due_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ConfirmationCode(Base):
    """A signed QR code a person confirms once: transfer, resignation, ID photo supplement."""

    __tablename__ = "confirmation_codes"
    __table_args__ = (sa.Index("ix_confirmation_codes_unit_kind", "unit_id", "kind"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(20))
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"), index=True)
    expires_at: Mapped[datetime]
    created_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    used_at: Mapped[datetime | None]
    used_by_member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))


class Notification(Base):
    """A system notice (系统通知) for one account; `dedupe_key` keeps a reminder to one."""

    __tablename__ = "notifications"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "dedupe_key", name="uq_notifications_account_dedupe"),
        sa.Index("ix_notifications_account_read", "account_id", "read_at", "id"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    kind: Mapped[str] = mapped_column(sa.String(30))
    title: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    dedupe_key: Mapped[str] = mapped_column(sa.String(120))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]


class OutboxMessage(Base):
    """A business message to send by email or SMS, written in the transaction of the change
    that causes it and delivered afterwards (services/schedules/outbox.py). `dedupe_key`
    makes one message per account, channel and cause; `sending` marks a delivery under way,
    so a crash mid-send is never sent twice but reported."""

    __tablename__ = "outbox_messages"
    __table_args__ = (
        sa.UniqueConstraint("account_id", "channel", "dedupe_key", name="uq_outbox_dedupe"),
        sa.Index("ix_outbox_due", "status", "next_attempt_at"),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    channel: Mapped[str] = mapped_column(sa.String(10))  # email | sms
    address: Mapped[str] = mapped_column(sa.String(200))
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(100))
    body: Mapped[str] = mapped_column(sa.Text)
    dedupe_key: Mapped[str] = mapped_column(sa.String(120))
    status: Mapped[str] = mapped_column(sa.String(10), default="pending")
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(sa.String(500))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class Incident(Base):
    """A step the engine could not take (a script, condition or rule of a diagram failed):
    numbered for the person who met it, kept for operators until the form is settled."""

    __tablename__ = "incidents"
    __table_args__ = (sa.Index("ix_incidents_open", "status", "instance_id"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(sa.String(30), unique=True)
    process_key: Mapped[str] = mapped_column(sa.String(60))
    definition_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("definition_versions.id")
    )
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instances.id"))
    task_name: Mapped[str | None] = mapped_column(sa.String(60))
    message: Mapped[str] = mapped_column(sa.Text)
    data: Mapped[dict | None] = mapped_column(sa.JSON)  # the form as submitted, to retry
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    actor_name: Mapped[str] = mapped_column(sa.String(200))
    status: Mapped[str] = mapped_column(sa.String(10), default="open")  # open | closed
    occurrences: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    resolution: Mapped[str | None] = mapped_column(sa.String(200))


class CpdBatch(Base):
    """One weekly batch of registered-engineer CPD enrolments, closed at its cut-off."""

    __tablename__ = "cpd_batches"
    id: Mapped[int] = mapped_column(primary_key=True)
    cut_off_at: Mapped[datetime] = mapped_column(unique=True)
    period_start: Mapped[datetime]
    closed_at: Mapped[datetime]
    person_count: Mapped[int] = mapped_column(default=0)
    report: Mapped[bytes] = mapped_column(sa.LargeBinary)
    # manual 2.11.2.2: the list is published on the Wednesday, learning opens on the Friday;
    # the association records each when it has happened (the persons are notified then)
    published_at: Mapped[datetime | None]
    published_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    opened_at: Mapped[datetime | None]
    opened_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))


class JobRun(Base):
    """One run of a scheduled job; (job, scheduled_for) is unique, so a run happens once."""

    __tablename__ = "job_runs"
    __table_args__ = (sa.UniqueConstraint("job", "scheduled_for", name="uq_job_runs_job_slot"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(sa.String(40))
    scheduled_for: Mapped[datetime]
    holder: Mapped[str] = mapped_column(sa.String(100))
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]
    result: Mapped[dict | None] = mapped_column(sa.JSON)


class Job(Base):
    """Long work run in the background (exports, certificate zips, imports), with progress.

    The row is the job's whole state, on SQLite and PostgreSQL alike: what to do (`kind`,
    `params`, an uploaded `input_key`), who asked (`owner_id`: only they and the secretariat
    see it), how far it is (`rows_done` of `rows_total`), how it ended (`error` in Chinese,
    or the result's blob in the storage, downloadable until `expires_at`). `token` names
    this dispatch: a queue entry carrying another token is stale and does nothing.
    """

    __tablename__ = "jobs"
    __table_args__ = (
        sa.Index("ix_jobs_owner_created", "owner_id", "created_at"),
        sa.Index("ix_jobs_status", "status"),
        # old jobs are deleted: a job page still open never shows a newer one (migration 0035)
        {"sqlite_autoincrement": True},
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(100))
    owner_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    params: Mapped[dict] = mapped_column(sa.JSON)
    input_key: Mapped[str | None] = mapped_column(sa.String(64))
    input_name: Mapped[str | None] = mapped_column(sa.String(200))
    token: Mapped[str] = mapped_column(sa.String(32))
    status: Mapped[str] = mapped_column(sa.String(20), default="queued")
    rows_done: Mapped[int] = mapped_column(default=0)
    rows_total: Mapped[int | None]
    attempts: Mapped[int] = mapped_column(default=0)
    worker: Mapped[str | None] = mapped_column(sa.String(100))
    error: Mapped[str | None] = mapped_column(sa.Text)
    errors: Mapped[dict | None] = mapped_column(sa.JSON)
    summary: Mapped[dict | None] = mapped_column(sa.JSON)
    result_key: Mapped[str | None] = mapped_column(sa.String(64))
    result_name: Mapped[str | None] = mapped_column(sa.String(200))
    result_size: Mapped[int | None]
    result_type: Mapped[str | None] = mapped_column(sa.String(100))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    heartbeat_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None] = mapped_column(index=True)


class Feedback(Base):
    """问题反馈: a unit's or member's question to the association (manual: 系统问题 →
    问题反馈), answered by the secretariat or the association's reviewers. `status` is
    待处理, 已回复 or 已关闭; the replies and attachments are rows of their own."""

    __tablename__ = "feedback"
    __table_args__ = (
        sa.Index("ix_feedback_unit_created", "unit_id", "created_at"),
        sa.Index("ix_feedback_member_created", "member_id", "created_at"),
        sa.Index("ix_feedback_submitter_created", "submitted_by", "created_at"),
        sa.Index("ix_feedback_status_created", "status", "created_at"),
        # the same 提交反馈 sent twice (back and send again) is one feedback (migration 0035)
        sa.Index("uq_feedback_idempotency", "submitted_by", "idempotency_key", unique=True),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    category: Mapped[str] = mapped_column(sa.String(20))
    title: Mapped[str] = mapped_column(sa.String(50))
    content: Mapped[str] = mapped_column(sa.Text)
    business_key: Mapped[str | None] = mapped_column(sa.String(40))
    instance_id: Mapped[int | None] = mapped_column(sa.ForeignKey("process_instances.id"))
    status: Mapped[str] = mapped_column(sa.String(10))
    submitted_by: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    submitter_name: Mapped[str] = mapped_column(sa.String(200))
    unit_id: Mapped[int | None] = mapped_column(sa.ForeignKey("units.id"))
    member_id: Mapped[int | None] = mapped_column(sa.ForeignKey("members.id"))
    idempotency_key: Mapped[str | None] = mapped_column(sa.String(64))
    closed_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    closed_by_name: Mapped[str | None] = mapped_column(sa.String(200))
    closed_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class FeedbackFile(Base):
    """An uploaded screenshot or file of a feedback (at most three), in the order given."""

    __tablename__ = "feedback_files"
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"), primary_key=True)
    file_id: Mapped[str] = mapped_column(sa.ForeignKey("files.id"), primary_key=True, index=True)
    position: Mapped[int] = mapped_column(default=0)


class FeedbackReply(Base):
    """One answer to a feedback: its text, who answered and when."""

    __tablename__ = "feedback_replies"
    id: Mapped[int] = mapped_column(primary_key=True)
    feedback_id: Mapped[int] = mapped_column(sa.ForeignKey("feedback.id"), index=True)
    body: Mapped[str] = mapped_column(sa.Text)
    author_id: Mapped[int] = mapped_column(sa.ForeignKey("accounts.id"))
    author_name: Mapped[str] = mapped_column(sa.String(200))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class UnitPasswordRequest(Base):
    """单位账号密码重置 (manual FAQ 3.9(2)): a unit that lost its main account's password
    asks on the sign-in page, with its stamped application form; the secretariat checks it
    and resets the password (已重置) or refuses (已拒绝, with the reason). At most one
    request of a unit is 待处理 at a time (the partial unique index)."""

    __tablename__ = "unit_password_requests"
    __table_args__ = (
        sa.Index("ix_unit_password_requests_status_created", "status", "created_at"),
        sa.Index(
            "uq_unit_password_requests_pending",
            "unit_id",
            unique=True,
            postgresql_where=sa.text("status = '待处理'"),
            sqlite_where=sa.text("status = '待处理'"),
        ),
    )
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str | None] = mapped_column(sa.String(30), unique=True)
    unit_id: Mapped[int] = mapped_column(sa.ForeignKey("units.id"), index=True)
    contact_name: Mapped[str] = mapped_column(sa.String(50))
    contact_mobile: Mapped[str] = mapped_column(sa.String(11))
    file_id: Mapped[str] = mapped_column(sa.ForeignKey("files.id"), index=True)
    status: Mapped[str] = mapped_column(sa.String(10))
    reason: Mapped[str | None] = mapped_column(sa.String(500))
    account_id: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    handled_by: Mapped[int | None] = mapped_column(sa.ForeignKey("accounts.id"))
    handled_by_name: Mapped[str | None] = mapped_column(sa.String(200))
    handled_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
