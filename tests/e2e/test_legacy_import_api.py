"""The old platform's data over the API: dry run, all or nothing, idempotent, secretariat only."""

from __future__ import annotations

import io
import time
from datetime import date

import pytest
from conftest import in_db
from hostile_xlsx import row, shared_strings_bomb, sheet, xlsx
from jobs_support import job_runner, wait_for_job
from legacy_workbook import HEADERS, person, unit_of, workbook
from openpyxl import Workbook
from sqlalchemy import func, select

from service.db.models import Account, AuditRecord, Certificate, Member, Membership, Unit
from service.domain.validation import ID_NUMBER_CELL_IS_NUMBER, make_credit_code

OUR_UNIT = ("广州珠江工程建设监理有限公司", make_credit_code("91440101190468342"))


def _post(client, headers, content: bytes, dry_run: bool = False):
    return client.post(
        "/api/v1/legacy-imports" + ("?dry_run=true" if dry_run else ""),
        headers=headers,
        data={"file": (io.BytesIO(content), "单位人员档案导出表.xlsx")},
    )


def _counts(session) -> dict:
    return {
        model.__name__: session.scalar(select(func.count()).select_from(model))
        for model in (Unit, Member, Membership, Certificate, Account, AuditRecord)
    }


def _good_rows() -> list[dict]:
    """Two persons of a new unit, one of the world's own unit (matched by credit code)."""
    name, code = OUR_UNIT
    return [
        person(1),
        person(2),
        person(3, **{"所在工作单位": name, "统一社会信用代码": code}),
    ]


def _wrong_check_digit(number: str) -> str:
    return number[:-1] + ("1" if number[-1] == "0" else "0")


def _bad_rows() -> list[dict]:
    return [
        person(1),
        person(2, **{"身份证号": _wrong_check_digit(person(2)["身份证号"])}),
        person(3, **{"资料审核（初审机构）": "深圳市不存在协会"}),
        person(4, **{"普通会籍有效期": "2027-13-45"}),
        person(1),  # the first row again
        person(6, **{"统一社会信用代码": "91440101MA5ABCDE1X"}),
    ]


def test_a_dry_run_reports_every_row_and_writes_nothing(app, client, login):
    before = in_db(app, _counts)
    reply = _post(client, login("admin"), workbook(_bad_rows()), dry_run=True)
    assert reply.status_code == 200, reply.get_json()
    report = reply.get_json()
    assert (report["dry_run"], report["rows_total"], report["rows_valid"]) == (True, 6, 1)
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["valid"] and by_row[2]["action"] == "新增"
    assert by_row[3]["problems"] == [{"column": "身份证号", "reason": "身份证号码校验位不正确"}]
    assert by_row[4]["problems"][0]["column"] == "资料审核（初审机构）"
    assert "深圳市不存在协会" in by_row[4]["problems"][0]["reason"]
    assert by_row[5]["problems"][0]["column"] == "普通会籍有效期"
    assert "不是有效日期" in by_row[5]["problems"][0]["reason"]
    assert by_row[6]["problems"] == [
        {"column": "身份证号", "reason": f"身份证号{person(1)['身份证号']}与第2行重复"},
        {"column": "监理员证书编号", "reason": "证书编号JLY00000001与第2行重复"},
    ]
    assert by_row[7]["problems"][0]["column"] == "统一社会信用代码"
    assert "校验位" in by_row[7]["problems"][0]["reason"]
    assert report["errors"]["第3行.身份证号"] == "身份证号码校验位不正确"
    assert in_db(app, _counts) == before


def test_one_invalid_row_refuses_the_whole_file_with_the_row_report(app, client, login):
    before = in_db(app, _counts)
    reply = _post(client, login("admin"), workbook(_bad_rows()))
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert "共6行，其中5行有误，未导入任何记录" in body["message"]
    assert body["errors"]["第3行.身份证号"] == "身份证号码校验位不正确"
    assert "第5行.普通会籍有效期" in body["errors"]
    assert in_db(app, _counts) == before  # not even the valid first row, nor an audit entry


