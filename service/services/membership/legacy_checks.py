"""The legacy import's checks across rows and against the database (see legacy_import).

`FileState` remembers what the file said so far (each ID and certificate number's first row,
each unit by credit code and by name) and checks a chunk of rows with one query per kind:
units by credit code and name, members, logins and certificate numbers by value.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy import String, literal, select

from service.db.models import Account, Agency, Certificate, Member, Membership, Specialty, Unit
from service.db.search import login_key as sql_login_key
from service.db.uow import UnitOfWork
from service.domain.validation import login_key
from service.services.membership.legacy_rows import AGENCY_COLUMN, LegacyRow


@dataclass
class LegacyUnit:
    """A unit the file names: in the system already, or to be created (id None until then)."""

    id: int | None
    name: str
    agency_id: int
    existing: bool
    first_row: int
    member_unit: bool = False


class FileState:
    """What the file said so far, and the checks of each chunk against it and the database."""

    def __init__(self, uow: UnitOfWork):
        self.session = uow.session
        self.agencies = dict(self.session.execute(select(Agency.name, Agency.id)).all())
        self.agency_names = {v: k for k, v in self.agencies.items()}
        self.specialties = set(self.session.scalars(select(Specialty.name)))
        self.units: dict[str, LegacyUnit] = {}  # credit code -> unit
        self.unit_names: dict[str, str] = {}  # unit name -> credit code
        self.seen_ids: dict[str, int] = {}  # ID number -> row
        self.seen_certs: dict[str, int] = {}  # certificate number -> row
        self.counts: Counter = Counter()

    def check_chunk(self, rows: list[LegacyRow]) -> dict:
        """Check a chunk against the file so far and the database; what the planner needs."""
        self._load_units(rows)
        for row in rows:
            self._check_in_file(row)
        ok = [r for r in rows if not r.problems]
        members = self._members(ok)
        self._check_people(ok, members)
        return members

    def _load_units(self, rows: list[LegacyRow]) -> None:
        codes = {r.credit_code for r in rows if r.credit_code and r.credit_code not in self.units}
        if not codes:
            return
        for unit in self.session.scalars(select(Unit).where(Unit.credit_code.in_(codes))):
            self.units[unit.credit_code] = LegacyUnit(
                unit.id, unit.name, unit.agency_id, True, 0, unit.member_unit
            )
            self.unit_names.setdefault(login_key(unit.name), unit.credit_code)
        new_names = {
            r.unit_name for r in rows if r.credit_code in codes and r.credit_code not in self.units
        }
        if new_names:  # names alike but for letter case and width are one (a sign-in's)
            keys = [sql_login_key(literal(name, String)) for name in sorted(new_names)]
            taken = self.session.execute(
                select(Unit.name, Unit.credit_code).where(sql_login_key(Unit.name).in_(keys))
            ).all()
            for name, code in taken:
                self.unit_names.setdefault(login_key(name), code)
            logins = self.session.scalars(
                select(Account.username).where(sql_login_key(Account.username).in_(keys))
            )
            for name in logins:
                self.unit_names.setdefault(login_key(name), "")  # a login of that name: not free

    def _check_in_file(self, row: LegacyRow) -> None:
        if row.id_number:
            first = self.seen_ids.setdefault(row.id_number, row.number)
            if first != row.number:
                row.problems.append(("身份证号", f"身份证号{row.id_number}与第{first}行重复"))
        for cert_type, (number, sp1, sp2, _until, _c) in row.certificates.items():
            first = self.seen_certs.setdefault(number, row.number)
            if first != row.number:
                row.problems.append((f"{cert_type}证书编号", f"证书编号{number}与第{first}行重复"))
            for i, sp in ((1, sp1), (2, sp2)):
                if sp and sp not in self.specialties:
                    row.problems.append((f"{cert_type}专业{i}", f"专业“{sp}”不在专业字典中"))
            if sp1 and sp1 == sp2:  # as the forms refuse it (persons.line_errors)
                row.problems.append((f"{cert_type}专业2", "专业2不能与专业1相同"))
        agency_id = self.agencies.get(row.agency_name) if row.agency_name else None
        if row.agency_name and agency_id is None:
            row.problems.append(
                (AGENCY_COLUMN, f"初审机构“{row.agency_name}”不存在，应为系统中会员服务机构的全称")
            )
        if row.credit_code and row.unit_name and agency_id is not None:
            self._check_unit(row, agency_id)

    def _check_unit(self, row: LegacyRow, agency_id: int) -> None:
        unit = self.units.get(row.credit_code)
        if unit is None:
            holder = self.unit_names.get(login_key(row.unit_name))
            if holder is not None:
                where = f"统一社会信用代码为{holder}的单位" if holder else "其他账号的登录名"
                row.problems.append(("所在工作单位", f"单位名称“{row.unit_name}”已是{where}"))
                return
            if row.problems:
                return  # an invalid row does not create the unit
            unit = LegacyUnit(
                None, row.unit_name, agency_id, False, row.number, bool(row.member_unit)
            )
            self.units[row.credit_code] = unit
            self.unit_names[login_key(row.unit_name)] = row.credit_code
            self.counts["units_created"] += 1
            return
        where = "系统中" if unit.existing else f"第{unit.first_row}行"
        if login_key(unit.name) != login_key(row.unit_name):  # the same name in other brackets
            row.problems.append(
                (
                    "所在工作单位",
                    f"统一社会信用代码{row.credit_code}在{where}是单位“{unit.name}”，"
                    f"与本行的“{row.unit_name}”不符",
                )
            )
        elif unit.agency_id != agency_id:
            row.problems.append(
                (
                    AGENCY_COLUMN,
                    f"单位“{unit.name}”的初审机构在{where}是“{self.agency_names[unit.agency_id]}”，"
                    f"与本行的“{row.agency_name}”不符",
                )
            )
        elif unit.existing and unit.first_row == 0:
            unit.first_row = row.number
            self.counts["units_unchanged"] += 1

    def _members(self, rows: list[LegacyRow]) -> dict:
        ids = [r.id_number for r in rows]
        if not ids:
            return {
                "members": {},
                "logins": {},
                "memberships": {},
                "certificates": {},
                "owners": {},
            }
        members = {
            m.id_number: (m, unit_name)
            for m, unit_name in self.session.execute(
                select(Member, Unit.name)
                .outerjoin(Unit, Unit.id == Member.unit_id)
                .where(Member.id_number.in_(ids))
            )
        }
        logins = dict(
            self.session.execute(
                select(Account.username, Account.member_id).where(Account.username.in_(ids))
            ).all()
        )
        member_ids = [m.id for m, _ in members.values()]
        memberships, certificates = {}, {}
        if member_ids:
            for m in self.session.scalars(
                select(Membership).where(Membership.member_id.in_(member_ids))
            ):
                memberships[(m.member_id, m.level)] = m
            for c in self.session.scalars(
                select(Certificate).where(
                    Certificate.member_id.in_(member_ids), Certificate.current()
                )
            ):
                certificates[(c.member_id, c.type)] = c
        numbers = [c[0] for r in rows for c in r.certificates.values()]
        owners = dict(
            self.session.execute(
                select(Certificate.number, Member.id_number)
                .join(Member, Member.id == Certificate.member_id)
                .where(Certificate.number.in_(numbers))
            ).all()
        )
        return {
            "members": members,
            "logins": logins,
            "memberships": memberships,
            "certificates": certificates,
            "owners": owners,
        }

    def _check_people(self, rows: list[LegacyRow], found: dict) -> None:
        for row in rows:
            unit = self.units[row.credit_code]
            member, unit_name = found["members"].get(row.id_number, (None, None))
            if member is not None and member.unit_id is not None and member.unit_id != unit.id:
                row.problems.append(
                    (
                        "所在工作单位",
                        f"身份证号{row.id_number}已是“{unit_name}”的会员，"
                        "调入其他单位请办理个人变更单位",
                    )
                )
            login = found["logins"].get(row.id_number, -1)
            if login != -1 and (member is None or login != member.id):
                row.problems.append(("身份证号", f"身份证号{row.id_number}已被其他账号用作登录名"))
            for cert_type, (number, *_rest) in row.certificates.items():
                owner = found["owners"].get(number)
                if owner is not None and owner != row.id_number:
                    row.problems.append(
                        (f"{cert_type}证书编号", f"证书编号{number}已属于身份证号{owner}的人员")
                    )
