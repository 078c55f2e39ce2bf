"""`memberflow deploy` and `memberflow versions KEY`: deploying without a restart.

Registered on the `memberflow` group by service/cli.py. Neither starts the app: a deploy
validates the folders as `memberflow check` does and records the new versions and a
deployment in the configured database; the running servers pick it up within
MEMBERFLOW_DEFINITIONS_RECHECK seconds (services/workflow/definitions.py).
"""

from __future__ import annotations

import getpass
import json
import sys
from pathlib import Path
from types import SimpleNamespace

import click

from service.cli import _config, main


def _session(config):
    """A database session on the configured database (no app, no definitions loaded)."""
    import sqlalchemy as sa
    from sqlalchemy.orm import Session

    from service import _sqlite_pragmas, engine_options

    engine = sa.create_engine(config.database_url, **engine_options(config.database_url))
    if config.database_url.startswith("sqlite"):
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    return engine, Session(engine)


def _where(p: dict) -> str:
    where = p["file"] + (f":{p['line']}" if p["line"] else "")
    return where + (f" [{p['element']}]" if p["element"] else "")


@main.command(
    help="像 check 一样检查 processes/、rules/ 和 forms/，然后部署：运行中的服务器无需重启，"
    "在 MEMBERFLOW_DEFINITIONS_RECHECK 秒内让新表单使用新版本，办理中的表单仍按原版本办理。"
    "\n\n只要有一个问题，整个部署就被拒绝（退出码 1，列出每个问题），不记录任何内容。",
    short_help="检查并部署流程文件，无需重启服务器。",
)
@click.option(
    "--from",
    "folder",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    help="含 processes/、rules/ 和 forms/ 的文件夹（默认：所配置的文件夹）",
)
@click.option(
    "--by",
    "deployed_by",
    help="部署者，随每个新版本记录（默认：当前系统用户）",
)
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出结果（或问题）")
def deploy(folder: Path | None, deployed_by: str | None, as_json: bool) -> None:
    """Validate processes/, rules/ and forms/ as `check` does and deploy them: the running
    servers start new forms on the new versions within seconds, without a restart.

    A problem refuses the whole deploy (exit 1, each problem listed) and records nothing.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from service.db.uow import UnitOfWork
    from service.services.workflow.definitions import Definitions
    from service.services.workflow.deploy import DeployRefused, deploy_folders

    config = _config(secret_key="deploy")
    who = (deployed_by or getpass.getuser() or "命令行").strip()[:200]
    engine, session = _session(config)
    ctx = SimpleNamespace(config=config, definitions=Definitions({}))
    try:
        with UnitOfWork(session) as uow:
            result = deploy_folders(ctx, uow, who, folder)
    except DeployRefused as exc:
        if as_json:
            click.echo(json.dumps({"ok": False, "problems": exc.problems}, ensure_ascii=False))
        for p in exc.problems:
            click.echo(f"错误 {_where(p)}: {p['message']}", err=True)
        click.echo("部署未通过检查，未做任何更改", err=True)
        sys.exit(1)
    except SQLAlchemyError as exc:
        click.echo(
            "错误 数据库尚未初始化或无法连接，请先运行 memberflow db upgrade"
            f"（{type(exc).__name__}）",
            err=True,
        )
        sys.exit(1)
    finally:
        session.close()
        engine.dispose()
    if as_json:
        result = {"ok": True, **result, "deployed_at": result["deployed_at"].isoformat() + "Z"}
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    for p in result["processes"]:
        if p["new"]:
            word, state = "已部署", "新版本"
        elif p.get("was") and p["was"] != p["version"]:  # back (or on) to a version it had
            word, state = "已部署", f"改用已有版本，原为第 {p['was']} 版"
        else:
            word, state = "正常", "未变"
        click.echo(f"{word} {p['key']}（{p['name']}）：第 {p['version']} 版（{state}）")
    if result["changed"]:
        click.echo(
            f"部署序号 {result['generation']}（{who}）：各服务器 "
            f"{config.definitions_recheck_seconds:g} 秒内启用，新表单使用新版本，"
            "办理中的表单仍按原版本办理"
        )
    else:
        click.echo("与当前部署完全相同，未做任何更改")
    for notice in result.get("notices") or []:
        click.echo(f"提示 {notice}")


@main.command(
    help="列出业务流程 KEY 的各个版本，最新的在前：版本号、内容哈希、部署时间、部署者、"
    "办理中和已结束的表单数，以及新表单使用哪个版本。",
    short_help="列出业务流程 KEY 的各个版本。",
)
@click.argument("key")
@click.option("--json", "as_json", is_flag=True, help="以 JSON 输出各版本")
def versions(key: str, as_json: bool) -> None:
    """List the versions of process KEY, newest first: number, content hash, deploy time,
    who deployed it, running and finished forms, and which one new forms start on."""
    from service.services.workflow.definitions import current_version_id, version_items

    config = _config(secret_key="versions")
    engine, session = _session(config)
    try:
        items = version_items(session, key, current_version_id(session, key))
    finally:
        session.close()
        engine.dispose()
    if not items:
        click.echo(f"错误 没有名为 {key} 的业务流程", err=True)
        sys.exit(1)
    if as_json:
        for item in items:
            item["deployed_at"] = item["deployed_at"].isoformat() + "Z"
        click.echo(json.dumps({"process_key": key, "items": items}, ensure_ascii=False, indent=2))
        return
    click.echo(
        f"{'版本':<6}{'当前':<6}{'内容哈希':<16}{'部署时间（UTC）':<22}{'办理中':<8}{'已结束':<8}部署者"
    )
    for v in items:
        click.echo(
            f"{v['number']:<8}{'是' if v['current'] else '':<6}{v['digest'][:12]:<16}"
            f"{v['deployed_at']:%Y-%m-%d %H:%M:%S}    {v['running']:<10}{v['finished']:<10}"
            f"{v['deployed_by'] or ''}"
        )
