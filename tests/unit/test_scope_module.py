"""One place for scope: every check of the caller's role is made in services/workflow/scope.py.

Two guards: a source scan that fails when a service compares a role itself or spells out
a set of roles, and a role-by-role table of what each named capability answers, so a
change to a set is a deliberate change to this table.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import column

from service.domain.actor import Actor
from service.domain.roles import ROLES
from service.services.workflow import scope

SERVICES = Path(__file__).resolve().parents[2] / "service" / "services"
ROLE_NAMES = set(ROLES) | {"applicant"}

# `.role` compared on these names is the role of the *object* looked up, which is data, not
# the caller's scope: `Account.role` / `account.role` (a member's own account, a unit's
# sub-account, a staff account being edited), `info.role` (the lane of a task being opened).
OBJECT_ROLES = {"Account", "account", "info"}


def _role_checks(path: Path, root: Path = SERVICES) -> list[str]:
    """Lines of `path` that compare a caller's role or define a set of roles."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Compare):
            for side in (node.left, *node.comparators):
                if (
                    isinstance(side, ast.Attribute)
                    and side.attr == "role"
                    and not (isinstance(side.value, ast.Name) and side.value.id in OBJECT_ROLES)
                ):
                    found.append(
                        f"{path.relative_to(root)}:{node.lineno}: compares {ast.unparse(side)}"
                    )
        elif isinstance(node, ast.Tuple | ast.List | ast.Set):
            names = [
                e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in ROLE_NAMES
            ]
            if len(names) >= 2:
                found.append(f"{path.relative_to(root)}:{node.lineno}: a set of roles {names}")
    return found


def test_no_service_checks_a_role_outside_the_scope_module():
    modules = sorted(SERVICES.rglob("*.py"))
    assert len(modules) > 30, "the scan must see every service module"
    offending = [line for path in modules if path.name != "scope.py" for line in _role_checks(path)]
    assert offending == [], "use a predicate of services/workflow/scope.py instead:\n" + "\n".join(
        offending
    )


def test_the_scan_finds_what_it_is_meant_to_find(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "if actor.role == 'member': pass\n"
        "if who.role in ALL: pass\n"
        "ALL = ('association_reviewer', 'secretariat_admin')\n"
        "q = select(Account).where(Account.role == 'member')\n"
        "ok = account.role != 'unit_admin'\n",
        encoding="utf-8",
    )
    assert [line.split(": ", 1)[0] for line in _role_checks(sample, tmp_path)] == [
        "sample.py:1",
        "sample.py:2",
        "sample.py:3",
    ]


# role → what each capability answers; one column per predicate
ORDER = (
    "member",
    "unit_admin",
    "agency_reviewer",
    "association_reviewer",
    "finance_reviewer",
    "secretariat_admin",
    "applicant",
    "designer",
)
TABLE = {
    # the six callers that once spelled it out: scope, members, invoices, records, learning,
    # exports (bills) and the workbench's agency filter
    "sees_everything": (0, 0, 0, 1, 1, 1, 0, 0),
    "sees_all_agencies": (0, 0, 0, 1, 1, 1, 0, 0),
    "may_narrow_to_agency": (0, 0, 0, 1, 1, 1, 0, 0),
    # eligibility of any unit, certificate PDFs, CPD batches: finance left out
    "sees_every_person": (0, 0, 0, 1, 0, 1, 0, 0),
    "may_record_learning": (0, 0, 0, 1, 0, 1, 0, 0),
    "may_manage_accounts": (0, 0, 0, 0, 0, 1, 0, 0),
    "may_edit_dictionaries": (0, 0, 0, 0, 0, 1, 0, 0),
    "sees_every_upload": (0, 0, 0, 0, 0, 1, 0, 0),
    "manages_queue": (0, 0, 0, 0, 0, 1, 0, 0),
    "is_unit_admin": (0, 1, 0, 0, 0, 0, 0, 0),
    "is_member": (1, 0, 0, 0, 0, 0, 0, 0),
    # the process catalogue and deploying (issue 13): designers read versions and incidents
    "sees_definitions": (0, 0, 0, 1, 1, 1, 0, 1),
    "may_deploy": (0, 0, 0, 0, 0, 0, 0, 1),
    "sees_incidents": (0, 0, 0, 0, 0, 1, 0, 1),
}


