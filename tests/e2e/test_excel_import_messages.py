"""What an Excel import says of the files people actually have: a .csv or an old .xls (save
it as .xlsx), a title row above the header (the header must be in row 1), a merged cell."""

from __future__ import annotations

import io

from openpyxl import Workbook

HEADER = ["身份证号", "姓名", "已完成学时", "考试状态", "考试次数"]


def _post(client, headers, content: bytes, name: str = "学习记录.xlsx"):
    return client.post(
        "/api/v1/learning-records/import",
        headers=headers,
        data={"file": (io.BytesIO(content), name)},
    )


def _workbook(fill) -> bytes:
    wb = Workbook()
    fill(wb.active)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_a_csv_or_an_xls_file_is_told_to_be_saved_as_xlsx(client, login):
    csv = ",".join(HEADER).encode("utf-8") + b"\n440106198001010011,\xe5\x88\x98,24,\n"
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 512
    for content, what in ((csv, "CSV"), (xls, ".xls")):
        reply = _post(client, login("association"), content)
        assert reply.status_code == 422, reply.get_json()
        body = reply.get_json()
        assert what in body["errors"]["file"] and "另存为" in body["errors"]["file"]
        assert "文件 → 另存为 → Excel 工作簿" in body["message"]


def test_a_title_row_above_the_header_is_told_the_header_must_be_in_row_1(client, login):
    def fill(ws):
        ws.append(["2027年学习记录"])
        ws.append(HEADER)

    reply = _post(client, login("association"), _workbook(fill))
    assert reply.status_code == 422, reply.get_json()
    assert "表头（列名）须在第1行" in reply.get_json()["message"]


def test_a_merged_cell_is_named(client, login):
    def fill(ws):
        ws.append(HEADER)
        ws.append(["440106198001010011", "刘志强", 24, "已通过", 1])
        ws.append([None, None, 24, "已通过", 1])
        ws.merge_cells("A2:A3")

    reply = _post(client, login("association"), _workbook(fill))
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert body["errors"]["file"] == "含合并单元格（A2:A3）"
    assert "请取消合并单元格" in body["message"]
