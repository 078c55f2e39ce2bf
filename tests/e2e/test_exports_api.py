"""The Excel exports over HTTP, each opened back with openpyxl and checked cell by cell."""

from __future__ import annotations

import io
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import quote

import pytest
from conftest import business_day, in_db, upload
from conftest import step_task as step
from openpyxl import load_workbook
from sqlalchemy import select, update

from service.db.models import InstancePerson, Member, ProcessInstance
from service.domain.validation import make_resident_id
from service.services.documents.excel import XLSX_MIMETYPE
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28

SAMPLE_ID = "440308199901101512"  # a published valid sample: born 1999-01-10, male
NEXT_YEAR = date(2027, 6, 30)
APPROVE = {"decision": "approve"}
FINANCE_APPROVE = {
    "decision": "approve",
    "receipt_number": "0012345678",
}  # dated at its use: the business day (not before the form's submission, nor after today)
ARCHIVE_HEADER = [
    "序号",
    "普通会员",
    "专业会员",
    "姓名",
    "身份证号",
    "普通会籍有效期",
    "专业会籍有效期",
    "性别",
    "年龄",
    "手机号",
    "学历",
    "毕业院校",
    "所学专业",
    "专业类别",
    "毕业时间",
    "职称",
    "入会日期",
    "所在工作单位",
    "资料审核（初审机构）",
    "状态",
] + [
    f"{t}{h}"
    for t in ("安全监理员", "监理员", "专业监理工程师")
    for h in ("证书编号", "专业1", "专业2", "有效期", "证书状态")
]


def seed(app, unit_id, name, id_number, **kwargs) -> str:
    kwargs.setdefault("memberships", {"普通会员": NEXT_YEAR})

    def add(s):
        member = add_member(s, MemberSeed(name, id_number, unit_id, **kwargs))
        joined = datetime(2025, 3, 27, 16, 30)  # 2025-03-28 in Shanghai
        s.execute(update(Member).where(Member.id == member.id).values(created_at=joined))
        s.commit()

    in_db(app, add)
    return id_number


def workbook(reply, filename: str):
    """The reply's sheet: (header values, data rows as cells), after checking the reply."""
    assert reply.status_code == 200, reply.get_json()
    assert reply.mimetype == XLSX_MIMETYPE
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote(filename)}" in disposition
    ws = load_workbook(io.BytesIO(reply.data)).worksheets[0]
    reply.close()  # a streamed file: closed once read, as a WSGI server closes it
    rows = list(ws.iter_rows())
    return [c.value for c in rows[0]], rows[1:]


def invoice_workbook(reply):
    """开票记录.xlsx: (header values, data rows as cells, its last row 合计 as values)."""
    header, rows = workbook(reply, "开票记录.xlsx")
    *rows, total = rows
    assert total[0].value == "合计", [c.value for c in total]
    return header, rows, [c.value for c in total]


def by_header(header: list, row) -> dict:
    return dict(zip(header, row, strict=True))


def assert_text(cell, value: str) -> None:
    assert (cell.value, cell.data_type) == (value, "s"), (cell.coordinate, cell.value)


def assert_date(cell, value: date) -> None:
    assert cell.is_date and isinstance(cell.value, datetime), (cell.coordinate, cell.value)
    assert cell.value.date() == value and cell.number_format == "yyyy-mm-dd"


# --- 单位人员档案导出表 -----------------------------------------------------------------


@pytest.fixture
def archive(app, world) -> dict[str, str]:
    return {
        "张三": seed(
            app,
            world.unit_id,
            "张三",
            SAMPLE_ID,
            mobile="13800001111",
            memberships={"普通会员": NEXT_YEAR, "专业会员": date(2026, 6, 30)},
            certificates=[
                CertificateSeed(
                    "监理员", "0440012345678901", date(2027, 12, 31), "房屋建筑工程", "市政公用工程"
                ),
                CertificateSeed("专业监理工程师", "ZJ2020000001", date(2026, 1, 1)),
            ],
        ),
        "李四": seed(
            app,
            world.unit_id,
            "李四",
            make_resident_id("44010619800101123"),
            education={"level": "大专", "school": "=1+2", "major": "#N/A"},  # typed by a user
        ),
        "别单位": seed(app, world.other_unit_id, "别单位", make_resident_id("44010619900101667")),
    }


