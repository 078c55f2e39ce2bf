"""A task's form is validated on what was submitted, never merged with the instance's earlier
values: a diagram without `decision = None` pre-scripts cannot pass an empty approval."""

from __future__ import annotations

import shutil

from conftest import (
    REPO,
    applicant_data,
    make_app,
    seed_world,
    start_form,
    step_task,
    token_headers,
)

RESET = "<spiffworkflow:preScript>decision = None\nremark = None</spiffworkflow:preScript>"


def test_an_approval_without_a_decision_is_refused_though_an_earlier_reviewer_decided(
    db_url, tmp_path
):
    processes = tmp_path / "processes"
    shutil.copytree(REPO / "processes", processes)
    bpmn = processes / "member_join.bpmn"
    text = bpmn.read_text(encoding="utf-8")
    assert RESET in text
    bpmn.write_text(text.replace(RESET, ""), encoding="utf-8")  # a designer forgot them
    app = make_app(db_url, tmp_path, processes_dir=processes)
    world = seed_world(app)
    client = app.test_client()
    unit = token_headers(client, world.logins["unit"])
    agency = token_headers(client, world.logins["agency"])
    association = token_headers(client, world.logins["association"])

    data = applicant_data(client, unit)
    inst = start_form(client, unit, "member_join", data)
    # the variant (read-only) and the declaration belong to the start form alone
    fields = {k: v for k, v in data.items() if k not in ("variant", "declaration")}
    step_task(
        client, unit, inst["id"], {**fields, "decision": "approve", "member_level": "普通会员"}
    )
    step_task(client, agency, inst["id"], {"decision": "approve"})

    body = step_task(client, association, inst["id"], {"remark": "同意"}, expect=422)
    assert set(body["errors"]) == {"decision"}, body
    done = step_task(client, association, inst["id"], {"decision": "approve"})
    assert done["status"] == "待缴费"


def test_the_units_pre_review_must_send_the_fields_its_form_requires(app, client, login):
    unit = login("unit")
    inst = start_form(client, unit, "member_join", applicant_data(client, unit))
    # the applicant's answers are in the instance, but the form is checked as submitted
    body = step_task(
        client, unit, inst["id"], {"decision": "approve", "member_level": "普通会员"}, expect=422
    )
    assert "address" in body["errors"], body
