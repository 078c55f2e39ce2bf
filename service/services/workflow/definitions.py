"""Definition versions and deployments: what new instances start on, and every old version.

Each process key numbers its versions 1, 2, 3 … (DefinitionVersion: the files, their
digest, when and by whom). A deployment (DefinitionDeployment) names the version of each
key that new instances start on; the newest deployment is current. One is recorded by
`memberflow deploy` or POST /processes/deploy (services/workflow/deploy.py), and by a
server that starts on files never deployed before (a release shipping new files); a
server starting on files deployed before runs the newest deployment instead, so a host
restarted with older files does not undo a designer's deploy.

Every worker keeps the current deployment's definitions. At most every `recheck` seconds
(MEMBERFLOW_DEFINITIONS_RECHECK, default 2) it reads the newest deployment's id (the
generation: one query on the primary key) and, when it changed, rebuilds its current
definitions from the files stored with those versions. New instances then start on the
new versions; a running instance stays on the version it started with, rebuilt from the
files stored with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from service.db.models import DefinitionDeployment, DefinitionVersion, ProcessInstance
from service.domain.errors import NotFound
from service.engine import Definition, DefinitionError, build_definition, load_definitions
from service.engine.catalogue import digest_of
from service.services.workflow.scope import sees_definitions

log = logging.getLogger("memberflow.definitions")

STARTED = "服务器启动"  # a version recorded when a server started on new files
MESSAGES_FILE = "rules/messages.json"


def bundle_digest(definitions: dict[str, Definition], messages: str | None) -> str:
    """The content hash of everything a deployment runs: every process's files and the
    business-message templates."""
    files: dict[str, str] = {}
    for defn in definitions.values():
        files.update(defn.files)
    if messages is not None:
        files[MESSAGES_FILE] = messages
    return digest_of(files)


@dataclass(frozen=True)
class Current:
    """The current deployment as one worker holds it: replaced whole, never changed."""

    generation: int | None  # the deployment's id (None: not yet recorded)
    definitions: dict[str, Definition]
    version_ids: dict[str, int]
    messages: str | None  # rules/messages.json (None: absent)


class Definitions:
    """The process definitions a server runs, by key (current) and by version id (any)."""

    def __init__(
        self, current: dict[str, Definition], messages: str | None = None, recheck: float = 2.0
    ):
        self._state = Current(None, dict(current), {}, messages)
        self.folder_messages = messages  # what the folders this server started with say
        self.recheck = recheck
        self._by_version: dict[int, Definition] = {}
        self._numbers: dict[int, int] = {}  # version id -> its number within the key
        self._lock = threading.Lock()
        self._refreshing = threading.Lock()
        self._checked_at = float("-inf")
        self._engine = None
        self._listeners: list[Callable[[Definitions], None]] = []

    @classmethod
    def from_folders(cls, config) -> Definitions:
        """The definitions of the configured folders (DefinitionError: they have problems)."""
        path = Path(config.rules_dir) / "messages.json"
        messages = path.read_text(encoding="utf-8") if path.exists() else None
        return cls(
            load_definitions(config.processes_dir, config.rules_dir, config.forms_dir),
            messages,
            recheck=config.definitions_recheck_seconds,
        )

    @property
    def current(self) -> dict[str, Definition]:
        """The current definitions by key (those new instances start on); a process without
        requests (the scheduler, the job worker) follows new deployments through it too."""
        self.refresh()
        return self._state.definitions

    @property
    def generation(self) -> int | None:
        """The id of the deployment this worker runs."""
        return self._state.generation

    @property
    def messages(self) -> str | None:
        """The current deployment's rules/messages.json."""
        return self._state.messages

    def listen(self, listener: Callable[[Definitions], None]) -> None:
        """Call `listener` after each change of the current deployment."""
        self._listeners.append(listener)

    # --- recording -------------------------------------------------------------------------

    def sync(self, session: Session, deployed_by: str = STARTED) -> None:
        """At start-up: record each definition's version (once per content hash), numbered
        after the key's last one, and a deployment of these files unless they were deployed
        before; then run the newest deployment."""
        self._engine = session.get_bind()
        state = self._state
        ids, created = self._record_all(session, state.definitions, deployed_by)
        digest = bundle_digest(state.definitions, state.messages)
        seen = session.scalar(
            select(DefinitionDeployment.id)
            .where(DefinitionDeployment.bundle_digest == digest)
            .limit(1)
        )
        # files that lack a business type deployed (a wrong MEMBERFLOW_PROCESSES_DIR, a
        # file missing) are no deployment: the newest keeps running, here and everywhere,
        # as a deploy that would remove a business type is refused
        missing = sorted(deployed_keys(session) - set(state.definitions)) if seen is None else []
        if missing or not state.definitions:
            log.warning(
                "启动时读到的流程文件缺少已部署的业务流程（%s），未作为新部署记录；"
                "继续运行最新的部署。请检查 MEMBERFLOW_PROCESSES_DIR",
                "、".join(missing) or "没有任何流程",
            )
        elif seen is None:
            session.add(
                DefinitionDeployment(
                    versions=ids,
                    created=created,
                    bundle_digest=digest,
                    messages=state.messages,
                    deployed_by=deployed_by,
                )
            )
        session.commit()
        self._state = replace(state, version_ids=ids)
        self.refresh(force=True)

    def deploy(
        self,
        session: Session,
        definitions: dict[str, Definition],
        messages: str | None,
        deployed_by: str,
    ) -> dict:
        """Record the versions of validated definitions and a deployment naming them, in
        the caller's transaction (committed here); nothing new when nothing changed."""
        newest = _newest(session)
        ids, created = self._record_all(session, definitions, deployed_by)
        unchanged = (
            newest is not None
            and {k: int(v) for k, v in newest.versions.items()} == ids
            and newest.messages == messages
        )
        if unchanged:
            row = newest
        else:
            row = DefinitionDeployment(
                versions=ids,
                created=created,
                bundle_digest=bundle_digest(definitions, messages),
                messages=messages,
                deployed_by=deployed_by,
            )
            session.add(row)
            session.flush()
        # the version each process ran before: deploying an older version's files again
        # goes back to it (no new version, yet not unchanged)
        before = {k: int(v) for k, v in (newest.versions if newest is not None else {}).items()}
        numbers = dict(
            session.execute(
                select(DefinitionVersion.id, DefinitionVersion.number).where(
                    DefinitionVersion.id.in_([*ids.values(), *before.values()])
                )
            ).all()
        )
        result = {
            "generation": row.id,
            "changed": not unchanged,
            "deployed_at": row.created_at,
            "deployed_by": row.deployed_by,
            "processes": [
                {
                    "key": key,
                    "name": definitions[key].name,
                    "version": numbers[ids[key]],
                    "digest": definitions[key].digest,
                    "new": key in created,
                    "was": numbers.get(before[key]) if key in before else None,
                }
                for key in sorted(ids)
            ],
            "messages_changed": newest is None or newest.messages != messages,
        }
        session.commit()  # one transaction: the versions, the deployment, what is answered
        self.refresh(force=True)  # this worker at once; the others within `recheck`
        return result

    def _record_all(self, session: Session, definitions: dict, deployed_by: str):
        """Each definition's version id, recording those never seen (one query when every
        one was recorded before, as at most start-ups); and the keys given a new version."""
        ids: dict[str, int] = {}
        created: list[str] = []
        digests = {defn.digest for defn in definitions.values()}
        recorded = {
            (key, digest): version_id
            for version_id, key, digest in session.execute(
                select(
                    DefinitionVersion.id, DefinitionVersion.process_key, DefinitionVersion.digest
                ).where(
                    DefinitionVersion.process_key.in_(list(definitions)),
                    DefinitionVersion.digest.in_(list(digests)),
                )
            )
        }
        unseen = {k: d for k, d in definitions.items() if (k, d.digest) not in recorded}
        rows = self._record_new(session, unseen, deployed_by) if unseen else {}
        for key, defn in sorted(definitions.items()):
            version_id = recorded.get((key, defn.digest))
            if version_id is None:
                row, new = rows.get(key) or self._record(session, key, defn, deployed_by)
                version_id = row.id
                if new:
                    created.append(key)
            ids[key] = version_id
            self._by_version.setdefault(version_id, defn)
        return ids, created

    @staticmethod
    def _record_new(session: Session, unseen: dict[str, Definition], deployed_by: str) -> dict:
        """Number and insert the versions of every unseen definition at once (one INSERT);
        nothing when another server recorded one of them at the same moment (the caller then
        records them one by one, each retrying)."""
        last = dict(
            session.execute(
                select(DefinitionVersion.process_key, func.max(DefinitionVersion.number))
                .where(DefinitionVersion.process_key.in_(list(unseen)))
                .group_by(DefinitionVersion.process_key)
            ).all()
        )
        rows = {
            key: DefinitionVersion(
                process_key=key,
                number=(last.get(key) or 0) + 1,
                digest=defn.digest,
                files=defn.files,
                deployed_by=deployed_by,
            )
            for key, defn in sorted(unseen.items())
        }
        try:
            with session.begin_nested():
                session.add_all(rows.values())
        except IntegrityError:
            return {}
        return {key: (row, True) for key, row in rows.items()}

    def _record(self, session: Session, key: str, defn: Definition, deployed_by: str):
        for _ in range(5):  # two servers numbering two new versions at once: one retries
            row = self._find(session, key, defn.digest)
            if row is not None:
                return row, False
            last = session.scalar(
                select(func.max(DefinitionVersion.number)).where(
                    DefinitionVersion.process_key == key
                )
            )
            try:
                with session.begin_nested():
                    row = DefinitionVersion(
                        process_key=key,
                        number=(last or 0) + 1,
                        digest=defn.digest,
                        files=defn.files,
                        deployed_by=deployed_by,
                    )
                    session.add(row)
                return row, True
            except IntegrityError:  # another server recorded this or another version first
                continue
        raise RuntimeError(f"could not number a new version of {key}")

    @staticmethod
    def _find(session: Session, key: str, digest: str) -> DefinitionVersion | None:
        return session.scalars(
            select(DefinitionVersion).where(
                DefinitionVersion.process_key == key, DefinitionVersion.digest == digest
            )
        ).first()

    # --- following the newest deployment ---------------------------------------------------

    def refresh(self, force: bool = False) -> bool:
        """Run the newest deployment if it is not this worker's: checked at most every
        `recheck` seconds unless forced (one thread checks, the others go on). Whether the
        current definitions changed."""
        if self._engine is None:
            return False
        if force:
            self._refreshing.acquire()
        elif time.monotonic() - self._checked_at < self.recheck:
            return False
        elif not self._refreshing.acquire(blocking=False):
            return False
        try:
            self._checked_at = time.monotonic()
            with Session(self._engine) as session:
                generation = session.scalar(select(func.max(DefinitionDeployment.id)))
                if generation is None or generation == self._state.generation:
                    return False
                self._state = self._load(session, session.get(DefinitionDeployment, generation))
        except SQLAlchemyError as exc:  # the database is away: keep running what we have
            log.warning("could not read the current deployment: %s", exc)
            return False
        finally:
            self._refreshing.release()
        for listener in self._listeners:
            listener(self)
        return True

    def _load(self, session: Session, row: DefinitionDeployment) -> Current:
        definitions: dict[str, Definition] = {}
        ids: dict[str, int] = {}
        for key, version_id in sorted(row.versions.items()):
            version_id = int(version_id)
            defn = self._by_version.get(version_id)
            if defn is None:
                stored = session.get(DefinitionVersion, version_id)
                try:
                    defn = build_definition(key, stored.files)
                except DefinitionError as exc:  # this host's code cannot run that version
                    log.error("deployment %s: %s cannot be built here: %s", row.id, key, exc)
                    return replace(self._state, generation=row.id)
                self._by_version[version_id] = defn
            definitions[key] = defn
            ids[key] = version_id
        return Current(row.id, definitions, ids, row.messages)

    # --- reading ---------------------------------------------------------------------------

    def latest(self, key: str) -> tuple[int, Definition]:
        """The version id and definition new instances of `key` start on."""
        self.refresh()
        state = self._state
        if key not in state.definitions or key not in state.version_ids:
            raise NotFound(f"没有名为 {key} 的业务流程")
        return state.version_ids[key], state.definitions[key]

    def version(self, session: Session, version_id: int) -> Definition:
        """The definition of a stored version, parsed once and kept."""
        defn = self._by_version.get(version_id)
        if defn is not None:
            return defn
        with self._lock:
            if version_id not in self._by_version:
                row = session.get(DefinitionVersion, version_id)
                if row is None:
                    raise NotFound("流程版本不存在")
                defn = build_definition(row.process_key, row.files)
                self._by_version[version_id] = self._with_declarations(defn)
            return self._by_version[version_id]

    def _with_declarations(self, defn: Definition) -> Definition:
        """A version stored before business types declared their behaviour in the BPMN
        behaves as its process's current files declare (same end events, same effects)."""
        current = self.current.get(defn.key)
        if defn.declarations.declared or current is None:
            return defn
        return replace(defn, declarations=current.declarations)

    def names(self) -> dict[str, str]:
        """Each current process's name (its BPMN `name`), by key."""
        return {key: defn.name for key, defn in self.current.items()}

    def declaring(self, predicate) -> list[str]:
        """The keys of the current processes whose declarations satisfy `predicate`."""
        return [key for key, defn in self.current.items() if predicate(defn.declarations)]

    def version_number(self, session: Session, version_id: int) -> int | None:
        """The per-key number of a stored version (kept once read)."""
        if version_id not in self._numbers:
            self._numbers[version_id] = session.scalar(
                select(DefinitionVersion.number).where(DefinitionVersion.id == version_id)
            )
        return self._numbers[version_id]


