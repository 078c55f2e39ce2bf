"""`memberflow import-legacy FILE`: dry run, all or nothing, the same file twice."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import in_db, make_app
from legacy_workbook import AGENCY, person, workbook
from sqlalchemy import func, select

from service.cli import main as cli
from service.db import db
from service.db.models import Certificate, Member
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.services.membership import accounts


@pytest.fixture
def env(db_url, tmp_path, monkeypatch):
    """The command's environment on a database holding the agency the rows name."""
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("MEMBERFLOW_DATABASE_URL", db_url)
    app = make_app(db_url, tmp_path)
    with app.app_context(), UnitOfWork(db.session) as uow:
        accounts.create_agency(uow, Actor(None, "admin", "secretariat_admin"), AGENCY, "广州")
    return app


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _members(session) -> tuple[int, int]:
    return (
        session.scalar(select(func.count()).select_from(Member)),
        session.scalar(select(func.count()).select_from(Certificate)),
    )


def test_the_command_checks_imports_and_reimports_a_file_without_change(env, tmp_path):
    path = tmp_path / "单位人员档案导出表.xlsx"
    path.write_bytes(workbook([person(i) for i in range(1, 4)]))

    code, output = run("import-legacy", "--dry-run", str(path))
    assert code == 0, output
    assert "试导入（未写入） 单位人员档案导出表.xlsx：共3行，正确3行，有误0行" in output
    assert "个人会员：新增3，更新0，无变化0" in output
    assert in_db(env, _members) == (0, 0)

    code, output = run("import-legacy", str(path))
    assert code == 0, output
    assert "已导入" in output and "单位：新增1" in output and "证书：新增4" in output
    assert in_db(env, _members) == (3, 4)

    code, output = run("import-legacy", str(path))
    assert code == 0, output
    assert "个人会员：新增0，更新0，无变化3" in output
    assert "证书：新增0，更新0，无变化4" in output
    assert in_db(env, _members) == (3, 4)


def test_the_command_refuses_a_file_with_an_invalid_row_and_writes_nothing(env, tmp_path):
    path = tmp_path / "bad.xlsx"
    path.write_bytes(workbook([person(5), person(6, **{"手机号": "12345"})]))
    code, output = run("import-legacy", str(path))
    assert code == 1
    assert "共2行，其中1行有误，未导入任何记录" in output
    assert "第3行.手机号：手机号码应为11位中国大陆手机号" in output
    assert in_db(env, _members) == (0, 0)