def test_an_import_creates_everything_once_and_a_rerun_changes_nothing(app, client, login):
    headers = login("admin")
    before = in_db(app, _counts)
    dry = _post(client, headers, workbook(_good_rows()), dry_run=True).get_json()
    first = _post(client, headers, workbook(_good_rows()))
    assert first.status_code == 200, first.get_json()
    counts = first.get_json()["counts"]
    assert counts == dry["counts"]  # the dry run said what the import did
    assert (counts["units_created"], counts["units_unchanged"]) == (1, 1)
    assert (counts["members_created"], counts["memberships_created"]) == (3, 3)
    assert counts["certificates_created"] == 4  # person 3 holds two
    after = in_db(app, _counts)
    assert after["Unit"] == before["Unit"] + 1
    assert after["Member"] == before["Member"] + 3
    assert after["Account"] == before["Account"] + 3 + 1  # member logins, the new unit's login
    assert after["AuditRecord"] == before["AuditRecord"] + 1

    def imported(session):
        member = session.scalars(
            select(Member).where(Member.id_number == person(3)["身份证号"])
        ).one()
        unit = session.get(Unit, member.unit_id)
        certs = session.scalars(select(Certificate).where(Certificate.member_id == member.id))
        login_ = session.scalars(select(Account).where(Account.username == member.id_number)).one()
        new_unit = session.scalars(select(Unit).where(Unit.credit_code == unit_of(0)[1])).one()
        entry = session.scalars(select(AuditRecord).order_by(AuditRecord.id.desc())).first()
        return (
            unit.name,
            member.gender,
            sorted((c.type, c.number, c.unit_name) for c in certs),
            (login_.role, login_.must_change_password),
            new_unit.name,
            (entry.action, entry.detail["counts"]["members_created"]),
        )

    assert in_db(app, imported) == (
        OUR_UNIT[0],
        "男" if int(person(3)["身份证号"][16]) % 2 else "女",
        [("安全监理员", "AQ00000003", OUR_UNIT[0]), ("监理员", "JLY00000003", OUR_UNIT[0])],
        ("member", True),
        unit_of(0)[0],
        ("legacy_import", 3),
    )

    again = _post(client, headers, workbook(_good_rows()))
    assert again.status_code == 200, again.get_json()
    counts = again.get_json()["counts"]
    assert counts["members_unchanged"] == 3 and counts["units_unchanged"] == 2
    assert counts["memberships_unchanged"] == 3 and counts["certificates_unchanged"] == 4
    assert sum(v for k, v in counts.items() if not k.endswith("_unchanged")) == 0
    assert in_db(app, _counts) == {**after, "AuditRecord": after["AuditRecord"] + 1}

    changed = _good_rows()
    changed[0]["手机号"] = "13900000001"
    changed[1]["监理员有效期"] = date(2030, 6, 30)
    changed[2]["普通会籍有效期"] = date(2020, 1, 1)  # older than stored: never moves back
    counts = _post(client, headers, workbook(changed)).get_json()["counts"]
    assert (counts["members_updated"], counts["members_unchanged"]) == (2, 1)
    assert (counts["certificates_updated"], counts["memberships_updated"]) == (1, 0)

    def stored(session):
        mobile = session.scalar(
            select(Member.mobile).where(Member.id_number == person(1)["身份证号"])
        )
        until = session.scalar(
            select(Certificate.valid_until).where(Certificate.number == "JLY00000002")
        )
        return mobile, until

    assert in_db(app, stored) == ("13900000001", date(2030, 6, 30))


def test_a_member_of_another_unit_and_a_taken_certificate_number_are_refused(app, client, login):
    headers = login("admin")
    assert _post(client, headers, workbook([person(1)])).status_code == 200
    moved = person(1, **{"所在工作单位": OUR_UNIT[0], "统一社会信用代码": OUR_UNIT[1]})
    taken = person(2, **{"监理员证书编号": "JLY00000001"})
    reply = _post(client, headers, workbook([moved]))
    assert reply.status_code == 422
    message = reply.get_json()["errors"]["第2行.所在工作单位"]
    assert "调入其他单位请办理个人变更单位" in message
    reply = _post(client, headers, workbook([taken]))
    assert reply.status_code == 422
    assert reply.get_json()["errors"]["第2行.监理员证书编号"] == (
        f"证书编号JLY00000001已属于身份证号{person(1)['身份证号']}的人员"
    )


