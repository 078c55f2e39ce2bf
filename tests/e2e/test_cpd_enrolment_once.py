"""A registered engineer enrols in 专业会员（注师）继教 once until learning opens (manual
2.11.2.2): approved and waiting for the weekly batch, or reported in a batch whose learning has
not been opened on the national platform yet, the person is refused with the same reason in
the eligibility list, the preview and at submission (`cpd_enrolment`,
rules/engineer_cpd_eligibility.dmn); once the opening is recorded they may enrol again. And
nobody is listed twice in one batch, whatever completions wait for it."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

import pytest
from conftest import in_db, start_form, upload
from openpyxl import load_workbook
from sqlalchemy import func, select
from test_cpd_batches_api import (
    CUT_OFF,
    SECOND,
    complete_cpd_at,
    engineer,
    run_batch_job,
    set_clock,
)

from service.db.models import CpdCompletion, Member, ProcessInstance

pytestmark = pytest.mark.usefixtures("pinned_clock")

DAY = timedelta(days=1)
# approved Monday 2026-11-30 15:00 Shanghai, before Tuesday's cut-off
APPROVED_AT = CUT_OFF - DAY
WAITING = "已报名专业会员（注师）继教（2026-11-30审批完成），正等待每周上报开通学习，不能重复报名"
REPORTED = "已列入注师继教上报名单（2026-11-30审批完成），尚未开通学习，不能重复报名"


def cpd_data(client, headers, id_number, name) -> dict:
    files = ("id_front", "id_back", "diploma", "registration_cert", "social_insurance")
    line = {"id_number": id_number, "name": name, **{f: upload(client, headers) for f in files}}
    return {"fee_voucher": upload(client, headers), "persons": [line]}


def reasons_everywhere(client, unit, unit_id, id_number, name) -> tuple[list, list, list]:
    """What the eligibility list, the preview and a submission say of the person; a refused
    submission saves no form."""
    listed = client.get(f"/api/v1/units/{unit_id}/eligibility?process=engineer_cpd", headers=unit)
    assert listed.status_code == 200, listed.get_json()
    [item] = [i for i in listed.get_json()["items"] if i["id_number"] == id_number]
    assert item["eligible"] is not bool(item["reasons"])
    data = cpd_data(client, unit, id_number, name)
    preview = client.post(
        "/api/v1/processes/engineer_cpd/preview", headers=unit, json={"data": data}
    )
    assert preview.status_code == 200, preview.get_json()
    [line] = preview.get_json()["items"]
    assert line["eligible"] is not bool(line["reasons"])
    forms = client.get("/api/v1/instances", headers=unit).get_json()["total"]
    started = client.post(
        "/api/v1/processes/engineer_cpd/instances", headers=unit, json={"data": data}
    )
    if started.status_code == 201:
        return item["reasons"], line["reasons"], []
    assert started.status_code == 422, started.get_json()
    assert client.get("/api/v1/instances", headers=unit).get_json()["total"] == forms
    return item["reasons"], line["reasons"], [started.get_json()["errors"]["persons.0"]]


def test_an_enrolment_waiting_for_its_batch_or_its_opening_refuses_another_until_learning_opens(
    app, client, login, world
):
    person = engineer(app, world.unit_id, "谢国栋", "44010619700202789")
    complete_cpd_at(app, client, login, person, "谢国栋", APPROVED_AT)
    unit = login("unit")

    # approved, waiting for Tuesday's batch
    set_clock(app, CUT_OFF - 60 * SECOND)
    said = reasons_everywhere(client, unit, world.unit_id, person, "谢国栋")
    assert said == ([WAITING], [WAITING], [WAITING])

    # reported in the batch, its list published on Wednesday: learning not opened yet
    batch = run_batch_job(app, CUT_OFF + SECOND)
    assert batch["person_count"] == 1
    association = login("association")
    url = f"/api/v1/cpd-batches/{batch['batch_id']}"
    set_clock(app, datetime(2026, 12, 2, 2, 0, 0))  # Wednesday 10:00 Shanghai
    assert reasons_everywhere(client, unit, world.unit_id, person, "谢国栋") == (
        [REPORTED],
        [REPORTED],
        [REPORTED],
    )
    assert client.post(f"{url}/publication", headers=association).status_code == 200
    said = reasons_everywhere(client, unit, world.unit_id, person, "谢国栋")
    assert said == ([REPORTED], [REPORTED], [REPORTED])

    # Friday: learning opened on the national platform; a new enrolment may be made
    set_clock(app, datetime(2026, 12, 4, 1, 0, 0))
    assert client.post(f"{url}/opening", headers=association).status_code == 200
    assert reasons_everywhere(client, unit, world.unit_id, person, "谢国栋") == ([], [], [])


def test_a_second_approval_of_the_same_person_waits_in_no_batch_twice(app, client, login, world):
    """The demo's repro: the person enrolled again and approved again is refused now; a
    completion left waiting by an approval from before that rule (or two forms of the person
    both in flight) still lists the person once, on the coming batch's page, in the batch's
    count and report, and in its notices."""
    from test_account_pages_http import sign_in, text

    person = engineer(app, world.unit_id, "谢国栋", "44010619700202789")
    other = engineer(app, world.unit_id, "唐佳慧", "44010619850315246")
    first = complete_cpd_at(app, client, login, person, "谢国栋", APPROVED_AT)
    complete_cpd_at(app, client, login, other, "唐佳慧", APPROVED_AT + SECOND)

    # submitting the person again is refused before any review
    unit = login("unit")
    body = start_form(client, unit, "engineer_cpd", cpd_data(client, unit, person, "谢国栋"), 422)
    assert body["errors"]["persons.0"] == WAITING

    def left_waiting(s):  # what an approval from before the rule left: a second completion
        later = s.scalars(select(ProcessInstance).where(ProcessInstance.business_key != first))
        member = s.scalars(select(Member).where(Member.id_number == person)).one()
        s.add(
            CpdCompletion(
                instance_id=later.first().id,
                member_id=member.id,
                unit_id=world.unit_id,
                id_number=person,
                name="谢国栋",
                completed_at=APPROVED_AT + 2 * SECOND,
            )
        )
        s.commit()

    in_db(app, left_waiting)
    waiting = in_db(
        app,
        lambda s: s.scalar(
            select(func.count()).where(
                CpdCompletion.id_number == person, CpdCompletion.batch_id.is_(None)
            )
        ),
    )
    assert waiting == 2

    set_clock(app, CUT_OFF - SECOND)
    page = app.test_client()
    sign_in(page, "xiehui")
    html = text(page.get("/cpd-batches"))
    coming = html[html.index('id="h-coming"') : html.index("</section>")]
    assert "已有 2 人" in coming and coming.count(person) == 1 and first in coming

    batch = run_batch_job(app, CUT_OFF + SECOND)
    assert batch["person_count"] == 2
    association = login("association")
    [listed] = client.get("/api/v1/cpd-batches", headers=association).get_json()["items"]
    assert listed["person_count"] == 2
    reply = client.get(listed["report_url"], headers=association)
    assert reply.status_code == 200
    rows = list(load_workbook(io.BytesIO(reply.data)).active.iter_rows(values_only=True))[1:]
    assert [(r[1], r[2], r[6]) for r in rows] == [
        ("谢国栋", person, first),
        ("唐佳慧", other, rows[1][6]),
    ]

    set_clock(app, datetime(2026, 12, 2, 2, 0, 0))
    published = client.post(f"/api/v1/cpd-batches/{listed['id']}/publication", headers=association)
    assert published.status_code == 200
    assert published.get_json()["notified"] == 4  # each person and the unit's admin, once each
