"""The join page asks the join rules about the ID number as soon as it is typed, before the
photos and materials (app.js; the browser side is tests/browser/test_public_pages.py): the
same eligibility table the submission runs (rules/member_join_eligibility.dmn), judging the
document alone, so that it tells nothing of anyone's records. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

import pytest
from conftest import in_db, token_headers
from test_account_pages_http import csrf, text

from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

pytestmark = pytest.mark.usefixtures("pinned_clock")  # business day 2026-11-28


@pytest.fixture
def code(client, world) -> str:
    unit = token_headers(client, world.logins["unit"])
    reply = client.post(
        f"/api/v1/units/{world.unit_id}/join-codes", headers=unit, json={"variant": "full"}
    )
    return reply.get_json()["code"]


def ask(client, code: str, expect: int = 200, page: str | None = None, **typed):
    """The page's question, as app.js sends it (with the CSRF token of the page, `page`'s
    code's when given)."""
    token = csrf(client, f"/join/{page or code}")
    reply = client.post(f"/join/{code}/check", data={"csrf_token": token, **typed})
    assert reply.status_code == expect, text(reply)[:300]
    return reply.get_json()["problem"] if expect == 200 else None


def resident(born: str) -> dict:
    return {"id_type": "resident_id", "id_number": make_resident_id(f"440106{born}123")}


def test_the_page_asks_about_the_id_number_and_the_rules_answer_with_the_age(client, code):
    page = text(client.get(f"/join/{code}"))
    assert f'data-applicant-check="/join/{code}/check"' in page
    assert ask(client, code, **resident("19560101")) == "申请人年龄不得超过65周岁（现为70周岁）"
    assert ask(client, code, **resident("20090601")) == (
        "申请人提交申请当日年龄须大于18周岁（现为17周岁）"
    )
    # the bounds as the table has them: 18 is refused, 19 and 65 are not, 66 is
    assert "现为18周岁" in ask(client, code, **resident("20080101"))
    for born in ("20071128", "19611128", "19850315"):
        assert ask(client, code, **resident(born)) is None, born
    assert "现为66周岁" in ask(client, code, **resident("19601128"))
    # typed as a phone may type it: full-width digits and a lower-case x are the same number
    number = make_resident_id("44010619560101123")
    wide = number.translate(str.maketrans("0123456789X", "０１２３４５６７８９x"))
    assert "现为70周岁" in ask(client, code, id_type="resident_id", id_number=wide)


def test_a_document_without_a_birth_date_is_judged_once_the_date_is_entered(client, code):
    passport = {"id_type": "passport", "id_number": "E12345678"}
    assert ask(client, code, **passport) is None
    assert ask(client, code, **passport, birth_date="1950-05-01") == (
        "申请人年龄不得超过65周岁（现为76周岁）"
    )
    assert ask(client, code, **passport, birth_date="1990-05-01") is None
    assert ask(client, code, **passport, birth_date="不是日期") is None  # said at submission


def test_a_wrong_number_is_said_and_nothing_typed_is_nothing_said(client, code):
    assert ask(client, code, id_type="resident_id", id_number="440308199901101513").startswith(
        "证件号码无效："
    )
    assert ask(client, code, id_type="resident_id", id_number="  ") is None
    assert ask(client, code, id_number=make_resident_id("44010619560101123")) is None


def test_the_check_tells_nothing_of_anyones_records(app, client, world, code):
    """A member of the association (or of another unit) typed here passes: whether a person
    holds a membership is for the submission to judge, not for anyone typing numbers."""
    number = make_resident_id("44010619850315123")

    def add(s):
        add_member(
            s,
            MemberSeed(
                "陈志强", number, world.other_unit_id, memberships={"普通会员": date(2028, 1, 1)}
            ),
        )
        s.commit()

    in_db(app, add)
    assert ask(client, code, id_type="resident_id", id_number=number) is None


def test_a_forged_code_or_a_missing_token_is_refused(client, code):
    assert ask(client, code, **resident("19850315")) is None  # the code's own page's answer
    forged = code[:-2] + "xx"
    assert ask(client, forged, expect=404, page=code, **resident("19560101")) is None
    reply = client.post(f"/join/{code}/check", data=resident("19560101"))
    assert reply.status_code == 400