def test_the_archive_export_has_the_manuals_columns_and_typed_cells(client, login, world, archive):
    reply = client.get(f"/api/v1/units/{world.unit_id}/members/export.xlsx", headers=login("unit"))
    header, rows = workbook(reply, "单位人员档案导出表.xlsx")
    assert header == ARCHIVE_HEADER
    assert len(rows) == 2
    zhang = by_header(header, rows[0])
    assert zhang["序号"].value == 1 and by_header(header, rows[1])["序号"].value == 2
    assert_text(zhang["身份证号"], SAMPLE_ID)
    assert_text(zhang["姓名"], "张三")
    assert_text(zhang["手机号"], "13800001111")
    assert_text(zhang["普通会员"], "有效")
    assert_text(zhang["专业会员"], "已过期")
    assert_date(zhang["普通会籍有效期"], NEXT_YEAR)
    assert_date(zhang["专业会籍有效期"], date(2026, 6, 30))
    assert (zhang["性别"].value, zhang["年龄"].value, zhang["年龄"].data_type) == ("男", 27, "n")
    assert (zhang["学历"].value, zhang["毕业院校"].value, zhang["职称"].value) == (
        "本科",
        "华南理工大学",
        "中级",
    )
    assert_date(zhang["毕业时间"], date(2010, 7, 1))
    assert_date(zhang["入会日期"], date(2025, 3, 28))
    assert zhang["所在工作单位"].value == world.unit_name
    assert zhang["资料审核（初审机构）"].value == "广州市建设监理行业协会"
    assert zhang["状态"].value == "自由态"
    # a certificate number of digits stays text, with its leading zero
    assert_text(zhang["监理员证书编号"], "0440012345678901")
    assert (zhang["监理员专业1"].value, zhang["监理员专业2"].value) == (
        "房屋建筑工程",
        "市政公用工程",
    )
    assert_date(zhang["监理员有效期"], date(2027, 12, 31))
    assert zhang["监理员证书状态"].value == "有效"
    assert zhang["专业监理工程师证书状态"].value == "已过期"
    assert zhang["安全监理员证书编号"].value is None
    li = by_header(header, rows[1])
    assert li["专业会员"].value is None and li["专业会籍有效期"].value is None
    # text that looks like a formula or an error code is still text, never evaluated
    assert_text(li["毕业院校"], "=1+2")
    assert_text(li["所学专业"], "#N/A")
    assert li["毕业时间"].value is None


def test_a_control_character_kept_in_a_record_is_left_out_not_a_failed_export(
    app, client, login, world
):
    """Text saved before input refused control characters (a BEL pasted into 毕业院校)."""
    seed(
        app,
        world.unit_id,
        "王五",
        make_resident_id("44010619800101131"),
        education={"level": "本科", "school": "广东工业大学\x07", "major": "工程\x0b管理"},
    )
    reply = client.get(f"/api/v1/units/{world.unit_id}/members/export.xlsx", headers=login("unit"))
    header, rows = workbook(reply, "单位人员档案导出表.xlsx")
    wang = by_header(header, rows[0])
    assert (wang["毕业院校"].value, wang["所学专业"].value) == ("广东工业大学", "工程管理")


def test_the_archive_export_has_exactly_the_rows_the_list_filters(client, login, world, archive):
    unit = login("unit")
    base = f"/api/v1/units/{world.unit_id}/members"
    for query, expected in (
        ("has_certificates=true", ["张三"]),
        ("has_certificates=false", ["李四"]),
        ("certificate_type=监理员&age_min=27&age_max=27", ["张三"]),
        ("age_max=26", []),
        ("membership_expired=true", ["张三"]),
        (f"q={SAMPLE_ID}", ["张三"]),
        ("q=李", ["李四"]),
        ("joined_from=2025-03-29", []),
    ):
        listed = client.get(f"{base}?{query}", headers=unit).get_json()
        assert [i["name"] for i in listed["items"]] == expected, query
        header, rows = workbook(
            client.get(f"{base}/export.xlsx?{query}", headers=unit), "单位人员档案导出表.xlsx"
        )
        assert [by_header(header, r)["姓名"].value for r in rows] == expected, query


