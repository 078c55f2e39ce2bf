"""The start forms' person picker in Chromium: 全选本页 and 全选筛选结果 for a unit enrolling
a hundred of its staff, the picks carried between pages, and the form's 200-person limit."""

from __future__ import annotations

import re
import time
from datetime import date

import pytest
from browsing import sign_in
from conftest import in_db
from playwright.sync_api import expect

from service.domain.validation import make_resident_id
from service.services.membership.roster import MemberSeed, add_member

pytestmark = pytest.mark.postgres
MEMBER = {"普通会员": date(2030, 6, 30)}


def staff(live, first: int, count: int, surname: str = "周") -> None:
    """`count` members of the unit eligible for 监理员 (born 1980, with a membership)."""

    def add(session):
        for n in range(first, first + count):
            number = make_resident_id(f"44010619800101{n:03d}")
            add_member(
                session,
                MemberSeed(f"{surname}员工{n}", number, live.world.unit_id, memberships=MEMBER),
            )
        session.commit()

    in_db(live.app, add)


def too_old(live) -> None:
    def add(session):
        number = make_resident_id("44010619600101345")  # over 60: not for 监理员
        add_member(session, MemberSeed("冯老伯", number, live.world.unit_id, memberships=MEMBER))
        session.commit()

    in_db(live.app, add)


def open_picker(page, live) -> None:
    sign_in(page, live, live.world.logins["unit"])
    page.goto(live.url + "/business/initial_education")
    # required, but not yet wrong: nothing was asked for
    choice = page.get_by_label("报名证书类型")
    expect(choice).not_to_have_attribute("aria-invalid", "true")
    expect(choice).to_have_attribute("aria-required", "true")
    choice.select_option("监理员")
    page.get_by_role("button", name="查询").click()


def picked_count(page) -> str:
    return page.locator(".pick-foot .muted").inner_text()


def test_a_unit_selects_a_page_then_every_match_and_the_picks_carry_over(live, contexts):
    staff(live, 1, 120)
    too_old(live)
    page = contexts().new_page()
    open_picker(page, live)
    eligible = page.locator(".pick-col:not(.ineligible)")
    expect(eligible.get_by_role("checkbox")).to_have_count(50)
    # the columns count this page's persons, and say so (the list has three pages)
    expect(eligible.locator("legend")).to_have_text("可以办理（本页 50人）")

    # 全选本页: the page's eligible persons ticked, the ineligible one not among them
    page.get_by_role("button", name="全选本页").click()
    expect(page.locator(".pick-foot")).to_contain_text("第 1 / 3 页，已选 50 人")
    for box in eligible.get_by_role("checkbox").all():
        expect(box).to_be_checked()

    # a query of one page offers 全选本页 alone; the picks are carried through it
    page.get_by_label("姓名 / 身份证号（或后四位）").fill("周员工11")  # 11, 110…119
    page.get_by_role("button", name="查询").click()
    expect(eligible.get_by_role("checkbox")).to_have_count(11)
    expect(eligible.locator("legend")).to_have_text("可以办理（11人）")  # one page: all of them
    expect(page.get_by_role("button", name="全选筛选结果")).to_have_count(0)
    expect(page.locator(".pick-foot")).to_contain_text("已选 50 人")

    # 全选筛选结果 from page 2 of the whole list: every page's eligible persons
    page.get_by_label("姓名 / 身份证号（或后四位）").fill("")
    page.get_by_role("button", name="查询").click()
    page.get_by_role("button", name="下一页").click()
    expect(page.locator(".pick-foot")).to_contain_text("第 2 / 3 页，已选 50 人")
    page.get_by_role("button", name="全选筛选结果").click()
    expect(page.locator(".pick-foot")).to_contain_text("第 2 / 3 页，已选 120 人")
    page.get_by_role("button", name="下一页").click()
    expect(page.locator(".pick-col.ineligible")).to_contain_text("冯老伯")  # not picked
    expect(eligible.get_by_role("checkbox")).to_have_count(20)
    for box in eligible.get_by_role("checkbox").all():
        expect(box).to_be_checked()
    page.get_by_label(
        re.compile(r"周员工120(?!\d)")
    ).uncheck()  # a box unticked after 全选 stays unticked
    page.get_by_role("button", name="添加所选人员").click()
    expect(page.locator(".person-lines legend")).to_contain_text("报名人员（119人）")