@pytest.mark.parametrize("who", ["unit", "agency", "association", "finance"])
def test_only_the_secretariat_imports(app, client, login, who):
    before = in_db(app, _counts)
    for dry_run in (True, False):
        reply = _post(client, login(who), workbook(_good_rows()), dry_run=dry_run)
        assert reply.status_code == 403, reply.get_json()
        assert "秘书处" in reply.get_json()["message"]
    assert in_db(app, _counts) == before


EMPTY_ROWS = "".join(f'<row r="{i}"/>' for i in range(3, 70_003))


@pytest.mark.parametrize(
    ("content", "status", "words"),
    [
        pytest.param(shared_strings_bomb(mb=4), 413, "Excel 文件解压后过大", id="zip bomb"),
        pytest.param(
            xlsx(sheet(row(2, ["x"] * 5) + EMPTY_ROWS, header=["姓名", "身份证号"])),
            422,
            "空行过多",
            id="empty rows",
        ),
        pytest.param(xlsx(parts={"xl/workbook.xml": "<workbook"}), 422, "不是有效的", id="broken"),
        pytest.param(b"PK\x03\x04 not really a zip", 422, "不是有效的", id="not a zip"),
        pytest.param(workbook([person(1)])[:-200], 422, "不是有效的", id="truncated"),
        pytest.param(
            xlsx(sheet(row(2, ["张三"]), header=["姓名"])), 422, "缺少必需的列", id="columns"
        ),
    ],
)
def test_a_hostile_or_wrong_workbook_is_refused_and_changes_nothing(
    app, client, login, content, status, words
):
    before = in_db(app, _counts)
    reply = _post(client, login("admin"), content)
    assert reply.status_code == status, reply.get_json()
    assert words in reply.get_json()["message"]
    assert "未导入任何记录" in reply.get_json()["message"]
    assert in_db(app, _counts) == before


def _imported_in_background(client, headers, rows) -> dict:
    """Start an import of `rows` as a background job (202) and wait for its end: the job as
    the API shows it once its summary is there (the import commits the job's end, its
    summary follows), or after ten seconds."""
    started = client.post(
        "/api/v1/legacy-imports/jobs",
        headers=headers,
        data={"file": (io.BytesIO(workbook(rows)), "旧平台.xlsx")},
    )
    assert started.status_code == 202, started.get_json()
    done = wait_for_job(client, headers, started.get_json()["id"])
    for _ in range(100):
        if done["summary"] is not None:
            break
        time.sleep(0.1)
        done = client.get(f"/api/v1/jobs/{done['id']}", headers=headers).get_json()
    return done


def test_a_large_file_imports_as_a_background_job_all_or_nothing(app, client, login):
    headers = login("admin")
    before = in_db(app, _counts)
    with job_runner(app):
        bad = client.post(
            "/api/v1/legacy-imports/jobs",
            headers=headers,
            data={"file": (io.BytesIO(workbook(_bad_rows())), "旧平台.xlsx")},
        )
        assert bad.status_code == 202, bad.get_json()
        failed = wait_for_job(client, headers, bad.get_json()["id"])
        assert failed["status"] == "failed"
        assert "其中5行有误，未导入任何记录" in failed["error"]
        assert failed["errors"]["第3行.身份证号"] == "身份证号码校验位不正确"
        assert in_db(app, _counts) == before

        done = _imported_in_background(client, headers, _good_rows())
    assert done["status"] == "succeeded", done
    assert done["summary"]["counts"]["members_created"] == 3
    assert done["rows_done"] == done["rows_total"] == 3
    assert in_db(app, _counts)["Member"] == before["Member"] + 3
    refused = client.post(
        "/api/v1/legacy-imports/jobs",
        headers=login("association"),
        data={"file": (io.BytesIO(workbook(_good_rows())), "旧平台.xlsx")},
    )
    assert refused.status_code == 403


