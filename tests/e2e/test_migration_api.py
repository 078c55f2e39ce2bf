"""Migration plans over the API and the CLI: running join applications move from version 1
of member_join to version 2 (built from copies of the designers' files), those waiting at
a task version 2 no longer has stay, with the reason in Chinese; the moved ones complete
on version 2. And the failing-step scenario: a misspelt condition → an incident → the fix
deployed → the form migrated → the incident retried → the form completes. SQLite and
PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import (
    app_on_design,
    applicant_data,
    business_day,
    design_copy,
    form_values,
    open_task,
    seed_world,
    step_task,
    token_headers,
    upload,
)
from sqlalchemy import select

from service.cli import main as cli
from service.db.models import AuditRecord, UserTask
from service.domain.validation import make_resident_id

KEY = "member_join"
AGENCY_RETURN = 'sourceRef="agency_gateway" targetRef="return_merge">\n      <bpmn:conditionExpression xsi:type="bpmn:tFormalExpression">decision == "return"'  # noqa: E501
RECEIPT = {"decision": "approve", "receipt_number": "R-7"}  # dated at its use: receipt(client)
PEOPLE = ["44010619850315231", "44010219900620432", "44010319870101123", "44010419880202234"]


def design(root: Path, edit=None) -> Path:
    """A copy of member_join's files (its BPMN, the rules, its forms), edited by `edit`."""
    return design_copy(root, KEY, edit)


app_on = app_on_design


