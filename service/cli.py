"""The `memberflow` command: serve, db upgrade, create-admin, demo-data, import-legacy, check."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import click

from service.config import load_config

HELP_OPTION_HELP = "显示此帮助并退出"


# Click's headings and notes, as the help shows them in Chinese
_HEADINGS = {"Options": "选项", "Commands": "命令", "Arguments": "参数"}
_USAGE_PIECES = {"[OPTIONS]": "[选项]", "COMMAND [ARGS]...": "命令 [参数]..."}
_NOTE = re.compile(r"\[([^\[\]]*)\]$")  # [default: 60; required] at a help text's end
_NOTE_WORDS = (("default: ", "默认："), ("env var: ", "环境变量："), ("required", "必填"))


def _chinese_note(text: str) -> str:
    def words(found: re.Match) -> str:
        note = found.group(1)
        for english, chinese in _NOTE_WORDS:
            note = note.replace(english, chinese)
        return f"[{note}]"

    return _NOTE.sub(words, text)


class ChineseFormatter(click.HelpFormatter):
    """Click's help page with its own words in Chinese: 用法：, 选项：, 命令：, [默认：…]."""

    def write_usage(self, prog: str, args: str = "", prefix: str | None = None) -> None:
        super().write_usage(prog, args, "用法：" if prefix is None else prefix)

    def write_heading(self, heading: str) -> None:
        self.write(f"{'':>{self.current_indent}}{_HEADINGS.get(heading, heading)}：\n")

    def write_dl(self, rows, col_max: int = 30, col_spacing: int = 2) -> None:
        rows = [(name, _chinese_note(text)) for name, text in rows]
        super().write_dl(rows, col_max, col_spacing)


class ChineseContext(click.Context):
    formatter_class = ChineseFormatter


class _ChineseHelpOption:
    """Click's own --help option, described in Chinese like every other help text, and its
    help page's own words in Chinese (ChineseFormatter)."""

    context_class = ChineseContext

    def get_help_option(self, ctx: click.Context) -> click.Option | None:
        option = super().get_help_option(ctx)
        if option is not None:
            option.help = HELP_OPTION_HELP
        return option

    def collect_usage_pieces(self, ctx: click.Context) -> list[str]:
        return [_USAGE_PIECES.get(piece, piece) for piece in super().collect_usage_pieces(ctx)]


class TwicePromptedOption(click.Option):
    """An option asked twice at the terminal (a password), saying in Chinese when the two
    differ (Click's prompt says it in English) and asking again."""

    def prompt_for_value(self, ctx: click.Context):
        while True:
            value = click.prompt(self.prompt, hide_input=self.hide_input, err=True)
            again = click.prompt(self.confirmation_prompt, hide_input=self.hide_input, err=True)
            if value == again:
                return self.process_value(ctx, value)
            click.echo("错误 两次输入的不一致，请重新输入", err=True)


class ChineseHelpCommand(_ChineseHelpOption, click.Command):
    """A `memberflow` command whose --help option is described in Chinese."""


class Refusal(click.ClickException):
    """Click's refusal of a command line (an unknown option, a missing or wrong value), said
    in Chinese: the usage, where to find help, and `错误 …` as the commands say their own
    errors."""

    def __init__(self, refused: click.ClickException) -> None:
        super().__init__(refused.format_message())
        self.refused, self.exit_code = refused, refused.exit_code

    def show(self, file=None) -> None:
        refused = self.refused
        ctx = getattr(refused, "ctx", None)
        if isinstance(refused, getattr(click.exceptions, "NoArgsIsHelpError", ())):
            click.echo(refused.format_message(), err=True)  # a group alone: its help page
            return
        if isinstance(refused, click.UsageError) and ctx is not None:
            click.echo(f"{ctx.get_usage()}\n帮助：{ctx.command_path} --help\n", err=True)
        click.echo(f"错误 {said_in_chinese(refused)}", err=True)