def test_a_background_import_writing_its_progress_at_every_chunk_succeeds(
    app, client, login, monkeypatch
):
    """A job writes its progress through a connection of its own while the import's
    transaction holds its rows. On SQLite only one connection writes at a time: a progress
    write that waited for the import's would wait for its own thread, and the job failed
    ("database is locked") once an import ran longer than the progress interval. With the
    interval at nothing (a write after every chunk, as a slow import does), it succeeds."""
    from service.services.schedules import jobs

    monkeypatch.setattr(jobs, "PROGRESS_SECONDS", 0.0)
    headers = login("admin")
    before = in_db(app, _counts)
    with job_runner(app):
        done = _imported_in_background(client, headers, _good_rows())
    assert done["status"] == "succeeded", done
    assert done["rows_done"] == done["rows_total"] == 3
    assert in_db(app, _counts)["Member"] == before["Member"] + 3


def test_more_reasons_a_row_is_refused_and_text_dates_are_read(app, client, login):
    rows = [
        person(1, **{"普通会籍有效期": "2027年1月31日", "监理员有效期": "2028/2/29"}),
        person(2, **{"监理员专业1": "造船工程"}),
        person(3, **{"普通会员": "否"}),
        # our unit's name with another (new) credit code
        person(4, **{"所在工作单位": OUR_UNIT[0], "统一社会信用代码": unit_of(7)[1]}),
        person(5, **{"学历": "高中", "手机号": "1380013"}),
        # one specialty twice, which the forms refuse too
        person(6, **{"监理员专业1": "房屋建筑工程", "监理员专业2": "房屋建筑工程"}),
    ]
    report = _post(client, login("admin"), workbook(rows), dry_run=True).get_json()
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[2]["valid"], by_row[2]
    assert by_row[3]["problems"] == [
        {"column": "监理员专业1", "reason": "专业“造船工程”不在专业字典中"}
    ]
    assert by_row[4]["problems"] == [
        {"column": "普通会籍有效期", "reason": "普通会员为“否”时不应填写普通会籍有效期"}
    ]
    assert by_row[5]["problems"][0]["column"] == "所在工作单位"
    assert f"已是统一社会信用代码为{OUR_UNIT[1]}的单位" in by_row[5]["problems"][0]["reason"]
    assert [p["column"] for p in by_row[6]["problems"]] == ["手机号", "学历"]
    assert by_row[7]["problems"] == [{"column": "监理员专业2", "reason": "专业2不能与专业1相同"}]


def _with_number_cells(rows: list[dict]) -> bytes:
    """The rows as a workbook whose numbers stay numbers (Excel's number format), unlike
    `workbook`, which writes every text column as text."""
    wb = Workbook()
    wb.active.append(HEADERS)
    for r in rows:
        wb.active.append([r.get(h) for h in HEADERS])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def test_an_id_number_in_a_number_cell_is_refused_not_read_as_another_person(app, client, login):
    """Excel keeps 15 significant digits of a number: 440106195801060002 typed in a number
    cell is 4.4010619580106E+17, whose digits (440106195801059968) pass the check digit as
    another person's ID number. Such a cell is refused with what to do, whatever it holds."""
    real = person(3008)["身份证号"]
    assert real == "440106195801060002"
    rows = [
        person(3008, **{"身份证号": float(real[:15] + "000")}),
        person(3001, **{"身份证号": int(person(3001)["身份证号"])}),  # written exactly
        person(3002),
    ]
    before = in_db(app, _counts)
    reply = _post(client, login("admin"), _with_number_cells(rows))
    assert reply.status_code == 422, reply.get_json()
    errors = reply.get_json()["errors"]
    assert errors == {
        "第2行.身份证号": ID_NUMBER_CELL_IS_NUMBER,
        "第3行.身份证号": ID_NUMBER_CELL_IS_NUMBER,
    }
    assert "请把该列设为文本格式" in ID_NUMBER_CELL_IS_NUMBER
    assert in_db(app, _counts) == before


def test_a_rerun_never_takes_back_a_cancellation_made_on_the_new_platform(app, client, login):
    headers = login("admin")
    assert _post(client, headers, workbook([person(1)])).status_code == 200

    def cancel(session):
        cert = session.scalars(select(Certificate).where(Certificate.number == "JLY00000001")).one()
        cert.status, cert.cancelled_on = "cancelled", date(2026, 1, 5)
        session.commit()

    in_db(app, cancel)
    counts = _post(client, headers, workbook([person(1)])).get_json()["counts"]
    # kept, and counted apart from 无变化: the row said something the platform did not take
    assert (counts["certificates_kept"], counts["certificates_updated"]) == (1, 0)
    assert counts["certificates_unchanged"] == 0
    report = _post(client, headers, workbook([person(1)]), dry_run=True).get_json()
    [row] = report["rows"]
    assert row["action"] == "无变化"
    assert row["notes"] == ["监理员证书在本平台已注销，未按表中内容恢复"]
    status = in_db(
        app,
        lambda s: s.scalar(select(Certificate.status).where(Certificate.number == "JLY00000001")),
    )
    assert status == "cancelled"