def _newest(session: Session) -> DefinitionDeployment | None:
    return session.scalars(
        select(DefinitionDeployment).order_by(DefinitionDeployment.id.desc()).limit(1)
    ).first()


def deployed_keys(session: Session) -> set[str]:
    """The process keys of the current deployment (none recorded yet: empty)."""
    newest = _newest(session)
    return set(newest.versions) if newest is not None else set()


def _current_id(ctx, session: Session, key: str) -> int | None:
    """The version new instances of `key` start on, as the database says (a deploy through
    another host counts at once, before this worker's next check)."""
    return _current_in(ctx, _newest(session), key)


def _current_in(ctx, newest: DefinitionDeployment | None, key: str) -> int | None:
    """The version of `key` the deployment `newest` names, else this worker's."""
    found = _named_by(newest, key)
    return found if found is not None else ctx.definitions.latest(key)[0]


def _named_by(deployment: DefinitionDeployment | None, key: str) -> int | None:
    if deployment is not None and key in deployment.versions:
        return int(deployment.versions[key])
    return None


def list_versions(ctx, uow, actor, key: str) -> dict:
    """The versions of a process, newest first, with instance counts (running, finished)
    and which one new instances start on; association, secretariat and designers."""
    if not sees_definitions(actor):
        raise NotFound("没有该功能")
    if key not in ctx.definitions.current:
        raise NotFound(f"没有名为 {key} 的业务流程")
    items = version_items(uow.session, key, _current_id(ctx, uow.session, key))
    return {"process_key": key, "process_name": ctx.definitions.current[key].name, "items": items}


