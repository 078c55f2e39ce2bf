"""Deploying the designers' files without a restart (issue 13).

A deploy takes a whole bundle: processes/*.bpmn (and the shared types' *.shared.json with
their templates in processes/shared/), rules/*.dmn with rules/policy.json and
rules/messages.json, forms/common.schema.json and forms/<key>/*.json — the folders on disk
(`memberflow deploy`) or a zip of them (POST /api/v1/processes/deploy, the 部署 page). It
is validated exactly as `memberflow check` validates the folders (`check_folders`); any
problem refuses it whole (422, each problem with file, element and line) and nothing is
recorded. Otherwise each process whose files changed gets a new version and a deployment
names the version of every process (definitions.py); every worker of every host runs it
within MEMBERFLOW_DEFINITIONS_RECHECK seconds.

A zip is read defensively before anything parses it: at most 5 MB, 500 entries, 2 MB per
file and 20 MB unpacked, no encryption, no links, only the names a bundle has (so no path
leaves the temporary folder it is unpacked into), no DTD or entity in an XML file.
"""

from __future__ import annotations

import logging
import re
import stat
import tempfile
import zipfile
from dataclasses import dataclass
from io import BytesIO
from pathlib import Path

from flask import Flask
from sqlalchemy import func, select

from service.db.models import Account, DefinitionVersion, ProcessInstance, UserTask
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound, TooLarge
from service.engine import DefinitionError, load_definitions
from service.engine.catalogue import DTD_REFUSED
from service.services.workflow.definitions import deployed_keys
from service.services.workflow.scope import may_deploy

log = logging.getLogger("memberflow.deploy")

MB = 1024 * 1024
MAX_ZIP_BYTES = 5 * MB
MAX_ENTRIES = 500
MAX_FILE_BYTES = 2 * MB
MAX_UNPACKED_BYTES = 20 * MB
MAX_RATIO = 100  # a file over 1 MB compressed more than this is taken for a zip bomb

_NAME = r"[A-Za-z0-9_][A-Za-z0-9_.\-]{0,99}"
BUNDLE_NAMES = re.compile(
    rf"^(processes/{_NAME}\.bpmn|processes/{_NAME}\.shared\.json|processes/shared/{_NAME}\.bpmn"
    rf"|rules/{_NAME}\.dmn|rules/policy\.json|rules/messages\.json"
    rf"|forms/common\.schema\.json|forms/{_NAME}/{_NAME}\.json)$"
)
TOP_FOLDERS = ("processes/", "rules/", "forms/")
IGNORED = re.compile(r"(^|/)(__MACOSX/|\.DS_Store$|Thumbs\.db$)")
_DTD = re.compile(r"<!(DOCTYPE|ENTITY)", re.IGNORECASE)
NO_PROCESSES = "没有任何流程文件（processes/*.bpmn）"


def _problem(file: str, element: str | None, line: int | None, message: str) -> dict:
    return {"file": file, "element": element, "line": line, "message": message}


class DeployRefused(FormInvalid):
    """The bundle has problems (file, element, line, message each); nothing was recorded."""

    def __init__(self, problems: list[dict]):
        self.problems = problems
        first = problems[0]
        where = first["file"] + (f":{first['line']}" if first["line"] else "")
        super().__init__(
            {where: first["message"]},
            f"部署未通过检查，未做任何更改：共 {len(problems)} 个问题，"
            f"第一个：{where} {first['message']}",
        )


@dataclass
class Checked:
    """What `check_folders` found: the problems, or the definitions and message templates."""

    problems: list[dict]
    definitions: dict
    templates: dict


def check_folders(processes_dir, rules_dir, forms_dir) -> Checked:
    """Validate processes/, rules/ and forms/: the definitions, then (when they parse) the
    names they use and whether each form can be filled, and rules/messages.json. What
    `memberflow check` reports and what a deploy refuses on."""
    from service.engine.names import check_names
    from service.services.workflow.facts import PROVIDED_NAMES
    from service.services.workflow.messages import FILE, TemplateError, load_templates

    problems: list[dict] = []
    definitions: dict = {}
    templates: dict = {}
    if not any(Path(processes_dir).glob("*.bpmn")):  # as a bundle without them is refused
        return Checked([_problem("processes/", None, None, NO_PROCESSES)], definitions, templates)
    try:
        definitions = load_definitions(processes_dir, rules_dir, forms_dir)
    except DefinitionError as exc:
        problems += [_problem(p.file, p.element, p.line, p.message) for p in exc.problems]
    if not problems:  # names are resolved in files that parse
        problems += [
            _problem(p.file, p.element, p.line, p.message)
            for p in check_names(processes_dir, rules_dir, forms_dir, PROVIDED_NAMES)
        ]
    if definitions and not problems:  # a form no data satisfies: its task never completes
        from datetime import date

        from service.engine.formsample import unsatisfiable_forms

        problems += [
            _problem(
                file,
                task,
                None,
                f"表单无法填写：没有任何数据能通过该表单的校验（{why}），该任务永远无法完成",
            )
            for file, task, why in unsatisfiable_forms(definitions, date.today())
        ]
    try:
        templates = load_templates(rules_dir)
    except TemplateError as exc:
        problems += [_problem(FILE, element, line, message) for element, line, message in exc.items]
    return Checked(problems, definitions, templates)