def test_an_imported_membership_starts_its_levels_term_before_its_end(app, client, login):
    """The export carries a membership's end only: 普通会籍 runs three years and 专业会籍 one
    (policy's membership_validity_years), so each starts that long before its end; a rerun
    with a later end keeps the start the import first wrote."""
    headers = login("admin")
    row = person(5)  # every fifth person holds both levels
    assert row["专业会籍有效期"] == date(2027, 6, 30)
    assert _post(client, headers, workbook([row])).status_code == 200

    def terms(session):
        member_id = select(Member.id).where(Member.id_number == row["身份证号"]).scalar_subquery()
        found = session.execute(
            select(Membership.level, Membership.valid_from, Membership.valid_until).where(
                Membership.member_id == member_id
            )
        ).all()
        return {level: (start, end) for level, start, end in found}

    ordinary_end = row["普通会籍有效期"]
    assert in_db(app, terms) == {
        "普通会员": (ordinary_end.replace(year=ordinary_end.year - 3), ordinary_end),
        "专业会员": (date(2026, 6, 30), date(2027, 6, 30)),
    }
    later = {**row, "专业会籍有效期": date(2028, 6, 30)}
    assert _post(client, headers, workbook([later])).status_code == 200
    assert in_db(app, terms)["专业会员"] == (date(2026, 6, 30), date(2028, 6, 30))


def test_an_earlier_date_in_the_file_is_reported_as_kept_not_as_no_change(client, login):
    """Re-importing a row whose 监理员有效期 is earlier than the platform's (renewed since):
    the platform's date stays, and the report says so — not 无变化 as if nothing differed."""
    headers = login("admin")
    assert _post(client, headers, workbook([person(2)])).status_code == 200  # until 2028-03-01
    earlier = person(2, **{"监理员有效期": date(2027, 3, 20), "普通会籍有效期": date(2026, 1, 1)})
    report = _post(client, headers, workbook([earlier]), dry_run=True).get_json()
    assert report["counts"]["certificates_kept"] == 1
    assert report["counts"]["memberships_kept"] == 1
    [row] = report["rows"]
    assert row["notes"] == [
        "普通会员会籍在本平台的有效期（2027-03-01）晚于表中的，保留本平台记录",
        "监理员证书在本平台的有效期（2028-03-01）晚于表中的，保留本平台记录",
    ]
    same = _post(client, headers, workbook([person(2)]), dry_run=True).get_json()
    assert same["rows"][0]["notes"] == [] and same["rows"][0]["action"] == "无变化"


def test_the_major_category_is_imported_for_the_education_rules(app, client, login):
    """专业类别 (工程建设类…) is what 员升师 and 专业监理工程师's education rules read: the
    import takes it, the archive export gives it back, and a value the forms do not offer
    is refused naming the column. A workbook without the column imports as before."""
    rows = [person(1, **{"专业类别": "工程建设类"}), person(2, **{"专业类别": "土木类"})]
    report = _post(client, login("admin"), workbook(rows), dry_run=True).get_json()
    by_row = {r["row"]: r for r in report["rows"]}
    assert by_row[3]["problems"] == [
        {
            "column": "专业类别",
            "reason": "专业类别应为工程建设类、工程经济类、其他之一，不能是“土木类”",
        }
    ]
    done = _post(client, login("admin"), workbook([rows[0], person(2)]))
    assert done.status_code == 200, done.get_json()
    education = in_db(
        app,
        lambda s: dict(
            s.execute(
                select(Member.id_number, Member.education).where(
                    Member.id_number.in_([person(1)["身份证号"], person(2)["身份证号"]])
                )
            ).all()
        ),
    )
    assert education[person(1)["身份证号"]]["major_category"] == "工程建设类"
    assert "major_category" not in education[person(2)["身份证号"]]