def replace_in(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, old
    path.write_text(text.replace(old, new), encoding="utf-8")


def version_two(root: Path) -> None:
    """Version 2: the agency review says 机构审核中; the association review is renamed
    (association_check), so a form waiting at association_review cannot move."""
    bpmn = root / "processes" / f"{KEY}.bpmn"
    replace_in(bpmn, 'value="机构初审中"', 'value="机构审核中"')
    replace_in(bpmn, "association_review", "association_check")
    forms = root / "forms" / KEY
    (forms / "association_review.schema.json").rename(forms / "association_check.schema.json")


def submit(client, heads, n: int) -> int:
    """A join application pre-reviewed by its unit: waiting at the agency."""
    data = applicant_data(client, heads["unit"], id_number=make_resident_id(PEOPLE[n]))
    started = client.post(
        f"/api/v1/processes/{KEY}/instances", headers=heads["unit"], json={"data": data}
    )
    assert started.status_code == 201, started.get_json()
    inst = started.get_json()["id"]
    values = form_values(client, heads["unit"], inst)
    step_task(
        client, heads["unit"], inst, {**values, "decision": "approve", "member_level": "普通会员"}
    )
    return inst


def receipt(client) -> dict:
    """Finance's approval with its receipt, dated the business day: not before the form's
    submission, nor after today."""
    return {**RECEIPT, "receipt_date": business_day(client)}


def finish(client, heads, inst: int, agency: bool = True) -> dict:
    """Approve the rest of the way: (agency,) association, payment, finance."""
    if agency:
        step_task(client, heads["agency"], inst, {"decision": "approve"})
    step_task(client, heads["association"], inst, {"decision": "approve"})
    step_task(client, heads["unit"], inst, {"fee_voucher": upload(client, heads["unit"])})
    return step_task(
        client, heads["finance"], inst, {**receipt(client), "receipt_number": f"R-{inst}"}
    )


@pytest.fixture
def two_versions(db_url, tmp_path):
    """Three forms on version 1 (two at the agency, one at the association), then the
    server restarted on version 2's files."""
    old = app_on(db_url, tmp_path, design(tmp_path / "v1"))
    world = seed_world(old)
    client = old.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    first, second, third = (submit(client, heads, n) for n in range(3))
    step_task(client, heads["agency"], third, {"decision": "approve"})  # → 协会初审中
    new = app_on(db_url, tmp_path, design(tmp_path / "v2", version_two))
    return new, new.test_client(), heads, (first, second, third)


def test_a_dry_run_says_which_forms_can_move_and_why_not(two_versions):
    app, client, heads, (first, second, third) = two_versions
    url = f"/api/v1/processes/{KEY}/migrations"
    body = {"from_version": 1, "to_version": 2}
    assert client.post(url, headers=heads["unit"], json=body).status_code == 404
    assert client.post(url, headers=heads["association"], json=body).status_code == 404
    reply = client.post(url, headers=heads["admin"], json=body)
    assert reply.status_code == 200, reply.get_json()
    plan = reply.get_json()
    assert (plan["dry_run"], plan["total"], plan["movable"], plan["not_movable"]) == (
        True,
        3,
        2,
        1,
    )
    assert plan["migrated"] == 0
    items = {i["id"]: i for i in plan["items"]}
    assert items[first]["movable"] and items[first]["reasons"] == []
    assert items[first]["waiting"] == ["agency_review"]
    assert not items[third]["movable"]
    assert items[third]["reasons"] == [
        "等待中的任务「协会初审」（association_review）在版本2中不存在"
    ]
    # nothing moved
    view = client.get(f"/api/v1/instances/{first}", headers=heads["admin"]).get_json()
    assert (view["version"], view["status"]) == (1, "机构初审中")

    for bad, field in (
        ({"from_version": 1, "to_version": 9}, "to_version"),
        ({"from_version": 7, "to_version": 2}, "from_version"),
        ({"from_version": 2, "to_version": 2}, "to_version"),
        ({"from_version": 1}, "to_version"),
        ({"from_version": "一", "to_version": 2}, "from_version"),
    ):
        refused = client.post(url, headers=heads["admin"], json=bad)
        assert refused.status_code == 422, (bad, refused.get_json())
        assert field in refused.get_json()["errors"], refused.get_json()
    missing = client.post("/api/v1/processes/nope/migrations", headers=heads["admin"], json=body)
    assert missing.status_code == 404


def test_executing_the_plan_moves_the_movable_forms_which_then_complete_on_version_2(
    two_versions,
):
    app, client, heads, (first, second, third) = two_versions
    reply = client.post(
        f"/api/v1/processes/{KEY}/migrations",
        headers=heads["admin"],
        json={"from_version": 1, "to_version": 2, "dry_run": False},
    )
    assert reply.status_code == 200, reply.get_json()
    plan = reply.get_json()
    assert (plan["total"], plan["migrated"], plan["not_movable"]) == (3, 2, 1)
    moved = {i["id"] for i in plan["items"] if i["migrated"]}
    assert moved == {first, second}

    for inst in (first, second):
        view = client.get(f"/api/v1/instances/{inst}", headers=heads["agency"]).get_json()
        assert (view["version"], view["status"]) == (2, "机构审核中")
        assert [(t["task_name"], t["status"]) for t in view["open_tasks"]] == [
            ("agency_review", "机构审核中")
        ]
    # the reviewer's queue shows the same task row, relabelled
    queue = client.get("/api/v1/tasks?scope=available", headers=heads["agency"]).get_json()
    assert sorted(t["instance"]["id"] for t in queue["items"]) == [first, second]
    assert {t["status"] for t in queue["items"]} == {"机构审核中"}
    stayed = client.get(f"/api/v1/instances/{third}", headers=heads["admin"]).get_json()
    assert (stayed["version"], stayed["status"]) == (1, "协会初审中")

    with app.app_context():
        from service.db import db

        records = db.session.scalars(
            select(AuditRecord).where(AuditRecord.action == "migrate").order_by(AuditRecord.id)
        ).all()
        assert [(r.instance_id, r.remark, r.actor_name) for r in records] == [
            (first, "迁移至版本 2", "秘书处管理员"),
            (second, "迁移至版本 2", "秘书处管理员"),
        ]
        assert records[0].detail == {"from_version": 1, "to_version": 2}
        assert (records[0].status_before, records[0].status_after) == ("机构初审中", "机构审核中")
        db.session.remove()

    # on version 2 the association task is association_check, and the form completes
    after = step_task(client, heads["agency"], first, {"decision": "approve"})
    assert [t["task_name"] for t in after["open_tasks"]] == ["association_check"]
    assert finish(client, heads, first, agency=False)["status"] == "审批完成"
    # the one left on version 1 completes there
    assert finish(client, heads, third, agency=False)["status"] == "审批完成"

    # running the plan again finds only what stayed
    again = client.post(
        f"/api/v1/processes/{KEY}/migrations",
        headers=heads["admin"],
        json={"from_version": 1, "to_version": 2, "dry_run": False},
    ).get_json()
    assert (again["total"], again["migrated"]) == (0, 0)


def test_one_form_migrates_alone_or_is_refused_with_its_reasons(two_versions):
    app, client, heads, (first, second, third) = two_versions
    url = f"/api/v1/instances/{third}/migrate"
    refused = client.post(url, headers=heads["admin"], json={"to_version": 2})
    assert refused.status_code == 409, refused.get_json()
    body = refused.get_json()
    assert body["errors"]["reasons"] == [
        "等待中的任务「协会初审」（association_review）在版本2中不存在"
    ]
    assert "不能迁移至版本 2" in body["message"]
    checked = client.post(url, headers=heads["admin"], json={"to_version": 2, "dry_run": True})
    assert checked.status_code == 200 and checked.get_json()["movable"] is False

    url = f"/api/v1/instances/{first}/migrate"
    assert client.post(url, headers=heads["unit"], json={"to_version": 2}).status_code == 404
    same = client.post(url, headers=heads["admin"], json={"to_version": 1})
    assert same.status_code == 422 and "to_version" in same.get_json()["errors"]
    done = client.post(url, headers=heads["admin"], json={"to_version": 2})
    assert done.status_code == 200, done.get_json()
    assert done.get_json()["migrated"] is True and done.get_json()["status"] == "机构审核中"
    # and back: version 1 has every task the form waits at
    back = client.post(url, headers=heads["admin"], json={"to_version": 1})
    assert back.status_code == 200 and back.get_json()["status"] == "机构初审中"
    assert finish(client, heads, first)["status"] == "审批完成"


def test_a_form_whose_data_fails_the_new_form_is_not_movable(db_url, tmp_path):
    old = app_on(db_url, tmp_path, design(tmp_path / "v1"))
    world = seed_world(old)
    client = old.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    inst = submit(client, heads, 0)

    def stricter(root: Path) -> None:  # the agency's form shows the mobile, and only 139…
        path = root / "forms" / KEY / "agency_review.schema.json"
        replace_in(
            path,
            '"allOf"',
            '"properties": {"mobile": {"title": "手机号码", "readOnly": true, '
            '"type": "string", "pattern": "^139"}, "referee": {"title": "推荐人", '
            '"readOnly": true, "type": "string"}}, "required": ["referee"], "allOf"',
        )

    new = app_on(db_url, tmp_path, design(tmp_path / "v2", stricter))
    reply = new.test_client().post(
        f"/api/v1/instances/{inst}/migrate",
        headers=heads["admin"],
        json={"to_version": 2, "dry_run": True},
    )
    assert reply.status_code == 200, reply.get_json()
    assert sorted(reply.get_json()["reasons"]) == [
        "任务「机构初审」在版本2的表单中「推荐人」为必填项，表单数据中没有该项",
        "任务「机构初审」在版本2的表单中：「手机号码」填写有误",
    ]
    assert reply.get_json()["movable"] is False


def test_the_command_line_runs_a_plan(two_versions, db_url, tmp_path, monkeypatch):
    app, client, heads, (first, second, third) = two_versions
    root = tmp_path / "v2"
    for name, value in (
        ("DATABASE_URL", db_url),
        ("INSTANCE_DIR", str(tmp_path)),
        ("FILES_DIR", str(tmp_path / "files")),
        ("SECRET_KEY", "test-secret"),
        ("PROCESSES_DIR", str(root / "processes")),
        ("RULES_DIR", str(root / "rules")),
        ("FORMS_DIR", str(root / "forms")),
    ):
        monkeypatch.setenv(f"MEMBERFLOW_{name}", value)
    dry = CliRunner().invoke(cli, ["migrate", KEY, "--from", "1", "--to", "2", "--dry-run"])
    assert dry.exit_code == 1, dry.output  # one form cannot move
    assert "可迁移 2 张，不能迁移 1 张" in dry.output
    assert "等待中的任务「协会初审」（association_review）在版本2中不存在" in dry.output
    done = CliRunner().invoke(cli, ["migrate", KEY, "--from", "1", "--to", "2"])
    assert "已迁移 2 张" in done.output, done.output
    view = client.get(f"/api/v1/instances/{second}", headers=heads["admin"]).get_json()
    assert view["version"] == 2
    bad = CliRunner().invoke(cli, ["migrate", KEY, "--from", "1", "--to", "5"])
    assert bad.exit_code == 1 and "没有版本 5" in bad.output
    # the form waiting at the renamed task moves with a mapping (--map OLD=NEW)
    args = ["migrate", KEY, "--from", "1", "--to", "2"]
    wrong = CliRunner().invoke(cli, [*args, "--map", "association_review"])
    assert wrong.exit_code == 2 and "原任务=新任务" in wrong.output
    unfit = CliRunner().invoke(cli, [*args, "--map", "association_review=agency_review"])
    assert unfit.exit_code == 1 and "不在同一泳道" in unfit.output
    mapped = CliRunner().invoke(cli, [*args, "--map", "association_review=association_check"])
    assert mapped.exit_code == 0 and "已迁移 1 张" in mapped.output, mapped.output
    view = client.get(f"/api/v1/instances/{third}", headers=heads["admin"]).get_json()
    assert view["version"] == 2 and view["open_tasks"][0]["task_name"] == "association_check"


# --- the failing step: incident, fix, migration, retry --------------------------------------


def misspelt(root: Path) -> None:
    """The agency gateway reads `decison`: the agency's step fails at run time."""
    replace_in(
        root / "processes" / f"{KEY}.bpmn",
        AGENCY_RETURN,
        AGENCY_RETURN.replace("decision ==", "decison =="),
    )


def test_a_failed_step_is_retried_after_migrating_to_the_fixed_version(db_url, tmp_path):
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
    assert failed.status_code == 409, failed.get_json()
    number = failed.get_json()["errors"]["incident"]
    [incident] = client.get("/api/v1/incidents", headers=heads["admin"]).get_json()["items"]
    assert incident["number"] == number
    # retried on the broken version: fails again, counted on the same incident
    url = f"/api/v1/incidents/{incident['id']}/retry"
    assert client.post(url, headers=heads["unit"]).status_code == 404
    again = client.post(url, headers=heads["admin"])
    assert again.status_code == 409 and again.get_json()["errors"]["incident"] == number
    listed = client.get("/api/v1/incidents", headers=heads["admin"]).get_json()["items"]
    assert listed[0]["occurrences"] == 2

    fixed = app_on(db_url, tmp_path, design(tmp_path / "v2"))  # the designer's fix
    client = fixed.test_client()
    moved = client.post(
        f"/api/v1/instances/{inst}/migrate", headers=heads["admin"], json={"to_version": 2}
    )
    assert moved.status_code == 200, moved.get_json()
    retried = client.post(url, headers=heads["admin"])
    assert retried.status_code == 200, retried.get_json()
    result = retried.get_json()
    assert result["incident"]["status"] == "closed"
    assert result["incident"]["resolution"] == "重试成功（版本 2）"
    assert result["status"] == "协会初审中"
    assert [t["task_name"] for t in result["open_tasks"]] == ["association_review"]
    view = client.get(f"/api/v1/instances/{inst}", headers=heads["admin"]).get_json()
    agency_step = [r for r in view["approval_record"] if r.get("task_name") == "agency_review"]
    assert agency_step[-1]["actor_name"] == "广州初审员"
    assert agency_step[-1]["remark"] == "材料齐全"
    assert client.get("/api/v1/incidents", headers=heads["admin"]).get_json()["total"] == 0
    assert client.post(url, headers=heads["admin"]).status_code == 409  # already settled
    assert finish(client, heads, inst, agency=False)["status"] == "审批完成"
    with fixed.app_context():
        from service.db import db

        actions = db.session.scalars(
            select(AuditRecord.action)
            .where(AuditRecord.instance_id == inst)
            .order_by(AuditRecord.id)
        ).all()
        assert "migrate" in actions and "retry" in actions
        assert actions.index("migrate") < actions.index("retry")
        assert (
            db.session.scalar(
                select(UserTask.state).where(
                    UserTask.instance_id == inst, UserTask.task_name == "agency_review"
                )
            )
            == "completed"
        )
        db.session.remove()


def test_a_form_waiting_to_pay_keeps_its_deadline_and_a_step_it_took_must_exist(db_url, tmp_path):
    old = app_on(db_url, tmp_path, design(tmp_path / "v1"))
    world = seed_world(old)
    client = old.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    inst = submit(client, heads, 0)
    step_task(client, heads["agency"], inst, {"decision": "approve"})
    paying = step_task(client, heads["association"], inst, {"decision": "approve"})
    assert paying["status"] == "待缴费"

    def deadlines(app) -> list:
        with app.app_context():
            from service.db import db
            from service.db.models import WaitingEvent

            found = db.session.execute(
                select(WaitingEvent.kind, WaitingEvent.name, WaitingEvent.due_at).where(
                    WaitingEvent.instance_id == inst
                )
            ).all()
            db.session.remove()
        return [tuple(r) for r in found]

    before = deadlines(old)
    assert [kind for kind, _, due in before if due is not None] == ["timer"]
    app_on(db_url, tmp_path, design(tmp_path / "v2", version_two))  # version 2
    relabel = lambda root: replace_in(  # noqa: E731
        root / "processes" / f"{KEY}.bpmn", 'value="待缴费"', 'value="等待缴费"'
    )
    new = app_on(db_url, tmp_path, design(tmp_path / "v3", relabel))  # version 3
    client = new.test_client()
    url = f"/api/v1/instances/{inst}/migrate"
    refused = client.post(url, headers=heads["admin"], json={"to_version": 2})
    assert refused.status_code == 409
    assert refused.get_json()["errors"]["reasons"] == [
        "已办理的步骤「协会初审」（association_review）在版本2中不存在"
    ]
    moved = client.post(url, headers=heads["admin"], json={"to_version": 3})
    assert moved.status_code == 200, moved.get_json()
    assert moved.get_json()["status"] == "等待缴费"
    assert deadlines(new) == before  # the 30-day payment deadline did not start over
    step_task(client, heads["unit"], inst, {"fee_voucher": upload(client, heads["unit"])})
    assert step_task(client, heads["finance"], inst, receipt(client))["status"] == "审批完成"


def test_the_person_submitting_again_after_the_fix_closes_the_incident(db_url, tmp_path):
    """The 409 tells the reviewer to submit again once fixed: when he does (the form
    migrated to the fixed version), the step's open incident is closed, saying by whom —
    not left open to be retried on a finished form."""
    broken = app_on(db_url, tmp_path, design(tmp_path / "v1", misspelt))
    world = seed_world(broken)
    client = broken.test_client()
    heads = {who: token_headers(client, name) for who, name in world.logins.items()}
    inst = submit(client, heads, 0)
    task = open_task(client, heads["agency"], inst)
    failed = client.post(
        f"/api/v1/tasks/{task['id']}/complete",
        headers=heads["agency"],
        json={"data": {"decision": "approve"}},
    )
    assert failed.status_code == 409, failed.get_json()
    number = failed.get_json()["errors"]["incident"]

    fixed = app_on(db_url, tmp_path, design(tmp_path / "v2"))
    client = fixed.test_client()
    moved = client.post(
        f"/api/v1/instances/{inst}/migrate", headers=heads["admin"], json={"to_version": 2}
    )
    assert moved.status_code == 200, moved.get_json()
    done = step_task(client, heads["agency"], inst, {"decision": "approve"})
    assert done["status"] == "协会初审中"
    assert client.get("/api/v1/incidents", headers=heads["admin"]).get_json()["total"] == 0
    [closed] = client.get("/api/v1/incidents?status=closed", headers=heads["admin"]).get_json()[
        "items"
    ]
    assert closed["number"] == number and closed["status_label"] == "已处理"
    assert closed["resolution"] == "已由广州初审员重新提交解决"
    assert closed["closed_at"] and not closed["retryable"]
    retried = client.post(f"/api/v1/incidents/{closed['id']}/retry", headers=heads["admin"])
    assert retried.status_code == 409 and "已处理" in retried.get_json()["message"]


def test_a_renamed_task_is_mapped_and_the_form_waiting_at_it_moves_keeping_its_claim(
    two_versions,
):
    """Version 2 renames association_review to association_check: with a task mapping the
    form waiting there moves onto the renamed task, with the same task row, its claim and
    its record; a mapping that does not fit is a 422 naming task_map."""
    app, client, heads, (first, second, third) = two_versions
    url = f"/api/v1/processes/{KEY}/migrations"
    task = open_task(client, heads["association"], third)
    claimed = client.post(f"/api/v1/tasks/{task['id']}/claim", headers=heads["association"])
    assert claimed.status_code == 200, claimed.get_json()
    for wrong, words in (
        ({"agency_review": "association_check"}, "仍存在，无需映射"),
        ({"association_review": "no_such_task"}, "版本2没有用户任务 no_such_task"),
        ({"association_review": "agency_review"}, "不在同一泳道"),
    ):
        refused = client.post(
            url,
            headers=heads["admin"],
            json={"from_version": 1, "to_version": 2, "task_map": wrong},
        )
        assert refused.status_code == 422, (wrong, refused.get_json())
        assert words in refused.get_json()["errors"]["task_map"], refused.get_json()
    mapping = {"association_review": "association_check"}
    tried = client.post(
        url,
        headers=heads["admin"],
        json={"from_version": 1, "to_version": 2, "task_map": mapping},
    ).get_json()
    assert (tried["movable"], tried["not_movable"]) == (3, 0), tried
    done = client.post(
        url,
        headers=heads["admin"],
        json={"from_version": 1, "to_version": 2, "dry_run": False, "task_map": mapping},
    ).get_json()
    assert done["migrated"] == 3, done
    view = client.get(f"/api/v1/instances/{third}", headers=heads["association"]).get_json()
    assert view["version"] == 2
    [moved] = view["open_tasks"]
    assert (moved["id"], moved["task_name"]) == (task["id"], "association_check")
    mine = client.get("/api/v1/tasks?scope=mine", headers=heads["association"]).get_json()
    assert [t["id"] for t in mine["items"]] == [task["id"]]  # still his claim
    assert finish(client, heads, third, agency=False)["status"] == "审批完成"
    record = client.get(f"/api/v1/instances/{third}", headers=heads["admin"]).get_json()
    steps = [r.get("task_name") for r in record["approval_record"]]
    assert "agency_review" in steps and "association_check" in steps