# --- deploying -------------------------------------------------------------------------------


def deploy_folders(ctx, uow: UnitOfWork, deployed_by: str, folder: Path | None = None) -> dict:
    """Validate the bundle in `folder` (processes/, rules/, forms/; default: the configured
    folders) and deploy it; DeployRefused with every problem, recording nothing."""
    if folder is None:
        dirs = (ctx.config.processes_dir, ctx.config.rules_dir, ctx.config.forms_dir)
    else:
        dirs = (folder / "processes", folder / "rules", folder / "forms")
    checked = check_folders(*dirs)
    if checked.problems:
        raise DeployRefused(checked.problems)
    missing = sorted(deployed_keys(uow.session) - set(checked.definitions))
    if missing:
        raise DeployRefused(
            [
                _problem(
                    f"processes/{key}.bpmn",
                    key,
                    None,
                    "部署包缺少已部署的业务流程（部署不能删除业务流程，请一并提交其全部文件）",
                )
                for key in missing
            ]
        )
    messages = Path(dirs[1]) / "messages.json"
    text = messages.read_text(encoding="utf-8") if messages.exists() else None
    result = ctx.definitions.deploy(uow.session, checked.definitions, text, deployed_by)
    result["notices"] = stranded_waits(uow, result, checked.definitions)
    return result


def stranded_waits(uow: UnitOfWork, result: dict, definitions: dict) -> list[str]:
    """For each process the deploy moved to another version: the tasks running forms (on
    its other versions) wait at that this version lacks — those forms keep running on their
    own version and cannot be migrated onto this one as they are. One query per process
    that changed."""
    notices = []
    for p in result["processes"]:
        if not p["new"] and not (p.get("was") and p["was"] != p["version"]):
            continue
        defn = definitions.get(p["key"])
        version_id = uow.session.scalar(
            select(DefinitionVersion.id).where(
                DefinitionVersion.process_key == p["key"], DefinitionVersion.number == p["version"]
            )
        )
        if defn is None or version_id is None:
            continue
        rows = uow.session.execute(
            select(UserTask.task_name, UserTask.title, func.count(UserTask.id))
            .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
            .where(
                UserTask.process_key == p["key"],
                UserTask.state == "open",
                ProcessInstance.definition_version_id != version_id,
            )
            .group_by(UserTask.task_name, UserTask.title)
            .order_by(UserTask.task_name)
        ).all()
        for name, title, n in rows:
            if name not in defn.user_tasks:
                notices.append(
                    f"{p['name']}：{n} 份办理中的表单在等待「{title}」（{name}），"
                    f"第 {p['version']} 版没有该任务。这些表单仍按原版本办理；"
                    f"要迁移到第 {p['version']} 版，请在「流程运行图」的「迁移流程版本」中"
                    f"用任务映射指定它对应的新任务（如 {name}=新任务名，"
                    "或 memberflow migrate --map）"
                )
    uow.rollback()  # read only: the deploy itself is committed
    return notices


def deploy_zip(ctx, uow: UnitOfWork, actor: Actor, content: bytes) -> dict:
    """A designer's zip of processes/, rules/ and forms/, unpacked safely and deployed."""
    if not may_deploy(actor):
        raise NotFound("没有该功能")
    account = uow.session.get(Account, actor.id) if actor.id is not None else None
    with tempfile.TemporaryDirectory(prefix="memberflow-deploy-") as tmp:
        unpack_bundle(content, Path(tmp))
        return deploy_folders(ctx, uow, account.username if account else actor.name, Path(tmp))


# --- the zip -----------------------------------------------------------------------------


def _refuse(message: str) -> FormInvalid:
    return FormInvalid({"file": message}, f"部署包有误：{message}，未做任何更改")


def _too_large(message: str) -> TooLarge:
    return TooLarge(f"部署包过大：{message}，未做任何更改", {"file": message})


def _bundle_name(raw: str) -> str:
    if "\\" in raw or raw.startswith("/") or "\0" in raw or ":" in raw:
        raise _refuse(f"文件名不允许：{raw[:120]}")
    if any(part in ("", ".", "..") for part in raw.rstrip("/").split("/")):
        raise _refuse(f"文件名不允许：{raw[:120]}")
    return raw


