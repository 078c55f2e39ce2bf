"""Every signed-in person's pages on a phone (375 px), in Chromium: the side menu, hidden on
narrow screens, folds above the page (功能菜单) and reaches every page it lists; no page
scrolls sideways (a wide table scrolls inside its own box, which a keyboard can reach); and
axe-core finds nothing against WCAG 2 A/AA on any of them (contrast, names, links told apart
from text by more than colour), nor at 1280 px on the pages that differ there."""

from __future__ import annotations

import pytest
from browsing import accessibility_problems, sign_in
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
    wide, problems = {}, {}
    for href in [*links, f"/forms/{form['id']}"]:
        page.goto(live.url + href)
        width = page.evaluate(WIDE)
        if width > PHONE:
            wide[href] = width
        if found := accessibility_problems(page):
            problems[href] = found
    assert wide == {}, wide  # pages wider than the phone, by their width
    assert problems == {}, problems  # axe-core's findings, by page


def test_the_menu_stays_at_the_side_on_a_wide_screen(live, contexts):
    page = contexts(1280).new_page()
    sign_in(page, live, live.world.logins["agency"])
    expect(page.locator("nav.sidemenu")).to_be_visible()
    expect(page.locator("details.menufold")).to_be_hidden()


def test_wide_pages_with_a_diagram_or_links_in_text_pass_axe(live, contexts):
    """The review page's diagram scrolls sideways in its own box, so a keyboard must reach it;
    links inside sentences (帮助, 开票记录's pointer to 待办任务) are underlined; the status
    badges keep 4.5:1 contrast."""
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    form = start_form(client, unit, "member_join", applicant_data(client, unit))
    page = contexts(1280).new_page()
    sign_in(page, live, live.world.logins["finance"])
    problems = {}
    for href in ["/help", "/finance/bills", "/finance/invoices", f"/forms/{form['id']}", "/forms"]:
        page.goto(live.url + href)
        if found := accessibility_problems(page):
            problems[href] = found
    assert problems == {}, problems
