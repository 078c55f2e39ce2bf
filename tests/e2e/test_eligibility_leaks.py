"""Eligibility answers never reveal another unit's people: only whether the person can be put
on the form, with a generic reason (no membership, dates, bills or businesses)."""

from __future__ import annotations

import json
from datetime import date

from conftest import applicant_data, start_form
from test_education_api import seed
from test_every_process_refuses_with_reasons import form_for

from service.domain.disclosure import APPLICANT_NOT_DISCLOSED, NOT_DISCLOSED
from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed

CERT = CertificateSeed("监理员", "JL2024000009", date(2029, 3, 31))


def outsider(app, world) -> str:
    """A member of the other unit, with a certificate and a membership (dates to leak)."""
    return seed(
        app,
        world.other_unit_id,
        "外单位",
        "44010619800303456",
        memberships={"普通会员": date(2029, 6, 30)},
        certificates=[CERT],
    )


def preview(client, headers, key, persons) -> dict:
    reply = client.post(
        f"/api/v1/processes/{key}/preview", headers=headers, json={"data": {"persons": persons}}
    )
    assert reply.status_code == 200, reply.get_json()
    return reply.get_json()


def test_a_preview_of_another_units_person_says_only_that_they_cannot_be_on_the_form(
    app, client, login, world
):
    other = outsider(app, world)
    line = {"id_number": other, "name": "外单位", "certificate_type": "监理员"}
    item = preview(client, login("unit"), "continuing_education", [line])["items"][0]
    assert (item["eligible"], item["reasons"]) == (False, [NOT_DISCLOSED])
    cancel = {"id_number": other, "name": "外单位", "certificate_types": ["监理员"]}
    body = preview(client, login("unit"), "certificate_cancellation", [cancel])
    assert "cancels_membership" not in body["items"][0], body
    assert "membership_note" not in body["items"][0], body
    assert "2029" not in json.dumps(body, ensure_ascii=False)
    # the unit that employs a person still reads every reason, dates included
    mine = CertificateSeed("监理员", "JL2024000010", date(2029, 3, 31))
    own = seed(app, world.unit_id, "本单位", "44010619800404567", certificates=[mine])
    line = {"id_number": own, "name": "本单位", "certificate_type": "监理员"}
    item = preview(client, login("unit"), "continuing_education", [line])["items"][0]
    assert any("2029-03-31" in r for r in item["reasons"]), item


def test_a_preview_of_an_unknown_id_number_does_not_say_whether_it_is_a_member(
    client, login, world
):
    nobody = make_resident_id("44010619900101123")
    line = {"id_number": nobody, "name": "无此人", "certificate_type": "监理员"}
    item = preview(client, login("unit"), "continuing_education", [line])["items"][0]
    assert item["reasons"] == [NOT_DISCLOSED]


def test_a_refused_start_names_another_units_person_only_with_the_generic_reason(
    app, client, login, world
):
    other = outsider(app, world)
    unit = login("unit")
    data = form_for(app, "continuing_education", unit, client, other, "外单位")
    reply = client.post(
        "/api/v1/processes/continuing_education/instances", headers=unit, json={"data": data}
    )
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert body["errors"]["eligibility"] == [f"外单位（{other}）：{NOT_DISCLOSED}"]
    assert body["errors"]["persons.0"] == NOT_DISCLOSED
    assert "2029" not in json.dumps(body, ensure_ascii=False)


def test_a_join_for_someone_who_is_a_member_elsewhere_does_not_say_so(app, client, login, world):
    other = outsider(app, world)
    unit = login("unit")
    body = start_form(client, unit, "member_join", applicant_data(client, unit, other), 422)
    assert body["errors"]["eligibility"] == [APPLICANT_NOT_DISCLOSED]
    assert "会员" not in body["message"].replace(APPLICANT_NOT_DISCLOSED, "")
    # what the form itself gives away (the age its ID number says) is still explained
    young = applicant_data(client, unit, make_resident_id("44010620100101123"))
    young["education"] = {**young["education"], "graduated_on": "2025-07-01"}  # after the birth
    body = start_form(client, unit, "member_join", young, 422)
    assert any("18周岁" in r for r in body["errors"]["eligibility"]), body
