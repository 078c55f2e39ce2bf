"""The start form's page accepts only the buttons it offers (business/form.html): 留存,
另存为新的暂存表单 and 提交, and 预览 on a form listing persons. Any other `action` is a
400 in Chinese that neither keeps a draft nor starts a form. SQLite and PostgreSQL."""

from __future__ import annotations

import io

import pytest
from conftest import in_db, png_bytes
from sqlalchemy import func, select
from test_account_pages_http import csrf, sign_in, text

from service.db.models import Draft, ProcessInstance, StoredFile

pytestmark = pytest.mark.usefixtures("pinned_clock")

RENAME = "unit_name_change"
NEW_NAME = "广州珠江工程咨询集团有限公司"


def counts(app) -> tuple[int, int, int]:
    """(forms, drafts, stored uploads)."""

    def read(s):
        return tuple(
            s.scalar(select(func.count()).select_from(table))
            for table in (ProcessInstance, Draft, StoredFile)
        )

    return in_db(app, read)


def post(page, key: str, **fields):
    url = f"/business/{key}/form"
    data = {
        "new_name": NEW_NAME,
        "business_licence": (io.BytesIO(png_bytes()), "licence.png"),
        "csrf_token": csrf(page, f"/business/{RENAME}/form"),  # any page of the session
        **fields,
    }
    return page.post(url, data=data, content_type="multipart/form-data")


@pytest.mark.parametrize("action", ["preview", "approve", "", "SUBMIT", "draft ", "提交"])
def test_an_action_the_page_does_not_offer_is_refused_and_makes_nothing(app, world, action):
    page = app.test_client()
    sign_in(page, world.unit_name)
    before = counts(app)
    reply = post(page, RENAME, action=action)
    assert reply.status_code == 400
    assert "本表单不支持该操作（只能“留存”、“提交”），未保存也未提交" in text(reply)
    assert counts(app) == before


def test_the_offered_actions_keep_a_draft_or_start_the_form_and_no_other(app, world):
    page = app.test_client()
    sign_in(page, world.unit_name)
    forms, drafts, _files = counts(app)
    assert post(page, RENAME, action="preview").status_code == 400
    kept = post(page, RENAME, action="draft")
    assert kept.status_code == 302 and counts(app)[:2] == (forms, drafts + 1)
    started = post(page, RENAME, action="submit")
    assert started.status_code == 302 and "/forms/" in started.headers["Location"]
    assert counts(app)[0] == forms + 1


def test_a_form_sent_without_a_button_is_submitted_with_a_wrong_one_not(app, world):
    """The page sends itself once a photo is scaled down, with no button pressed."""
    page = app.test_client()
    sign_in(page, world.unit_name)
    forms = counts(app)[0]
    assert post(page, RENAME, action="preview").status_code == 400
    started = post(page, RENAME)
    assert started.status_code == 302 and counts(app)[0] == forms + 1


def test_a_form_listing_persons_offers_preview(app, world):
    page = app.test_client()
    sign_in(page, world.unit_name)
    reply = post(page, "continuing_education", action="preview")
    assert reply.status_code in (200, 422), text(reply)[:500]
    refused = post(page, "continuing_education", action="publish")
    assert refused.status_code == 400
    assert "只能“预览”、“留存”、“提交”" in text(refused)
