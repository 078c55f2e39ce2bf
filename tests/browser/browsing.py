"""What the browser tests share: signing in through the page."""

from __future__ import annotations

from conftest import PASSWORD, Live


def sign_in(page, live: Live, username: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page, as a person would."""
    page.goto(live.url + "/login")
    page.get_by_label("账号").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_load_state()
