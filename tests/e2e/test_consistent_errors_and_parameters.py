"""Errors in one shape and one language; parameters do what they say, and unknown ones are
named instead of ignored."""

from __future__ import annotations

import re
from datetime import date

from conftest import applicant_data, member_headers, start_form, step_task
from test_education_api import seed
from test_every_process_refuses_with_reasons import form_for

from service.services.membership.roster import CertificateSeed

ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def test_a_rule_failure_names_each_person_by_the_lines_path_as_field_errors_do(
    app, client, login, world
):
    unit = login("unit")
    cert = CertificateSeed("监理员", "JL2024000001", date(2029, 6, 30))  # not due for renewal
    own = seed(app, world.unit_id, "蔡文华", "44010619800404567", certificates=[cert])
    data = form_for(app, "continuing_education", unit, client, own, "蔡文华")
    body = start_form(client, unit, "continuing_education", data, 422)
    assert set(body["errors"]) == {"eligibility", "persons.0"}, body
    assert (
        isinstance(body["errors"]["persons.0"], str) and "2029-06-30" in body["errors"]["persons.0"]
    )
    # the same path a field error of that line has
    data["persons"][0]["id_number"] = "X"
    body = start_form(client, unit, "continuing_education", data, 422)
    assert "persons.0.id_number" in body["errors"], body


def test_a_page_size_error_is_said_in_chinese_only(client, login):
    reply = client.get("/api/v1/instances?page_size=0", headers=login("unit"))
    assert reply.status_code == 422
    body = reply.get_json()
    assert body["errors"] == {"page_size": "应在1到200之间"}
    assert not ENGLISH_WORD.search(body["message"].replace("page_size", "")), body["message"]


def test_a_bad_decision_lists_the_values_to_send_with_their_labels(client, login):
    unit = login("unit")
    inst = start_form(client, unit, "member_join", applicant_data(client, unit))
    body = step_task(client, unit, inst["id"], {"decision": "同意"}, expect=422)
    assert "approve（通过）" in body["errors"]["decision"], body
    assert "return（退回）" in body["errors"]["decision"], body


def test_the_specialty_dictionary_is_paged_as_documented(client, login):
    unit = login("unit")
    first = client.get("/api/v1/specialties?page_size=5", headers=unit).get_json()
    assert (len(first["items"]), first["total"], first["page"]) == (5, 14, 1)
    last = client.get("/api/v1/specialties?page_size=5&page=3", headers=unit).get_json()
    assert len(last["items"]) == 4
    whole = client.get("/api/v1/specialties", headers=unit).get_json()
    assert len(whole["items"]) == whole["total"] == 14


def test_an_unknown_query_parameter_answers_422_naming_it(client, login):
    unit = login("unit")
    for url, name in (
        ("/api/v1/instances?colour=red", "colour"),
        ("/api/v1/instances/summary?status=审批完成", "status"),
        ("/api/v1/certificates?number=JL1", "number"),
        ("/api/v1/learning-tasks?name=张", "name"),
        ("/api/v1/instances/1?expand=all", "expand"),
        ("/api/v1/public/certificates?number=JL1&verbose=1", "verbose"),
    ):
        reply = client.get(url, headers=unit)
        assert reply.status_code == 422, (url, reply.get_json())
        assert set(reply.get_json()["errors"]) == {name}, url


def test_a_query_parameter_given_twice_answers_422_naming_it(client, login):
    """?page=1&page=2 was read as page 1, whichever the caller meant."""
    unit = login("unit")
    for url, name in (
        ("/api/v1/instances?page=1&page=2", "page"),
        ("/api/v1/instances?q=张&status=审批完成&q=李", "q"),
        ("/api/v1/public/certificates?number=JL1&number=JL2", "number"),
    ):
        reply = client.get(url, headers=unit)
        assert reply.status_code == 422, (url, reply.get_json())
        assert reply.get_json()["errors"] == {name: "查询参数只能给出一次"}, url


def test_an_unknown_status_type_or_business_answers_422_instead_of_an_empty_list(
    client, login, world
):
    unit = login("unit")
    for url, name in (
        ("/api/v1/learning-tasks?process=no_such_business", "process"),
        ("/api/v1/certificates?certificate_type=总监理工程师", "certificate_type"),
        (f"/api/v1/units/{world.unit_id}/eligibility?process=no_such_business", "process"),
        (f"/api/v1/units/{world.unit_id}/members?title=特级", "title"),
        ("/api/v1/enrolments/export.xlsx?status=已作废", "status"),
        ("/api/v1/instances?status=已作废", "status"),
        ("/api/v1/drafts?key=no_such_business", "key"),
    ):
        reply = client.get(url, headers=unit)
        assert reply.status_code == 422, (url, reply.get_json())
        assert set(reply.get_json()["errors"]) == {name}, url
    # an agency that does not exist is not one with nothing to count
    for who in ("admin", "finance"):
        reply = client.get("/api/v1/statistics?agency_id=999", headers=login(who))
        assert reply.status_code == 422, reply.get_json()
        assert reply.get_json()["errors"] == {"agency_id": "服务机构 999 不存在"}
    known = client.get(f"/api/v1/statistics?agency_id={world.agency_id}", headers=login("admin"))
    assert known.status_code == 200, known.get_json()


def test_a_422_message_names_fields_in_chinese_and_keeps_the_errors_keyed_by_name(client, login):
    """The sentence is for a person (「账号」, not username); `errors` stays keyed by the
    field names programs send."""
    empty = client.post("/api/v1/auth/token", json={})
    assert empty.status_code == 422
    body = empty.get_json()
    assert body["errors"] == {"username": "必填项，请填写", "password": "必填项，请填写"}
    assert body["message"] == "请求参数有误：「账号」必填项，请填写；「密码」必填项，请填写"
    extra = client.post("/api/v1/auth/token", json={"username": "a", "password": "b", "bogus": 1})
    assert extra.get_json()["errors"] == {"bogus": "不允许的字段"}
    assert extra.get_json()["message"] == "请求参数有误：不允许的字段：bogus"
    listed = client.post("/api/v1/auth/token", json=[1])
    assert listed.get_json()["errors"] == {"_request": "请求体应为 JSON 对象"}
    assert listed.get_json()["message"] == "请求体应为 JSON 对象"
    scoped = client.get("/api/v1/tasks?scope=all", headers=login("association"))
    assert set(scoped.get_json()["errors"]) == {"scope"}
    assert scoped.get_json()["message"].startswith("请求参数有误：「范围」须为以下之一：")


def test_every_request_field_has_a_chinese_name_for_the_message(app):
    """A field added to a request schema gets a label (common.LABELS, or its own
    `metadata={"label": …}`), else a 422 would name it as the program sends it."""
    from service.api.common import field_label

    unnamed = set()
    for endpoint, view in app.view_functions.items():
        for parameter in getattr(view, "_apidoc", {}).get("arguments", {}).get("parameters", []):
            schema = parameter["schema"]
            for name, field in schema.fields.items():
                if field.dump_only:
                    continue
                key = field.data_key or name
                if field_label(key, schema) is None:
                    unnamed.add(f"{endpoint}: {key}")
    assert not unnamed, sorted(unnamed)


def test_a_member_asking_for_statistics_gets_the_404_every_other_resource_gives(app, client, world):
    number = seed(app, world.unit_id, "何丽华", "44010619880808123")
    reply = client.get("/api/v1/statistics", headers=member_headers(client, number))
    assert (reply.status_code, reply.get_json()["message"]) == (404, "请求的资源不存在")