class ChineseHelpGroup(_ChineseHelpOption, click.Group):
    """A `memberflow` group: its commands and subgroups get the Chinese --help as well, and a
    command line Click refuses is said in Chinese (`Refusal`); so is an interrupted prompt."""

    command_class = ChineseHelpCommand
    group_class = type  # a subgroup (`memberflow db`) is a ChineseHelpGroup too

    def make_context(self, info_name, args, parent=None, **extra) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except Refusal:
            raise
        except click.ClickException as exc:
            raise Refusal(exc) from exc

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except Refusal:
            raise
        except click.ClickException as exc:
            raise Refusal(exc) from exc
        except (click.exceptions.Abort, EOFError, KeyboardInterrupt):
            click.echo("\n已取消", err=True)  # Ctrl-C, or the input ended at a prompt
            sys.exit(1)


# Click's English of a wrong value (its types' messages), in Chinese; a message of ours is
# Chinese already and stays as it is
_VALUE_MESSAGES = (
    (r"'?(.*?)'? is not a valid (?:integer|integer range)\.", "“{0}”不是有效的整数"),
    (r"'?(.*?)'? is not a valid (?:float|float range)\.", "“{0}”不是有效的数字"),
    (r"(.*) is not in the range (.*)\.", "{0} 不在允许的范围（{1}）内"),
    (r"'?(.*?)'? is not one of (.*)\.", "“{0}”不是可选的值（{1}）之一"),
    (r"(File|Directory|Path) '(.*)' does not exist\.", "{0}“{1}”不存在"),
    (r"(File|Directory|Path) '(.*)' is a file\.", "{0}“{1}”是文件，应为目录"),
    (r"(File|Directory|Path) '(.*)' is a directory\.", "{0}“{1}”是目录，应为文件"),
    (r"(File|Directory|Path) '(.*)' is not readable\.", "{0}“{1}”不可读"),
    (r"(File|Directory|Path) '(.*)' is not writable\.", "{0}“{1}”不可写"),
    (r"Option '(.*)' requires an argument\.", "选项 {0} 需要一个值"),
    (r"Option '(.*)' requires (\d+) arguments\.", "选项 {0} 需要 {1} 个值"),
    (r"Option '(.*)' does not take a value\.", "选项 {0} 不接受值"),
    (r"No such command '(.*)'\.", "没有命令“{0}”"),
    (r"Got unexpected extra arguments? \((.*)\)", "多余的参数：{0}"),
    (r"Missing command\.", "缺少命令"),
)
_PATH_KINDS = {"File": "文件", "Directory": "目录", "Path": "路径"}


def _chinese_value_message(message: str) -> str:
    for pattern, chinese in _VALUE_MESSAGES:
        if found := re.fullmatch(pattern, message):
            return chinese.format(*(_PATH_KINDS.get(g, g) for g in found.groups()))
    return message


def said_in_chinese(refused: click.ClickException) -> str:
    """What Click refused, in Chinese."""
    param = getattr(refused, "param", None)
    ctx = getattr(refused, "ctx", None)
    kind = "选项" if isinstance(param, click.Option) else "参数"
    hint = getattr(refused, "param_hint", None) or (param.get_error_hint(ctx) if param else "")
    if isinstance(refused, click.NoSuchOption):
        also = "、".join(refused.possibilities or ())
        return f"没有选项 {refused.option_name}" + (f"（是否要用 {also}？）" if also else "")
    if isinstance(refused, click.MissingParameter):
        return f"缺少{kind} {hint}".rstrip()
    if isinstance(refused, click.BadParameter):
        said = _chinese_value_message(refused.message)
        return f"{kind} {hint} 的值无效：{said}" if hint else f"值无效：{said}"
    if isinstance(refused, click.FileError):
        return f"无法打开文件“{refused.ui_filename}”：{refused.message}"
    return _chinese_value_message(refused.message)


@click.group(
    cls=ChineseHelpGroup,
    help="memberflow 会员服务平台工作流服务。各命令的用法：memberflow <命令> --help。",
)
def main() -> None:
    """memberflow 会员服务平台工作流服务"""


