"""The 审核 page reads the form's engine state once: the task's part and the application's
part each loaded it (35 ms at 71 returns, where the state is largest)."""

from __future__ import annotations

from conftest import applicant_data, open_task, start_form
from test_pages_http import sign_in

from service.engine import Instance


def test_the_review_page_loads_the_engine_state_once(app, client, login, world, monkeypatch):
    unit = login("unit")
    inst = start_form(client, unit, "member_join", applicant_data(client, unit))
    task = open_task(client, unit, inst["id"])  # 单位预审: the unit's own review
    sign_in(client, world.logins["unit"])
    loads = []
    real = Instance.load.__func__

    def counted(cls, *args, **kwargs):
        loads.append(1)
        return real(cls, *args, **kwargs)

    monkeypatch.setattr(Instance, "load", classmethod(counted))
    page = client.get(f"/workbench/tasks/{task['id']}")
    assert page.status_code == 200
    assert inst["business_key"] in page.get_data(as_text=True)
    assert len(loads) == 1
