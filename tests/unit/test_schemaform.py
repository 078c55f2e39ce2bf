"""Forms drawn from the forms' JSON Schemas, and what a POST of them reads back as."""

from __future__ import annotations

from pathlib import Path

import pytest
from werkzeug.datastructures import FileStorage, MultiDict

from service.engine import load_definitions
from service.services.workflow.forms import validate_form
from service.web.schemaform import UploadRefused, build_form, read_form, view_fields

REPO = Path(__file__).resolve().parents[2]
DEFINITIONS = load_definitions(REPO / "processes", REPO / "rules", REPO / "forms")
JOIN = DEFINITIONS["member_join"]
FILE = "0123456789abcdef0123456789abcdef"


def names(fields) -> list[str]:
    return [f.key for f in fields]


def by_key(fields, key):
    return next(f for f in fields if f.key == key)


def test_a_short_join_form_draws_only_what_the_short_code_asks():
    form = build_form(JOIN.start_form, {}, fixed={"variant": "short"})
    drawn = names(form.fields)
    assert {"name", "id_type", "id_number", "mobile", "photo", "id_front", "id_back"} <= set(drawn)
    for unit_fills in ("address", "education", "title", "diploma", "diploma_verification"):
        assert unit_fills not in drawn
    assert by_key(form.fields, "variant").widget == "readonly"


def test_a_full_join_form_marks_what_its_branch_requires_and_labels_enums():
    form = build_form(JOIN.start_form, {}, fixed={"variant": "full"})
    assert by_key(form.fields, "address").required
    assert by_key(form.fields, "title").required
    assert not by_key(form.fields, "title_cert").required
    id_type = by_key(form.fields, "id_type")
    assert ("resident_id", "居民身份证") in id_type.options
    photo = by_key(form.fields, "photo")
    assert photo.widget == "file" and photo.accept == "image/*" and photo.capture == "user"
    assert by_key(form.fields, "diploma").accept == "image/jpeg,image/png,application/pdf"
    education = by_key(form.fields, "education")
    assert education.widget == "object"
    assert [c.name for c in education.children][:2] == ["education.level", "education.school"]


def test_a_review_form_puts_the_decision_and_its_remark_with_the_buttons():
    finance = JOIN.user_tasks["finance_review"].form
    form = build_form(finance)
    assert names(form.actions) == ["decision", "remark"]
    assert form.buttons.options == [("approve", "通过"), ("return", "退回")]
    receipt = ["receipt_number", "receipt_date", "receipt_code", "receipt_serial"]
    assert names(form.fields) == receipt
    assert by_key(form.fields, "receipt_date").widget == "date"
    assert by_key(form.actions, "remark").widget == "textarea"


def test_finance_is_asked_for_a_document_per_kind_of_fee_the_bill_carries():
    """An education's bill with a lapsed membership's fee: an 电子发票 for the support fee
    and an 电子财政收据 for the membership fee, each with its own number and date."""
    finance = DEFINITIONS["continuing_education"].user_tasks["finance_review"].form
    receipt = ["receipt_number", "receipt_date", "receipt_code", "receipt_serial"]
    alone = build_form(finance, {"membership_total": "0.00"})
    assert names(alone.fields) == [*receipt, "membership_total"]
    assert by_key(alone.fields, "receipt_number").title == "电子发票票号（会员教育辅助费）"
    both = build_form(finance, {"membership_total": "200.00", "decision": "approve"})
    assert names(both.fields) == [
        *receipt,
        "membership_total",
        *(f"membership_{k}" for k in receipt),
    ]
    number = by_key(both.fields, "membership_receipt_number")
    assert (number.title, number.required) == ("电子财政收据票号（个人会员费）", True)
    assert by_key(both.fields, "membership_receipt_code").required is False


def test_errors_land_on_their_field_and_the_rest_are_listed_for_the_form():
    errors = {"education.level": "请选择学历", "eligibility": "年龄不符", "name": "请填写「姓名」"}
    form = build_form(JOIN.start_form, {}, errors, fixed={"variant": "full"})
    assert by_key(form.fields, "name").error == "请填写「姓名」"
    assert by_key(by_key(form.fields, "education").children, "level").error == "请选择学历"
    assert form.errors == ["年龄不符"]