def _config(**overrides):
    """The configuration, or a clear message and exit 1 when the environment is wrong."""
    from service.config import ConfigError

    try:
        return load_config(**overrides)
    except ConfigError as exc:
        click.echo(f"错误 {exc}", err=True)
        sys.exit(1)


def _database_failed(exc: Exception, database_url: str) -> None:
    """A database that cannot be reached or used, said on one line naming the setting; exit 1."""
    from service.config import shown_url

    reason = " ".join(str(getattr(exc, "orig", None) or exc).split())
    click.echo(
        f"错误 无法使用数据库（MEMBERFLOW_DATABASE_URL={shown_url(database_url)}）：{reason}",
        err=True,
    )
    sys.exit(1)


def _app():
    """The app, or a clear message and exit 1 (no traceback) when it cannot start."""
    import sqlalchemy as sa

    from service import create_app
    from service.config import ConfigError
    from service.engine import DefinitionError

    config = _config()
    try:
        return create_app(config)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"错误 {problem}", err=True)
        sys.exit(1)
    except ConfigError as exc:
        click.echo(f"错误 {exc}", err=True)
        sys.exit(1)
    except (sa.exc.OperationalError, sa.exc.ArgumentError) as exc:  # at start-up
        _database_failed(exc, config.database_url)


def _port(_ctx, _param, value: int) -> int:
    if not 0 < value < 65536:
        raise click.BadParameter(f"端口应为 1 到 65535 之间的整数，当前为 {value}")
    return value


def _stop_on_signals():
    """An Event set by SIGTERM and SIGINT (Ctrl-C), for a loop that waits on it.

    The signal handler only writes a byte to a pipe; a thread reading the pipe sets the
    Event. Setting it in the handler itself could hang the process for good: the handler
    runs in the main thread between two bytecodes, possibly while that thread is inside the
    Event's own `wait()` holding the Event's lock, which `set()` then waits for."""
    import os
    import signal
    import threading

    stop = threading.Event()
    read_end, write_end = os.pipe()

    def watch() -> None:
        os.read(read_end, 1)
        stop.set()

    threading.Thread(target=watch, name="memberflow-stop", daemon=True).start()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: os.write(write_end, b"\0"))
    return stop


@main.command(
    help="提供网页和 API 服务：由 gunicorn 运行，各工作进程多线程"
    "（--dev：改用 Flask 的开发服务器）。",
    short_help="提供网页和 API 服务（gunicorn）。",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="监听地址")