def _entries(archive: zipfile.ZipFile) -> list[tuple[str, zipfile.ZipInfo]]:
    """The bundle's files by their names within the bundle (a common top folder dropped)."""
    infos = archive.infolist()
    if len(infos) > MAX_ENTRIES:
        raise _refuse(f"包含的文件过多（超过{MAX_ENTRIES}个）")
    files = []
    for info in infos:
        name = _bundle_name(info.filename)
        if info.is_dir() or IGNORED.search(name):
            continue
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise _refuse(f"不允许链接文件：{name[:120]}")
        if info.flag_bits & 0x1:
            raise _refuse("文件已加密")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise _refuse("不支持的压缩方式")
        files.append((name, info))
    names = [n for n, _ in files]
    if names and not any(n.startswith(TOP_FOLDERS) for n in names):
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) == 1 and all("/" in n for n in names):  # design/processes/… as zipped
            prefix = tops.pop() + "/"
            files = [(n[len(prefix) :], info) for n, info in files]
    return files


def unpack_bundle(content: bytes, dest: Path) -> list[str]:
    """Write the bundle's files under `dest` (processes/, rules/, forms/); their names.

    FormInvalid (422) for anything that is not a bundle, TooLarge (413) past a limit.
    """
    if len(content) > MAX_ZIP_BYTES:
        raise _too_large(f"压缩包不能超过{MAX_ZIP_BYTES // MB}MB")
    try:
        archive = zipfile.ZipFile(BytesIO(content))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise _refuse("不是有效的 zip 文件") from exc
    written: list[str] = []
    with archive:
        entries = _entries(archive)
        unknown = [n for n, _ in entries if not BUNDLE_NAMES.match(n)]
        if unknown:
            raise _refuse(
                "只能包含 processes/*.bpmn、processes/*.shared.json、processes/shared/*.bpmn、"
                "rules/*.dmn、rules/policy.json、"
                "rules/messages.json、forms/common.schema.json 和 forms/<流程>/*.json，"
                f"不能包含：{'、'.join(n[:120] for n in unknown[:5])}"
            )
        if len({n for n, _ in entries}) != len(entries):
            raise _refuse("同一文件出现了多次")
        if not any(n.startswith("processes/") for n, _ in entries):
            raise _refuse(NO_PROCESSES)
        total = 0
        for name, info in entries:
            total += info.file_size
            if info.file_size > MAX_FILE_BYTES:
                raise _too_large(f"{name} 超过{MAX_FILE_BYTES // MB}MB")
            if total > MAX_UNPACKED_BYTES:
                raise _too_large(f"解压后超过{MAX_UNPACKED_BYTES // MB}MB")
            if info.file_size > MB and info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise _too_large(f"压缩比超过{MAX_RATIO}倍，疑似压缩炸弹")
        for name, info in entries:
            text = _read_text(archive, name, info)
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
            written.append(name)
    for folder in ("processes", "rules", "forms"):
        (dest / folder).mkdir(exist_ok=True)
    return written


def _read_text(archive: zipfile.ZipFile, name: str, info: zipfile.ZipInfo) -> str:
    """One file's text, read no further than the limit whatever its header says."""
    try:
        with archive.open(info) as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as exc:
        raise _refuse(f"{name} 已损坏，无法解压") from exc
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(f"{name} 超过{MAX_FILE_BYTES // MB}MB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise _refuse(f"{name} 不是 UTF-8 编码的文本") from exc
    if name.endswith((".bpmn", ".dmn")) and _DTD.search(text):
        raise _refuse(f"{name} {DTD_REFUSED}")
    return text


# --- every worker follows the newest deployment ------------------------------------------


def install(app: Flask) -> None:
    """Check for a new deployment before each request (at most every `recheck` seconds) and
    keep the app's business-message templates those of the current deployment."""
    ctx = app.extensions["memberflow"]
    definitions = ctx.definitions

    def follow_messages(defs) -> None:
        from service.services.workflow.messages import Messages, TemplateError, parse_templates

        if defs.messages == defs.folder_messages:
            ctx.memo.pop("messages", None)  # read from the folder as before
            return
        try:
            templates = parse_templates(defs.messages) if defs.messages else {}
        except TemplateError as exc:  # written for another version of this code
            log.error("the deployed rules/messages.json cannot be read here: %s", exc)
            return
        ctx.memo["messages"] = Messages(
            templates, email=bool(ctx.config.smtp_url), sms=bool(ctx.config.sms_url)
        )

    definitions.listen(follow_messages)
    follow_messages(definitions)

    @app.before_request
    def _follow_deployments() -> None:
        definitions.refresh()
