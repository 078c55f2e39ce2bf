"""Every material a business's start form requires (the manual's 材料 lists, marked *必填:
diplomas, social-insurance proof, the signed change form with both units' seals, the
cancellation form, …) is refused when missing, naming the field, and nothing is started.
Read from each form's own `required` lists, so a designer's change is tested as made."""

from __future__ import annotations

import pytest
from conftest import in_db
from sqlalchemy import func, select
from test_every_process_refuses_with_reasons import FORM_FIELDS, PERSON_FIELDS, form_for

from service.db.models import ProcessInstance
from service.domain.validation import make_resident_id

KEYS = ["member_info_change", *PERSON_FIELDS]
# businesses whose start form asks for no upload (a change of mobile needs no proof; a
# renewal's proof is the voucher at payment)
NO_MATERIALS = {"member_info_change", "membership_renewal"}


def _required(node: dict, prefix: str = ""):
    """Every field path the schema requires (`persons.*.x` inside the persons' rows)."""
    for part in node.get("allOf", []):
        yield from _required(part, prefix)
    for name in node.get("required", []):
        yield prefix + name
    for name, sub in node.get("properties", {}).items():
        if sub.get("type") == "array" and isinstance(sub.get("items"), dict):
            yield from _required(sub["items"], f"{prefix}{name}.*.")
        elif sub.get("type") == "object":
            yield from _required(sub, f"{prefix}{name}.")


def _required_files(defn) -> list[str]:
    """The start form's file fields that its schema requires (top level or per person)."""
    required = set(_required(defn.start_form))
    return sorted(p for p in defn.start_file_fields if p in required and p.count(".") in (0, 2))


@pytest.mark.parametrize("key", KEYS)
def test_each_required_material_is_refused_when_missing(app, client, login, world, key):
    defn = app.extensions["memberflow"].definitions.current[key]
    required = _required_files(defn)
    if key not in NO_MATERIALS:
        assert required, f"{key} requires no material at all?"
    unit = login("unit")
    count = in_db(app, lambda s: s.scalar(select(func.count(ProcessInstance.id))))
    for path in required:
        data = form_for(app, key, unit, client, make_resident_id("44010619800303456"), "张材料")
        if path.startswith("persons.*."):
            field = path.rsplit(".", 1)[-1]
            del data["persons"][0][field]
            shown = f"persons.0.{field}"
        else:
            del data[path]
            shown = path
        reply = client.post(f"/api/v1/processes/{key}/instances", headers=unit, json={"data": data})
        assert reply.status_code == 422, (key, path, reply.get_json())
        errors = reply.get_json()["errors"]
        assert shown in errors, (key, path, errors)
        assert "请" in errors[shown]  # 请上传… / 请填写…: says what to do, in Chinese
    assert in_db(app, lambda s: s.scalar(select(func.count(ProcessInstance.id)))) == count
    assert FORM_FIELDS  # the other module's per-key fields are the ones used here
