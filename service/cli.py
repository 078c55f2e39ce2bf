"""The `memberflow` command: serve, db upgrade, create-admin, demo-data, import-legacy, check."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from service.config import load_config


@click.group()
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


def _app():
    """The app, or a clear message and exit 1 (no traceback) when it cannot start."""
    from service import create_app
    from service.config import ConfigError
    from service.engine import DefinitionError

    try:
        return create_app()
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"错误 {problem}", err=True)
        sys.exit(1)
    except ConfigError as exc:
        click.echo(f"错误 {exc}", err=True)
        sys.exit(1)


@main.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option(
    "--workers",
    type=click.IntRange(min=1),
    help="gunicorn worker processes [default: MEMBERFLOW_WORKERS, 2].",
)
@click.option(
    "--threads",
    type=click.IntRange(min=1),
    help="Threads per worker [default: MEMBERFLOW_THREADS, 8].",
)
@click.option("--dev", is_flag=True, help="Flask's development server instead of gunicorn.")
def serve(host: str, port: int, workers: int | None, threads: int | None, dev: bool) -> None:
    """Serve the pages and the API: gunicorn with threaded workers (--dev: Flask's server)."""
    from service import server

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
    """Create the folder of an SQLite database file."""
    if database_url.startswith("sqlite:///"):
        from pathlib import Path

        Path(database_url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


@main.group()
def db() -> None:
    """Database schema commands."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Apply every migration to the configured database."""
    from service.db.migrate import MigrationRefused, upgrade

    config = _config()
    _sqlite_folder(config.database_url)
    try:
        upgrade(config.database_url)
    except MigrationRefused as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("数据库已升级到最新版本")


@main.command("create-admin")
@click.option("--username", required=True)
@click.option("--password", required=True)
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


@main.command("demo-data")
@click.option(
    "--reset",
    is_flag=True,
    help="Start over: drop every table of the configured database, migrate, then fill it.",
)
def demo_data(reset: bool) -> None:
    """Fill the database with a realistic demo and print the logins."""
    from service.demo.seed import load_demo

    if reset:
        from service.db.migrate import drop_everything, upgrade

        config = _config()
        if config.production:
            click.echo("错误 生产环境（MEMBERFLOW_ENV=production）不能重置演示数据", err=True)
            sys.exit(1)
        _sqlite_folder(config.database_url)
        drop_everything(config.database_url)
        upgrade(config.database_url)
    app = _app()
    with app.app_context():
        logins = load_demo(app)
    click.echo(f"{'角色':<12}{'登录名':<32}密码")
    for role, username, password in logins:
        click.echo(f"{role:<12}{username:<32}{password}")


@main.command("fire-timers")
def fire_timers() -> None:
    """Fire the BPMN timers that are due (payment and learning deadlines), once."""
    from service.db import db as database
    from service.db.uow import UnitOfWork
    from service.services.workflow.timers import fire_due_timers

    app = _app()
    with app.app_context():
        fired = fire_due_timers(app.extensions["memberflow"], UnitOfWork(database.session))
    click.echo(f"已触发 {fired} 个到期的定时事件")


@main.command("resume-forms")
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


@main.command("deliver-messages")
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


@main.command("import-legacy")
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Only check every row and report; write nothing.")
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
        )
    for where, reason in result["errors"].items():
        click.echo(f"  {where}：{reason}")
    if result["rows_invalid"]:
        sys.exit(1)


@main.command()
@click.option(
    "--tick",
    default=60,
    show_default=True,
    type=click.IntRange(min=1),
    help="Seconds between runs of the timers job (tests use 1).",
)
@click.option(
    "--retry",
    type=click.FloatRange(min=0.1),
    help="Seconds between a follower's attempts to lead [default: MEMBERFLOW_SCHEDULER_RETRY, 5].",
)
def scheduler(tick: int, retry: float | None) -> None:
    """Run the scheduled jobs in the foreground (timers, weekly CPD batch, reminders).

    Start one on every server: exactly one leads and acts, the others wait to take over.
    SIGTERM or Ctrl-C stops it cleanly.
    """
    import logging
    import signal
    import threading

    from service.services.schedules.scheduler import SchedulerRunner

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("apscheduler").setLevel(logging.WARNING)
    app = _app()
    try:
        runner = SchedulerRunner(app, tick=tick, retry=retry)
    except ValueError as exc:
        click.echo(f"错误 调度设置有误：{exc}", err=True)
        sys.exit(1)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner.run(stop)


@main.command()
@click.option(
    "--concurrency",
    default=1,
    show_default=True,
    type=click.IntRange(min=1),
    help="Jobs run at the same time by this worker (PostgreSQL).",
)
@click.option(
    "--heartbeat",
    default=10.0,
    show_default=True,
    type=click.FloatRange(min=0.1),
    help="Seconds between this worker's heartbeats (PostgreSQL).",
)
@click.option(
    "--stalled-after",
    default=30.0,
    show_default=True,
    type=click.FloatRange(min=0.5),
    help="Seconds without a heartbeat after which a running job is run again.",
)
def worker(concurrency: int, heartbeat: float, stalled_after: float) -> None:
    """Run background jobs (large exports, certificate zips, imports) in the foreground.

    On PostgreSQL this is procrastinate's worker: start one or more beside the servers; a
    job whose worker was killed is run again by another. On SQLite the web server runs jobs
    in a thread of its own; this command runs the same loop without the web server.
    SIGTERM or Ctrl-C stops it after the running job.
    """
    import logging
    import signal
    import threading

    from service.worker import LocalWorker, QueueWorker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("procrastinate").setLevel(logging.WARNING)
    app = _app()
    config = app.extensions["memberflow"].config
    if config.database_url.startswith("sqlite"):
        runner = LocalWorker(app, stale=stalled_after)
    else:
        runner = QueueWorker(app, concurrency, heartbeat, stalled_after)
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    runner.run(stop)


@main.command()
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the result as JSON (ok, problems with file/element/line/message, processes).",
)
@click.option("--walk", is_flag=True, help="Run every process in memory on sample data instead.")
@click.option(
    "--from",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="A folder holding processes/, rules/ and forms/ [default: the configured folders].",
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