def posted(**values) -> MultiDict:
    return MultiDict(list(values.items()))


def test_a_filled_join_form_reads_back_as_data_the_service_accepts():
    form = build_form(JOIN.start_form, {}, fixed={"variant": "full"})
    stored = []

    def store(field, upload):
        stored.append((field, upload.filename))
        return FILE

    files = MultiDict(
        [(k, FileStorage(filename=f"{k}.png")) for k in ("photo", "id_front", "id_back", "diploma")]
    )
    body = posted(
        name=" 陈志强 ",
        id_type="resident_id",
        id_number="440106198503152318",
        birth_date="",
        mobile="13802511234",
        address="广州市天河区",
        title="中级",
        declaration="on",  # the ticked 入会声明
        declaration__present="1",
        **{
            "education.level": "本科",
            "education.school": "华南理工大学",
            "education.major": "土木工程",
            "education.graduated_on": "2008-07-01",
            "diploma_verification__current": FILE,
            "variant": "short",  # a read-only field: never read back
        },
    )
    data, errors = read_form(form, body, files, store)
    assert errors == {}
    assert data["name"] == "陈志强"
    assert [f.name for f in form.all_fields()][-1] == "declaration"  # just above 提交
    assert data["birth_date"] is None  # empty and nullable
    assert "gender" not in data  # not sent at all
    assert "variant" not in data
    assert data["education"] == {
        "level": "本科",
        "school": "华南理工大学",
        "major": "土木工程",
        "graduated_on": "2008-07-01",
    }
    assert data["diploma_verification"] == FILE
    assert sorted(f for f, _ in stored) == ["diploma", "id_back", "id_front", "photo"]
    validate_form(JOIN.validators["start"], {**data, "variant": "full"}, JOIN.registry)


def test_a_refused_upload_is_an_error_on_its_field_and_the_other_values_survive():
    form = build_form(JOIN.start_form, {}, fixed={"variant": "short"})

    def store(field, upload):
        raise UploadRefused("只能上传 JPG、PNG 图片或 PDF 文件")

    files = MultiDict([("photo", FileStorage(filename="x.exe"))])
    data, errors = read_form(form, posted(name="李四"), files, store)
    assert errors == {"photo": "只能上传 JPG、PNG 图片或 PDF 文件"}
    assert data == {"name": "李四"}


def test_the_decision_is_the_button_pressed_and_an_empty_remark_is_null():
    form = build_form(JOIN.user_tasks["agency_review"].form)
    data, _ = read_form(form, posted(decision="return", remark="  "))
    assert data == {"decision": "return", "remark": None}


@pytest.mark.parametrize("key", ["initial_education", "specialty_change"])
def test_person_lines_read_back_row_by_row_skipping_blank_rows(key):
    start = DEFINITIONS[key].start_form
    lines = [{"id_number": "440106198503152318", "name": "陈志强"}]
    form = build_form(start, {"persons": lines})
    table = by_key(form.fields, "persons")
    assert table.widget == "table" and len(table.rows) == 1
    assert table.rows[0][0].name == "persons.0.id_number"
    body = posted(
        **{
            "persons__rows": "3",
            "persons.0.id_number": "440106198503152318",
            "persons.0.name": "陈志强",
            "persons.1.id_number": "",
            "persons.2.name": "王五",
        }
    )
    data, _ = read_form(form, body)
    assert data["persons"] == [
        {"id_number": "440106198503152318", "name": "陈志强"},
        {"name": "王五"},
    ]


def test_a_read_only_view_shows_only_values_with_their_titles_and_labels():
    schemas = [JOIN.start_form] + [t.form for t in JOIN.user_tasks.values()]
    fields = view_fields(
        schemas, {"id_type": "resident_id", "name": "陈志强", "fee_amount": "200.00"}
    )
    assert [(f.title, f.label) for f in fields] == [
        ("姓名", "陈志强"),
        ("证件类型", "居民身份证"),
        ("应缴金额（元）", "200.00"),
    ]
