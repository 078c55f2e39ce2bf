"""The unit's 修改并重新提交 page shows the standing 退回原因 above the form it corrects — who
returned it, at which step, when, and the reason with its line breaks — not only in 审批记录
at the foot of the page (on a phone some 4,500 px further down). Any business: a join
returned by the agency and again by the unit itself at 单位预审, a 单位名称变更 returned by the
association. Once resubmitted the notice is gone. The form's page (我的业务) says it too.
SQLite and PostgreSQL."""

from __future__ import annotations

import html
import re

from conftest import form_values, open_task, start_form, upload
from test_member_join_api import approve_to_end, complete, start_join, step
from test_pages_http import sign_in, text

REASON = "学历证书不清晰，请重新上传\n身份证背面照片模糊"


def notice(page: str) -> str | None:
    """The 退回原因 notice of a page, its text unescaped, or None."""
    found = re.search(r'<div class="returned-notice"[^>]*>(.*?)</div>\s*</div>', page, re.S)
    return html.unescape(found.group(1)) if found else None


def task_page(client, task_id: int) -> str:
    reply = client.get(f"/workbench/tasks/{task_id}")
    assert reply.status_code == 200
    return text(reply)


def test_a_returned_join_shows_the_latest_reason_above_the_form(client, login, world):
    joined = start_join(client, login)
    approve_to_end(client, login, joined["id"], stop_at="agency_review")
    task = open_task(client, login("agency"), joined["id"])
    complete(client, login("agency"), task["id"], {"decision": "return", "remark": REASON})

    sign_in(client, world.logins["unit"])
    resubmit = open_task(client, login("unit"), joined["id"])
    assert resubmit["task_name"] == "unit_resubmit"
    page = task_page(client, resubmit["id"])
    shown = notice(page)
    assert shown is not None, "no 退回原因 above the form"
    assert "广州初审员" in shown and "机构初审" in shown and "退回原因" in shown
    assert re.search(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}", shown)  # when
    assert REASON in shown  # the line break kept as typed (the box keeps it: pre-line)
    # above the form, and above the application's data and the record
    at = page.index('class="returned-notice"')
    assert at < page.index(f'action="/workbench/tasks/{resubmit["id"]}"')
    assert at < page.index('id="h-record"')

    # the form's page, where the unit opens it from 我的业务, says it too
    detail = text(client.get(f"/forms/{joined['id']}"))
    assert REASON in (notice(detail) or "")

    # resubmitted: nothing returned stands; the agency's page has no notice
    values = form_values(client, login("unit"), joined["id"])
    step(client, login, joined["id"], "unit", {**values, "member_level": "普通会员"})
    sign_in(client, world.logins["agency"])
    again = open_task(client, login("agency"), joined["id"])
    assert notice(task_page(client, again["id"])) is None

    # returned a second time: the latest reason, not the first
    complete(client, login("agency"), again["id"], {"decision": "return", "remark": "职称证明缺失"})
    sign_in(client, world.logins["unit"])
    shown = notice(task_page(client, open_task(client, login("unit"), joined["id"])["id"]))
    assert "职称证明缺失" in shown and "学历证书不清晰" not in shown


def test_a_join_the_unit_returned_at_pre_review_shows_its_own_reason(client, login, world):
    joined = start_join(client, login)
    values = form_values(client, login("unit"), joined["id"])
    step(client, login, joined["id"], "unit", {**values, "decision": "return", "remark": REASON})
    sign_in(client, world.logins["unit"])
    shown = notice(task_page(client, open_task(client, login("unit"), joined["id"])["id"]))
    assert shown is not None and REASON in shown and "单位预审" in shown


def test_any_business_returned_shows_its_reason_above_the_form(client, login, world):
    unit = login("unit")
    data = {"new_name": "广州珠江工程咨询集团有限公司", "business_licence": upload(client, unit)}
    renamed = start_form(client, unit, "unit_name_change", data)
    step(client, login, renamed["id"], "agency", {"decision": "approve", "remark": "同意"})
    step(
        client,
        login,
        renamed["id"],
        "association",
        {"decision": "return", "remark": "营业执照须加盖公章\n请重新上传"},
    )
    sign_in(client, world.logins["unit"])
    task = open_task(client, unit, renamed["id"])
    assert task["task_name"] == "unit_resubmit"
    page = task_page(client, task["id"])
    shown = notice(page)
    assert shown is not None and "营业执照须加盖公章\n请重新上传" in shown
    assert "协会审核员" in shown and "协会复核" in shown
    assert page.index('class="returned-notice"') < page.index(
        f'action="/workbench/tasks/{task["id"]}"'
    )