def test_the_archive_export_keeps_to_scope(client, login, world, archive):
    url = f"/api/v1/units/{world.unit_id}/members/export.xlsx"
    assert client.get(url, headers=login("other_unit")).status_code == 404
    assert client.get(url, headers=login("other_agency")).status_code == 404
    header, rows = workbook(client.get(url, headers=login("agency")), "单位人员档案导出表.xlsx")
    assert len(rows) == 2
    reply = client.get(url + "?age_min=60&age_max=30", headers=login("unit"))
    assert reply.status_code == 422 and "age_min" in reply.get_json()["errors"]


# --- an education enrolment to the end: its bill, its enrolment list, its learning ------


def person(client, headers, id_number, name) -> dict:
    return {
        "id_number": id_number,
        "name": name,
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "specialty_2": "市政公用工程",
        "diploma": upload(client, headers),
        "social_insurance": upload(client, headers),
        "verification": upload(client, headers),
    }


@pytest.fixture
def enrolment(app, client, login, world) -> dict:
    """An initial education of two persons, approved and paid: learning has opened."""
    unit = login("unit")
    a = seed(app, world.unit_id, "张三", SAMPLE_ID)
    b = seed(app, world.unit_id, "何美玲", make_resident_id("44010619850505224"))
    reply = client.post(
        "/api/v1/processes/initial_education/instances",
        headers=unit,
        json={
            "data": {
                "pledge": upload(client, unit),
                "persons": [person(client, unit, a, "张三"), person(client, unit, b, "何美玲")],
            }
        },
    )
    assert reply.status_code == 201, reply.get_json()
    inst = reply.get_json()
    step(client, login("agency"), inst["id"], APPROVE)
    step(client, login("association"), inst["id"], APPROVE)
    step(client, unit, inst["id"], {"fee_voucher": upload(client, unit)})
    receipt = {**FINANCE_APPROVE, "receipt_date": business_day(app)}  # 2026-11-28
    done = step(client, login("finance"), inst["id"], receipt)
    assert done["status"] == "审批完成"
    return {"business_key": inst["business_key"], "a": a, "b": b}


BILL_HEADER = [
    "序号",
    "开票日期",
    "单位名称",
    "开票机构",
    "票据编码",
    "票据名称",
    "票据代码",
    "票号",
    "单号",
    "业务类型",
    "费用类型",
    "金额",
    "缴款人",
    "缴费人员",
]


def test_the_invoice_records_export_lists_confirmed_bills_by_receipt_date(
    client, login, world, enrolment
):
    url = "/api/v1/bills/export.xlsx"
    reply = client.get(url, headers=login("unit"))
    header, rows, _total = invoice_workbook(reply)
    assert header == BILL_HEADER and len(rows) == 1  # default: 1 January to today
    bill = by_header(header, rows[0])
    assert_date(bill["开票日期"], date(2026, 11, 28))
    assert bill["单位名称"].value == world.unit_name
    assert bill["开票机构"].value == "广东省建设监理协会"
    assert bill["票据名称"].value == "电子发票"
    assert_text(bill["票号"], "0012345678")
    assert_text(bill["单号"], enrolment["business_key"])
    assert bill["业务类型"].value == "普通会员初始教育"
    assert bill["费用类型"].value == "会员教育辅助费"
    listed = client.get("/api/v1/bills?status=confirmed", headers=login("unit")).get_json()
    amount = bill["金额"]
    assert amount.data_type == "n" and isinstance(amount.value, int | float)
    assert Decimal(str(amount.value)) == Decimal(listed["items"][0]["amount"]) > 0
    assert amount.number_format == "#,##0.00"
    assert bill["缴款人"].value == world.unit_name and bill["缴费人员"].value == "张三等2人"

    for query, count in (
        ("receipt_from=2026-11-28&receipt_to=2026-11-28", 1),
        ("receipt_from=2026-11-29&receipt_to=2026-12-31", 0),
        ("receipt_from=2026-01-01&receipt_to=2026-11-27", 0),
    ):
        _, rows, _ = invoice_workbook(client.get(f"{url}?{query}", headers=login("unit")))
        assert len(rows) == count, query
    _, rows, _ = invoice_workbook(client.get(url, headers=login("other_unit")))
    assert rows == []
    for who, query, count in (
        ("finance", "", 1),
        ("association", f"unit_id={world.unit_id}", 1),
        ("finance", f"unit_id={world.other_unit_id}", 0),
    ):
        _, rows, _ = invoice_workbook(client.get(f"{url}?{query}", headers=login(who)))
        assert len(rows) == count, (who, query)


