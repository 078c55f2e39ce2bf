"""A definition version stored before the BPMN declared its business behaviour (effects,
facts, join code…) behaves as the current files of its process declare."""

from __future__ import annotations

import re

from conftest import in_db

from service.db.models import DefinitionVersion
from service.engine import build_definition

DECLARED = (
    r'\s*<spiffworkflow:property name="(category|facts|join_code|effect|blank_fields)"[^>]*/>'
)


def test_an_undeclared_stored_version_takes_its_process_s_current_declarations(app):
    definitions = app.extensions["memberflow"].definitions
    current = definitions.current["member_join"]
    files = dict(current.files)
    name = "processes/member_join.bpmn"
    files[name] = re.sub(DECLARED, "", files[name])
    assert files[name] != current.files[name]
    old = build_definition("member_join", files)
    assert not old.declarations.declared and not old.declarations.effects

    def store(session) -> int:
        row = DefinitionVersion(
            process_key="member_join", number=0, digest=old.digest, files=files
        )  # number 0: stored before the versions the server recorded
        session.add(row)
        session.commit()
        return row.id

    version_id = in_db(app, store)
    rebuilt = in_db(app, lambda session: definitions.version(session, version_id))
    assert rebuilt.digest == old.digest  # still the old diagram …
    assert rebuilt.declarations == current.declarations  # … doing what the process declares
    assert rebuilt.declarations.effects == {"approved_end": "admit_member"}
