"""Every `memberflow … --help` reads in Chinese: the operators and process designers read it.

Each command and subcommand, found by walking the `memberflow` group, is asked for its help.
With the headings (用法：, 选项：, 命令：, which Click writes in English without
`ChineseFormatter`), the usage line and the option names and
metavars taken away, what is left — the command's description, each listed command's short
help and each option's help, Click's own --help included — must hold Chinese and no English
phrase (three English words in a row): an English docstring that merely names a Chinese term
("Send the 业务消息 due now …") is still English. Identifiers stay as they are (MEMBERFLOW_…,
processes/, --dev, gunicorn), as do the bracketed notes ([默认：…], [必填], [x>=1]).

The second half shows the check fails: on a command written in English, and on a plain Click
command whose --help still says "Show this message and exit.".
"""

from __future__ import annotations

import re

import click
import pytest
from click.testing import CliRunner

from service.cli import ChineseHelpGroup, main

CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
ENGLISH_PHRASE = re.compile(r"[A-Za-z][A-Za-z'’-]*(?:[ ,;:]+[A-Za-z][A-Za-z'’-]*){2,}")
CLICK_NOTE = re.compile(r"\s*\[[^\[\]]*\]\s*$")  # [默认：60; x>=1], [必填]
HEADINGS = ("用法：", "选项：", "命令：")
ENGLISH_HEADINGS = {"Usage:": "用法：", "Options:": "选项：", "Commands:": "命令："}


def _walk(group: click.Group, path: tuple[str, ...] = ()):
    """(path, command) for the group itself and every command and subcommand below it."""
    yield path, group
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from _walk(command, (*path, name))
        else:
            yield (*path, name), command


COMMANDS = list(_walk(main))


def _sections(output: str) -> dict[str, list[str]]:
    """The help's lines by section: "description" (after the usage), "选项：", "命令："."""
    lines = output.splitlines()
    assert lines and lines[0].startswith(("用法：", "Usage:")), output
    sections: dict[str, list[str]] = {"description": [], "选项：": [], "命令：": []}
    current = None
    for line in lines[1:]:
        heading = ENGLISH_HEADINGS.get(line.strip(), line.strip())
        if heading in HEADINGS:
            current = heading
        elif current is None and not line.strip():
            current = "description"  # the usage (maybe wrapped) ends at the first blank line
        elif current is not None:
            sections[current].append(line)
    return sections


def _rows(lines: list[str]) -> dict[str, str]:
    """A definition list's rows: first word of the name column -> its text, lines joined.

    A row starts two spaces in; its name column (names and metavar, single spaces) ends at
    two or more spaces; lines indented deeper continue the text (a long name column puts
    all of it on the following lines)."""
    rows: dict[str, str] = {}
    name = None
    for line in lines:
        if re.match(r"^  \S", line):
            names, _, text = line.strip().partition("  ")
            name = re.split(r"[ ,/]", names)[0]
            rows[name] = text.strip()
        elif line.strip() and name is not None:
            rows[name] = f"{rows[name]} {line.strip()}".strip()
    return rows


def _not_chinese(text: str) -> str | None:
    """Why this text is not a Chinese text, or None."""
    text = CLICK_NOTE.sub("", text).strip()
    if not CJK.search(text):
        return f"没有中文：{text!r}"
    if phrase := ENGLISH_PHRASE.search(text):
        return f"含英文句子 {phrase.group()!r}：{text!r}"
    return None


def _problems(command: click.Command, output: str) -> list[str]:
    """Every part of one command's help output that is not Chinese."""
    problems = []
    if "Show this message and exit" in output:
        problems.append("--help 仍是 Click 的英文说明 Show this message and exit")
    sections = _sections(output)
    if why := _not_chinese(" ".join(line.strip() for line in sections["description"])):
        problems.append(f"命令说明{why}")
    options = _rows(sections["选项："])
    expected = [p.opts[0] for p in command.params if isinstance(p, click.Option) and not p.hidden]
    for opt in [*expected, "--help"]:
        if opt not in options:
            problems.append(f"{opt} 未列在选项中")
        elif why := _not_chinese(options[opt]):
            problems.append(f"{opt} 的说明{why}")
    if isinstance(command, click.Group):
        listed = _rows(sections["命令："])
        for name, sub in command.commands.items():
            if sub.hidden:
                continue
            if name not in listed:
                problems.append(f"子命令 {name} 未列在命令中")
            elif why := _not_chinese(listed[name]):
                problems.append(f"子命令 {name} 的简要说明{why}")
    english = [line.strip() for line in output.splitlines() if line.strip() in ENGLISH_HEADINGS]
    if output.startswith("Usage:"):
        english.insert(0, "Usage:")
    if english:
        problems.append(f"标题仍是 Click 的英文：{'、'.join(dict.fromkeys(english))}")
    return problems


def test_the_walk_finds_every_command_and_subgroup():
    paths = {" ".join(path) for path, _ in COMMANDS}
    # the late-registered modules (cli_deploy, cli_migrate) and the db subgroup are walked
    assert {"", "db", "db upgrade", "serve", "check", "deploy", "versions", "migrate"} <= paths
    assert len(paths) >= 16


@pytest.mark.parametrize(
    ("path", "command"),
    COMMANDS,
    ids=[" ".join(("memberflow", *path)) for path, _ in COMMANDS],
)
def test_help_is_chinese(path, command):
    result = CliRunner().invoke(main, [*path, "--help"], prog_name="memberflow")
    assert result.exit_code == 0, result.output
    assert _problems(command, result.output) == [], result.output


def _english() -> click.Group:
    @click.group(cls=ChineseHelpGroup, help="内部测试用的命令组。")
    def group() -> None:
        pass

    @group.command(help="Send the 业务消息 due now by email and SMS.")
    @click.option("--port", default=5000, show_default=True, help="端口")
    @click.option("--tick", help="Seconds between runs of the timers job.")
    def english() -> None:
        pass

    @group.command("plain", cls=click.Command, help="普通的 Click 命令。")
    @click.option("--host", help="监听地址")
    def plain() -> None:
        pass

    return group


def test_the_check_finds_english_help():
    group = _english()
    result = CliRunner().invoke(group, ["english", "--help"])
    assert result.exit_code == 0, result.output
    problems = _problems(group.commands["english"], result.output)
    assert len(problems) == 2, problems
    assert problems[0].startswith("命令说明含英文句子 'due now by email and SMS'")
    assert problems[1].startswith("--tick 的说明没有中文")
    listed = CliRunner().invoke(group, ["--help"])
    assert any("子命令 english" in p for p in _problems(group, listed.output))


def test_the_check_finds_clicks_english_help_option():
    group = _english()
    result = CliRunner().invoke(group, ["plain", "--help"])
    assert result.exit_code == 0, result.output
    problems = _problems(group.commands["plain"], result.output)
    assert problems[0] == "--help 仍是 Click 的英文说明 Show this message and exit"
    assert "--help 的说明没有中文：'Show this message and exit.'" in problems
    assert problems[-1] == "标题仍是 Click 的英文：Usage:、Options:"
