"""The streaming sheet reader reads what openpyxl reads, and refuses what excel_import refuses."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime

import pytest
from hostile_xlsx import MAIN, PARTS, row, shared_strings_bomb, sheet, xlsx
from openpyxl import Workbook
from openpyxl.utils.datetime import CALENDAR_MAC_1904

from service.domain.errors import FormInvalid, TooLarge
from service.services.documents.excel_import import Limits, read_table
from service.services.documents.xlsx_rows import stream_first_sheet


def _excel_like() -> bytes:
    """As Excel saves: shared strings, date-formatted numbers, gaps, an empty row."""
    wb = Workbook()
    ws = wb.active
    ws.append(["姓名", "身份证号", "有效期", "人数", "比例", "是否", "备注"])
    ws.append(["张三", "440106198001011234", datetime(2027, 1, 31), 3, 0.5, True, None])
    ws.append([None] * 7)
    ws.append(["李四", "440106198001011234", None, None, None, False, "=1+1"])
    ws["C4"] = date(2030, 12, 1)
    ws["C4"].number_format = "yyyy年m月d日"
    ws["G2"] = "第二行"
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_it_reads_an_excel_file_as_openpyxl_does_with_dates_as_dates():
    content = _excel_like()
    streamed = stream_first_sheet(content)
    expected = read_table(content)
    assert streamed.header == expected.header
    rows = list(streamed.rows)
    assert [n for n, _ in rows] == [n for n, _ in expected.rows] == [2, 4]
    assert rows[0][1] == ("张三", "440106198001011234", date(2027, 1, 31), 3, 0.5, True, "第二行")
    # a formula without a saved result reads as empty (openpyxl's data_only too); a date in a
    # custom Chinese format is still a date
    assert rows[1][1] == ("李四", "440106198001011234", date(2030, 12, 1), None, None, False, None)
    assert expected.rows[1][1][6] is None


def test_inline_strings_rich_text_and_phonetic_guides_read_as_their_text():
    strings = (
        f'<sst xmlns="{MAIN}"><si><r><t>广州</t></r><r><t>珠江</t></r>'
        "<rPh><t>guangzhou</t></rPh></si></sst>"
    )
    shared = (
        '<row r="2"><c r="A2" t="s"><v>0</v></c>'
        '<c r="C2" t="inlineStr"><is><t>行内</t></is></c></row>'
    )
    content = xlsx(sheet(shared, header=["单位", "空", "备注"]), {"xl/sharedStrings.xml": strings})
    streamed = stream_first_sheet(content)
    assert streamed.header == ["单位", "空", "备注"]
    assert list(streamed.rows) == [(2, ("广州珠江", None, "行内"))]


@pytest.mark.parametrize(
    ("content", "error", "words"),
    [
        pytest.param(shared_strings_bomb(mb=4), TooLarge, "解压后过大", id="zip bomb"),
        pytest.param(
            xlsx(sheet(row(2, ["x"]) + "".join(f'<row r="{i}"/>' for i in range(3, 40)))),
            FormInvalid,
            "空行过多",
            id="rows",
        ),
        pytest.param(
            xlsx(parts={"xl/workbook.xml": "<workbook"}), FormInvalid, "不是有效的", id="xml"
        ),
        pytest.param(b"not a zip at all", FormInvalid, "不是有效的", id="not a zip"),
    ],
)
def test_a_hostile_file_is_refused_before_any_row_is_read(content, error, words):
    with pytest.raises(error) as refused:
        sheet_ = stream_first_sheet(content, Limits(max_rows=20))
        list(sheet_.rows)
    assert words in refused.value.message


def test_a_cell_too_long_is_refused_inline_or_shared():
    long = "长" * 1001
    strings = f'<sst xmlns="{MAIN}"><si><t>{long}</t></si></sst>'
    shared = '<row r="3"><c r="A3" t="s"><v>0</v></c></row>'
    for content in (
        xlsx(sheet(row(2, ["a"]) + row(3, [long]))),
        xlsx(sheet(row(2, ["a"]) + shared), {"xl/sharedStrings.xml": strings}),
    ):
        with pytest.raises(FormInvalid) as refused:
            list(stream_first_sheet(content).rows)
    assert refused.value.message == "Excel 文件第3行单元格内容超过1000个字符，未导入任何记录"


def _dated(epoch=None) -> bytes:
    wb = Workbook()
    if epoch is not None:
        wb.epoch = epoch
    ws = wb.active
    ws.append(["有效期", "人数"])
    ws.append([date(2028, 2, 29), 46823])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_workbook_in_the_1904_date_system_reads_the_dates_it_shows():
    """Older Mac Excel counts serials from 1904-01-01 (<workbookPr date1904="1"/>): read from
    1899-12-30 instead, every date came out 4 years and a day early."""
    content = _dated(CALENDAR_MAC_1904)
    assert b'date1904="1"' in zipfile.ZipFile(io.BytesIO(content)).read("xl/workbook.xml")
    for made in (content, _dated()):
        assert list(stream_first_sheet(made).rows) == [(2, (date(2028, 2, 29), 46823))]
    assert read_table(content).rows[0][1][0] == datetime(2028, 2, 29)  # as openpyxl reads it


@pytest.mark.parametrize("format_id", [*range(27, 37), *range(50, 59)])
def test_a_date_in_one_of_excels_builtin_chinese_formats_reads_as_a_date(format_id):
    """Excel in a Chinese locale saves 年月日 dates by a built-in format id (31 is
    yyyy"年"m"月"d"日") with no format code in styles.xml."""
    styles = (
        f'<styleSheet xmlns="{MAIN}"><cellXfs count="2"><xf numFmtId="0"/>'
        f'<xf numFmtId="{format_id}"/></cellXfs></styleSheet>'
    )
    rels = PARTS["xl/_rels/workbook.xml.rels"].replace(
        "</Relationships>",
        '<Relationship Id="rId3" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/styles" Target="styles.xml"/></Relationships>',
    )
    rows = '<row r="2"><c r="A2" s="1"><v>46823</v></c><c r="B2"><v>46823</v></c></row>'
    content = xlsx(
        sheet(rows, header=["有效期", "人数"]),
        {"xl/styles.xml": styles, "xl/_rels/workbook.xml.rels": rels},
    )
    assert list(stream_first_sheet(content).rows) == [(2, (date(2028, 3, 11), 46823))]
