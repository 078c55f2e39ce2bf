"""Background jobs on SQLite (the app's local worker thread) and PostgreSQL (procrastinate's
worker): started over the API, followed to the end, downloaded for a day, scoped to their
owner; a failure says why in Chinese and changes nothing."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
import sqlalchemy as sa
from conftest import in_db
from jobs_support import job_runner, seed_members, wait_for_job
from openpyxl import Workbook, load_workbook

from service.db.models import Job

pytestmark = pytest.mark.alone  # see scripts/test


def _rows(reply) -> list[tuple]:
    wb = load_workbook(io.BytesIO(reply.data), read_only=True)
    rows = list(wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    return rows


def _start_archive(client, headers, unit_id: int, body=None):
    return client.post(
        f"/api/v1/units/{unit_id}/members/export-jobs", headers=headers, json=body or {}
    )


def test_an_archive_export_runs_in_the_background_and_downloads_for_a_day(
    app, client, login, world
):
    seed_members(app, world.unit_id, 1200)
    unit = login("unit")
    with job_runner(app):
        started = _start_archive(client, unit, world.unit_id)
        assert started.status_code == 202, started.get_json()
        job = started.get_json()
        assert job["status"] in ("queued", "running", "succeeded")
        assert job["title"] == "单位人员档案导出"
        done = wait_for_job(client, unit, job["id"])
    assert done["status"] == "succeeded", done
    assert (done["rows_done"], done["rows_total"], done["percent"]) == (1200, 1200, 100)
    assert done["status_label"] == "已完成" and done["attempts"] == 1
    for name in ("created_at", "started_at", "finished_at", "expires_at"):  # UTC, said so
        assert done[name].endswith("+00:00"), (name, done[name])
    kept_until = datetime.fromisoformat(done["expires_at"])
    assert timedelta(hours=23) < kept_until - datetime.fromisoformat(done["finished_at"])
    assert done["result"]["name"] == "单位人员档案导出表.xlsx"
    reply = client.get(f"/api/v1/jobs/{job['id']}/result", headers=unit)
    assert reply.status_code == 200
    assert "filename*=UTF-8''%E5%8D%95%E4%BD%8D" in reply.headers["Content-Disposition"]
    rows = _rows(reply)
    assert rows[0][:4] == ("序号", "普通会员", "专业会员", "姓名")
    assert len(rows) == 1201 and rows[-1][0] == 1200
    again = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=unit)
    assert (
        again.status_code == 409 and again.get_json()["message"] == "只有失败的后台任务可以重新执行"
    )
    listed = client.get("/api/v1/jobs", headers=unit).get_json()
    assert [j["id"] for j in listed["items"]] == [job["id"]] and listed["total"] == 1

    # a day later the result is gone: 410, and the housekeeping removes its bytes
    ctx = app.extensions["memberflow"]
    key = in_db(app, lambda s: s.get(Job, job["id"]).result_key)
    assert ctx.storage.exists(key)
    later = ctx.now() + timedelta(days=1, seconds=1)
    saved, ctx.clock = ctx.clock, lambda: later
    try:
        gone = client.get(f"/api/v1/jobs/{job['id']}/result", headers=unit)
        assert gone.status_code == 410, gone.get_json()
        assert "只保留一天" in gone.get_json()["message"]
        assert (
            client.get(f"/api/v1/jobs/{job['id']}", headers=unit).get_json()["status_label"]
            == "已过期"
        )
        from service.db.uow import UnitOfWork
        from service.services.schedules import jobs

        def tidy(session):
            return jobs.delete_expired(ctx, UnitOfWork(session))

        assert in_db(app, tidy)["blobs"] == 1
        assert not ctx.storage.exists(key)
        assert client.get(f"/api/v1/jobs/{job['id']}/result", headers=unit).status_code == 410
    finally:
        ctx.clock = saved


def test_a_job_and_its_result_are_seen_by_its_owner_and_the_secretariat_only(
    app, client, login, world
):
    seed_members(app, world.unit_id, 5)
    unit = login("unit")
    with job_runner(app):
        job = _start_archive(client, unit, world.unit_id).get_json()
        assert wait_for_job(client, unit, job["id"])["status"] == "succeeded"
    for who in ("other_unit", "agency", "association", "finance"):
        headers = login(who)
        for path in ("", "/result"):
            reply = client.get(f"/api/v1/jobs/{job['id']}{path}", headers=headers)
            assert reply.status_code == 404, (who, path, reply.get_json())
            assert reply.get_json()["message"] == "后台任务不存在"
        assert client.get("/api/v1/jobs", headers=headers).get_json()["total"] == 0
        retried = client.post(f"/api/v1/jobs/{job['id']}/retry", headers=headers)
        assert retried.status_code == 404
    admin = login("admin")
    assert client.get(f"/api/v1/jobs/{job['id']}", headers=admin).status_code == 200
    assert client.get(f"/api/v1/jobs/{job['id']}/result", headers=admin).status_code == 200
    assert client.get("/api/v1/jobs/999999", headers=unit).status_code == 404
    assert client.get(f"/api/v1/jobs/{job['id']}").status_code == 401


def test_starting_a_job_checks_scope_and_filters_at_once(app, client, login, world):
    unit = login("unit")
    other = _start_archive(client, unit, world.other_unit_id)
    assert other.status_code == 404 and other.get_json()["message"] == "单位不存在"
    bad = _start_archive(client, unit, world.unit_id, {"age_min": 60, "age_max": 30})
    assert bad.status_code == 422, bad.get_json()
    unknown = _start_archive(client, unit, world.unit_id, {"colour": "red"})
    assert unknown.status_code == 422
    bills = client.post(
        "/api/v1/bills/export-jobs",
        headers=unit,
        json={"receipt_from": "2026-05-01", "receipt_to": "2026-01-01"},
    )
    assert bills.status_code == 422
    assert bills.get_json()["errors"]["receipt_from"] == (
        "开票日期起（2026-05-01）不能晚于开票日期止（2026-01-01）"
    )
    refused = client.post(
        "/api/v1/learning-records/import-jobs",
        headers=unit,
        data={"file": (io.BytesIO(b"x"), "a.xlsx")},
    )
    assert refused.status_code == 404
    zipped = client.post(
        f"/api/v1/units/{world.unit_id}/certificates/download-jobs",
        headers=unit,
        json={"member_ids": [987654]},
    )
    assert zipped.status_code == 422
    assert in_db(app, lambda s: s.scalar(sa.select(sa.func.count()).select_from(Job))) == 0


def _workbook(rows: list[list]) -> bytes:
    wb = Workbook()
    sheet = wb.active
    for row in rows:
        sheet.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def _import(client, headers, content: bytes, name="学习记录.xlsx"):
    return client.post(
        "/api/v1/learning-records/import-jobs",
        headers=headers,
        data={"file": (io.BytesIO(content), name)},
    )


def test_a_failed_job_says_why_in_chinese_and_imports_nothing(app, client, login, world):
    association = login("association")
    header = ["身份证号", "姓名", "已完成学时", "考试状态", "考试次数"]
    rows = [header, ["440106198001010011", "无此人", 30, "已通过", 1]]
    with job_runner(app):
        not_excel = _import(client, association, b"%PDF-1.4 not a workbook")
        assert not_excel.status_code == 202, not_excel.get_json()
        failed = wait_for_job(client, association, not_excel.get_json()["id"])
        assert failed["status"] == "failed" and failed["status_label"] == "失败"
        assert failed["error"] == "不是有效的 Excel 文件（.xlsx），未导入任何记录", failed
        assert failed["input_name"] == "学习记录.xlsx" and failed["result"] is None

        started = _import(client, association, _workbook(rows)).get_json()
        failed = wait_for_job(client, association, started["id"])
        assert failed["status"] == "failed"
        assert failed["error"].startswith("学习记录有1行有误，未导入任何记录"), failed
        assert "不在学习名单中" in failed["errors"]["第2行"]
        refused = client.get(f"/api/v1/jobs/{started['id']}/result", headers=association)
        assert refused.status_code == 409 and "失败" in refused.get_json()["message"]

        # the input is kept: run it again, same file, same refusal; nothing was imported
        again = client.post(f"/api/v1/jobs/{started['id']}/retry", headers=association)
        assert again.status_code == 202 and again.get_json()["status"] in ("queued", "running")
        failed = wait_for_job(client, association, started["id"])
        assert failed["status"] == "failed" and failed["attempts"] == 2
        assert failed["error"].startswith("学习记录有1行有误")

        # a workbook without rows is refused too; nobody else may run the job again
        empty = _import(client, association, _workbook([header])).get_json()
        outcome = wait_for_job(client, association, empty["id"])
    assert (
        outcome["status"] == "failed" and outcome["error"] == "表单填写有误：没有可导入的学习记录"
    )
    done_again = client.post(f"/api/v1/jobs/{empty['id']}/retry", headers=login("unit"))
    assert done_again.status_code == 404


@pytest.mark.parametrize(
    "path,body,kind",
    [
        ("/api/v1/bills/export-jobs", {}, "bill_export"),
        ("/api/v1/learning-tasks/export-jobs", {"status": "学习中"}, "learning_export"),
        ("/api/v1/enrolments/export-jobs", {}, "enrolment_export"),
    ],
)
def test_the_other_exports_run_as_jobs_too(app, client, login, world, path, body, kind):
    unit = login("unit")
    with job_runner(app):
        started = client.post(path, headers=unit, json=body)
        assert started.status_code == 202, started.get_json()
        assert started.get_json()["kind"] == kind
        done = wait_for_job(client, unit, started.get_json()["id"])
    assert done["status"] == "succeeded", done
    assert done["rows_total"] == 0 and done["percent"] == 100
    reply = client.get(f"/api/v1/jobs/{done['id']}/result", headers=unit)
    assert reply.status_code == 200
    # the header only; 开票记录 ends with its 合计 row all the same, of no rows
    totals = [("合计", "共 0 条")] if kind == "bill_export" else []
    assert [row[:2] for row in _rows(reply)[1:]] == totals


def test_a_certificate_zip_runs_as_a_job_certificate_by_certificate(app, client, login, world):
    from datetime import date

    from service.db.models import Certificate, Member

    seed_members(app, world.unit_id, 3)

    def certify(session):
        ids = session.scalars(
            sa.select(Member.id).where(Member.unit_id == world.unit_id).order_by(Member.id)
        ).all()
        for k, member_id in enumerate(ids):
            session.add(
                Certificate(
                    member_id=member_id,
                    type="监理员",
                    number=f"JL2026{k:06d}",
                    specialty_1="房屋建筑工程",
                    first_issued_on=date(2025, 1, 1),
                    valid_until=date(2099, 12, 31) if k < 2 else date(2020, 1, 1),
                    unit_name=world.unit_name,
                )
            )
        session.commit()
        return list(ids)

    ids = in_db(app, certify)
    unit = login("unit")
    with job_runner(app):
        started = client.post(
            f"/api/v1/units/{world.unit_id}/certificates/download-jobs",
            headers=unit,
            json={"member_ids": ids},
        )
        assert started.status_code == 202, started.get_json()
        done = wait_for_job(client, unit, started.get_json()["id"])
    assert done["status"] == "succeeded", done
    assert (done["rows_done"], done["rows_total"]) == (2, 2)  # the expired one is left out
    assert done["result"]["content_type"] == "application/zip"
    reply = client.get(f"/api/v1/jobs/{done['id']}/result", headers=unit)
    assert reply.status_code == 200 and reply.mimetype == "application/zip"
    import zipfile

    names = zipfile.ZipFile(io.BytesIO(reply.data)).namelist()
    assert sorted(n for n in names if n.endswith(".pdf")) == sorted(
        n for n in names if "JL2026000000" in n or "JL2026000001" in n
    )
    assert len([n for n in names if n.endswith(".pdf")]) == 2 and "说明.txt" in names
    # of one certificate type alone (the list's filter): none of them holds a 安全监理员 one
    typed = client.post(
        f"/api/v1/units/{world.unit_id}/certificates/download-jobs",
        headers=unit,
        json={"member_ids": ids, "certificate_type": "安全监理员"},
    )
    assert typed.status_code == 422
    assert "都没有有效安全监理员证书" in typed.get_json()["errors"]["member_ids"]
