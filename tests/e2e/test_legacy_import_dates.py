"""Dates in the old platform's workbook: implausible ones are refused in the dry run and the
import alike, a 1904 workbook and Excel's built-in Chinese date formats read as the dates they
show, and a far-future date already stored breaks no page."""

from __future__ import annotations

import io
import re
import zipfile
from datetime import date

import pytest
from conftest import add_certified_member, in_db
from legacy_workbook import HEADERS, id_number, person, workbook
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904
from sqlalchemy import func, select
from test_pages_http import sign_in

from service.db.models import Certificate, Member, Membership
from service.domain.validation import make_resident_id


def _post(client, headers, content: bytes, dry_run: bool = False):
    return client.post(
        "/api/v1/legacy-imports" + ("?dry_run=true" if dry_run else ""),
        headers=headers,
        data={"file": (io.BytesIO(content), "单位人员档案导出表.xlsx")},
    )


def _members(session) -> int:
    return session.scalar(select(func.count()).select_from(Member))


BORN_1980 = make_resident_id("44010619800101123")


@pytest.mark.parametrize(
    ("cells", "column"),
    [
        pytest.param({"监理员有效期": date(9999, 12, 31)}, "监理员有效期", id="never expires"),
        pytest.param(
            {"普通会籍有效期": date(9999, 12, 31)}, "普通会籍有效期", id="membership 9999"
        ),
        pytest.param({"普通会籍有效期": "0001-01-01"}, "普通会籍有效期", id="membership 0001"),
        pytest.param({"专业会员": "有效", "专业会籍有效期": "0003-06-30"}, "专业会籍有效期"),
        pytest.param({"监理员有效期": date(1, 1, 1)}, "监理员有效期", id="certificate 0001"),
        pytest.param({"监理员有效期": "2100-01-01"}, "监理员有效期", id="certificate 2100"),
        pytest.param({"入会日期": "0001-01-01"}, "入会日期", id="joined 0001"),
        pytest.param(
            {"身份证号": BORN_1980, "入会日期": date(1979, 12, 31)}, "入会日期", id="before birth"
        ),
        pytest.param({"毕业时间": date(2200, 7, 1)}, "毕业时间", id="graduated in 2200"),
        pytest.param({"毕业时间": date(1899, 7, 1)}, "毕业时间", id="graduated in 1899"),
    ],
)
def test_an_implausible_date_is_refused_by_the_dry_run_and_the_import(
    app, client, login, cells, column
):
    headers = login("admin")
    content = workbook([person(1, **cells)])
    before = in_db(app, _members)
    report = _post(client, headers, content, dry_run=True)
    assert report.status_code == 200, report.get_json()
    [row] = report.get_json()["rows"]
    assert not row["valid"], row
    assert [p["column"] for p in row["problems"]] == [column]
    reply = _post(client, headers, content)
    assert reply.status_code == 422, reply.get_json()
    assert list(reply.get_json()["errors"]) == [f"第2行.{column}"]
    assert in_db(app, _members) == before


def test_the_bounds_themselves_are_accepted(app, client, login):
    row = person(
        1,
        **{
            "身份证号": BORN_1980,
            "入会日期": date(1980, 1, 1),
            "普通会籍有效期": date(2099, 12, 31),
            "监理员有效期": date(2099, 12, 31),
        },
    )
    reply = _post(client, login("admin"), workbook([row]))
    assert reply.status_code == 200, reply.get_json()

    def stored(session):
        member_id = select(Member.id).where(Member.id_number == BORN_1980).scalar_subquery()
        return (
            session.scalar(select(Membership.valid_until).where(Membership.member_id == member_id)),
            session.scalar(
                select(Certificate.valid_until).where(Certificate.number == "JLY00000001")
            ),
        )

    assert in_db(app, stored) == (date(2099, 12, 31), date(2099, 12, 31))