def _actor(role: str) -> Actor:
    return Actor(7, "某人", role, unit_id=3, agency_id=5, member_id=9)


@pytest.mark.parametrize("predicate", sorted(TABLE))
def test_each_capability_answers_role_by_role_as_its_callers_expect(predicate):
    check = getattr(scope, predicate)
    answers = tuple(int(check(_actor(role))) for role in ORDER)
    assert answers == TABLE[predicate], dict(zip(ORDER, answers, strict=True))


def test_the_named_sets_are_the_roles_they_say():
    association = {"association_reviewer", "finance_reviewer", "secretariat_admin"}
    assert scope.SEES_EVERYTHING == association
    assert scope.SEES_EVERY_PERSON == {"association_reviewer", "secretariat_admin"}
    assert scope.LEARNING_RECORDERS == {"association_reviewer", "secretariat_admin"}
    assert scope.ADMINISTRATORS == {"secretariat_admin"}
    assert scope.UNIT_BOUND == {"unit_admin", "applicant"}
    assert scope.UNBOUND_TASK_ROLES == {"association_reviewer", "finance_reviewer"}
    assert scope.STAFF_ROLES == (
        "agency_reviewer",
        "association_reviewer",
        "finance_reviewer",
        "secretariat_admin",
        "designer",
    )
    assert scope.DESIGNERS == {"designer"}
    assert [r for r in ORDER if scope.is_staff_role(r)] == list(scope.STAFF_ROLES)


def test_a_unit_and_an_agency_are_its_own_admin_and_reviewer_only():
    unit, agency = _actor("unit_admin"), _actor("agency_reviewer")
    assert scope.administers_unit(unit, 3) and not scope.administers_unit(unit, 4)
    assert not scope.administers_unit(agency, 3)
    assert scope.reviews_agency(agency, 5) and not scope.reviews_agency(agency, 6)
    assert not scope.reviews_agency(unit, 5)
    seen = {role: scope.may_see_unit(_actor(role), 4, 6) for role in ORDER}
    assert seen == {role: role in scope.SEES_EVERYTHING for role in ORDER}
    assert scope.may_see_unit(unit, 3, 6) and scope.may_see_unit(agency, 4, 5)


@pytest.mark.parametrize("with_member", [True, False])
def test_records_in_scope_role_by_role(with_member):
    unit_col, member_col = column("unit_id"), column("member_id")
    expected = {
        "member": "member_id = :member_id_1" if with_member else None,
        "unit_admin": "unit_id = :unit_id_1",
        "agency_reviewer": None,
        "association_reviewer": "",
        "finance_reviewer": "",
        "secretariat_admin": "",
        "applicant": None,
        "designer": None,
    }
    for role in ORDER:
        where = scope.records_in_scope(_actor(role), unit_col, member_col if with_member else None)
        got = None if where is None else " AND ".join(str(c) for c in where)
        assert got == expected[role], role


def test_may_start_follows_the_definitions_lanes():
    assert scope.may_start(_actor("unit_admin"), ("unit_admin", "member"))
    assert not scope.may_start(_actor("agency_reviewer"), ("unit_admin", "member"))


def test_lines_in_scope_keeps_a_member_to_their_own_line_of_a_form():
    expected = {role: "" for role in ORDER} | {
        "member": "instance_persons.member_id = :member_id_1"
    }
    for role in ORDER:
        got = " AND ".join(str(c) for c in scope.lines_in_scope(_actor(role)))
        assert got == expected[role], role
    nobody = Actor(7, "某人", "member", member_id=None)
    assert [str(c) for c in scope.lines_in_scope(nobody)] == ["false"]
