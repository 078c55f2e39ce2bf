"""`memberflow migrate KEY --from A --to B [--dry-run]`: a migration plan from the shell.

Registered on the `memberflow` group by service/cli.py."""

from __future__ import annotations

import sys

import click

from service.cli import _app, main


@main.command(
    "migrate",
    help="把业务流程 KEY 办理中的表单从版本 A 迁移到版本 B"
    "（版本号即 GET /processes/KEY/versions 列出的编号），分批进行，每批一个事务。"
    "有表单未能迁移时退出码为 1。",
    short_help="把业务流程 KEY 办理中的表单迁移到另一个版本。",
)
@click.argument("key")
@click.option(
    "--from", "from_version", type=click.IntRange(min=1), required=True, help="原版本号 A"
)
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True, help="目标版本号 B")
@click.option(
    "--dry-run", is_flag=True, help="试迁移：只列出哪些表单可以迁移、不能迁移的原因，不写入"
)
@click.option(
    "--batch",
    type=click.IntRange(min=1, max=5000),
    default=200,
    show_default=True,
    help="每批迁移的表单数（每批一个事务）",
)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="OLD=NEW",
    help="任务映射：版本 A 的用户任务=版本 B 中接替它的用户任务，"
    "如 association_review=association_check（可重复）",
)
def migrate(
    key: str, from_version: int, to_version: int, dry_run: bool, batch: int, mappings: tuple
) -> None:
    """Move the running forms of KEY from version A to version B (numbers as listed by
    GET /processes/KEY/versions), in batches of one transaction each. Exit 1 when a form
    could not move."""
    from service.db import db as database
    from service.db.uow import UnitOfWork
    from service.domain.actor import Actor
    from service.domain.errors import ServiceError
    from service.services.workflow.migration import run_plan

    task_map = {}
    for pair in mappings:
        old, sep, new = pair.partition("=")
        if not sep or not old.strip() or not new.strip():
            click.echo(
                f"错误 --map 应为 原任务=新任务，如 association_review=association_check：{pair}",
                err=True,
            )
            sys.exit(2)
        task_map[old.strip()] = new.strip()
    app = _app()
    operator = Actor(None, "命令行迁移", "secretariat_admin")
    with app.app_context():
        try:
            with UnitOfWork(database.session) as uow:
                result = run_plan(
                    app.extensions["memberflow"],
                    uow,
                    operator,
                    key,
                    from_version,
                    to_version,
                    dry_run=dry_run,
                    batch_size=batch,
                    task_map=task_map,
                )
        except ServiceError as exc:
            detail = "；".join((exc.errors or {}).values()) if isinstance(exc.errors, dict) else ""
            click.echo(f"错误 {detail or exc.message}", err=True)
            sys.exit(1)
        finally:
            database.session.remove()
            database.engine.dispose()
    for item in result["items"]:
        if item["migrated"]:
            click.echo(f"已迁移 {item['business_key']}（{item['status']}）")
        elif item["movable"] and not item["reasons"]:
            click.echo(f"可迁移 {item['business_key']}（{item['status']}）")
        else:
            click.echo(f"不能迁移 {item['business_key']}：{'；'.join(item['reasons'])}")
    done = "试迁移（未写入）" if dry_run else "迁移"
    click.echo(
        f"{done} {key} 版本 {from_version} → {to_version}：办理中 {result['total']} 张，"
        f"可迁移 {result['movable']} 张，不能迁移 {result['not_movable']} 张，"
        f"已迁移 {result['migrated']} 张，用时 {result['seconds']} 秒"
    )
    if result["migrated"] + (result["movable"] if dry_run else 0) < result["total"]:
        sys.exit(1)
