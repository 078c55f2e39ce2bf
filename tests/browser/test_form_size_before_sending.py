"""A form whose chosen files together pass what the server takes in one request (a unit's
form of many persons' phone photos) is stopped in the browser before it is sent: the server
refused it whole with a 413 page, and what had been typed was lost. The page says how large
the files are and what the limit is, and keeps every value."""

from __future__ import annotations

import io
import os

import pytest
from conftest import in_db
from PIL import Image
from playwright.sync_api import expect
from sqlalchemy import func, select
from test_public_pages import join_code

from service.db.models import ProcessInstance

pytestmark = pytest.mark.postgres
ROOM = 256 * 1024  # what the server leaves for the form's other fields


def noisy_png(name: str) -> dict:
    """A 300×400 PNG of noise (about 350 KB: it does not compress, nor is it scaled down)."""
    out = io.BytesIO()
    Image.frombytes("RGB", (300, 400), os.urandom(300 * 400 * 3)).save(out, "PNG")
    return {"name": name, "mimeType": "image/png", "buffer": out.getvalue()}


def test_files_too_large_together_are_not_sent_and_the_typed_values_stay(live, contexts):
    page = contexts(375, phone=True).new_page()
    page.goto(f"{live.url}/join/{join_code(live, 'short')}")
    limit = page.locator("meta[name=form-max-bytes]").get_attribute("content")
    assert int(limit) == live.app.config["MAX_CONTENT_LENGTH"]
    # the server's limit as if it were small: 500 KB of files
    page.locator("meta[name=form-max-bytes]").evaluate(
        f"m => m.setAttribute('content', '{ROOM + 500 * 1024}')"
    )
    page.get_by_label("姓名").fill("赵小梅")
    for label in ("个人照片", "身份证件人像面"):
        page.get_by_label(label).set_input_files(noisy_png(f"{label}.png"))
    here = page.url
    page.get_by_role("button", name="提交").click()

    refused = page.locator(".errorbox.too-large")
    expect(refused).to_be_visible()
    expect(refused).to_contain_text("超过了一次提交的上限 500KB，表单未提交，已填写的内容仍在本页")
    assert page.url == here
    assert page.get_by_label("姓名").input_value() == "赵小梅"
    assert page.get_by_label("个人照片").evaluate("e => e.files.length") == 1
    count = select(func.count()).select_from(ProcessInstance)
    assert in_db(live.app, lambda s: s.scalar(count)) == 0

    # with one photo the files fit: the form is sent (and the server answers for the rest)
    page.get_by_label("身份证件人像面").set_input_files([])
    page.get_by_role("button", name="提交").click()
    page.wait_for_load_state()
    expect(page.locator(".errorbox.too-large")).to_have_count(0)
