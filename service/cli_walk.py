"""`memberflow check --walk`: run every process in memory on sample data (engine/walk.py).

Every outgoing flow of every gateway is meant to be taken at least once and every return
loop once; a step that fails is an error (exit 1) with the path that led there, a gateway
flow no path took is a warning.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import UTC, datetime

import click

from service.engine import DefinitionError, load_definitions
from service.engine.walk import MAX_PATHS, Finding, WalkResult, walk_definition
from service.services.workflow.sample_facts import SAMPLES, sample_facts


def walk_all(config, max_paths: int = MAX_PATHS) -> tuple[dict, list[WalkResult]]:
    """Every process of the configured folders, walked; (definitions, results)."""
    definitions = load_definitions(config.processes_dir, config.rules_dir, config.forms_dir)
    now = datetime.now(UTC)
    names = {key: defn.name for key, defn in definitions.items()}
    results = []
    for key, defn in sorted(definitions.items()):
        kind = defn.declarations.facts or "persons"
        if kind not in SAMPLES:
            result = WalkResult(key)
            result.findings.append(
                Finding(
                    "error",
                    f"processes/{key}.bpmn",
                    key,
                    defn.declarations.lines.get("facts"),
                    f"走查没有“{kind}”类事实的样例数据"
                    "（见 service/services/workflow/sample_facts.py）",
                )
            )
            results.append(result)
            continue
        facts = sample_facts(kind, now.date(), names)
        results.append(walk_definition(defn, facts, now, max_paths))
    return definitions, results


def _where(f: Finding) -> str:
    where = f.file + (f":{f.line}" if f.line else "")
    return where + (f" [{f.element}]" if f.element else "")


def run_walk(config, as_json: bool, max_paths: int = MAX_PATHS) -> None:
    """Walk, print the findings (text or JSON), exit 1 when a step fails."""
    started = time.monotonic()
    try:
        definitions, results = walk_all(config, max_paths)
    except DefinitionError as exc:
        for problem in exc.problems:
            click.echo(f"错误 {problem}", err=True)
        click.echo("错误 流程文件有问题，先按 memberflow check 的提示修改后再走查", err=True)
        sys.exit(1)
    seconds = round(time.monotonic() - started, 2)
    errors = [f for r in results for f in r.errors]
    warnings = [f for r in results for f in r.warnings]
    if as_json:
        result = {
            "ok": not errors,
            "problems": [f.as_dict() for r in results for f in r.findings],
            "processes": [
                {
                    "key": r.key,
                    "name": definitions[r.key].name,
                    "paths": r.paths,
                    "steps": r.steps,
                    "capped": r.capped,
                    "max_paths": max_paths,
                    "gateway_flows": r.gateway_flows,
                    "flows_taken": r.flows_taken,
                    "fact_variants": r.fact_variants,
                }
                for r in results
            ],
            "errors": len(errors),
            "warnings": len(warnings),
            "seconds": seconds,
        }
        click.echo(json.dumps(result, ensure_ascii=False, indent=2))
        sys.exit(1 if errors else 0)
    for r in results:
        capped = f"（已达每个流程 {max_paths} 条路径的上限，其余分支未走查）" if r.capped else ""
        click.echo(
            f"{'错误' if r.errors else '正常'} {r.key}（{definitions[r.key].name}）："
            f"走查 {r.paths} 条路径、{r.steps} 步，网关出口走到 {r.flows_taken}/{r.gateway_flows}，"
            f"事实变体 {r.fact_variants} 种{capped}"
        )
    for f in errors:
        click.echo(f"错误 {_where(f)}: {f.message}", err=True)
        if f.path:
            click.echo("  路径：" + " → ".join(str(step) for step in f.path), err=True)
    for f in warnings:
        click.echo(f"警告 {_where(f)}: {f.message}", err=True)
    click.echo(
        f"走查完成：{len(results)} 个流程，{sum(r.paths for r in results)} 条路径，"
        f"用时 {seconds} 秒；错误 {len(errors)} 个，警告 {len(warnings)} 个"
    )
    sys.exit(1 if errors else 0)
