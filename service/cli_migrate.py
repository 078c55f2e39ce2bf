"""`memberflow migrate KEY --from A --to B [--dry-run]`: a migration plan from the shell.

Registered on the `memberflow` group by service/cli.py."""

from __future__ import annotations

import sys

import click

from service.cli import _app, main


@main.command("migrate")
@click.argument("key")
@click.option("--from", "from_version", type=click.IntRange(min=1), required=True)
@click.option("--to", "to_version", type=click.IntRange(min=1), required=True)
@click.option("--dry-run", is_flag=True, help="Only say which forms can move and why not.")
@click.option("--batch", type=click.IntRange(min=1, max=5000), default=200, show_default=True)
@click.option(
    "--map",
    "mappings",
    multiple=True,
    metavar="OLD=NEW",
    help="Map a user task of version A to the one of version B that replaces it (repeatable).",
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
