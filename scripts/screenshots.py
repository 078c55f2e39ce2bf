"""Write a PNG of every page, filled with demo data, so a person can look at them all at once.

    scripts/screenshots [folder]        (default: screenshots/)

Builds a fresh demo on a temporary SQLite database, serves it on a free local port and
drives Debian's Chromium with Playwright: the workbench at 1280 px, the QR pages at 375 px.
"""

from __future__ import annotations

import logging
import re
import sys
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path

from playwright.sync_api import sync_playwright
from sqlalchemy import func, select, update
from werkzeug.serving import make_server

from service import create_app
from service.config import load_config
from service.db import db
from service.db.migrate import upgrade
from service.db.models import Certificate, JoinCode
from service.demo.images import sample_png
from service.domain.validation import make_resident_id

CHROMIUM = "/usr/bin/chromium"
FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--lang=zh-CN",  # the browser's own words (file pickers, date fields) in Chinese
]
PASSWORD = "demo1234"
UNIT = "广州珠江工程建设监理有限公司"


def serve(app) -> tuple[str, object]:
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}", server


def build_demo(folder: Path):
    from service.demo.seed import load_demo

    url = f"sqlite:///{folder / 'demo.sqlite3'}"
    upgrade(url)
    app = create_app(
        load_config(
            database_url=url,
            instance_dir=folder,
            files_dir=folder / "files",
            secret_key="screenshots",
            lookup_rate="3 per minute",
        )
    )
    with app.app_context():
        load_demo(app)
        db.session.remove()
    return app


class Shooter:
    def __init__(self, browser, base: str, out: Path):
        self.browser, self.base, self.out = browser, base, out
        self.count = 0
        self.too_wide: list[str] = []  # pages wider than their screen (a table not framed)

    def context(self, width: int = 1280, phone: bool = False):
        return self.browser.new_context(
            viewport={"width": width, "height": 860},
            locale="zh-CN",
            timezone_id="Asia/Shanghai",
            is_mobile=phone,
            has_touch=phone,
            device_scale_factor=1,
        )

    def login(self, page, username: str, password: str = PASSWORD) -> None:
        page.goto(self.base + "/login")
        page.fill("#username", username)
        page.fill("#password", password)
        page.click("button[type=submit]")

    def shot(self, page, name: str, path: str | None = None, full: bool = True) -> None:
        if path is not None:
            page.goto(self.base + path)
        page.wait_for_load_state("networkidle")
        self.count += 1
        target = self.out / f"{self.count:02d}_{name}.png"
        if page.evaluate("document.documentElement.scrollWidth > window.innerWidth"):
            self.too_wide.append(target.name)
        page.screenshot(path=str(target), full_page=full)
        print(f"{target}  {page.title()}")


