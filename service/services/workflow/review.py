"""What a person reviewing or reading an application sees, in one use case per page.

An application's data with the schemas that title it, its materials, bill, approval record
(with each actor's role) and where it stands in its diagram. Scope is the same as the API's:
a task or form out of the caller's scope is NotFound.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select

from service.db.models import (
    Account,
    Agency,
    Certificate,
    Incident,
    InstancePerson,
    Member,
    ProcessInstance,
    StoredFile,
    Unit,
    UserTask,
    WaitingEvent,
)
from service.db.uow import UnitOfWork
from service.domain.actor import Actor
from service.domain.roles import ROLES
from service.domain.validation import age_on
from service.engine import Definition
from service.engine.formschema import values_at
from service.services.workflow import instances, tasks
from service.services.workflow.context import Context
from service.services.workflow.facts import persons_on
from service.services.workflow.persons import (
    first_enrolment,
    gives_first_certificate,
    held_specialty,
)

APPLICANT = "申请人"


def _label_map(defn: Definition, task_name: str | None) -> dict:
    info = defn.user_tasks.get(task_name or "")
    return (info.fields.get("decision") or {}).get("x-labels", {}) if info else {}


def _titled(schemas: list[dict], path: str, data: dict | None = None) -> str:
    """The title of the field at a data path (`persons.0.diploma` → 第1行 最高学历证书), with
    the name of the person on that row of `data` (第1行 周建国 最高学历证书)."""
    parts = path.split(".")
    title, row = parts[-1], None
    for schema in schemas:
        node = schema
        for part in parts:
            node = _child(node, part)
            if node is None:
                break
        if node is not None and node.get("title"):
            title = node["title"]
            break
    if len(parts) >= 3 and parts[-2].isdigit():
        row = int(parts[-2]) + 1
        name = _row_name(data, parts[:-1])
        if name:
            return f"第{row}行 {name} {title}"
    return f"第{row}行 {title}" if row else title


def _row_name(data: dict | None, parts: list[str]) -> str | None:
    """The `name` of the row at a data path (`persons.0`), if it has one."""
    node = data
    for part in parts:
        if isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        elif isinstance(node, dict):
            node = node.get(part)
        else:
            return None
    name = node.get("name") if isinstance(node, dict) else None
    return name if isinstance(name, str) and name.strip() else None


def _child(node: dict, part: str) -> dict | None:
    if part.isdigit() and isinstance(node.get("items"), dict):
        return node["items"]
    found = (node.get("properties") or {}).get(part)
    if found is not None:
        return found
    for sub in node.get("allOf") or []:
        hit = _child(sub, part) if isinstance(sub, dict) else None
        if hit is not None:
            return hit
    return None


def display_schemas(defn: Definition) -> list[dict]:
    """The schemas that title an application's data: its start form, then each task's."""
    return [defn.start_form] + [t.form for t in defn.user_tasks.values()]


def _materials(uow: UnitOfWork, defn: Definition, data: dict) -> list[dict]:
    paths = set(defn.start_file_fields)
    for info in defn.user_tasks.values():
        paths |= set(info.file_fields)
    found: dict[str, str] = {}
    for path in sorted(paths):
        for where, value in values_at(data, path):
            if isinstance(value, str) and where not in found:
                found[where] = value
    if not found:
        return []
    rows = {
        r.id: r
        for r in uow.session.scalars(
            select(StoredFile).where(StoredFile.id.in_(set(found.values())))
        )
    }
    schemas = display_schemas(defn)
    result = []
    for where, file_id in found.items():
        row = rows.get(file_id)
        if row is None:
            continue
        result.append(
            {
                "field": where,
                "title": _titled(schemas, where, data),
                "id": row.id,
                "name": row.name,
                "size": row.size,
                "content_type": row.content_type,
                "is_image": row.content_type.startswith("image/"),
                "is_video": row.content_type.startswith("video/"),
            }
        )
    order = {p: i for i, p in enumerate(found)}
    return sorted(result, key=lambda m: (m["field"].count("."), order[m["field"]]))


def _record(uow: UnitOfWork, defn: Definition, record: list[dict]) -> list[dict]:
    ids = {r["actor_id"] for r in record if r["actor_id"] is not None}
    roles = dict(
        uow.session.execute(select(Account.id, Account.role).where(Account.id.in_(ids))).all()
    )
    steps = []
    for r in record:
        role = roles.get(r["actor_id"])
        labels = _label_map(defn, r["task_name"])
        steps.append(
            {
                **r,
                "role_label": ROLES.get(role, APPLICANT) if role else APPLICANT,
                "decision_label": labels.get(r["decision"], r["decision"])
                if r["decision"]
                else ("提交" if r["action"] == "start" else None),
            }
        )
    return steps


def latest_return(record: list[dict]) -> dict | None:
    """The step of the approval record that returned the form (退回: who, when, at which
    step, the reason) while that return stands: the form's last decision on a task. A form
    resubmitted or approved since has none (as the list's 退回原因 column reads it)."""
    decided = [r for r in record if r["action"] in ("complete", "return")]
    return decided[-1] if decided and decided[-1]["action"] == "return" else None


def application(ctx: Context, uow: UnitOfWork, actor: Actor, instance_id: int) -> dict:
    """An application as its reader sees it: data, schemas, materials, bill, record, diagram."""
    view, inst = instances.instance_detail(ctx, uow, actor, instance_id)
    row, defn = uow.session.get(ProcessInstance, instance_id), inst.defn
    unit = uow.session.get(Unit, row.unit_id) if row.unit_id else None
    agency = uow.session.get(Agency, row.agency_id) if row.agency_id else None
    record = _record(uow, defn, view["approval_record"])
    current = {t["task_name"] for t in view["open_tasks"]}
    # the path taken, automatic steps and gateways included (the record names only the
    # people's steps: a rule task passed stayed white between green ones)
    done = inst.passed_steps() - current
    bill = view.get("bill")
    if bill is not None and bill["status"] == "unpaid":
        # the timer waiting beside the payment (缴费期限): past it the form closes
        bill["due_at"] = uow.session.scalar(
            select(func.min(WaitingEvent.due_at)).where(
                WaitingEvent.instance_id == instance_id,
                WaitingEvent.kind == "timer",
                WaitingEvent.due_at.is_not(None),
            )
        )
    holders = _names(uow, [t["claimed_by"] for t in view["open_tasks"]])
    for t in view["open_tasks"]:
        t["claimed_by_name"] = holders.get(t["claimed_by"])
    view.update(
        unit_name=unit.name if unit else None,
        agency_name=agency.name if agency else None,
        schemas=display_schemas(defn),
        materials=_materials(uow, defn, view["data"]),
        people=_people(uow, defn, instance_id, ctx.today(), view["data"]),
        before=_before(uow, defn, view["data"]) if not row.finished else {},
        enrolment=defn.declarations.learning_effect is not None,
        approval_record=record,
        returned=latest_return(record),
        diagram={"bpmn": defn.bpmn, "current": sorted(current), "done": sorted(done)},
        version=ctx.definitions.version_number(uow.session, row.definition_version_id),
    )
    return view


def _people(
    uow: UnitOfWork, defn: Definition, instance_id: int, today: date, data: dict
) -> dict[str, dict]:
    """What a reviewer reads beside each person a form lists (UI.md "Person tables"), by ID
    number: 性别, 年龄 and 最高学历 from the unit's archive (None where it has none) and
    是否首次, whether this form is the first of its business to enrol the person for its
    certificate (as the 报名表 export says; only a business giving a certificate not held yet
    can be a first time), and 现持证专业, the specialties of the current certificate the line
    is about (any held, when it names no type). Only the persons whose ID numbers the reader
    sees in `data`: a member reading a colleague's line sees it masked, nothing beside it."""
    shown = {number for number, _ in persons_on(data)}
    first = first_enrolment([defn.key] if gives_first_certificate(defn) else [])
    rows = uow.session.execute(
        select(
            InstancePerson.id_number,
            Member.gender,
            Member.birth_date,
            Member.education,
            first.label("first"),
            held_specialty(Certificate.specialty_1),
            held_specialty(Certificate.specialty_2),
        )
        .select_from(InstancePerson)
        .join(ProcessInstance, ProcessInstance.id == InstancePerson.instance_id)
        .outerjoin(Member, Member.id_number == InstancePerson.id_number)
        .where(InstancePerson.instance_id == instance_id)
    )
    people = {}
    for number, gender, born, education, first_time, *held in rows:
        if number not in shown:
            continue
        level = education.get("level") if isinstance(education, dict) else None
        people[number] = {
            "gender": gender,
            "age": age_on(born, today) if born is not None and born <= today else None,
            "education": level,
            "first": bool(first_time),
            # the specialties of the certificate the line is about (exports: 专业1, 专业2)
            "held": "、".join(h for h in held if h) or None,
        }
    return people


# what a change form (its start form's object marked `"x-compare": "member"`) may change of
# a member's archive, by the form's field name
MEMBER_VALUES = {
    "mobile": Member.mobile,
    "address": Member.address,
    "education": Member.education,
    "title": Member.title,
    "registration_number": Member.registration_number,
    "photo": Member.photo_file_id,
}


def _before(uow: UnitOfWork, defn: Definition, data: dict) -> dict[str, object]:
    """What a change form changes, as the member's archive holds it now, by the field's
    data path (`changes.mobile`): each field of a start-form object marked `"x-compare":
    "member"` that the form fills in, of the member its `id_number` names. Read while the
    form is open (once approved, the archive holds the new values)."""
    props = defn.start_fields
    compared = [
        name
        for name, node in props.items()
        if isinstance(node, dict) and node.get("x-compare") == "member"
    ]
    wanted = {
        f"{name}.{key}": MEMBER_VALUES[key]
        for name in compared
        if isinstance(data.get(name), dict)
        for key in data[name]
        if key in MEMBER_VALUES
    }
    number = data.get("id_number")
    if not wanted or not isinstance(number, str):
        return {}
    row = uow.session.execute(
        select(*wanted.values()).where(Member.id_number == number.strip().upper())
    ).first()
    return dict(zip(wanted, row, strict=True)) if row is not None else {}


def _names(uow: UnitOfWork, account_ids) -> dict[int, str]:
    ids = {i for i in account_ids if i is not None}
    if not ids:
        return {}
    return dict(
        uow.session.execute(select(Account.id, Account.name).where(Account.id.in_(ids))).all()
    )


def task_review(ctx: Context, uow: UnitOfWork, actor: Actor, task_id: int) -> dict:
    """The 审核 page: the task with its form, and the application it belongs to."""
    task = tasks.get_task(ctx, uow, actor, task_id, with_data=False)  # the application's
    row = uow.session.get(UserTask, task_id)
    names = _names(uow, [row.claimed_by, row.completed_by])
    task.update(
        claimed_by_name=names.get(row.claimed_by),
        completed_by_name=names.get(row.completed_by),
        completed_at=row.completed_at,
        mine=row.claimed_by == actor.id,
        can_act=row.state == "open" and row.claimed_by in (None, actor.id),
        ended=tasks.ended_note(uow.session, row) if row.state != "open" else None,
    )
    found = uow.session.execute(
        select(Incident.number, Incident.task_name).where(
            Incident.instance_id == row.instance_id, Incident.status == "open"
        )
    ).all()
    # the form is stuck on a failed step: this one (a submission that was not kept), or other
    task["incidents"] = [n for n, name in found if name == row.task_name]
    task["other_incidents"] = [n for n, name in found if name != row.task_name]
    app = application(ctx, uow, actor, task["instance"]["id"])
    task["instance"]["data"] = app["data"]  # the state read once, as this reader may see it
    return {"task": task, "application": app}