@click.option("--port", default=5000, show_default=True, type=int, callback=_port, help="端口")
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="gunicorn 工作进程数（默认：MEMBERFLOW_WORKERS，未设置时为 2）",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="每个工作进程的线程数（默认：MEMBERFLOW_THREADS，未设置时为 8）",
)
@click.option(
    "--dev",
    is_flag=True,
    help="用 Flask 的开发服务器代替 gunicorn（生产环境 MEMBERFLOW_ENV=production 不能使用）",
)
def serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Serve the pages and the API: gunicorn with threaded workers (--dev: Flask's server)."""
    from service import server

    server.configure_logging()  # the start-up's own lines (a deployment followed) are kept
    app = _app()
    config = app.extensions["memberflow"].config
    if dev:
        if config.production:
            click.echo(
                "错误 生产环境（MEMBERFLOW_ENV=production）不能使用开发服务器 --dev", err=True
            )
            sys.exit(1)
        server.run_dev(app, host, port)
        return
    server.run_gunicorn(app, host, port, workers or config.workers, threads or config.threads)


def _sqlite_folder(database_url: str) -> None:
    """Create the folder of an SQLite database file (or say on one line why it cannot be)."""
    if database_url.startswith("sqlite:///"):
        folder = Path(database_url.removeprefix("sqlite:///")).parent
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            click.echo(
                f"错误 无法创建 SQLite 数据库所在的文件夹 {folder}（{exc.strerror or exc}）："
                "请检查 MEMBERFLOW_DATABASE_URL（未设置时为 MEMBERFLOW_INSTANCE_DIR 下的 "
                "memberflow.sqlite3）",
                err=True,
            )
            sys.exit(1)


@main.group(help="数据库结构命令。")
def db() -> None:
    """Database schema commands."""


@db.command(
    "upgrade",
    help="对所配置的数据库（MEMBERFLOW_DATABASE_URL）执行全部数据库迁移，升级到最新版本。",
    short_help="把数据库升级到最新版本。",
)
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    config = _config()
    _sqlite_folder(config.database_url)
    _upgrade(config.database_url)
    click.echo("数据库已升级到最新版本")


def _upgrade(database_url: str) -> None:
    """Run the migrations; a refused one or an unreachable database said on one line."""
    import sqlalchemy as sa
    from alembic.util import CommandError

    from service.config import shown_url
    from service.db.migrate import MigrationRefused, upgrade

    try:
        upgrade(database_url)
    except MigrationRefused as exc:
        raise click.ClickException(str(exc)) from exc
    except sa.exc.OperationalError as exc:
        _database_failed(exc, database_url)
    except CommandError as exc:  # e.g. a revision this code does not know: a newer code's
        click.echo(
            f"错误 数据库无法升级（MEMBERFLOW_DATABASE_URL={shown_url(database_url)}）：{exc}"
            "（数据库可能已由较新版本的程序升级）",
            err=True,
        )
        sys.exit(1)


@main.command(
    "create-admin",
    help="创建秘书处管理员账号。"
    "\n\n密码不写在命令行上（命令行会留在 shell 历史中，运行时 ps 也看得到）：不给 --password 时"
    "从终端输入两次（不回显），或在脚本中由环境变量 MEMBERFLOW_ADMIN_PASSWORD 给出。",
    short_help="创建秘书处管理员账号。",
)
@click.option("--username", required=True, help="登录名")
@click.option(
    "--password",
    envvar="MEMBERFLOW_ADMIN_PASSWORD",
    show_envvar=True,
    prompt="密码",
    hide_input=True,
    confirmation_prompt="再次输入密码",
    cls=TwicePromptedOption,
    help="密码（不建议写在命令行上：省略时从终端输入，或用环境变量）",
)
@click.option("--name", default="", help="显示的姓名（默认：秘书处管理员）")
def create_admin(username: str, password: str, name: str) -> None:
    """Create a secretariat administrator account."""
    from service.db import db as database
    from service.db.uow import UnitOfWork
    from service.domain.errors import ServiceError
    from service.services.membership import accounts

    app = _app()
    with app.app_context():
        try:
            with UnitOfWork(database.session) as uow:
                created = accounts.create_admin(uow, username, password, name)
        except ServiceError as exc:  # each field's reason on a line of its own
            for reason in list((exc.errors or {}).values()) or [exc.message]:
                click.echo(f"错误 {reason}", err=True)
            sys.exit(1)
        finally:
            database.session.remove()
            database.engine.dispose()  # a one-off run: its connections end with it
    click.echo(f"已创建秘书处管理员 {created['username']}")


@main.command(
    "demo-data",
    help="向数据库填入一套贴近实际的演示数据，并列出各角色的登录名和密码。",
    short_help="填入演示数据，列出各角色的登录名和密码。",
)
@click.option(
    "--reset",
    is_flag=True,
    help="从头开始：删除所配置数据库的全部表，执行数据库迁移后再填入"
    "（生产环境 MEMBERFLOW_ENV=production 不能使用；"
    "数据库不是实例文件夹下的 SQLite 文件时先要求确认）",
)
@click.option(
    "--yes",
    is_flag=True,
    help="与 --reset 同用：不再询问，直接删除所配置数据库的全部表（供脚本使用）",
)
def demo_data(reset: bool, yes: bool) -> None:
    """Fill the database with a realistic demo and print the logins."""
    import sqlalchemy as sa

    from service.demo.seed import load_demo

    config = _config()
    if config.production:  # demo accounts share one published password
        click.echo(
            "错误 生产环境（MEMBERFLOW_ENV=production）不能填入演示数据（演示账号的密码是公开的）",
            err=True,
        )
        sys.exit(1)
    if reset:
        from service.db.migrate import drop_everything

        if not (yes or _instance_sqlite(config)):
            _confirm_reset(config.database_url)
        _sqlite_folder(config.database_url)
        try:
            drop_everything(config.database_url)
        except sa.exc.OperationalError as exc:
            _database_failed(exc, config.database_url)
        _upgrade(config.database_url)
    app = _app()
    with app.app_context():
        logins = load_demo(app)
    click.echo(f"{'角色':<12}{'登录名':<32}密码")
    for role, username, password in logins:
        click.echo(f"{role:<12}{username:<32}{password}")


def _instance_sqlite(config) -> bool:
    """Whether the database is an SQLite file inside the instance folder (the demo's own,
    which `scripts/demo` starts afresh without asking)."""
    import sqlalchemy as sa

    url = sa.make_url(config.database_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return False
    return Path(url.database).resolve().is_relative_to(Path(config.instance_dir).resolve())


def _confirm_reset(database_url: str) -> None:
    """Ask before dropping every table of a database that is not the demo's own file."""
    from service.config import shown_url

    shown = shown_url(database_url)
    question = (
        f"将删除数据库 {shown} 中的全部表和数据（MEMBERFLOW_DATABASE_URL），"
        "再填入演示数据。确定吗？"
    )
    try:
        confirmed = click.confirm(question, default=False, err=True)
    except click.Abort:  # no answer (stdin closed: a script)
        confirmed = False
    if not confirmed:
        click.echo(
            f"错误 未确认，数据库 {shown} 未做任何改动（脚本中确需重置时加 --yes）", err=True
        )
        sys.exit(1)


@main.command(
    "fire-timers",
    help="触发一次已到期的 BPMN 定时器（缴费期限和学习期限）。",
    short_help="触发一次已到期的 BPMN 定时器。",
)
def fire_timers() -> None:
    """Fire the BPMN timers that are due (payment and learning deadlines), once."""
    from service.db import db as database
    from service.db.uow import UnitOfWork
    from service.services.workflow.timers import fire_due_timers

    app = _app()
    with app.app_context():
        fired = fire_due_timers(app.extensions["memberflow"], UnitOfWork(database.session))
    click.echo(f"已触发 {fired} 个到期的定时事件")


@main.command(
    "resume-forms",
    help="继续办理卡住的表单：已没有可等待的事项却仍未结束（学习已通过，表单未办结）。"
    "\n\n只处理这样的表单，其余表单不变；可随时再次运行。",
    short_help="继续办理卡住的表单（学习已通过、表单未办结）。",
)
def resume_forms() -> None:
    """Run on the forms stuck with nothing to wait for (learning passed, form unfinished)."""
    from service.db import db as database
    from service.db.uow import UnitOfWork
    from service.services.workflow.resume import resume_stuck_forms

    app = _app()
    with app.app_context():
        moved = resume_stuck_forms(app.extensions["memberflow"], UnitOfWork(database.session))
        database.session.remove()
        database.engine.dispose()  # a one-off run: its connections end with it
    click.echo(f"已继续办理 {len(moved)} 张表单" + (f"：{moved}" if moved else ""))


@main.command(
    "deliver-messages",
    help="通过邮件和短信发送现在到期的业务消息（调度进程每分钟自动发送一次）。",
    short_help="通过邮件和短信发送到期的业务消息。",
)
def deliver_messages() -> None:
    """Send the 业务消息 due now by email and SMS (the scheduler does this every minute)."""
    from service.db import db
    from service.db.uow import UnitOfWork
    from service.services.schedules import outbox

    app = _app()
    with app.app_context():
        counts = outbox.deliver(app.extensions["memberflow"], UnitOfWork(db.session))
        db.session.remove()
    click.echo(
        f"已发送 {counts['sent']} 条，待重试 {counts['retry']} 条，"
        f"发送失败 {counts['failed']} 条，结果未知 {counts['unknown']} 条"
    )


@main.command(
    "import-legacy",
    help="导入旧平台的单位人员档案导出表 FILE（单位、个人会员、会籍、证书）。"
    "\n\n全部导入或全不导入：只要有一行有误，就什么都不写入（退出码 1，列出每个有误的行）。"
    "同一文件再次导入不会改变任何数据。",
    short_help="导入旧平台的单位人员档案导出表。",
)
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="试导入：只检查每一行并报告结果，不写入任何数据")
def import_legacy(file: str, dry_run: bool) -> None:
    """Import the old platform's 单位人员档案导出表 (units, members, memberships, certificates).

    All or nothing: one invalid row and nothing is written (exit 1, every invalid row listed).
    Importing the same file again changes nothing.
    """
    from pathlib import Path

    from service.db import db as database
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.domain.errors import ServiceError
    from service.services.membership.legacy_import import import_workbook

    path = Path(file)
    app = _app()
    operator = Actor(None, "命令行导入", "secretariat_admin")
    with app.app_context():
        try:
            with UnitOfWork(database.session) as uow:
                result = import_workbook(
                    app.extensions["memberflow"],
                    uow,
                    operator,
                    path.read_bytes(),
                    file_name=path.name,
                    dry_run=dry_run,
                )
        except ServiceError as exc:
            click.echo(f"错误 {exc.message}", err=True)
            for where, reason in (exc.errors or {}).items():
                click.echo(f"  {where}：{reason}", err=True)
            sys.exit(1)
        finally:
            database.session.remove()
            database.engine.dispose()
    c = result["counts"]
    click.echo(
        f"{'试导入（未写入）' if dry_run else '已导入'} {path.name}：共{result['rows_total']}行，"
        f"正确{result['rows_valid']}行，有误{result['rows_invalid']}行"
    )
    for what, label in (
        ("units", "单位"),
        ("members", "个人会员"),
        ("memberships", "会籍"),
        ("certificates", "证书"),
    ):
        click.echo(
            f"  {label}：新增{c[f'{what}_created']}，更新{c[f'{what}_updated']}，"
            f"无变化{c[f'{what}_unchanged']}"
            + (f"，保留本平台较新记录{c[f'{what}_kept']}" if c.get(f"{what}_kept") else "")
        )
    for where, reason in result["errors"].items():
        click.echo(f"  {where}：{reason}")
    if result["rows_invalid"]:
        sys.exit(1)


@main.command(
    help="在前台运行定时任务（定时器、注师继教周批次、到期提醒）。"
    "\n\n每台服务器各启动一个：只有一个成为调度主节点并执行任务，其余待命，主节点停止时接替。"
    "SIGTERM 或 Ctrl-C 可使其正常停止。",
    short_help="在前台运行定时任务（每台服务器一个）。",
)
@click.option(
    "--tick",
    default=60,
    show_default=True,
    type=click.IntRange(min=1),
    help="定时器任务（timers）每隔多少秒运行一次（测试中用 1）",
)
@click.option(
    "--retry",
    type=click.FloatRange(min=0.1),
    help="待命的调度进程每隔多少秒尝试成为主节点（默认：MEMBERFLOW_SCHEDULER_RETRY，未设置时为 5）",
)
def scheduler(tick: int, retry: float | None) -> None:
    """Run the scheduled jobs in the foreground (timers, weekly CPD batch, reminders).

    Start one on every server: exactly one leads and acts, the others wait to take over.
    SIGTERM or Ctrl-C stops it cleanly.
    """
    import logging

    from service.services.schedules.scheduler import SchedulerRunner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = _app()
    try:
        runner = SchedulerRunner(app, tick=tick, retry=retry)
    except ValueError as exc:
        click.echo(f"错误 调度设置有误：{exc}", err=True)
        sys.exit(1)
    runner.run(_stop_on_signals())


@main.command(
    help="在前台处理后台任务（数据较多的导出、电子证书批量下载、导入）。"
    "\n\nPostgreSQL 上这是 procrastinate 的 worker：在服务器旁启动一个或多个；"
    "处理某个任务的进程被终止后，该任务由另一个进程重新运行。"
    "SQLite 上由网页服务器在自己的一个线程里处理后台任务；本命令不启动网页服务器，"
    "运行同样的处理循环。收到 SIGTERM 或 Ctrl-C 时，完成当前任务后停止。",
    short_help="在前台处理后台任务（导出、证书批量下载、导入）。",
)
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="本处理程序同时运行的任务数（PostgreSQL）",
)
@click.option(
    "--heartbeat",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="本处理程序每隔多少秒发送一次心跳（PostgreSQL）",
)
@click.option(
    "--stalled-after",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="运行中的任务超过多少秒没有心跳，就重新运行",
)
def worker(concurrency: int, heartbeat: float, stalled_after: float) -> None:
    """Run background jobs (large exports, certificate zips, imports) in the foreground.

    On PostgreSQL this is procrastinate's worker: start one or more beside the servers; a
    job whose worker was killed is run again by another. On SQLite the web server runs jobs
    in a thread of its own; this command runs the same loop without the web server.
    SIGTERM or Ctrl-C stops it after the running job.
    """
    import logging

    from service.worker import LocalWorker, QueueWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app = _app()
    config = app.extensions["memberflow"].config
    if config.database_url.startswith("sqlite"):
        runner = LocalWorker(app, stale=stalled_after)
    else:
        runner = QueueWorker(app, concurrency, heartbeat, stalled_after)
    runner.run(_stop_on_signals())