def api(page, base: str, method: str, path: str, token: str | None = None, body=None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    reply = page.request.fetch(base + "/api/v1" + path, method=method, headers=headers, data=body)
    return reply.json()


def run(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    with tempfile.TemporaryDirectory() as tmp:
        app = build_demo(Path(tmp))
        base, server = serve(app)
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                shooter = Shooter(browser, base, out)
                pages(shooter, app)
                browser.close()
        finally:
            server.shutdown()
    if shooter.too_wide:
        sys.exit(
            "pages wider than their screen (scrolled sideways as a whole): "
            + ", ".join(shooter.too_wide)
        )


def pages(s: Shooter, app) -> None:
    base = s.base
    desk = s.context()
    page = desk.new_page()
    s.shot(page, "sign_in", "/login")
    # --- the agency reviewer: queue, search, review page, claimed -------------------------
    s.login(page, "jigou1")
    s.shot(page, "agency_todo")
    page.goto(base + "/workbench/todo")
    first = page.locator("table.grid tbody tr").first
    first.get_by_role("button", name="认领").first.click()
    s.shot(page, "agency_todo_after_claim")
    s.shot(page, "agency_mine", "/workbench/mine")
    page.locator("table.grid tbody a").first.click()
    s.shot(page, "agency_review_page")
    page.get_by_role("button", name="退回").click()
    s.shot(page, "agency_review_missing_remark")
    s.shot(page, "agency_done", "/workbench/done")
    s.shot(page, "agency_search_unknown_filter", "/workbench/todo?colour=red")
    s.shot(page, "agency_forms", "/forms")
    s.shot(page, "help", "/help")
    # a multi-person education form as its reviewer reads it (the archive's columns)
    page.goto(base + "/forms?key=continuing_education")
    page.locator("table.grid tbody a").first.click()
    s.shot(page, "agency_education_form")
    # the queue on a phone: 认领 / 查看 in sight at the row's end
    phone = s.context(390, phone=True)
    on_phone = phone.new_page()
    s.login(on_phone, "jigou1")
    s.shot(on_phone, "agency_todo_phone", "/workbench/todo")
    phone.close()
    # --- the association: all agencies, filters ---------------------------------------------
    page.context.clear_cookies()
    s.login(page, "xiehui")
    s.shot(page, "association_todo")
    page.locator("table.grid tbody a").first.click()
    s.shot(page, "association_review_page")
    s.shot(page, "association_cpd_batches", "/cpd-batches")
    association_learning_pages(s, page)
    # --- finance: the voucher ----------------------------------------------------------------
    page.context.clear_cookies()
    s.login(page, "caiwu")
    s.shot(page, "finance_todo")
    page.locator("table.grid tbody a").first.click()
    s.shot(page, "finance_review_page")
    with page.expect_popup() as opened:
        page.locator(".voucher a").click()
    popup = opened.value
    s.shot(popup, "finance_voucher_view")
    popup.close()
    finance_pages(s, page)
    # --- the secretariat: claimed tasks and reassigning ------------------------------------------
    page.context.clear_cookies()
    s.login(page, "admin")
    s.shot(page, "secretariat_claimed")
    reassign = page.get_by_role("link", name="改派")
    if reassign.count():
        reassign.first.click()
        s.shot(page, "secretariat_reassign")
    s.shot(page, "secretariat_forms_returned", "/forms?status=" + "退回")
    s.shot(page, "secretariat_join_list", "/forms?key=member_join")
    secretariat_pages(s, page, app)
    # --- a designer: the catalogue, a process's versions, the deploy page --------------------
    page.context.clear_cookies()
    s.login(page, "sheji")
    s.shot(page, "designer_catalogue")
    s.shot(page, "designer_versions", "/processes/continuing_education/versions")
    s.shot(page, "designer_deploy", "/processes/deploy")
    s.shot(page, "designer_process_map", "/processes/continuing_education/map")
    # --- a unit: its forms and one form's detail -------------------------------------------------
    page.context.clear_cookies()
    s.login(page, UNIT)
    s.shot(page, "unit_forms")
    page.locator("table.grid tbody a").first.click()
    s.shot(page, "unit_form_detail")
    s.shot(page, "unit_todo", "/workbench/todo")
    s.shot(page, "not_found_page", "/forms/999999")
    unit_admin_pages(s, page)
    unit_business_pages(s, page)
    job_pages(s, page, app)
    feedback_pages(s, page)
    token = api(page, base, "POST", "/auth/token", body={"username": UNIT, "password": PASSWORD})[
        "access_token"
    ]
    full = api(page, base, "POST", "/units/1/join-codes", token, {"variant": "full"})["code"]
    short = api(page, base, "POST", "/units/1/join-codes", token, {"variant": "short"})["code"]
    old = api(page, base, "POST", "/units/1/join-codes", token, {"variant": "full"})["code"]
    resign = api(page, base, "POST", "/units/1/members/1/resignation-codes", token)
    member_pages(s, page)
    desk.close()
    with app.app_context():  # the last code made: as if its year were over
        last = db.session.scalar(select(func.max(JoinCode.id)))
        db.session.execute(
            update(JoinCode).where(JoinCode.id == last).values(expires_at=JoinCode.created_at)
        )
        db.session.commit()
        number = db.session.scalar(select(Certificate.number).order_by(Certificate.id))
        db.session.remove()
    # --- phones: the QR pages ----------------------------------------------------------------
    phone = s.context(375, phone=True)
    page = phone.new_page()
    s.shot(page, "phone_join_full", f"/join/{full}")
    page.get_by_role("button", name="提交").click()
    s.shot(page, "phone_join_full_errors")
    s.shot(page, "phone_join_short", f"/join/{short}")
    page.fill("#f-name", "赵小梅")
    page.select_option("#f-id_type", "resident_id")
    page.fill("#f-id_number", make_resident_id("44010619920315432"))
    page.fill("#f-mobile", "13922223333")
    for field, kind in (("photo", "photo"), ("id_front", "id_front"), ("id_back", "id_back")):
        page.set_input_files(
            f"#f-{field}",
            {"name": f"{kind}.png", "mimeType": "image/png", "buffer": sample_png(kind)},
        )
    page.check("#f-declaration")
    s.shot(page, "phone_join_short_filled")
    page.get_by_role("button", name="提交").click()
    s.shot(page, "phone_join_done")
    s.shot(page, "phone_join_expired", f"/join/{old}")
    s.shot(page, "phone_join_unknown", "/join/not-a-code")
    s.shot(page, "phone_confirm_signed_out", f"/confirm/{resign['code']}")
    s.shot(page, "phone_lookup", "/lookup")
    s.shot(page, "phone_lookup_found", f"/lookup?number={number}")
    s.shot(page, "phone_lookup_not_found", "/lookup?number=NOPE")
    for _ in range(2):
        page.goto(base + "/lookup?number=NOPE")
    s.shot(page, "phone_lookup_rate_limited", "/lookup?number=NOPE")
    s.shot(page, "phone_faq", "/faq")  # the public 常见问题, signed out
    phone.close()
    # a member on a phone: 我的信息 (empty tables), their own 个人会员信息变更
    member = s.context(375, phone=True)
    page = member.new_page()
    s.login(page, make_resident_id("44010619910606912"))  # 冯佩珊（持证）
    s.shot(page, "phone_member_me", "/me")
    s.shot(page, "phone_member_info_change", "/business/member_info_change/mine")
    member.close()
    docs = s.context()
    page = docs.new_page()
    s.shot(page, "api_docs", "/api/v1/docs", full=False)
    docs.close()


def unit_admin_pages(s: Shooter, page) -> None:
    """A unit administrator's own pages (web/unit.py): codes, archive, certificates,
    learning, sub-accounts, the unit's information; `page` is signed in as the unit."""
    s.shot(page, "unit_agency_directory", "/agencies")
    s.shot(page, "unit_codes", "/unit/codes")
    page.get_by_role("button", name="生成简码版申请码").click()
    s.shot(page, "unit_join_code")
    page.get_by_role("link", name="打印").click()
    s.shot(page, "unit_join_code_print")
    page.goto(s.base + "/unit/codes")
    page.get_by_role("button", name="显示个人变更单二维码").click()
    s.shot(page, "unit_transfer_code")
    s.shot(page, "unit_archive", "/unit/members")
    s.shot(page, "unit_archive_filter_error", "/unit/members?age_min=老&title=特级")
    page.goto(s.base + "/unit/members")
    page.locator("table.grid tbody tr a[href^='/unit/members/']").first.click()
    s.shot(page, "unit_member")
    page.get_by_role("button", name="补充证件照").click()
    s.shot(page, "unit_id_photo_code")
    page.go_back()
    page.reload()
    page.locator("#account-h ~ form button.primary").click()
    s.shot(page, "unit_member_one_time_password")
    page.goto(s.base + "/unit/members")  # 批量生成初始密码 for two ticked people (not 冯佩珊)
    boxes = page.locator("table.grid tbody input[name=member_ids]")
    boxes.nth(1).check()
    boxes.nth(2).check()
    page.get_by_role("button", name="批量生成初始密码").click()
    s.shot(page, "unit_initial_passwords_confirm")
    page.get_by_role("button", name="确认生成").click()
    s.shot(page, "unit_initial_passwords")
    s.shot(page, "unit_certificates", "/unit/certificates")
    s.shot(page, "unit_learning", "/unit/learning")
    s.shot(page, "unit_info", "/unit/info")
    s.shot(page, "unit_info_edit", "/unit/info/edit")
    s.shot(page, "unit_drafts", "/business/drafts")
    s.shot(page, "unit_accounts", "/unit/accounts")
    for name, mobile in (("李强", "13800138001"), ("王芳", "13800138002"), ("赵磊", "13800138003")):
        if not page.get_by_role("button", name="新增子账号").count():
            break  # three already: the form gives way to the reason
        page.get_by_label("姓名").fill(name)
        page.get_by_label("手机号（登录账号）").fill(mobile)
        page.get_by_label("登录密码").fill("Subaccount2026")
        page.get_by_label("再次输入密码").fill("Subaccount2026")
        page.get_by_role("button", name="新增子账号").click()
    s.shot(page, "unit_accounts_full")
    page.goto(s.base + "/unit/accounts")
    page.once("dialog", lambda dialog: dialog.accept())  # 重置密码 asks first
    page.get_by_role("button", name="重置密码").first.click()
    s.shot(page, "unit_sub_account_one_time_password")


def association_learning_pages(s: Shooter, page) -> None:
    """学习进度 and 导入学习记录 (web/learning_records.py): every unit's learning, the import
    page, one task's 登记成绩 and a refused result (nothing recorded); `page` is signed in as
    the association."""
    s.shot(page, "association_learning", "/learning-records")
    s.shot(page, "association_learning_import", "/learning-records/import")
    page.goto(s.base + "/learning-records?status=学习中")
    record = page.get_by_role("link", name=re.compile("^登记成绩"))
    if record.count():
        record.first.click()
        s.shot(page, "association_learning_record")
        page.get_by_label("考试次数").fill("99")
        page.get_by_role("button", name="登记").click()
        s.shot(page, "association_learning_record_refused")


def unit_business_pages(s: Shooter, page) -> None:
    """A unit's 首页 and 业务办理 (web/business.py): the person picker, the start form with its
    errors and fee preview, and its forms waiting on it; `page` is signed in as the unit."""
    s.shot(page, "unit_home", "/home")
    s.shot(page, "unit_business", "/business")
    s.shot(page, "unit_pick_choose_type", "/business/initial_education")
    s.shot(page, "unit_pick_persons", "/business/initial_education?certificate_type=监理员")
    boxes = page.locator(".pick-col:not(.ineligible) input[name=member]")
    for i in range(min(boxes.count(), 2)):
        boxes.nth(i).check()
    if boxes.count():
        page.get_by_role("button", name="添加所选人员").click()
        s.shot(page, "unit_start_form")
        page.get_by_role("button", name="提交").click()
        s.shot(page, "unit_start_form_errors")
        for field in page.locator("input[name$='.specialty_1']").all():
            field.fill("房屋建筑工程")
        page.get_by_role("button", name="预览/计算费用").click()
        s.shot(page, "unit_start_form_fee_preview")
    s.shot(page, "unit_pick_cancellation", "/business/certificate_cancellation")
    s.shot(page, "unit_start_join_form", "/business/member_join/form")
    for status, name in (("退回", "unit_form_returned"), ("待缴费", "unit_form_to_pay")):
        page.goto(s.base + "/forms?status=" + status)
        link = page.locator("table.grid tbody a")
        if link.count():
            link.first.click()
            s.shot(page, name)
            todo = page.locator(".todo-card a.button")
            if todo.count():
                todo.first.click()
                s.shot(page, name + "_task")


def job_pages(s: Shooter, page, app) -> None:
    """后台任务 (web/jobs.py) as the unit: a job under way, then a real export run as a job
    (every export becomes one here) to its download, and the list."""
    import uuid

    from service.db.models import Account, Job
    from service.db.models import utcnow as now

    with app.app_context():
        owner = db.session.scalar(select(Account.id).where(Account.username == UNIT))
        running = Job(
            kind="member_archive_export",
            title="单位人员档案导出",
            owner_id=owner,
            params={"unit_id": 1},
            token=uuid.uuid4().hex,
            status="running",
            rows_done=7,  # half of the demo unit's 14 persons
            rows_total=14,
            attempts=1,
            created_at=now(),
            started_at=now(),
            heartbeat_at=now() + timedelta(minutes=5),  # the local worker leaves it alone
        )
        db.session.add(running)
        db.session.commit()
        running_id = running.id
        db.session.remove()
    s.shot(page, "unit_job_running", f"/jobs/{running_id}")
    config = app.extensions["memberflow"].config
    saved, config.job_sync_rows = config.job_sync_rows, 0
    try:
        page.goto(s.base + "/unit/members")
        page.locator("form.export").get_by_role("button", name="导出").click()
        page.get_by_role("link", name="下载 单位人员档案导出表.xlsx").wait_for()
        s.shot(page, "unit_job_done")
    finally:
        config.job_sync_rows = saved
    s.shot(page, "unit_jobs", "/jobs")


def feedback_pages(s: Shooter, page) -> None:
    """问题反馈 (web/feedback.py): the unit submits (with a wrong field first), the secretariat
    lists and replies, the unit reads the reply; `page` is signed in as the unit and is again
    at the end."""
    page.goto(s.base + "/feedback/new?category=报名条件咨询")
    page.get_by_label("标题").fill("找不到本单位人员" * 7)
    page.get_by_role("button", name="提交反馈").click()
    s.shot(page, "unit_feedback_errors")
    page.get_by_label("标题").fill("初始教育报名找不到本单位人员")
    page.get_by_label("问题描述").fill(
        "本单位张国栋已取得中级职称，认为符合初始教育报名条件，但报名时在单位人员档案中查找不到，请协助核实。"
    )
    page.get_by_label("截图或文件").set_input_files(
        files=[{"name": "截图.png", "mimeType": "image/png", "buffer": sample_png("document")}]
    )
    s.shot(page, "unit_feedback_form")
    page.get_by_role("button", name="提交反馈").click()
    s.shot(page, "unit_feedback_detail")
    page.context.clear_cookies()
    s.login(page, "admin")
    s.shot(page, "secretariat_feedback", "/feedback")
    page.get_by_role("link", name="处理：初始教育报名找不到本单位人员").click()
    page.get_by_label("回复内容").fill(
        "经核实，张国栋的职称证书尚未录入人员档案，请先通过个人信息变更补充职称后再报名。"
    )
    page.get_by_role("button", name="回复").click()
    s.shot(page, "secretariat_feedback_replied")
    page.context.clear_cookies()
    s.login(page, UNIT)
    s.shot(page, "unit_feedback_list", "/feedback")


def finance_pages(s: Shooter, page) -> None:
    """协会财务's lists (web/finance.py); `page` is signed in as finance."""
    s.shot(page, "finance_invoices", "/finance/invoices")
    s.shot(page, "finance_invoices_bad_range", "/finance/invoices?receipt_from=2026-12-31")
    s.shot(page, "finance_bills", "/finance/bills")
    s.shot(page, "finance_bills_waiting", "/finance/bills?status=paid")


def secretariat_pages(s: Shooter, page, app) -> None:
    """The secretariat's agencies, units and staff (web/secretariat.py), then the operators'
    pages with a failed step on them; `page` is signed in as the secretariat. Only jigou4 is
    changed (no later shot signs in with it)."""
    s.shot(page, "secretariat_agencies", "/admin/agencies")
    s.shot(page, "secretariat_agency_edit", "/admin/agencies/1")
    s.shot(page, "secretariat_units", "/admin/units")
    page.goto(s.base + "/admin/units/new")
    page.get_by_label("单位名称（全称）").fill(UNIT)
    page.get_by_label("统一社会信用代码").fill("91350100M000100Y44")
    page.get_by_role("button", name="保存").click()
    s.shot(page, "secretariat_unit_new_errors")
    s.shot(page, "secretariat_unit_edit", "/admin/units/1")
    s.shot(page, "secretariat_staff", "/admin/staff")
    s.shot(page, "secretariat_staff_new", "/admin/staff/new")
    page.goto(s.base + "/admin/staff?q=jigou4")
    page.once("dialog", lambda dialog: dialog.accept())  # 停用 and 重置密码 ask first
    page.get_by_role("button", name="停用 jigou4").click()
    s.shot(page, "secretariat_staff_disabled")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="重置密码 jigou4").click()
    s.shot(page, "secretariat_one_time_password")
    s.shot(page, "operations_process_map", "/processes/member_join/map")
    failed_step(app)
    s.shot(page, "operations_incidents", "/incidents")
    s.shot(page, "operations_migration", "/processes/member_join/migrations")


def failed_step(app) -> None:
    """A 流程出错 for the operators' page: a demo form waiting at 机构初审, its approval taken
    through the engine on a copy of its diagram whose agency gateway reads a misspelt name
    (a designer's mistake), and the failure recorded as the service records one."""
    from service.db.models import Account, ProcessInstance, UserTask
    from service.db.uow import UnitOfWork
    from service.engine.catalogue import build_definition
    from service.engine.runtime import EngineError, Instance
    from service.services.membership import accounts
    from service.services.workflow import incidents

    with app.app_context():
        ctx, session = app.extensions["memberflow"], db.session
        task = session.scalars(
            select(UserTask).where(UserTask.task_name == "agency_review", UserTask.state == "open")
        ).first()
        row = session.get(ProcessInstance, task.instance_id)
        reviewer = session.scalars(
            select(Account).where(
                Account.role == "agency_reviewer", Account.agency_id == row.agency_id
            )
        ).first()
        defn = ctx.definitions.version(session, row.definition_version_id)
        name = f"processes/{row.process_key}.bpmn"
        right = 'decision == "return"'
        assert right in defn.files[name], name
        broken = build_definition(
            row.process_key,
            {**defn.files, name: defn.files[name].replace(right, 'decison == "return"')},
        )
        data = {"decision": "approve", "remark": "材料齐全，同意"}
        try:
            Instance.load(broken, row.state).complete(task.engine_task_id, data)
        except EngineError as exc:
            incidents.record(
                ctx,
                UnitOfWork(session),
                accounts.actor_of(reviewer),
                exc,
                row.process_key,
                row.definition_version_id,
                row.id,
                task.task_name,
                data,
            )
        else:
            raise AssertionError("the misspelt condition did not fail")
        db.session.remove()


def member_pages(s: Shooter, page) -> None:
    """系统通知 as the unit (`page` is signed in as the unit), then a member's pages."""
    s.shot(page, "unit_notices", "/notices")
    page.context.clear_cookies()
    s.login(page, make_resident_id("44010619910606912"))  # 冯佩珊 (持证) in the demo
    s.shot(page, "member_profile", "/me")
    s.shot(page, "member_notices", "/notices")
    s.shot(page, "member_forms", "/forms")
    s.shot(page, "member_info_change_form", "/business/member_info_change/mine")


if __name__ == "__main__":
    started = time.perf_counter()
    run(Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots"))
    print(f"done in {time.perf_counter() - started:.1f} s")
