"""Definition versions: the current files' versions, recorded in the database, and old ones.

New instances use the version of the files this server started with; an instance always
runs on the version it started with, rebuilt from the files stored with that version.
"""

from __future__ import annotations

import threading

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from service.db.models import DefinitionVersion
from service.domain.errors import NotFound
from service.engine import Definition, build_definition


class Definitions:
    """The process definitions a server runs, by key (current) and by version id (any)."""

    def __init__(self, current: dict[str, Definition]):
        self.current = current
        self._version_ids: dict[str, int] = {}
        self._by_version: dict[int, Definition] = {}
        self._lock = threading.Lock()

    def sync(self, session: Session) -> None:
        """Record each current definition's version (once per content hash)."""
        for key, defn in self.current.items():
            row = self._find(session, key, defn.digest)
            if row is None:
                try:
                    with session.begin_nested():
                        row = DefinitionVersion(
                            process_key=key, digest=defn.digest, files=defn.files
                        )
                        session.add(row)
                except IntegrityError:  # another server recorded it first
                    row = self._find(session, key, defn.digest)
            self._version_ids[key] = row.id
            self._by_version[row.id] = defn
        session.commit()

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
                self._by_version[version_id] = build_definition(row.process_key, row.files)
            return self._by_version[version_id]
