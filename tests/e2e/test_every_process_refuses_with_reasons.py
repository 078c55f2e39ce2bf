"""Every business type re-checks its persons at start: 422 with the reasons per person."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import mp4_bytes, upload
from test_education_api import seed

from service.domain.disclosure import NOT_DISCLOSED
from service.services.membership.roster import CertificateSeed

PERSON_FIELDS = {
    "initial_education": {"certificate_type": "监理员", "specialty_1": "房屋建筑工程"},
    "continuing_education": {"certificate_type": "监理员"},
    "upgrade_education": {},
    "specialty_change": {"specialty_1": "市政公用工程"},
    "certificate_unit_change": {},
    "certificate_cancellation": {"certificate_types": ["监理员"]},
    "engineer_cpd": {},
    "membership_renewal": {"member_level": "普通会员"},
}
FORM_FIELDS = {"certificate_unit_change": {"reason": "unit_renamed"}}


def form_for(app, key: str, headers, client, id_number: str, name: str) -> dict:
    """A complete start form for one person, every uploaded material filled in."""
    defn = app.extensions["memberflow"].definitions.current[key]
    photo = upload(client, headers)
    video = upload(client, headers, mp4_bytes(), "视频.mp4")  # a field that takes videos alone
    if key == "member_info_change":
        data = {"id_number": id_number, "name": name, "changes": {"mobile": "13911112222"}}
    else:
        data = {**FORM_FIELDS.get(key, {})}
        data["persons"] = [{"id_number": id_number, "name": name, **PERSON_FIELDS[key]}]
    for path in defn.start_file_fields:
        file_id = video if path in defn.start_video_only_fields else photo
        if path.startswith("persons.*."):
            if "persons" in data:
                data["persons"][0][path.rsplit(".", 1)[-1]] = file_id
        elif "." not in path:
            data[path] = file_id
    return data


@pytest.mark.parametrize("key", ["member_info_change", *PERSON_FIELDS])
def test_a_person_of_another_unit_is_refused_with_only_the_generic_reason(
    app, client, login, world, key
):
    cert = CertificateSeed("监理员", "JL2024000009", date(2027, 3, 31))
    outsider = seed(
        app,
        world.other_unit_id,
        "外单位",
        "44010619800303456",
        memberships={"普通会员": date(2099, 1, 1), "专业会员": date(2099, 1, 1)},
        certificates=[cert],
    )
    unit = login("unit")
    data = form_for(app, key, unit, client, outsider, "外单位")
    reply = client.post(f"/api/v1/processes/{key}/instances", headers=unit, json={"data": data})
    assert reply.status_code == 422, reply.get_json()
    body = reply.get_json()
    assert NOT_DISCLOSED in body["message"]  # not the other unit's dates, bills or businesses
    if "persons" in data:
        assert body["errors"]["persons.0"] == NOT_DISCLOSED
        assert body["errors"]["eligibility"] == [f"外单位（{outsider}）：{NOT_DISCLOSED}"]
    else:
        assert body["errors"]["eligibility"] == [NOT_DISCLOSED]
    listed = client.get("/api/v1/instances", headers=unit).get_json()
    assert listed["total"] == 0  # nothing saved
