"""A reviewer of an education form reads, beside each person, the specialties of the
certificate the line is about (现持证专业): a 专业变更 or a 继续教育 showed only what the form
asked for, and the reviewer could not see what the person holds."""

from __future__ import annotations

import re
from datetime import date

import pytest
from conftest import open_task
from test_other_education_api import enrol, seed, supervisor
from test_pages_http import sign_in

pytestmark = pytest.mark.usefixtures("pinned_clock")


def _row(page: str, name: str) -> dict[str, str]:
    """The person table's row of `name`, by column title."""
    table = page[page.index("报名人员（") :]
    table = table[: table.index("</table>")]
    header = re.findall(r"<th>(.*?)</th>", table)
    for row in re.findall(r"<tr>(.*?)</tr>", table[table.index("<tbody>") :], re.S):
        cells = [
            re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)
        ]
        if name in cells:
            return dict(zip(header, cells, strict=True))
    raise AssertionError(f"{name} not in the table")


@pytest.mark.parametrize(
    "key, extra",
    [("continuing_education", {"certificate_type": "监理员"}), ("specialty_change", {})],
)
def test_the_specialties_held_are_shown_beside_the_person(app, client, login, world, key, extra):
    n = seed(app, world.unit_id, "罗建平", "44010619750909678", [supervisor(date(2027, 2, 28))])
    if key == "specialty_change":
        extra = {"specialty_1": "机电安装工程"}
    inst = enrol(client, login("unit"), key, [(n, "罗建平")], **extra)
    task = open_task(client, login("agency"), inst["id"])
    sign_in(client, "jigou")
    row = _row(client.get(f"/workbench/tasks/{task['id']}").get_data(as_text=True), "罗建平")
    assert row["现持证专业"] == "房屋建筑工程、市政公用工程"
    assert row["是否首次"] == "否"  # a renewal or a change is never a first time