def _openpyxl_workbook(rows: list[dict], epoch=None, number_format: str | None = None) -> bytes:
    """The rows as Excel would save them: real date cells (in the 1904 date system with
    `epoch`, shown in `number_format`)."""
    wb = Workbook()
    if epoch is not None:
        wb.epoch = epoch
    ws = wb.active
    ws.append(HEADERS)
    for r in rows:
        ws.append([r.get(h) for h in HEADERS])
    if number_format is not None:
        for line in ws.iter_rows(min_row=2):
            for c in line:
                if isinstance(c.value, date):
                    c.number_format = number_format
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _with_builtin_format(content: bytes, builtin_id: int) -> bytes:
    """The workbook with its custom number formats (ids from 164) replaced by a built-in id,
    as Excel in a Chinese locale saves 年月日 dates: no format code, only the id."""
    source = zipfile.ZipFile(io.BytesIO(content))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/styles.xml":
                text = re.sub(r"<numFmts\b.*?</numFmts>", "", data.decode(), flags=re.S)
                data = re.sub(r'numFmtId="1(6[4-9]|[7-9]\d)"', f'numFmtId="{builtin_id}"', text)
                data = data.encode()
            target.writestr(item, data)
    return out.getvalue()


def _imported_dates(session) -> dict:
    member = session.scalars(select(Member).where(Member.id_number == id_number(1))).one()
    ordinary = session.scalar(
        select(Membership.valid_until).where(Membership.member_id == member.id)
    )
    cert = session.scalar(
        select(Certificate.valid_until).where(Certificate.number == "JLY00000001")
    )
    return {
        "普通会籍有效期": ordinary,
        "监理员有效期": cert,
        "毕业时间": date.fromisoformat(member.education["graduated_on"]),
    }


DATES = {
    "普通会籍有效期": date(2027, 2, 1),
    "监理员有效期": date(2028, 2, 29),
    "毕业时间": date(2008, 7, 1),
}


def test_a_workbook_in_the_1904_date_system_imports_the_dates_it_shows(app, client, login):
    content = _openpyxl_workbook([person(1, **DATES)], epoch=CALENDAR_MAC_1904)
    assert b'date1904="1"' in zipfile.ZipFile(io.BytesIO(content)).read("xl/workbook.xml")
    reply = _post(client, login("admin"), content)
    assert reply.status_code == 200, reply.get_json()
    assert in_db(app, _imported_dates) == DATES


@pytest.mark.parametrize("builtin_id", [27, 31, 36, 50, 57, 58])
def test_dates_in_excels_builtin_chinese_formats_import_as_dates(app, client, login, builtin_id):
    content = _openpyxl_workbook([person(1, **DATES)], number_format='yyyy"年"m"月"d"日"')
    content = _with_builtin_format(content, builtin_id)
    styles = zipfile.ZipFile(io.BytesIO(content)).read("xl/styles.xml").decode()
    assert "<numFmts" not in styles and f'<xf numFmtId="{builtin_id}"' in styles
    reply = _post(client, login("admin"), content)
    assert reply.status_code == 200, reply.get_json()
    assert in_db(app, _imported_dates) == DATES


NEVER = date(9999, 12, 31)
ELIGIBILITY = [
    "initial_education&certificate_type=监理员",
    "continuing_education&certificate_type=监理员",
    "upgrade_education",
    "specialty_change",
    "certificate_cancellation",
    "certificate_unit_change&reason=new_employment",
    "membership_renewal",
    "member_info_change",
    "engineer_cpd",
]


def test_a_never_expiring_date_already_stored_breaks_no_page(app, client, login, world):
    """Data stored before the import refused such dates (or by other means): a certificate and
    a membership until 9999-12-31 make no server error in the eligibility API, the unit's
    business pages or its archive."""
    holder = BORN_1980
    add_certified_member(app, world.unit_id, holder, NEVER)

    def never_member(session):
        membership = session.scalars(select(Membership)).one()
        membership.valid_until = NEVER
        session.commit()

    in_db(app, never_member)
    unit = login("unit")
    for query in ELIGIBILITY:
        reply = client.get(
            f"/api/v1/units/{world.unit_id}/eligibility?process={query}", headers=unit
        )
        assert reply.status_code == 200, (query, reply.get_json())
        [item] = reply.get_json()["items"]
        assert item["id_number"] == holder
    members = client.get(f"/api/v1/units/{world.unit_id}/members", headers=unit)
    assert members.status_code == 200, members.get_json()
    sign_in(client, world.logins["unit"])
    for query in ELIGIBILITY:
        page = client.get("/business/" + query.replace("&", "?", 1))
        assert page.status_code == 200, (query, page.get_data(as_text=True)[:300])
        assert holder in page.get_data(as_text=True)
    assert client.get("/unit/members").status_code == 200
