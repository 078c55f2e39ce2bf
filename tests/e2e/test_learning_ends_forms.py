"""Every education form ends (审批完成) once each person on it has passed, whichever server
process records the passes, in whatever order and on whatever days; its people are then
自由态 again.

A multi-instance call activity hears that one of its per-person branches ended through a
callback on the parsed diagram, which SpiffWorkflow connected only when the branches were
created in the same process. A server restarted (or another worker) between the finance
approval and the learning results never finished the form. Here a "restart" is a new app on
the same database with the parse cache emptied: it parses the diagrams anew, as a new
process does.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest
from click.testing import CliRunner
from conftest import in_db, make_app, parse_anew, token_headers, upload
from SpiffWorkflow.bpmn.specs.mixins.multiinstance_task import MultiInstanceTask
from sqlalchemy import select
from test_other_education_api import approve, enrol, seed, supervisor

from service.cli import main as cli
from service.db.models import LearningTask
from service.engine import catalogue

# business: its form line beyond the materials, the certificate the member holds (valid
# until; None: none), the bill for one person
BUSINESSES = {
    "initial_education": (
        {"certificate_type": "监理员", "specialty_1": "房屋建筑工程"},
        None,
        "60.00",
    ),
    "continuing_education": ({"certificate_type": "监理员"}, date(2027, 2, 28), "60.00"),
    "upgrade_education": ({}, date(2028, 12, 31), "100.00"),
    "specialty_change": ({"specialty_1": "市政公用工程"}, date(2028, 12, 31), "60.00"),
}
PEOPLE = [
    ("陈伟强", "44010619750909678"),
    ("罗建平", "44010619820303567"),
    ("何丽", "44010619880808456"),
]
DAY_1 = datetime(2026, 11, 28, 4, 0, 0)  # noon in Shanghai
DAY_2 = datetime(2026, 12, 3, 4, 0, 0)
DAY_3 = datetime(2027, 1, 15, 4, 0, 0)


class Server:
    """One app (a server process) on the test's database, with its clock and sign-ins."""

    def __init__(self, app, clock: datetime):
        self.app, self.client = app, app.test_client()
        app.extensions["memberflow"].clock = lambda: clock
        self._headers: dict[str, dict] = {}

    def login(self, who: str) -> dict:
        names = {"unit": "广州珠江工程建设监理有限公司", "agency": "jigou"}
        names |= {"association": "xiehui", "finance": "caiwu"}
        if who not in self._headers:
            self._headers[who] = token_headers(self.client, names[who])
        return self._headers[who]

    def passes(self, people: list[tuple[str, str]]) -> dict:
        def required(s):  # each person's open learning: a pass records its hours, no more
            rows = s.execute(
                select(LearningTask.id_number, LearningTask.required_hours).where(
                    LearningTask.id_number.in_([n for n, _ in people]),
                    LearningTask.status.in_(("开课未学习", "学习中")),
                )
            )
            return dict(rows.all())

        hours = in_db(self.app, required)
        records = [
            {
                "id_number": n,
                "name": name,
                "completed_hours": str(hours.get(n, 24)),
                "exam_status": "已通过",
                "exam_attempts": 2,
            }
            for n, name in people
        ]
        reply = self.client.post(
            "/api/v1/learning-records", headers=self.login("association"), json={"records": records}
        )
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()

    def form(self, instance_id: int) -> dict:
        reply = self.client.get(f"/api/v1/instances/{instance_id}", headers=self.login("unit"))
        assert reply.status_code == 200, reply.get_json()
        return reply.get_json()

    def archive_status(self, unit_id: int, id_number: str) -> str:
        reply = self.client.get(
            f"/api/v1/units/{unit_id}/members?q={id_number}", headers=self.login("unit")
        )
        assert reply.status_code == 200, reply.get_json()
        (item,) = reply.get_json()["items"]
        return item["status"]


@pytest.fixture
def restart(db_url, tmp_path, monkeypatch):
    """restart(clock) -> a new server on the same database, its diagrams parsed anew."""

    def _restart(clock: datetime) -> Server:
        parse_anew(monkeypatch)
        return Server(make_app(db_url, tmp_path), clock)

    return _restart


def certificates(until: date | None, i: int) -> list:
    return [] if until is None else [supervisor(until, number=f"JL20240000{i + 1:02d}")]


def enrolled(app, client, login, world, key: str, count: int, first: int = 0) -> tuple[int, list]:
    """A form of `key` for `count` people from PEOPLE[first], approved and paid: learning
    is open."""
    line, until, fee = BUSINESSES[key]
    unit = login("unit")
    people = [
        (seed(app, world.unit_id, name, prefix, certificates(until, i)), name)
        for i, (name, prefix) in enumerate(PEOPLE[first : first + count], first)
    ]
    extra = dict(line)
    if key == "initial_education":
        extra["verification"] = upload(client, unit)
    # submitted on DAY_1 too: its receipt, dated DAY_1, is not before the form
    app.extensions["memberflow"].clock = lambda: DAY_1
    inst = enrol(client, unit, key, people, **extra)
    total = f"{float(fee) * count:.2f}"
    approve(app, client, login, inst["id"], total)
    return inst["id"], people


