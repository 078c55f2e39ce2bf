"""学习进度 and 导入学习记录 for those who record learning results (the association's
reviewers and the secretariat), over HTTP on both databases: every unit's learning tasks
with the unit's filters and the unit and form number; 登记成绩 records one person's result
through the use case POST /learning-records uses (a pass issues the certificate; a refusal
is shown at its field and records nothing); the import template; the import as a
background job. Every other role gets the 404 page."""

from __future__ import annotations

import io
import re
from datetime import date
from decimal import Decimal
from urllib.parse import quote

import pytest
from conftest import token_headers
from jobs_support import job_runner, wait_for_job
from openpyxl import Workbook, load_workbook
from test_other_education_api import approve, certificates, enrol, learning, seed, supervisor
from test_pages_http import csrf, sign_in, text

from service.services.documents.excel import XLSX_MIMETYPE

pytestmark = pytest.mark.usefixtures("pinned_clock")

HEADERS = ["身份证号", "姓名", "已完成学时", "考试状态", "考试次数", "单号"]
TASK_LINK = re.compile(r'href="(/learning-records/tasks/(\d+)[^"]*)"')
JOB_URL = re.compile(r"/jobs/(\d+)$")
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')
PAGES = (
    "/learning-records",
    "/learning-records/import",
    "/learning-records/import-template.xlsx",
)