def test_the_invoice_records_export_refuses_bad_ranges_and_other_scopes(client, login, world):
    url = "/api/v1/bills/export.xlsx"
    reply = client.get(
        f"{url}?receipt_from=2026-11-28&receipt_to=2026-11-01", headers=login("unit")
    )
    assert reply.status_code == 422 and "receipt_from" in reply.get_json()["errors"]
    reply = client.get(f"{url}?receipt_to=2026-13-01", headers=login("unit"))
    assert reply.status_code == 422 and "receipt_to" in reply.get_json()["errors"]
    other = client.get(f"{url}?unit_id={world.other_unit_id}", headers=login("unit"))
    assert other.status_code == 404
    assert client.get(url, headers=login("agency")).status_code == 404


ENROLMENT_HEADER = [
    "序号",
    "单号",
    "业务类型",
    "培训类别",
    "姓名",
    "身份证号",
    "专业1",
    "专业2",
    "是否首次",
    "单位名称",
    "单据状态",
    "提交时间",
]


def test_the_enrolment_list_export_has_one_row_per_person(client, login, world, enrolment):
    url = "/api/v1/enrolments/export.xlsx"
    header, rows = workbook(client.get(url, headers=login("unit")), "报名表.xlsx")
    assert header == ENROLMENT_HEADER and len(rows) == 2
    first = by_header(header, rows[0])
    assert_text(first["单号"], enrolment["business_key"])
    assert first["业务类型"].value == "普通会员初始教育"
    assert first["培训类别"].value == "监理员初始教育"
    assert first["姓名"].value == "张三"
    assert_text(first["身份证号"], SAMPLE_ID)
    assert (first["专业1"].value, first["专业2"].value) == ("房屋建筑工程", "市政公用工程")
    assert first["是否首次"].value == "是"
    assert (first["单位名称"].value, first["单据状态"].value) == (world.unit_name, "审批完成")
    submitted = first["提交时间"]
    assert submitted.is_date and submitted.number_format == "yyyy-mm-dd hh:mm:ss"
    assert submitted.value == datetime(2026, 11, 28, 12, 0)  # the pinned clock, in Shanghai
    assert_text(by_header(header, rows[1])["身份证号"], enrolment["b"])

    for who, query, count in (
        ("unit", "process=initial_education&status=审批完成", 2),
        ("unit", "process=continuing_education", 0),
        ("unit", "status=退回", 0),
        ("unit", f"q={enrolment['b']}", 2),  # the form that lists the person
        ("unit", "submitted_from=2026-11-29", 0),
        ("agency", "", 2),
        ("other_agency", "", 0),
        ("other_unit", "", 0),
        ("association", "submitted_from=2026-11-28&submitted_to=2026-11-28", 2),
    ):
        _, rows = workbook(client.get(f"{url}?{query}", headers=login(who)), "报名表.xlsx")
        assert len(rows) == count, (who, query)


def test_renewals_are_not_first_and_show_the_certificates_specialties(app, client, login, world):
    """A continuing-education line is never a first time, and neither it nor an upgrade line
    chooses specialties: the row shows those of the certificate it is about."""
    unit = login("unit")
    renewing = seed(
        app,
        world.unit_id,
        "王五",
        make_resident_id("44010619800303123"),
        certificates=[
            CertificateSeed(
                "监理员", "JL2024000301", date(2027, 3, 31), "房屋建筑工程", "市政公用工程"
            )
        ],
    )
    upgrading = seed(
        app,
        world.unit_id,
        "赵六",
        make_resident_id("44010619810404234"),
        certificates=[
            CertificateSeed("安全监理员", "AQ2024000302", date(2028, 12, 31), "通信工程"),
            CertificateSeed("监理员", "JL2024000302", date(2028, 12, 31), "机电安装工程"),
        ],
    )
    for key, n, name, extra in (
        ("continuing_education", renewing, "王五", {"certificate_type": "监理员"}),
        ("upgrade_education", upgrading, "赵六", {}),
    ):
        line = {
            "id_number": n,
            "name": name,
            "diploma": upload(client, unit),
            "social_insurance": upload(client, unit),
            **extra,
        }
        data = {"pledge": upload(client, unit), "persons": [line]}
        reply = client.post(f"/api/v1/processes/{key}/instances", headers=unit, json={"data": data})
        assert reply.status_code == 201, reply.get_json()

    header, rows = workbook(
        client.get("/api/v1/enrolments/export.xlsx", headers=unit), "报名表.xlsx"
    )
    shown = [
        tuple(by_header(header, r)[c].value for c in ("姓名", "专业1", "专业2", "是否首次"))
        for r in rows
    ]
    assert shown == [
        ("赵六", "机电安装工程", None, "是"),
        ("王五", "房屋建筑工程", "市政公用工程", "否"),
    ]


