"""What the browser tests share: signing in through the page, waiting for an image."""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from conftest import PASSWORD, Live


def wait_until_decoded(image, seconds: float = 10) -> None:
    """Wait until an <img> (a locator) has decoded, polled from here: Playwright's
    wait_for_function evaluates its text with eval when it must wait, which our pages'
    Content-Security-Policy refuses (an EvalError whenever the image was not ready at once)."""
    deadline = time.monotonic() + seconds
    while image.evaluate("img => img.naturalWidth") == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert image.evaluate("img => img.naturalWidth") > 0, "the image was not decoded"


def sign_in(page, live: Live, username: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page, as a person would; returns once the page signed in
    to (a sign-in leaves /login) has loaded. Not wait_for_load_state alone: right after the
    click it may answer for the sign-in page itself, loaded already."""
    page.goto(live.url + "/login")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url(lambda url: urlsplit(url).path != "/login")


UNLABELLED = """() => [...document.querySelectorAll(
  'input:not([type=hidden]):not([type=submit]):not([type=button]), select, textarea')]
  .filter(e => !e.labels || e.labels.length === 0)
  .map(e => e.name || e.id || e.outerHTML.slice(0, 60))"""


def assert_labelled(page) -> None:
    """Every input a person can fill has its own <label> (read by screen readers)."""
    assert page.evaluate(UNLABELLED) == [], page.url


# WCAG 2 A and AA, checked by axe-core (bundled by axe-playwright-python; no network)
WCAG = {"runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa"]}, "resultTypes": ["violations"]}


def accessibility_problems(page) -> list[str]:
    """What axe-core finds against WCAG 2 A/AA on the page as it is now: rule and element."""
    from axe_playwright_python.sync_playwright import Axe

    found = Axe().run(page, options=WCAG).response["violations"]
    return [f"{v['id']} {n['target']}" for v in found for n in v["nodes"]]