def current_version_id(session: Session, key: str) -> int | None:
    """The version of `key` the newest deployment names (None: none names it)."""
    return _named_by(_newest(session), key)


def version_items(session: Session, key: str, current_id: int | None) -> list[dict]:
    """The versions of `key`, newest first, each with its running and finished counts."""
    return _versions_of(session, [key], {key: current_id})[key]


def _versions_of(
    session: Session, keys: list[str], current: dict[str, int | None]
) -> dict[str, list[dict]]:
    """The versions of each of `keys`, newest first, each with its running and finished
    counts and whether it is `current`'s: two queries whatever the number of keys."""
    counts = {
        (key, version_id, finished): n
        for key, version_id, finished, n in session.execute(
            select(
                ProcessInstance.process_key,
                ProcessInstance.definition_version_id,
                ProcessInstance.finished,
                func.count(ProcessInstance.id),
            )
            .where(ProcessInstance.process_key.in_(keys))
            .group_by(
                ProcessInstance.process_key,
                ProcessInstance.definition_version_id,
                ProcessInstance.finished,
            )
        )
    }
    rows = session.execute(
        select(
            DefinitionVersion.process_key,
            DefinitionVersion.id,
            DefinitionVersion.number,
            DefinitionVersion.digest,
            DefinitionVersion.created_at,
            DefinitionVersion.deployed_by,
        )
        .where(DefinitionVersion.process_key.in_(keys))
        .order_by(DefinitionVersion.process_key, DefinitionVersion.number.desc())
    )
    found: dict[str, list[dict]] = {key: [] for key in keys}
    for key, version_id, number, digest, created_at, deployed_by in rows:
        found[key].append(
            {
                "number": number,
                "digest": digest,
                "deployed_at": created_at,
                "deployed_by": deployed_by,
                "current": version_id == current[key],
                "running": counts.get((key, version_id, False), 0),
                "finished": counts.get((key, version_id, True), 0),
            }
        )
    return found


