"""A session that ends while a page is open (退出 in another tab, timed out, revoked by a
password reset): the next 提交 is refused — never accepted — and says so, with a sign-in
link that returns to the form's page (never to a POST-only address: 405), and the sign-in
page says why. SQLite and PostgreSQL."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from conftest import in_db
from sqlalchemy import select, update

from service.db.models import Account, Draft

FORM = "/business/member_join/form"


def _query(location: str) -> dict:
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def test_a_form_sent_after_signing_out_elsewhere_says_so_and_leads_back(app, world):
    from test_account_pages_http import csrf, sign_in, text

    page = app.test_client()
    sign_in(page, world.unit_name)
    token = csrf(page, FORM)
    page.post("/logout", data={"csrf_token": csrf(page, "/business/drafts")})  # another tab
    sent = page.post(
        FORM,
        data={"name": "陈志强", "action": "draft", "csrf_token": token},
        headers={"Referer": f"http://localhost{FORM}?from=tab"},
    )
    assert sent.status_code == 401
    body = text(sent)
    assert "登录已超时或已在其他页面退出，请重新登录" in body and "尚未保存" in body
    assert "/login?next=/business/member_join/form?from%3Dtab&amp;reason=expired" in body
    assert f'data-kept-form="{FORM}?from=tab"' in body
    assert in_db(app, lambda s: s.scalars(select(Draft)).all()) == []
    login = text(page.get("/login?next=/business/member_join/form&reason=expired"))
    assert "登录已超时或已在其他页面退出，请重新登录" in login
    assert "登录已超时" not in text(page.get("/login"))


def test_a_revoked_session_returns_to_the_page_not_to_a_post_only_address(app, world):
    from test_account_pages_http import csrf, sign_in

    page = app.test_client()
    sign_in(page, world.unit_name)
    token = csrf(page, FORM)

    def revoke(session):
        session.execute(
            update(Account)
            .where(Account.username == world.unit_name)
            .values(auth_version=Account.auth_version + 1)
        )
        session.commit()

    in_db(app, revoke)
    release = "/workbench/tasks/65/release"
    from_page = page.post(
        release,
        data={"csrf_token": token},
        headers={"Referer": "http://localhost/workbench/tasks/65"},
    )
    assert from_page.status_code == 302
    went = _query(from_page.headers["Location"])
    assert went == {"next": "/workbench/tasks/65", "reason": "expired"}

    sign_in(page, world.unit_name)
    token = csrf(page, FORM)
    in_db(app, revoke)
    bare = page.post(release, data={"csrf_token": token})  # no referrer: not the POST address
    assert _query(bare.headers["Location"])["next"] == "/"
    sign_in(page, world.unit_name)
    token = csrf(page, FORM)
    in_db(app, revoke)
    other_site = page.post(
        FORM, data={"csrf_token": token}, headers={"Referer": "http://evil.example/x"}
    )
    assert _query(other_site.headers["Location"])["next"] == FORM  # the form has a GET page


def test_a_public_form_with_an_expired_token_is_not_told_about_signing_in(app, world):
    from test_account_pages_http import text

    page = app.test_client()
    refused = page.post("/login", data={"username": "x", "password": "y", "csrf_token": "old"})
    assert refused.status_code == 400 and "登录已超时" not in text(refused)
    assert "缺少安全令牌" in text(refused)


def test_a_page_open_too_long_leads_back_to_itself(app, world):
    from test_account_pages_http import sign_in, text

    page = app.test_client()
    sign_in(page, world.unit_name)
    stale = page.post(
        FORM,
        data={"name": "陈志强", "action": "draft", "csrf_token": "expired"},
        headers={"Referer": f"http://localhost{FORM}"},
    )
    assert stale.status_code == 400 and "尚未保存" in text(stale)
    assert f'href="{FORM}"' in text(stale) and f'data-kept-form="{FORM}"' in text(stale)
    assert in_db(app, lambda s: s.scalars(select(Draft)).all()) == []