def opened(app, client, login, world) -> tuple[str, dict]:
    """罗建平 of the first unit, on a continuing-education form whose learning is open
    (24 hours, 监理员); his ID number and the form."""
    n = seed(app, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    unit = login("unit")
    form = enrol(client, unit, "continuing_education", [(n, "罗建平")], certificate_type="监理员")
    approve(app, client, login, form["id"], "60.00")
    return n, form


def signed_in(app, who: str):
    c = app.test_client()
    sign_in(c, who)
    return c


def token_of(html: str) -> str:
    return TOKEN.search(html).group(1)


def row_of(html: str, name: str) -> str:
    """The list's table row naming `name`."""
    rows = [r for r in html.split("<tr>") if f">{name}<" in r]
    assert len(rows) == 1, html[-3000:]
    return rows[0].split("</tr>")[0]


def test_every_unit_s_learning_is_listed_for_the_recorders_only(app, client, login, world):
    n, form = opened(app, client, login, world)
    for who in ("association", "admin"):
        page = signed_in(app, world.logins[who])
        html = text(page.get("/learning-records"))
        assert '<a href="/learning-records" aria-current="page">学习进度</a>' in html
        assert 'href="/learning-records/import"' in html  # the menu's and the toolbar's
        row = row_of(html, "罗建平")
        for cell in (n, world.unit_name, form["business_key"], "监理员", "0/24", "未考试"):
            assert f">{cell}<" in row, (who, cell, row)
        assert "开课未学习" in row and "2027-06-30" in row  # status, deadline (membership end)
        assert f'href="/forms/{form["id"]}"' in row and "登记成绩" in row
        assert 'href="/learning-records/import-template.xlsx"' in html
        assert 'href="/learning-records/import"' in text(page.get("/help"))

    page = signed_in(app, world.logins["association"])
    for query, found in (
        (f"q={n[-4:]}", True),
        ("q=王", False),
        ("unit=珠江", True),
        (f"unit={world.other_unit_name}", False),
        (f"business_key={form['business_key'].lower()}", True),
        ("business_key=ZSBG", False),
        ("status=开课未学习", True),
        ("status=已通过", False),
        ("process=continuing_education", True),
    ):
        html = text(page.get(f"/learning-records?{query}"))
        assert ("罗建平" in html) is found, query
    bad = page.get("/learning-records?status=通过了&colour=red")
    assert bad.status_code == 422
    assert "学习状态：应为 开课未学习" in text(bad) and "不支持的查询条件「colour」" in text(bad)

    # anyone else: the 404 page for every page and form of it, and no menu item
    for who in ("agency", "finance", "unit", "other_unit"):
        other = signed_in(app, world.logins[who])
        for path in ("/home", "/help"):
            assert "/learning-records" not in text(other.get(path)), (who, path)
        task_url = TASK_LINK.search(text(page.get("/learning-records"))).group(1)
        for path in (*PAGES, task_url.split("?")[0]):
            reply = other.get(path)
            assert reply.status_code == 404 and "页面不存在" in text(reply), (who, path)
        token = csrf(other, "/home")
        for path in ("/learning-records/import", task_url.split("?")[0]):
            reply = other.post(path, data={"csrf_token": token, "exam_status": "已通过"})
            assert reply.status_code == 404, (who, path)
    assert learning(app, n) == [("continuing_education", "开课未学习", Decimal(24))]


def test_the_import_template_is_an_xlsx_with_the_import_s_headers(app, world):
    page = signed_in(app, world.logins["association"])
    reply = page.get("/learning-records/import-template.xlsx")
    assert reply.status_code == 200
    assert reply.mimetype == XLSX_MIMETYPE
    disposition = reply.headers["Content-Disposition"]
    assert disposition.startswith("attachment;")
    assert f"filename*=UTF-8''{quote('学习记录导入模板.xlsx')}" in disposition
    assert 'filename="learning-import-template.xlsx"' in disposition
    sheet = load_workbook(io.BytesIO(reply.data)).worksheets[0]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == [HEADERS]
    import_page = text(page.get("/learning-records/import"))
    for name in HEADERS:
        assert f"<strong>{name}</strong>" in import_page


def test_recording_one_result_passes_the_person_and_the_list_shows_it(app, client, login, world):
    n, form = opened(app, client, login, world)
    page = signed_in(app, world.logins["association"])
    listed = text(page.get(f"/learning-records?q={n}"))
    task_url = TASK_LINK.search(listed).group(1).replace("&amp;", "&")
    assert "next=" in task_url
    html = text(page.get(task_url))
    assert "登记成绩：罗建平" in html and form["business_key"] in html
    assert re.search(r'name="completed_hours"[^>]*value="0"', html)
    token = token_of(html)
    done = page.post(
        task_url.split("?")[0],
        data={
            "csrf_token": token,
            "next": f"/learning-records?q={n}",
            "completed_hours": "24",
            "exam_status": "已通过",
            "exam_attempts": "1",
        },
    )
    assert done.status_code == 302, text(done)[:2000]
    assert done.headers["Location"] == f"/learning-records?q={n}"
    after = text(page.get(done.headers["Location"]))
    assert "已登记罗建平" in after  # the flash
    row = row_of(after, "罗建平")
    assert "badge s-已通过" in row and ">已通过<" in row and ">24/24<" in row
    assert learning(app, n) == [("continuing_education", "已通过", Decimal(24))]
    assert certificates(app, n)["监理员"]["valid_until"] == date(2030, 2, 28)  # renewed
    again = text(page.get(task_url))
    assert "学习任务已结束（已通过），不能再登记成绩" in again and 'name="exam_status"' not in again


def test_a_refused_record_is_shown_at_its_field_and_records_nothing(app, client, login, world):
    n, _form = opened(app, client, login, world)
    page = signed_in(app, world.logins["association"])
    task_url = TASK_LINK.search(text(page.get("/learning-records"))).group(1).split("?")[0]
    token = token_of(text(page.get(task_url)))

    def send(**values):
        return page.post(task_url, data={"csrf_token": token, **values})

    too_many = send(completed_hours="12", exam_status="未通过", exam_attempts="11")
    assert too_many.status_code == 422
    html = text(too_many)
    error = re.search(r'<p class="error" id="f-exam_attempts-error">([^<]+)</p>', html)
    assert error and "考试次数不能超过10次" in error.group(1), html[-4000:]
    assert re.search(r'id="f-exam_attempts"[^>]*value="11"[^>]*aria-invalid="true"', html)
    assert 'id="f-completed_hours-error"' not in html and 'value="12"' in html

    blank = send(completed_hours="12", exam_status="", exam_attempts="")
    assert blank.status_code == 422
    html = text(blank)
    assert '<p class="error" id="f-exam_status-error">请选择考试状态</p>' in html
    assert '<p class="error" id="f-exam_attempts-error">请填写考试次数</p>' in html

    short = send(completed_hours="20", exam_status="已通过", exam_attempts="1")
    assert short.status_code == 422
    assert re.search(r'id="f-completed_hours-error">已完成学时20不足要求的24学时', text(short))

    assert page.post(task_url, data={"exam_status": "已通过"}).status_code == 400  # no token
    assert learning(app, n) == [("continuing_education", "开课未学习", Decimal(24))]
    assert "罗建平" in text(page.get("/learning-records?status=开课未学习"))
    assert certificates(app, n)["监理员"]["valid_until"] == date(2027, 2, 28)  # unchanged


def workbook(rows) -> bytes:
    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_an_import_runs_as_a_background_job_and_its_page_shows_the_outcome(
    app, client, login, world
):
    n, form = opened(app, client, login, world)
    page = signed_in(app, world.logins["association"])
    token = token_of(text(page.get("/learning-records/import")))
    empty = page.post("/learning-records/import", data={"csrf_token": token})
    assert empty.status_code == 422
    assert (
        '<p class="error" id="f-file-error">请选择学习平台导出的 Excel 文件（.xlsx）</p>'
        in text(empty)
    )
    association = token_headers(client, world.logins["association"])
    with job_runner(app):
        wrong = workbook([HEADERS, [n, "罗建强", 24, "已通过", 1, form["business_key"]]])
        started = page.post(
            "/learning-records/import",
            data={"csrf_token": token, "file": (io.BytesIO(wrong), "学习记录.xlsx")},
        )
        assert started.status_code == 302, text(started)[:2000]
        job_id = int(JOB_URL.search(started.headers["Location"]).group(1))
        assert wait_for_job(client, association, job_id)["status"] == "failed"
        failed = text(page.get(f"/jobs/{job_id}"))
        assert "任务失败：" in failed and "第2行" in failed and "罗建强" in failed
        assert "没有导入或更改任何数据" in failed
        assert learning(app, n)[0][1] == "开课未学习"

        right = workbook([HEADERS, [n, "罗建平", 24, "已通过", 2, form["business_key"]]])
        started = page.post(
            "/learning-records/import",
            data={"csrf_token": token, "file": (io.BytesIO(right), "学习记录.xlsx")},
        )
        job_id = int(JOB_URL.search(started.headers["Location"]).group(1))
        job = wait_for_job(client, association, job_id)
        assert (job["kind"], job["status"]) == ("learning_import", "succeeded")
    done = text(page.get(f"/jobs/{job_id}"))
    assert "本次考试通过 1 人" in done
    assert "badge s-已通过" in row_of(text(page.get("/learning-records")), "罗建平")