@main.command(
    help="检查 processes/、rules/ 和 forms/，不启动服务器。",
)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="以 JSON 输出结果（ok；problems，每项含 file/element/line/message；processes）",
)
@click.option(
    "--walk",
    is_flag=True,
    help="改为走查：在内存中用样例数据运行每个流程（每个网关出口和退回环路都力求走到）",
)
@click.option(
    "--from",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="含 processes/、rules/ 和 forms/ 的文件夹（默认：所配置的文件夹）",
)
def check(as_json: bool, walk: bool, folder: Path | None) -> None:
    """Validate processes/, rules/ and forms/ without starting the server."""
    import json

    # --from DIR: the folders a deploy of DIR would read (as `memberflow deploy --from DIR`)
    dirs = (
        {f"{name}_dir": folder / name for name in ("processes", "rules", "forms")}
        if folder is not None
        else {}
    )
    if walk:  # every gateway flow and return loop, on sample data (service/cli_walk.py)
        from service.cli_walk import run_walk

        return run_walk(_config(secret_key="check", **dirs), as_json)

    from service.services.workflow.deploy import check_folders

    config = _config(secret_key="check", **dirs)
    checked = check_folders(config.processes_dir, config.rules_dir, config.forms_dir)
    problems, definitions, templates = checked.problems, checked.definitions, checked.templates
    if as_json:
        result = {
            "ok": not problems,
            "problems": problems,
            "processes": [
                {
                    "key": key,
                    "name": defn.name,
                    "user_tasks": len(defn.user_tasks),
                    "digest": defn.digest,
                }
                for key, defn in sorted(definitions.items())
            ],
            "message_templates": len(templates),
        }
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        sys.exit(1 if problems else 0)
    if problems:
        for p in problems:
            where = p["file"] + (f":{p['line']}" if p["line"] else "")
            where += f" [{p['element']}]" if p["element"] else ""
            click.echo(f"错误 {where}: {p['message']}", err=True)
        sys.exit(1)
    for key, defn in sorted(definitions.items()):
        click.echo(
            f"正常 {key}（{defn.name}）：{len(defn.user_tasks)} 个用户任务，版本 {defn.digest[:12]}"
        )
    click.echo(f"正常 rules/messages.json：{len(templates)} 种业务消息模板")


from service import cli_deploy  # noqa: E402, F401  (memberflow deploy, memberflow versions)
from service import cli_migrate as _migrate  # noqa: E402, F401  (memberflow migrate)