def test_a_person_enrolled_again_for_the_same_training_is_not_first(app, client, login, enrolment):
    def enrol_again(s):
        """A later form of the same kind listing the first person again."""
        first = s.scalars(select(ProcessInstance)).one()
        copied = {
            c.key: getattr(first, c.key)
            for c in ProcessInstance.__table__.columns
            if c.key not in ("id", "business_key", "subject_lock", "version")
        }
        later = ProcessInstance(**copied, business_key="JY-20261128000099", version=1)
        s.add(later)
        s.flush()
        line = s.scalars(
            select(InstancePerson).where(InstancePerson.id_number == enrolment["a"])
        ).one()
        s.add(
            InstancePerson(
                instance_id=later.id,
                member_id=line.member_id,
                id_number=line.id_number,
                name=line.name,
                certificate_type=line.certificate_type,
                line=dict(line.line),
            )
        )
        s.commit()

    in_db(app, enrol_again)
    header, rows = workbook(
        client.get("/api/v1/enrolments/export.xlsx", headers=login("unit")), "报名表.xlsx"
    )
    firsts = [
        (
            by_header(header, r)["单号"].value,
            by_header(header, r)["身份证号"].value,
            by_header(header, r)["是否首次"].value,
        )
        for r in rows
    ]
    assert firsts == [
        ("JY-20261128000099", enrolment["a"], "否"),
        (enrolment["business_key"], enrolment["a"], "是"),
        (enrolment["business_key"], enrolment["b"], "是"),
    ]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("process=member_join", "process"),
        ("submitted_from=2026-11-28&submitted_to=2026-11-01", "submitted_from"),
        ("submitted_to=yesterday", "submitted_to"),
    ],
)
def test_the_enrolment_list_export_refuses_bad_filters(client, login, query, field):
    reply = client.get(f"/api/v1/enrolments/export.xlsx?{query}", headers=login("unit"))
    assert reply.status_code == 422 and field in reply.get_json()["errors"], reply.get_json()


def test_the_learning_progress_export_takes_the_lists_filters(client, login, world, enrolment):
    url = "/api/v1/learning-tasks/export.xlsx"
    header, rows = workbook(client.get(url, headers=login("unit")), "学习进度.xlsx")
    assert header[:8] == [
        "序号",
        "学时",
        "姓名",
        "身份证号",
        "性别",
        "手机号",
        "培训类别",
        "学习状态",
    ]
    listed = client.get("/api/v1/learning-tasks", headers=login("unit")).get_json()
    assert [by_header(header, r)["身份证号"].value for r in rows] == [
        t["id_number"] for t in listed["items"]
    ]
    zhang = by_header(header, next(r for r in rows if r[3].value == SAMPLE_ID))
    assert_text(zhang["身份证号"], SAMPLE_ID)
    assert zhang["学时"].value.startswith("0/") and zhang["学时"].data_type == "s"
    assert (zhang["姓名"].value, zhang["性别"].value) == ("张三", "男")
    assert (zhang["培训类别"].value, zhang["学习状态"].value) == ("监理员初始教育", "开课未学习")
    assert zhang["学习开始时间"].is_date
    assert zhang["学习开始时间"].value == datetime(2026, 11, 28, 12, 0)
    assert_date(zhang["截止日期"], NEXT_YEAR)
    assert_text(zhang["单号"], enrolment["business_key"])
    assert zhang["考试次数"].value == 0

    for who, query, count in (
        ("unit", "status=开课未学习", 2),
        ("unit", "status=学习中", 0),
        ("unit", f"q={SAMPLE_ID}", 1),
        ("unit", "q=美玲", 1),
        ("other_unit", "", 0),
        ("association", "", 2),
    ):
        _, rows = workbook(client.get(f"{url}?{query}", headers=login(who)), "学习进度.xlsx")
        assert len(rows) == count, (who, query)
    assert client.get(url, headers=login("agency")).status_code == 404


