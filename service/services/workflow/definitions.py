"""Definition versions: the current files' versions, recorded in the database, and old ones.

New instances use the version of the files this server started with; an instance always
runs on the version it started with, rebuilt from the files stored with that version.
"""

from __future__ import annotations

import threading
from dataclasses import replace

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import DefinitionVersion, ProcessInstance
from service.domain.errors import NotFound
from service.engine import Definition, build_definition
from service.services.workflow.scope import sees_everything

STARTED = "服务器启动"  # a version recorded when a server started on new files


class Definitions:
    """The process definitions a server runs, by key (current) and by version id (any)."""

    def __init__(self, current: dict[str, Definition]):
        self.current = current
        self._version_ids: dict[str, int] = {}
        self._by_version: dict[int, Definition] = {}
        self._numbers: dict[int, int] = {}  # version id -> its number within the key
        self._lock = threading.Lock()

    def sync(self, session: Session, deployed_by: str = STARTED) -> None:
        """Record each current definition's version (once per content hash), numbered
        after the key's last one."""
        for key, defn in self.current.items():
            row = self._record(session, key, defn, deployed_by)
            self._version_ids[key] = row.id
            self._by_version[row.id] = defn
        session.commit()

    def _record(self, session: Session, key: str, defn: Definition, deployed_by: str):
        for _ in range(5):  # two servers numbering two new versions at once: one retries
            row = self._find(session, key, defn.digest)
            if row is not None:
                return row
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
                return row
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

    def latest(self, key: str) -> tuple[int, Definition]:
        """The version id and definition new instances of `key` start on."""
        if key not in self.current or key not in self._version_ids:
            raise NotFound(f"没有名为 {key} 的业务流程")
        return self._version_ids[key], self.current[key]

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


def list_versions(ctx, uow, actor, key: str) -> dict:
    """The versions of a process, newest first, with instance counts (running, finished)
    and which one new instances start on; association and secretariat."""
    if not sees_everything(actor):
        raise NotFound("没有该功能")
    current_id = ctx.definitions.latest(key)[0]
    counts = {
        (version_id, finished): n
        for version_id, finished, n in uow.session.execute(
            select(
                ProcessInstance.definition_version_id,
                ProcessInstance.finished,
                func.count(ProcessInstance.id),
            )
            .where(ProcessInstance.process_key == key)
            .group_by(ProcessInstance.definition_version_id, ProcessInstance.finished)
        )
    }
    rows = uow.session.execute(
        select(
            DefinitionVersion.id,
            DefinitionVersion.number,
            DefinitionVersion.digest,
            DefinitionVersion.created_at,
            DefinitionVersion.deployed_by,
        )
        .where(DefinitionVersion.process_key == key)
        .order_by(DefinitionVersion.number.desc())
    )
    items = [
        {
            "number": number,
            "digest": digest,
            "deployed_at": created_at,
            "deployed_by": deployed_by,
            "current": version_id == current_id,
            "running": counts.get((version_id, False), 0),
            "finished": counts.get((version_id, True), 0),
        }
        for version_id, number, digest, created_at, deployed_by in rows
    ]
    return {"process_key": key, "process_name": ctx.definitions.current[key].name, "items": items}
