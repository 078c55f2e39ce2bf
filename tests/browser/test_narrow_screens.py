"""Every signed-in person's pages on a phone (375 px), in Chromium: the side menu, hidden on
narrow screens, folds above the page (功能菜单) and reaches every page it lists; no page
scrolls sideways (a wide table scrolls inside its own box, which a keyboard can reach); and
axe-core finds nothing against WCAG 2 A/AA on any of them (contrast, names, links told apart
from text by more than colour), nor at 1280 px on the pages that differ there."""

from __future__ import annotations

from datetime import date

import pytest
from browsing import accessibility_problems, sign_in
from conftest import applicant_data, in_db, open_task, start_form, step_task, token_headers, upload
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import CertificateSeed, MemberSeed, add_member

pytestmark = pytest.mark.postgres
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


def education_form(live, client, unit) -> tuple[dict, int]:
    """An 初始教育 form of one person (陈志强, a member with a certificate), as the unit starts
    it over the API, and that person's id."""
    id_number = make_resident_id("44010619850315231")

    def add(s):
        seed = MemberSeed(
            "陈志强",
            id_number,
            live.world.unit_id,
            memberships={"普通会员": date(2027, 12, 31)},
            certificates=[
                CertificateSeed(
                    "安全监理员", "AQ2024000001", date(2028, 3, 31), "房屋建筑工程", "市政公用工程"
                )
            ],
        )
        member = add_member(s, seed)
        s.commit()
        return member.id

    member_id = in_db(live.app, add)
    line = {
        "id_number": id_number,
        "name": "陈志强",
        "certificate_type": "监理员",
        "specialty_1": "房屋建筑工程",
        "specialty_2": "市政公用工程",
        "diploma": upload(client, unit),
        "social_insurance": upload(client, unit),
        "verification": upload(client, unit),
    }
    form = start_form(
        client, unit, "initial_education", {"pledge": upload(client, unit), "persons": [line]}
    )
    return form, member_id


def test_a_form_its_task_and_a_person_with_tables_fit_a_phone(live, contexts):
    """The detail pages' column (.review-grid) shrinks to the phone: their tables (the persons,
    the bill, the certificates) scroll in their own box instead of widening the page."""
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    form, member_id = education_form(live, client, unit)
    for who in ("agency", "association"):
        step_task(
            client,
            token_headers(client, live.world.logins[who]),
            form["id"],
            {"decision": "approve"},
        )
    pay = open_task(client, unit, form["id"])
    page = contexts(PHONE, phone=True).new_page()
    sign_in(page, live, live.world.logins["unit"])
    wide = {}
    for href in (
        f"/forms/{form['id']}",
        f"/workbench/tasks/{pay['id']}",
        f"/unit/members/{member_id}",
    ):
        page.goto(live.url + href)
        expect(page.locator("main h1")).to_be_visible()
        if (width := page.evaluate(WIDE)) > PHONE:
            wide[href] = width
    assert wide == {}, wide


@pytest.mark.parametrize("width", [1280, 390])
def test_a_returned_form_to_correct_fits_the_screen(live, contexts, width):
    """修改并重新提交: the persons to correct are a table of inputs in a fieldset (as wide as
    its widest content unless told otherwise) whose inputs have hidden labels; the table
    scrolls in its own box, on a desktop as on a phone, and the page never sideways."""
    client = live.client()
    unit = token_headers(client, live.world.logins["unit"])
    form, _ = education_form(live, client, unit)
    agency = token_headers(client, live.world.logins["agency"])
    step_task(client, agency, form["id"], {"decision": "return", "remark": "请补充社保证明"})
    resubmit = open_task(client, unit, form["id"])
    page = contexts(width, phone=width < 900).new_page()
    sign_in(page, live, live.world.logins["unit"])
    page.goto(f"{live.url}/workbench/tasks/{resubmit['id']}")
    table = page.locator("form table.lines")
    expect(table.get_by_label("第1行 证件号码")).to_be_visible()
    box = page.locator("form .table-scroll")
    # the table is wider than its box (it scrolls there) ...
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    # ... and the page is as wide as the screen
    assert page.evaluate(WIDE) <= width, page.evaluate(WIDE)
