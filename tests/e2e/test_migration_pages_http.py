"""迁移流程版本 and 重试 on the pages, on both databases: the secretariat tries a plan (试运行,
nothing moves), executes it (the movable forms move, the others say why not), and after a
failed step migrates the form to the fixed version from the incidents list and retries it
there; the form's approval record shows the migration and the retry."""

from __future__ import annotations

import re

from conftest import in_db, open_task, seed_world, token_headers
from sqlalchemy import select
from test_migration_api import KEY, app_on, design, misspelt, submit, two_versions  # noqa: F401
from test_pages_http import TOKEN, sign_in, text

from service.db.models import Account


def _csrf(client, path: str) -> str:
    return TOKEN.search(text(client.get(path))).group(1)


def test_a_plan_is_tried_then_executed_from_the_page(two_versions):  # noqa: F811
    app, client, heads, (first, second, third) = two_versions
    sign_in(client, "admin")
    page = f"/processes/{KEY}/migrations"
    shown = text(client.get(page))
    assert "第 1 版" in shown and "第 2 版" in shown
    # the map offers the migration where there is a version to move to, and only there
    assert "迁移流程版本</a>" in text(client.get(f"/processes/{KEY}/map"))
    assert "迁移流程版本</a>" not in text(client.get("/processes/unit_name_change/map"))
    form = {"from_version": "1", "to_version": "2", "csrf_token": _csrf(client, page)}
    tried = client.post(page, data={**form, "action": "dry_run"})
    assert tried.status_code == 200
    html = text(tried)
    assert "试运行结果（未迁移）" in html and "办理中 3 件，可迁移 2 件，不能迁移 1 件" in html
    assert "不能迁移" in html and "association_review" in html
    assert ">第 1 版（3 份办理中）</option>" in html
    assert f'href="/forms/{first}"' in html  # the secretariat opens the forms
    done = client.post(page, data={**form, "action": "execute"})
    html = text(done)
    assert "迁移结果" in html and "已迁移 2 件" in html
    assert len(re.findall(r"s-已迁移", html)) == 2
    # the selector counts what is left on each version now, not before the migration
    assert ">第 1 版（1 份办理中）</option>" in html, html
    # the waiting step by its name, its id beside it
    assert '协会初审<br><span class="muted">association_review</span>' in html
    view = client.get(f"/api/v1/instances/{first}", headers=heads["admin"]).get_json()
    assert view["version"] == 2
    assert [r["task_title"] for r in view["approval_record"]][-1] == "迁移流程版本"
    # the same plan again: nothing left on version 1 that can move
    again = text(client.post(page, data={**form, "action": "dry_run"}))
    assert "办理中 1 件，可迁移 0 件" in again


def test_a_wrong_version_is_named_and_others_cannot_open_the_page(two_versions):  # noqa: F811
    app, client, heads, _forms = two_versions
    sign_in(client, "admin")
    page = f"/processes/{KEY}/migrations"
    token = _csrf(client, page)
    wrong = client.post(
        page,
        data={"from_version": "1", "to_version": "9", "action": "dry_run", "csrf_token": token},
    )
    assert wrong.status_code == 422 and "9" in text(wrong)
    bad = client.post(
        page,
        data={"from_version": "x", "to_version": "2", "action": "dry_run", "csrf_token": token},
    )
    assert bad.status_code == 422 and "版本应为正整数" in text(bad)
    for role in ("unit_admin", "agency_reviewer"):
        username = in_db(
            app,
            lambda s, role=role: s.scalar(
                select(Account.username).where(Account.role == role).limit(1)
            ),
        )
        other = app.test_client()
        sign_in(other, username)
        assert other.get(page).status_code == 404, role


def test_a_failed_step_is_migrated_and_retried_from_the_incidents_page(db_url, tmp_path):
    broken = app_on(db_url, tmp_path, design(tmp_path / "v1", misspelt))
    world = seed_world(broken)
    client = broken.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    inst = submit(client, heads, 0)
    task = open_task(client, heads["agency"], inst)
    failed = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=heads["agency"],
        json={"data": {"decision": "approve", "remark": "材料齐全"}},
    )
    number = failed.get_json()["errors"]["incident"]

    fixed = app_on(db_url, tmp_path, design(tmp_path / "v2"))
    pages = fixed.test_client()
    sign_in(pages, "admin")
    listed = text(pages.get("/incidents"))
    assert number in listed and "迁移版本" in listed
    retry = re.search(r'action="(/incidents/\d+/retry)"', listed).group(1)
    # retried before the migration: still broken, said on the list
    token = _csrf(pages, "/incidents")
    again = pages.post(retry, data={"csrf_token": token}, follow_redirects=True)
    assert "流程执行出错" in text(again)
    page = f"/processes/{KEY}/migrations"
    form = {"from_version": "1", "to_version": "2", "csrf_token": _csrf(pages, page)}
    assert "已迁移 1 件" in text(pages.post(page, data={**form, "action": "execute"}))
    done = pages.post(retry, data={"csrf_token": _csrf(pages, "/incidents")}, follow_redirects=True)
    assert "已重试，出错的步骤已完成" in text(done)
    assert "没有待处理的流程出错" in text(done)
    view = pages.get(f"/api/v1/instances/{inst}", headers=heads["admin"]).get_json()
    assert view["status"] == "协会初审中"
    titles = [r["task_title"] for r in view["approval_record"]]
    assert "迁移流程版本" in titles and "重试出错步骤" in titles


def test_a_designer_sees_the_forms_numbers_without_links_to_pages_closed_to_him(
    two_versions,  # noqa: F811
):
    """Designers plan migrations but open no form: its number is shown, not linked to a
    page that would answer 404."""
    from test_deploy_api import designer_headers

    app, client, heads, (first, _second, _third) = two_versions
    designer_headers(client)
    sign_in(client, "sheji")
    page = f"/processes/{KEY}/migrations"
    form = {"from_version": "1", "to_version": "2", "csrf_token": _csrf(client, page)}
    html = text(client.post(page, data={**form, "action": "dry_run"}))
    business_key = client.get(f"/api/v1/instances/{first}", headers=heads["admin"]).get_json()[
        "business_key"
    ]
    assert business_key in html and "/forms/" not in html
    assert client.get(f"/forms/{first}").status_code == 404


def test_a_task_mapping_is_typed_on_the_page(two_versions):  # noqa: F811
    app, client, heads, (first, second, third) = two_versions
    sign_in(client, "admin")
    page = f"/processes/{KEY}/migrations"
    form = {"from_version": "1", "to_version": "2", "csrf_token": _csrf(client, page)}
    bad = client.post(page, data={**form, "action": "dry_run", "task_map": "association_review"})
    assert bad.status_code == 422 and "原任务=新任务" in text(bad)
    mapping = {"task_map": "association_review=association_check"}
    tried = text(client.post(page, data={**form, **mapping, "action": "dry_run"}))
    assert "办理中 3 件，可迁移 3 件，不能迁移 0 件" in tried
    assert "association_review=association_check</textarea>" in tried
    done = text(client.post(page, data={**form, **mapping, "action": "execute"}))
    assert "已迁移 3 件" in done
    view = client.get(f"/api/v1/instances/{third}", headers=heads["admin"]).get_json()
    assert view["open_tasks"][0]["task_name"] == "association_check"
