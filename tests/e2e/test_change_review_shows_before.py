"""A reviewer of a 个人会员信息变更 reads each new value beside the one the member's archive
holds (the start form's `changes` says `"x-compare": "member"`): only the new values were
shown, and a field sent unchanged read as a change."""

from __future__ import annotations

import re

import pytest
from conftest import open_task, upload
from conftest import start_form as start
from test_member_and_cpd_api import review_to_end, seed
from test_pages_http import sign_in

pytestmark = pytest.mark.usefixtures("pinned_clock")
EDUCATION = {"level": "本科", "school": "华南理工大学", "major": "土木工程"}


def _shown(page: str) -> dict[str, str]:
    """The application's fields as read: title -> what its <dd> says, tags dropped."""
    fields = page[page.index('id="h-application"') : page.index('id="h-materials"')]
    shown = {}
    for found in re.finditer(r"<dt>(.*?)</dt>\s*<dd>", fields):  # nested lists too
        value = fields[found.end() : fields.index("</dd>", found.end())]
        shown[found.group(1)] = re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", value)).strip()
    return shown


def test_the_review_shows_each_new_value_beside_the_archives(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "杨志刚", "44010619800101123", education=EDUCATION)
    changes = {"mobile": "13922334455", "title": "初级", "address": "广州市天河区体育西路1号"}
    data = {"id_number": n, "name": "杨志刚", "changes": changes}
    inst = start(client, unit, "member_info_change", {**data, "diploma_scan": upload(client, unit)})
    task = open_task(client, login("agency"), inst["id"])

    sign_in(client, "jigou")
    shown = _shown(client.get(f"/workbench/tasks/{task['id']}").get_data(as_text=True))
    assert shown["手机号码"] == "13922334455 （变更前：13800001111）"
    assert shown["职称"] == "初级 （与现有信息相同，未变化）"
    assert shown["通讯地址"] == "广州市天河区体育西路1号 （变更前：未填写）"

    review_to_end(client, login, inst["id"])  # the archive holds the new values now
    sign_in(client, world.logins["unit"])
    shown = _shown(client.get(f"/forms/{inst['id']}").get_data(as_text=True))
    assert shown["手机号码"] == "13922334455" and "变更前" not in str(shown)


def test_a_new_education_is_shown_beside_the_old_one(app, client, login, world):
    unit = login("unit")
    n = seed(app, world.unit_id, "杨志刚", "44010619800101123", education=EDUCATION)
    new = {"level": "硕士", "school": "同济大学", "major": "结构工程", "graduated_on": "2015-06-30"}
    data = {"id_number": n, "name": "杨志刚", "changes": {"education": new}}
    inst = start(client, unit, "member_info_change", {**data, "diploma_scan": upload(client, unit)})
    sign_in(client, world.logins["unit"])
    page = client.get(f"/forms/{inst['id']}").get_data(as_text=True)
    assert "（变更前：本科，华南理工大学，土木工程）" in re.sub(r"\s+", "", page)