@pytest.mark.parametrize(
    "query, count",
    [
        ("year=2026", 2),
        ("year=2025", 0),
        ("opened_from=2026-11-28&opened_to=2026-11-28", 2),
        ("opened_to=2026-11-27", 0),
        ("opened_from=2026-11-29", 0),
        ("mobile=13800001111", 0),
        ("process=initial_education", 2),
        ("process=upgrade_education", 0),
    ],
)
def test_learning_progress_filters_by_year_start_date_mobile_and_training(
    client, login, enrolment, query, count
):
    """Learning began on 2026-11-28 (Shanghai) for both persons, neither with a mobile."""
    unit = login("unit")
    listed = client.get(f"/api/v1/learning-tasks?{query}", headers=unit)
    assert listed.status_code == 200, listed.get_json()
    assert listed.get_json()["total"] == count
    _, rows = workbook(
        client.get(f"/api/v1/learning-tasks/export.xlsx?{query}", headers=unit), "学习进度.xlsx"
    )
    assert len(rows) == count


def test_learning_progress_and_its_export_find_a_learner_by_the_last_four(client, login, enrolment):
    """The search box says 身份证号（或后四位）, as every list's (UI.md)."""
    unit = login("unit")
    for q in (SAMPLE_ID[-4:], enrolment["b"][-4:].lower()):
        listed = client.get(f"/api/v1/learning-tasks?q={q}", headers=unit).get_json()
        expected = SAMPLE_ID if q == SAMPLE_ID[-4:] else enrolment["b"]
        assert [t["id_number"] for t in listed["items"]] == [expected], q
        _, rows = workbook(
            client.get(f"/api/v1/learning-tasks/export.xlsx?q={q}", headers=unit), "学习进度.xlsx"
        )
        assert [r[3].value for r in rows] == [expected], q
    # three or five characters are not a last four: the whole number or a name only
    for q in (SAMPLE_ID[-3:], SAMPLE_ID[-5:]):
        assert client.get(f"/api/v1/learning-tasks?q={q}", headers=unit).get_json()["total"] == 0


def test_learning_progress_finds_a_learner_by_mobile(app, client, login, enrolment):
    def give_mobile(s):
        s.execute(
            update(Member).where(Member.id_number == enrolment["a"]).values(mobile="13922334455")
        )
        s.commit()

    in_db(app, give_mobile)
    listed = client.get("/api/v1/learning-tasks?mobile=13922334455", headers=login("unit"))
    assert [t["id_number"] for t in listed.get_json()["items"]] == [enrolment["a"]]


@pytest.mark.parametrize(
    "query, field",
    [
        ("opened_from=2026-12-01&opened_to=2026-11-01", "opened_from"),
        ("status=已完成", "status"),
        ("year=abc", "year"),
        ("opened_to=2026-13-01", "opened_to"),
    ],
)
def test_learning_progress_refuses_bad_filters(client, login, query, field):
    for url in ("/api/v1/learning-tasks", "/api/v1/learning-tasks/export.xlsx"):
        reply = client.get(f"{url}?{query}", headers=login("unit"))
        assert reply.status_code == 422, reply.get_json()
        assert field in reply.get_json()["errors"]


def test_the_openapi_document_describes_the_archive_and_the_exports(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in (
        "/api/v1/units/{unit_id}/members",
        "/api/v1/units/{unit_id}/members/export.xlsx",
        "/api/v1/bills/export.xlsx",
        "/api/v1/enrolments/export.xlsx",
        "/api/v1/learning-tasks/export.xlsx",
    ):
        operation = spec["paths"][path]["get"]
        assert operation["summary"] and not operation["summary"].isascii(), path
    exported = spec["paths"]["/api/v1/learning-tasks/export.xlsx"]["get"]
    names = {p["name"] for p in exported["parameters"] if p["in"] == "query"}
    assert {"status", "q"} <= names and "page" not in names
    listed = spec["paths"]["/api/v1/units/{unit_id}/members"]["get"]
    names = {p["name"] for p in listed["parameters"] if p["in"] == "query"}
    assert {"level", "membership_expired", "age_min", "joined_from", "page"} <= names
