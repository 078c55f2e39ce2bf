"""Bad input to the business endpoints answers 4xx with a message, never 500."""

from __future__ import annotations

import io

import pytest
from conftest import upload

JUNK_PERSONS = [
    None,
    "张三",
    [1, 2],
    [{"id_number": 440106}],
    [{"id_number": "X", "certificate_types": "监理员"}],
    [{"id_number": "X", "certificate_type": ["监理员"], "name": 5}],
    [{"id_number": "X", "specialty_1": {"a": 1}}],
]


@pytest.mark.parametrize("persons", JUNK_PERSONS, ids=range(len(JUNK_PERSONS)))
@pytest.mark.parametrize("key", ["certificate_cancellation", "initial_education"])
def test_junk_persons_never_break_preview_or_start(client, login, key, persons):
    unit = login("unit")
    for path in (f"/api/v1/processes/{key}/preview", f"/api/v1/processes/{key}/instances"):
        reply = client.post(path, headers=unit, json={"data": {"persons": persons}})
        assert reply.status_code in (200, 422), (path, reply.get_json())
        assert reply.get_json().get("message") or reply.status_code == 200


@pytest.mark.parametrize(
    "query",
    [
        "",
        "?process=nope",
        "?process=member_join",
        "?process=initial_education&certificate_type=厨师",
        "?process=initial_education&certificate_type=监理员&page=0",
        "?process=certificate_unit_change&reason=whatever",
    ],
)
def test_bad_eligibility_queries_answer_4xx(client, login, world, query):
    reply = client.get(f"/api/v1/units/{world.unit_id}/eligibility{query}", headers=login("unit"))
    assert reply.status_code in (200, 404, 422), reply.get_json()
    if reply.status_code != 200:
        assert reply.get_json()["message"]


@pytest.mark.parametrize(
    "records",
    [
        None,
        [],
        "x",
        [{"id_number": "1"}],
        [
            {
                "id_number": "X",
                "name": "张三",
                "completed_hours": {"a": 1},
                "exam_status": "已通过",
                "exam_attempts": [1],
            }
        ],
    ],
)
def test_bad_learning_records_answer_422(client, login, records):
    reply = client.post(
        "/api/v1/learning-records", headers=login("association"), json={"records": records}
    )
    assert reply.status_code == 422, reply.get_json()
    assert reply.get_json()["message"]


def test_a_file_that_is_not_excel_is_refused_in_chinese(client, login):
    for content in (b"not a spreadsheet", b"PK\x03\x04broken"):
        reply = client.post(
            "/api/v1/learning-records/import",
            headers=login("association"),
            data={"file": (io.BytesIO(content), "学习记录.xlsx")},
        )
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["errors"]["file"] == "不是有效的 Excel 文件（.xlsx）"


def test_only_the_association_records_learning(client, login):
    reply = client.post(
        "/api/v1/learning-records",
        headers=login("unit"),
        json={
            "records": [
                {
                    "id_number": "X",
                    "name": "张三",
                    "completed_hours": 1,
                    "exam_status": "未考试",
                    "exam_attempts": 0,
                }
            ]
        },
    )
    assert reply.status_code == 404


def test_a_form_cannot_use_another_units_files(client, login):
    other = upload(client, login("other_unit"))
    reply = client.post(
        "/api/v1/processes/certificate_cancellation/instances",
        headers=login("unit"),
        json={"data": {"cancellation_application": other, "persons": [{"id_number": "X"}]}},
    )
    assert reply.status_code == 422