def catalogue(ctx, uow, actor) -> list[dict]:
    """流程目录: each current process with its versions (newest first) and their counts:
    three queries (the newest deployment, the counts, the versions) for every process."""
    if not sees_definitions(actor):
        raise NotFound("没有该功能")
    definitions = ctx.definitions.current
    keys = sorted(definitions, key=lambda k: definitions[k].name)
    newest = _newest(uow.session)
    versions = _versions_of(uow.session, keys, {k: _current_in(ctx, newest, k) for k in keys})
    found = []
    for key in keys:
        items = versions[key]
        current = next((v for v in items if v["current"]), None)
        found.append(
            {
                "key": key,
                "name": definitions[key].name,
                "current": current["number"] if current else None,
                "running": sum(v["running"] for v in items),
                "finished": sum(v["finished"] for v in items),
                "versions": items,
            }
        )
    return found


def list_deployments(uow, actor, limit: int = 10) -> list[dict]:
    """The last deployments, newest first: when, by whom, which processes got a version, and
    which went back (or on) to a version they had (`switched`: key, from and to numbers)."""
    if not sees_definitions(actor):
        raise NotFound("没有该功能")
    rows = list(
        uow.session.scalars(
            select(DefinitionDeployment).order_by(DefinitionDeployment.id.desc()).limit(limit + 1)
        )
    )
    ids = {v for row in rows for v in (row.versions or {}).values()}
    numbers = dict(
        uow.session.execute(
            select(DefinitionVersion.id, DefinitionVersion.number).where(
                DefinitionVersion.id.in_(ids)
            )
        ).all()
    )
    found = []
    for row, before in zip(rows, [*rows[1:], None], strict=False):
        if len(found) == limit:
            break
        created, was = set(row.created or []), (before.versions or {}) if before else {}
        switched = [
            {"key": key, "from": numbers.get(was[key]), "to": numbers.get(version)}
            for key, version in sorted((row.versions or {}).items())
            if key not in created and key in was and was[key] != version
        ]
        found.append(
            {
                "generation": row.id,
                "deployed_at": row.created_at,
                "deployed_by": row.deployed_by,
                "created": list(row.created or []),
                "switched": switched,
            }
        )
    return found
