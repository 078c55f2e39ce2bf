"""A bearer token's signature is checked once per process and kept (signin._signed); what can
change is checked on every use: its age, its account's version, its own sign-out. And the
API's requests open no page session (they are signed in by token alone)."""

from __future__ import annotations

from conftest import make_app, seed_world, token_headers
from flask import session
from flask.sessions import NullSession, SecureCookieSession

ME = "/api/v1/auth/me"


def test_a_token_whose_signature_was_kept_still_expires(db_url, tmp_path):
    long = make_app(db_url, tmp_path / "long", token_ttl_seconds=3600)
    world = seed_world(long)
    client = long.test_client()
    headers = token_headers(client, world.logins["unit"])
    assert client.get(ME, headers=headers).status_code == 200  # its signature kept now
    # the same secret and database, and a lifetime already over for every token
    short = make_app(db_url, tmp_path / "short", token_ttl_seconds=-1)
    reply = short.test_client().get(ME, headers=headers)
    assert reply.status_code == 401 and reply.get_json()["message"] == "登录已过期，请重新登录"
    assert client.get(ME, headers=headers).status_code == 200  # still young where it lives


def test_a_changed_or_foreign_token_is_refused_beside_a_kept_one(db_url, tmp_path):
    ours = make_app(db_url, tmp_path / "ours")
    world = seed_world(ours)
    client = ours.test_client()
    headers = token_headers(client, world.logins["unit"])
    token = headers["Authorization"].removeprefix("Bearer ")
    assert client.get(ME, headers=headers).status_code == 200
    payload, stamp, signature = token.split(".")
    flipped = ("B" if signature[0] == "A" else "A") + signature[1:]  # not the padding bits
    changed = f"{payload}.{stamp}.{flipped}"
    for bad in (changed, token + "x", token.split(".")[0], "not-a-token"):
        reply = client.get(ME, headers={"Authorization": f"Bearer {bad}"})
        assert reply.status_code == 401, bad
        assert reply.get_json()["message"] == "登录凭证无效，请重新登录", bad
    # the same token where another secret signs: not ours there, though kept here
    foreign = make_app(db_url, tmp_path / "foreign", secret_key="another-secret")
    reply = foreign.test_client().get(ME, headers=headers)
    assert reply.status_code == 401 and reply.get_json()["message"] == "登录凭证无效，请重新登录"


def test_a_kept_token_signed_out_is_refused(client, world):
    headers = token_headers(client, world.logins["unit"])
    assert client.get(ME, headers=headers).status_code == 200
    assert client.post("/api/v1/auth/logout", headers=headers).status_code in (200, 204)
    reply = client.get(ME, headers=headers)
    assert reply.status_code == 401


def test_the_scheme_is_read_in_any_case(client, world):
    token = token_headers(client, world.logins["unit"])["Authorization"].removeprefix("Bearer ")
    for scheme in ("bearer", "BEARER", "bEaReR"):
        reply = client.get(ME, headers={"Authorization": f"{scheme} {token}"})
        assert reply.status_code == 200, (scheme, reply.get_json())
    for other in (f"Basic {token}", token, f"Bearer{token}"):
        reply = client.get(ME, headers={"Authorization": other})
        assert reply.status_code == 401 and "缺少 Authorization" in reply.get_json()["message"]


def test_the_api_opens_no_page_session_and_the_pages_do(app):
    with app.test_request_context("/api/v1/processes"):
        assert isinstance(session._get_current_object(), NullSession)
    with app.test_request_context("/login"):
        assert isinstance(session._get_current_object(), SecureCookieSession)
