"""`memberflow create-admin`: the login obeys the rules of a staff login created over the
API (POST /staff), and a refusal is said in Chinese, one line a field, never a dict."""

from __future__ import annotations

import pytest
from click.testing import CliRunner
from conftest import PASSWORD, in_db, make_app, token_headers
from sqlalchemy import func, select

from service.cli import main as cli
from service.db.models import Account

STAFF_LOGIN = "登录名只能包含字母、数字、下划线或中文，不超过50个字"


@pytest.fixture
def env(db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path))
    monkeypatch.setenv("MEMBERFLOW_DATABASE_URL", db_url)
    return make_app(db_url, tmp_path)


def run(*args):
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.output


def _logins(app) -> list[str]:
    return in_db(app, lambda s: sorted(s.scalars(select(Account.username))))


@pytest.mark.parametrize(
    ("username", "reason"),
    [
        ("", "请填写登录名"),
        ("   ", "请填写登录名"),
        ("ab\x01cd", STAFF_LOGIN),
        ("mi\tshu", STAFF_LOGIN),
        ("mi shu", STAFF_LOGIN),
        ("mi-shu", STAFF_LOGIN),
        (
            "13812345678",
            "纯数字是个人会员证件号码和单位子账号手机号的登录名形式，工作人员登录名不能使用",
        ),
    ],
)
def test_a_login_a_staff_account_could_not_have_is_refused_and_nothing_created(
    env, username, reason
):
    code, output = run("create-admin", "--username", username, "--password", "abcdefgh12")
    assert (code, output) == (1, f"错误 {reason}\n")
    assert _logins(env) == []


def test_spaces_around_the_login_are_trimmed_as_sign_in_trims_them(env):
    code, output = run("create-admin", "--username", " mishu ", "--password", "abcdefgh12")
    assert (code, output) == (0, "已创建秘书处管理员 mishu\n")
    assert _logins(env) == ["mishu"]
    token_headers(env.test_client(), " mishu ", "abcdefgh12")  # signs in, as typed


def test_each_wrong_field_is_said_on_its_own_line_without_a_dict(env):
    code, output = run("create-admin", "--username", "mishu", "--password", "short")
    assert (code, output) == (1, "错误 密码至少8位\n")
    code, output = run("create-admin", "--username", "mi shu", "--password", "short")
    assert (code, output) == (1, f"错误 {STAFF_LOGIN}\n错误 密码至少8位\n")
    assert _logins(env) == []


def test_a_login_taken_long_ago_is_said_plainly_not_as_a_race(env):
    assert run("create-admin", "--username", "mishu", "--password", PASSWORD)[0] == 0
    code, output = run("create-admin", "--username", "MiShu", "--password", "abcdefgh12")
    assert code == 1
    assert output == "错误 已有同名账号，该登录名已被使用（登录名不区分大小写）\n"
    assert "刚刚" not in output
    count = in_db(env, lambda s: s.scalar(select(func.count()).select_from(Account)))
    assert count == 1