def assert_ended(server: Server, world, instance_id: int, people) -> None:
    form = server.form(instance_id)
    assert (form["finished"], form["status"]) == (True, "审批完成"), form["status"]
    for n, _ in people:
        assert server.archive_status(world.unit_id, n) == "自由态"


@pytest.mark.parametrize("key", list(BUSINESSES))
def test_one_person_passing_on_another_server_ends_the_form(
    app, client, login, world, restart, key
):
    instance_id, people = enrolled(app, client, login, world, key, 1)
    other = restart(DAY_2)
    assert other.archive_status(world.unit_id, people[0][0]).endswith("学习中")
    assert other.passes(people)["passed"] == 1
    assert_ended(other, world, instance_id, people)


@pytest.mark.parametrize("key", list(BUSINESSES))
def test_several_people_passing_in_any_order_on_different_days_end_the_form(
    app, client, login, world, restart, key
):
    instance_id, people = enrolled(app, client, login, world, key, 3)
    first, second, third = people
    # the last on the form passes first, on a server started after the approval
    day_2 = restart(DAY_2)
    assert day_2.passes([third])["passed"] == 1
    form = day_2.form(instance_id)
    assert (form["finished"], form["status"]) == (False, "审批完成")
    assert day_2.archive_status(world.unit_id, third[0]) == "自由态"  # passed: learning ended
    assert day_2.archive_status(world.unit_id, first[0]).endswith("学习中")
    # weeks later, on yet another server, the other two pass together
    day_3 = restart(DAY_3)
    assert day_3.passes([first, second])["passed"] == 2
    assert_ended(day_3, world, instance_id, people)


@pytest.mark.parametrize("key", ["initial_education", "specialty_change"])
def test_passes_recorded_on_the_approving_server_one_by_one_end_the_form(
    app, client, login, world, key
):
    instance_id, people = enrolled(app, client, login, world, key, 2)
    server = Server(app, DAY_2)
    server.client, server._headers = client, {}
    for person in reversed(people):
        assert server.passes([person])["passed"] == 1
    assert_ended(server, world, instance_id, people)


def as_parsed_before_the_fix() -> None:
    """The diagrams built since the cache was emptied, as a process parsed them before the
    fix: no multi-instance task hears of an instance that ends in a process that did not
    create it."""
    for defn in catalogue._BUILT.values():
        for process in (defn.spec, *defn.subprocess_specs.values()):
            for spec in process.task_specs.values():
                if isinstance(spec, MultiInstanceTask):
                    child = process.task_specs[spec.task_spec]
                    child.completed_event.disconnect(spec.merge_child)


def test_resume_forms_finishes_the_forms_stuck_before_the_fix(
    app, client, login, world, restart, db_url, tmp_path, monkeypatch
):
    stuck, people = enrolled(app, client, login, world, "continuing_education", 1)
    waiting, others = enrolled(app, client, login, world, "specialty_change", 2, 1)
    old = restart(DAY_2)
    as_parsed_before_the_fix()
    assert old.passes(people)["passed"] == 1
    assert old.passes(others[:1])["passed"] == 1
    form = old.form(stuck)
    assert (form["finished"], form["status"]) == (False, "审批完成")
    # the person passed: nothing of the form is in progress for the person any more
    assert old.archive_status(world.unit_id, people[0][0]) == "自由态"
    assert old.archive_status(world.unit_id, others[1][0]) == "普通会员专业变更学习中"

    # a new process (the command) runs on the stuck form; the one still waiting for a
    # person's result is left as it is
    parse_anew(monkeypatch)
    monkeypatch.setenv("MEMBERFLOW_DATABASE_URL", db_url)
    monkeypatch.setenv("MEMBERFLOW_INSTANCE_DIR", str(tmp_path))
    result = CliRunner().invoke(cli, ["resume-forms"])
    assert (result.exit_code, result.output) == (0, f"已继续办理 1 张表单：[{stuck}]\n")
    assert_ended(old, world, stuck, people)
    form = old.form(waiting)
    assert (form["finished"], form["status"]) == (False, "审批完成")
    # the other person's pass, recorded by a fixed server, ends the second form too
    assert restart(DAY_3).passes(others[1:])["passed"] == 1
    assert_ended(old, world, waiting, others)
    # nothing left to resume
    assert CliRunner().invoke(cli, ["resume-forms"]).output == "已继续办理 0 张表单\n"