def test_selecting_every_match_beyond_the_forms_200_persons_is_refused_and_selects_nothing(
    live, contexts
):
    staff(live, 1, 201)
    page = contexts().new_page()
    open_picker(page, live)
    page.get_by_label(re.compile(r"周员工1(?!\d)")).check()
    page.get_by_role("button", name="全选筛选结果").click()
    expect(page.get_by_role("alert")).to_contain_text("超过200人（每张表单最多200人），未作全选")
    expect(page.locator(".pick-foot")).to_contain_text("第 1 / 5 页，已选 1 人")
    checked = page.locator(".pick-col input[type=checkbox]:checked")
    expect(checked).to_have_count(1)

    # narrowed by a query, every match fits
    page.get_by_label("姓名 / 身份证号（或后四位）").fill("周员工1")  # 1, 10…19, 100…199
    page.get_by_role("button", name="查询").click()
    page.get_by_role("button", name="全选筛选结果").click()
    expect(page.get_by_role("alert")).to_have_count(0)
    expect(page.locator(".pick-foot")).to_contain_text("已选 111 人")


def test_without_javascript_the_page_is_selected_by_the_server(live, browser):
    staff(live, 1, 60)
    context = browser.new_context(java_script_enabled=False, locale="zh-CN")
    try:
        page = context.new_page()
        open_picker(page, live)
        page.get_by_role("button", name="全选本页").click()
        expect(page.locator(".pick-foot")).to_contain_text("第 1 / 2 页，已选 50 人")
        page.get_by_role("button", name="下一页").click()
        page.get_by_label(re.compile(r"周员工51(?!\d)")).check()
        page.get_by_role("button", name="添加所选人员").click()
        expect(page.locator(".person-lines legend")).to_contain_text("报名人员（51人）")
    finally:
        context.close()


def test_a_field_tabbed_to_on_a_phone_scrolls_clear_of_the_sticky_remove_column(live, contexts):
    """The persons' table scrolls sideways on a phone with 移除 kept in sight at its right
    edge: a field reached with Tab (a box, a file picker) stops left of that column, not
    under it."""
    staff(live, 1, 1)
    page = contexts(375, phone=True).new_page()
    open_picker(page, live)
    page.get_by_label(re.compile(r"周员工1(?!\d)")).check()
    page.get_by_role("button", name="添加所选人员").click()
    frame = page.locator(".person-lines .lines-scroll")
    assert frame.evaluate("f => f.scrollWidth > f.clientWidth")
    drop = page.locator(".person-lines tbody td.drop").first
    assert drop.evaluate("e => e.getBoundingClientRect().width") <= 60  # a box's width
    fields = page.locator(
        ".person-lines tbody tr:first-child td:not(.drop) :is(input, select):visible"
    )
    assert fields.count() > 2
    # how far the focused field reaches under the 移除 column (≤ 0: clear of it)
    under = """() => document.activeElement.getBoundingClientRect().right -
        document.querySelector('.person-lines tbody td.drop').getBoundingClientRect().left"""
    fields.first.focus()
    hidden = []
    for _ in range(fields.count() - 1):
        page.keyboard.press("Tab")
        field = page.locator(":focus")
        if not field.evaluate("e => !!e.closest('.person-lines td:not(.drop)')"):
            break
        for _ in range(20):  # scrolled by the next frame
            if page.evaluate(under) <= 1:
                break
            time.sleep(0.05)
        else:
            hidden.append(field.get_attribute("name"))
    assert hidden == []
