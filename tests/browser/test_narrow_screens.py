"""Every signed-in person's pages on a phone (375 px), in Chromium: the side menu, hidden on
narrow screens, folds above the page (功能菜单) and reaches every page it lists; no page
scrolls sideways (a wide table scrolls inside its own box)."""

from __future__ import annotations

import pytest
from browsing import sign_in
from conftest import applicant_data, start_form, token_headers
from playwright.sync_api import expect

pytestmark = [pytest.mark.postgres, pytest.mark.alone]
PHONE = 375
WIDE = "document.documentElement.scrollWidth"


def menu_links(page) -> list[str]:
    """The folded menu's pages, opened as a person would: tap 功能菜单."""
    fold = page.locator("details.menufold")
    expect(fold.locator("summary")).to_be_visible()
    expect(page.locator("nav.sidemenu")).to_be_hidden()
    fold.locator("summary").click()
    links = fold.get_by_role("link")
    expect(links.first).to_be_visible()
    return [a.get_attribute("href") for a in links.all()]


@pytest.mark.parametrize("who", ["agency", "association", "finance", "admin", "unit"])
def test_every_menu_page_is_reachable_and_fits_a_phone(live, contexts, who):
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    form = start_form(client, unit, "member_join", applicant_data(client, unit))
    page = contexts(PHONE, phone=True).new_page()
    sign_in(page, live, live.world.logins[who])
    links = menu_links(page)
    assert links, who
    wide = {}
    for href in [*links, f"/forms/{form['id']}"]:
        page.goto(live.url + href)
        width = page.evaluate(WIDE)
        if width > PHONE:
            wide[href] = width
    assert wide == {}, wide  # pages wider than the phone, by their width


def test_the_menu_stays_at_the_side_on_a_wide_screen(live, contexts):
    page = contexts(1280).new_page()
    sign_in(page, live, live.world.logins["agency"])
    expect(page.locator("nav.sidemenu")).to_be_visible()
    expect(page.locator("details.menufold")).to_be_hidden()
