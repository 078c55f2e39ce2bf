"""Where a process's running instances wait, per step of one of its versions (a heat map).

Designers and operators read it on the diagram: how many open tasks wait at each user
task of the version, and how many open incidents stand at each step. Counted from the
queue table and the incidents table alone; the engine state is never loaded.
"""

from __future__ import annotations

from sqlalchemy import func, select

from service.db.models import DefinitionVersion, Incident, ProcessInstance, UserTask
from service.domain.actor import Actor
from service.domain.errors import FormInvalid, NotFound
from service.engine import flow_order
from service.services.workflow.scope import sees_process_maps


def process_map(ctx, uow, actor: Actor, key: str, number: int | None = None) -> dict:
    """One version of `key` (the current one unless `number` names another), its BPMN,
    and the number of running instances waiting at each of its steps."""
    if not sees_process_maps(actor):
        raise NotFound("没有该功能")
    if key not in ctx.definitions.current:
        raise NotFound(f"没有名为 {key} 的业务流程")
    session = uow.session
    versions = session.execute(
        select(DefinitionVersion.id, DefinitionVersion.number)
        .where(DefinitionVersion.process_key == key)
        .order_by(DefinitionVersion.number.desc())
    ).all()
    current_id = ctx.definitions.latest(key)[0]
    if number is None:
        version_id = current_id
    else:
        matching = [vid for vid, n in versions if n == number]
        if not matching:
            raise FormInvalid({"version": f"{key} 没有第 {number} 版"})
        version_id = matching[0]
    defn = ctx.definitions.version(session, version_id)
    of_version = (
        ProcessInstance.definition_version_id == version_id,
        ProcessInstance.finished.is_(False),
    )
    waiting, titles = {}, {}
    for task_name, title, n in session.execute(
        select(UserTask.task_name, func.max(UserTask.title), func.count(UserTask.id))
        .join(ProcessInstance, ProcessInstance.id == UserTask.instance_id)
        .where(UserTask.state == "open", *of_version)
        .group_by(UserTask.task_name)
    ):
        waiting[task_name], titles[task_name] = n, title
    stuck = dict(
        session.execute(
            select(Incident.task_name, func.count(Incident.id))
            .where(
                Incident.definition_version_id == version_id,
                Incident.status == "open",
                Incident.task_name.is_not(None),
            )
            .group_by(Incident.task_name)
        ).all()
    )
    running = session.scalar(select(func.count(ProcessInstance.id)).where(*of_version))
    numbers = {vid: n for vid, n in versions}
    return {
        "process_key": key,
        "process_name": defn.name,
        "version": numbers.get(version_id),
        "current": version_id == current_id,
        "versions": [n for _vid, n in versions],
        "running": running or 0,
        "waiting": waiting,
        "incidents": stuck,
        "steps": _steps(titles, waiting, stuck, flow_order(defn)),
        "bpmn": defn.bpmn,
    }


def _steps(
    titles: dict[str, str], waiting: dict[str, int], stuck: dict[str, int], order: list[str]
) -> list[dict]:
    """The steps with instances, busiest first, equals in the diagram's order (`order`: its
    user tasks'): the table beside the picture, for people who cannot read colours."""
    place = {name: i for i, name in enumerate(order)}
    ids = sorted(
        set(waiting) | set(stuck),
        key=lambda i: (-waiting.get(i, 0), place.get(i, len(place)), i),
    )
    return [
        {
            "element_id": i,
            "name": titles.get(i) or i,
            "waiting": waiting.get(i, 0),
            "incidents": stuck.get(i, 0),
        }
        for i in ids
    ]
