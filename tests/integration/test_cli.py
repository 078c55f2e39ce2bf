"""The command line on a fresh SQLite database: db upgrade, create-admin, demo-data."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from click.testing import CliRunner

from service.cli import main as cli
from service.config import ConfigError, load_config


@pytest.fixture
def env(tmp_path, monkeypatch):
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.delenv("MEMBERFLOW_DATABASE_URL", raising=False)
    return tmp_path


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def test_a_fresh_database_is_upgraded_seeded_and_the_logins_printed(env):
    assert run("db", "upgrade") == (0, "数据库已升级到最新版本\n")
    assert (env / "memberflow.sqlite3").exists() and (env / "secret_key").exists()
    code, output = run("demo-data")
    assert code == 0, output
    for login in (
        "admin",
        "xiehui",
        "caiwu",
        "sheji",
        "jigou1",
        "jigou4",
        "广州珠江工程建设监理有限公司",
        "13800138000",
    ):
        assert login in output
    assert "个人会员" in output
    again_code, again = run("demo-data")
    assert again_code == 0 and again == output
    code, output = run("create-admin", "--username", "mishu", "--password", "mishu123")
    assert code == 0 and "mishu" in output
    code, output = run("create-admin", "--username", "mishu", "--password", "mishu123")
    assert code != 0 and "已被使用" in output
    code, _ = run(
        "create-admin", "--username", "mishu2", "--password", "mishu234", "--name", "李秘书"
    )
    assert code == 0
    from service import create_app
    from service.db import db
    from service.db.models import Account

    with create_app().app_context():
        names = dict(db.session.execute(sa.select(Account.username, Account.name)).all())
        db.session.remove()
    # the pages name a person, not a login: the role's name unless one is given
    assert (names["mishu"], names["mishu2"]) == ("秘书处管理员", "李秘书")


def test_the_demo_has_applications_at_every_status(env):
    run("db", "upgrade")
    run("demo-data")
    from service import create_app

    app = create_app()
    client = app.test_client()
    token = client.post(
        "/api/v1/auth/token", json={"username": "xiehui", "password": "demo1234"}
    ).get_json()
    headers = {"Authorization": f"Bearer {token['access_token']}"}
    summary = client.get("/api/v1/instances/summary?key=member_join", headers=headers).get_json()
    assert set(summary["counts"]) == {
        "单位预审中",
        "机构初审中",
        "协会初审中",
        "待缴费",
        "财务复核中",
        "审批完成",
        "退回",
    }
    # every business type is there, with bills and learning in every state
    keys = {
        i["process_key"]
        for i in client.get("/api/v1/instances?page_size=100", headers=headers).get_json()["items"]
    }
    assert len(keys) >= 11, keys  # the manual's nine and the unit's own two (manual 3.24)
    assert {"unit_name_change", "unit_membership_join"} <= keys
    bills = client.get("/api/v1/bills?page_size=100", headers=headers).get_json()["items"]
    assert {b["status"] for b in bills} == {"unpaid", "paid", "confirmed"}
    learning = client.get("/api/v1/learning-tasks", headers=headers).get_json()["items"]
    assert {t["status"] for t in learning} == {"开课未学习", "学习中", "已通过", "已过期"}
    certificates = client.get("/api/v1/certificates", headers=headers).get_json()["items"]
    assert {"有效", "已过期"} <= {c["status_label"] for c in certificates}
    from service.db import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_production_refuses_to_start_without_a_secret_key(env, monkeypatch):
    monkeypatch.setenv("MEMBERFLOW_ENV", "production")
    monkeypatch.delenv("MEMBERFLOW_SECRET_KEY", raising=False)
    with pytest.raises(ConfigError):
        load_config()
    monkeypatch.setenv("MEMBERFLOW_SECRET_KEY", "s3cret" * 6)
    assert load_config().secret_key == "s3cret" * 6


def test_an_uninitialised_database_is_explained(env):
    from service import create_app

    with pytest.raises(ConfigError, match="db upgrade"):
        create_app()


def test_commands_explain_an_uninitialised_database_without_a_traceback(env):
    code, output = run("demo-data")
    assert code == 1 and "memberflow db upgrade" in output and "Traceback" not in output


def test_fire_timers_runs_from_the_waiting_rows_and_trusts_the_engine(env):
    """Nothing in the demo is due yet. A waiting row that says otherwise is re-read from
    the engine's state (the truth) and mirrored again, and nothing fires early."""
    run("db", "upgrade")
    run("demo-data")
    assert run("fire-timers") == (0, "已触发 0 个到期的定时事件\n")
    # the demo's learning forms are finished or still wait for someone: none is stuck
    assert run("resume-forms") == (0, "已继续办理 0 张表单\n")
    from datetime import datetime

    from sqlalchemy import select, update

    from service import create_app
    from service.db import db
    from service.db.models import LearningTask, WaitingEvent

    app = create_app()

    def rows():
        with app.app_context():
            found = {
                (w.instance_id, w.correlation_key): w.due_at
                for w in db.session.scalars(
                    select(WaitingEvent).where(WaitingEvent.kind == "timer")
                )
            }
            learning = dict(
                db.session.execute(select(LearningTask.name, LearningTask.status)).all()
            )
            db.session.remove()
            db.engine.dispose()
        return found, learning

    before, learning_before = rows()
    assert before and all(due > datetime.now() for due in before.values())
    with app.app_context():
        db.session.execute(update(WaitingEvent).values(due_at=datetime(2000, 1, 1)))
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    assert run("fire-timers") == (0, "已触发 0 个到期的定时事件\n")
    after, learning_after = rows()
    assert after == before and learning_after == learning_before
