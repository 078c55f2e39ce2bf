"""A command line Click refuses is said in Chinese, as the commands say their own errors:
the usage (用法：…), where the help is (帮助：… --help) and `错误 …` naming the option or
argument and what is wrong with it, where Click wrote Usage:, Try '…' and Error: in
English; a group given no command shows its help; the password asked twice says in Chinese
that the two differ, and an interrupted prompt 已取消."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from service.cli import main

ENGLISH = ("Usage:", "Error:", "Try '", "Aborted", "Options:", "Commands:")


def run(*args: str, stdin: str | None = None):
    result = CliRunner().invoke(main, list(args), input=stdin, prog_name="memberflow")
    for word in ENGLISH:
        assert word not in result.output, result.output
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("serve", "--port", "abc"), "错误 选项 '--port' 的值无效：“abc”不是有效的整数"),
        (("serve", "--workers", "0"), "错误 选项 '--workers' 的值无效：0 不在允许的范围（x>=1）内"),
        (("serve", "--prot"), "错误 没有选项 --prot（是否要用 --port、--host？）"),
        (("serve", "--port"), "错误 选项 --port 需要一个值"),
        (("serve", "extra"), "错误 多余的参数：extra"),
        (("nosuch",), "错误 没有命令“nosuch”"),
        (("create-admin",), "错误 缺少选项 '--username'"),
        (
            ("import-legacy", "/nonexistent.xlsx"),
            "错误 参数 'FILE' 的值无效：文件“/nonexistent.xlsx”不存在",
        ),
    ],
)
def test_a_refused_command_line_is_said_in_chinese(args, said):
    code, output = run(*args)
    assert code == 2, output
    assert output.rstrip().endswith(said), output


def test_the_usage_and_where_the_help_is_come_first():
    _code, output = run("serve", "--port", "abc")
    assert output.startswith("用法：memberflow serve [选项]\n帮助：memberflow serve --help\n"), (
        output
    )


def test_a_group_given_no_command_shows_its_help():
    code, output = run("db")
    assert code == 2
    assert output.startswith("用法：memberflow db [选项] 命令 [参数]..."), output
    assert "命令：" in output and "upgrade" in output


def test_two_different_passwords_are_said_in_chinese_and_asked_again():
    code, output = run("create-admin", "--username", "mishu", stdin="Xk8#pq2!vb\nother123x\n")
    assert code == 1, output
    assert "错误 两次输入的不一致，请重新输入" in output
    assert output.rstrip().endswith("已取消")  # asked again; the input ended
    assert "Xk8#pq2!vb" not in output
