"""The pages and the API docs work in Chromium under their Content-Security-Policy, which
refuses any script the server did not send as a file (or, for the docs, by its hash)."""

from __future__ import annotations

import pytest
from browsing import sign_in, wait_until_decoded
from conftest import png_bytes, token_headers
from playwright.sync_api import expect

pytestmark = pytest.mark.postgres

INJECT = """() => {
  window.__ran = false;
  const s = document.createElement('script');
  s.textContent = 'window.__ran = true';
  document.body.appendChild(s);
  return window.__ran;
}"""


def violations(page) -> list[str]:
    found: list[str] = []
    page.on(
        "console",
        lambda m: found.append(m.text) if "Content Security Policy" in m.text else None,
    )
    return found


def test_the_phone_page_previews_a_photo_while_inline_scripts_are_refused(live, contexts):
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    code = client.post(
        f"/api/v1/units/{live.world.unit_id}/join-codes", headers=unit, json={"variant": "short"}
    ).get_json()["code"]
    page = contexts(375, phone=True).new_page()
    refused = violations(page)
    page.goto(f"{live.url}/join/{code}")
    page.get_by_label("个人照片").set_input_files(
        {"name": "photo.png", "mimeType": "image/png", "buffer": png_bytes()}
    )
    preview = page.locator("#f-photo-preview")
    expect(preview).to_be_visible()  # our own script ran, and showed a blob: image
    assert preview.get_attribute("src").startswith("blob:")
    wait_until_decoded(preview)  # the blob: image, under the same policy
    assert refused == []
    assert page.evaluate(INJECT) is False  # an injected inline script does not run


def test_the_workbench_and_its_styles_work_under_the_policy(live, contexts):
    page = contexts().new_page()
    refused = violations(page)
    sign_in(page, live, live.world.logins["agency"])
    page.goto(f"{live.url}/workbench/todo")
    expect(page.locator("body")).to_contain_text("待办")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert background != "rgba(0, 0, 0, 0)"  # the stylesheet from /static applied
    assert refused == []
    assert page.evaluate(INJECT) is False


def test_the_api_docs_run_swagger_ui_under_their_own_policy(live, contexts):
    page = contexts().new_page()
    refused = violations(page)
    page.goto(f"{live.url}/api/v1/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("memberflow")
    expect(page.locator(".opblock").first).to_be_visible()
    assert refused == []
    assert page.evaluate(INJECT) is False
