"""The learning import reads an uploaded .xlsx within bounds: hostile files are refused."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from hostile_xlsx import (
    HEADER,
    MAIN,
    PARTS,
    as_zip64,
    cell,
    marked_encrypted,
    row,
    shared_strings_bomb,
    sheet,
    xlsx,
)

from service.domain.errors import FormInvalid, TooLarge
from service.services.documents.excel_import import Limits
from service.services.education.learning import read_workbook

GOOD = ("440106198001011234", "张三", 24, "已通过", 1)


def test_a_good_file_reads_one_record_per_row_under_its_header():
    content = xlsx(sheet(row(2, GOOD) + row(4, GOOD)))
    records = read_workbook(content)
    assert [label for label, _ in records] == ["第2行", "第4行"]
    assert records[0][1] == {
        "id_number": "440106198001011234",
        "name": "张三",
        "completed_hours": 24,
        "exam_status": "已通过",
        "exam_attempts": 1,
    }


def test_shared_strings_that_unpack_far_beyond_their_size_are_refused_as_a_zip_bomb():
    with pytest.raises(TooLarge) as refused:
        read_workbook(shared_strings_bomb(mb=4))
    assert refused.value.status == 413
    assert "Excel 文件解压后过大" in refused.value.message
    assert "压缩比" in refused.value.message


def test_a_file_over_the_unpacked_limit_is_refused_even_when_it_packs_poorly():
    filler = "".join(row(i, GOOD) for i in range(2, 2002))
    with pytest.raises(TooLarge) as refused:
        read_workbook(xlsx(sheet(filler)), Limits(max_unpacked=100_000))
    assert "Excel 文件解压后过大" in refused.value.message


def test_shared_strings_past_their_text_limit_are_refused_before_they_are_loaded():
    rng = random.Random(1)  # varied text: a bomb of repeats is refused for its ratio first
    hanzi = [chr(c) for c in range(0x4E00, 0x9FA5)]
    strings = "".join(f"<si><t>{''.join(rng.choices(hanzi, k=20000))}</t></si>" for _ in range(60))
    content = xlsx(
        sheet(row(2, GOOD)), {"xl/sharedStrings.xml": f'<sst xmlns="{MAIN}">{strings}</sst>'}
    )
    with pytest.raises(TooLarge) as refused:
        read_workbook(content, Limits(max_part_text=1024 * 1024))
    assert "文字内容超过1M个字符" in refused.value.message


def test_a_hundred_thousand_empty_rows_count_against_the_row_limit():
    empty = "".join(f'<row r="{i}"/>' for i in range(3, 100_003))
    with pytest.raises(FormInvalid) as refused:
        read_workbook(xlsx(sheet(row(2, GOOD) + empty, dimension="A1:XFD100002")))
    assert "空行过多" in refused.value.message
    assert refused.value.errors == {"file": "Excel 文件行数（含空行）超过20000行"}


def test_empty_rows_skipped_by_numbering_count_against_the_row_limit_too():
    with pytest.raises(FormInvalid) as refused:
        read_workbook(xlsx(sheet(row(2, GOOD) + row(1_000_000, GOOD))))
    assert "空行" in refused.value.message


def test_xml_nested_deeper_than_the_limit_is_refused_before_openpyxl_builds_it():
    nested = "<x>" * 100 + "</x>" * 100
    content = xlsx(sheet(f'<row r="2"><c r="A2">{nested}</c>{cell("B2", "张三")}</row>'))
    with pytest.raises(FormInvalid) as refused:
        read_workbook(content)
    assert refused.value.errors == {"file": "Excel 文件结构异常：XML 嵌套超过64层"}


def test_a_row_of_more_elements_than_the_limit_is_refused():
    cells = "".join(f'<c r="A2"><v>{i}</v></c>' for i in range(12_000))
    with pytest.raises(FormInvalid) as refused:
        read_workbook(xlsx(sheet(f'<row r="2">{cells}</row>')))
    assert "单行的单元格过多" in refused.value.message


def test_a_huge_text_is_refused_before_it_is_read():
    content = xlsx(sheet(row(2, ("4401", "张" * 40_000, 1, "未考试", 0))))
    with pytest.raises(FormInvalid) as refused:
        read_workbook(content)
    assert "超过32768个字符" in refused.value.message


def test_a_cell_longer_than_a_thousand_characters_is_refused_with_its_row():
    content = xlsx(sheet(row(2, GOOD) + row(3, ("4401", "张" * 1001, 1, "未考试", 0))))
    with pytest.raises(FormInvalid) as refused:
        read_workbook(content)
    assert refused.value.errors == {"第3行": "单元格内容超过1000个字符"}


def test_reading_stops_when_the_time_budget_is_spent():
    content = xlsx(sheet("".join(row(i, GOOD) for i in range(2, 200))))
    with pytest.raises(TooLarge) as refused:
        read_workbook(content, Limits(seconds=0))
    assert refused.value.status == 413
    assert "处理超时" in refused.value.message


def test_a_zip_of_hundreds_of_files_is_refused_before_it_is_opened():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for i in range(300):
            z.writestr(f"xl/media/{i}.xml", "<a/>")
    with pytest.raises(FormInvalid) as refused:
        read_workbook(buf.getvalue())
    assert "包含的文件过多" in refused.value.message


def test_a_zip64_directory_is_read_and_its_entry_count_checked_like_any_other():
    content = xlsx(sheet(row(2, GOOD)))
    assert len(read_workbook(as_zip64(content))) == 1
    with pytest.raises(FormInvalid) as refused:
        read_workbook(as_zip64(content, claimed_entries=10**9))
    assert "包含的文件过多" in refused.value.message


def test_a_sheet_stored_under_an_unusual_name_is_checked_all_the_same():
    rels = PARTS["xl/_rels/workbook.xml.rels"].replace("worksheets/sheet1.xml", "data/s.bin")
    nested = "<x>" * 100 + "</x>" * 100
    hidden = sheet(f'<row r="2"><c r="A2">{nested}</c></row>')
    content = xlsx(parts={"xl/_rels/workbook.xml.rels": rels, "xl/data/s.bin": hidden})
    with pytest.raises(FormInvalid) as refused:
        read_workbook(content)
    assert "嵌套" in refused.value.message


def test_a_file_declaring_xml_entities_is_refused():
    entities = '<?xml version="1.0"?><!DOCTYPE sst [<!ENTITY a "张三张三张三">]>'
    strings = f'{entities}<sst xmlns="{MAIN}"><si><t>&a;</t></si></sst>'
    content = xlsx(sheet(row(2, GOOD)), {"xl/sharedStrings.xml": strings})
    with pytest.raises(FormInvalid) as refused:
        read_workbook(content)
    assert "DTD" in refused.value.message


@pytest.mark.parametrize(
    "content",
    [
        pytest.param(marked_encrypted(xlsx(sheet(row(2, GOOD)))), id="password protected"),
        pytest.param(xlsx(parts={"xl/workbook.xml": "<workbook"}), id="broken workbook XML"),
        pytest.param(xlsx(parts={"xl/sharedStrings.xml": "<sst/><sst/>"}), id="two roots"),
        pytest.param(xlsx(sheet(header=("身份证号",) * 100)), id="a hundred columns"),
    ],
)
def test_a_malformed_or_protected_workbook_is_refused_in_chinese_not_with_a_500(content):
    with pytest.raises(FormInvalid) as refused:
        read_workbook(content)
    assert refused.value.status == 422
    assert "Excel" in refused.value.message and "未导入任何记录" in refused.value.message


def test_the_header_is_read_as_wide_as_its_last_named_column():
    content = xlsx(sheet(row(2, GOOD), dimension="A1:XFD2", header=(*HEADER, None, None)))
    assert len(read_workbook(content)) == 1
