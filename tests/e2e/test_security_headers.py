"""Every reply carries the security headers; behind trusted proxies the rate limits see the
real client address, and without them a forged X-Forwarded-For changes nothing."""

from __future__ import annotations

import base64
import hashlib
import re

import pytest
from conftest import make_app

LOOKUP = "/api/v1/public/certificates?number=GD-NOPE"


def policy(reply) -> dict[str, str]:
    directives = (
        d.strip().split(None, 1) for d in reply.headers["Content-Security-Policy"].split(";")
    )
    return {d[0]: d[1] if len(d) > 1 else "" for d in directives if d and d[0]}


def test_pages_and_api_replies_carry_the_security_headers_and_no_server_banner(client, world):
    for path in ("/login", "/api/v1/processes", "/no-such-page", "/api/v1/openapi.json"):
        reply = client.get(path)
        assert reply.headers["X-Content-Type-Options"] == "nosniff", path
        assert reply.headers["X-Frame-Options"] == "DENY", path
        assert reply.headers["Referrer-Policy"] == "same-origin", path
        assert "Strict-Transport-Security" not in reply.headers, path  # plain http here
        assert "Werkzeug" not in reply.headers.get(
            "Server", ""
        ) and "Python" not in reply.headers.get("Server", "")
        rules = policy(reply)
        assert rules["frame-ancestors"] == "'none'", path
        assert rules["script-src"] == "'self'", path  # no inline script, no eval
        assert "'unsafe-inline'" not in rules["default-src"]
        assert rules["img-src"] == "'self' blob:"  # the upload preview's object URLs
        assert rules["object-src"] == "'none'"


def test_the_pages_use_no_inline_script_or_event_handler(client, world):
    from conftest import PASSWORD

    token = re.search(
        r'name="csrf_token" value="([^"]+)"', client.get("/login").get_data(as_text=True)
    )[1]
    client.post("/login", data={"username": "jigou", "password": PASSWORD, "csrf_token": token})
    for path in ("/login", "/workbench/todo", "/forms", "/help", "/lookup"):
        html = client.get(path).get_data(as_text=True)
        assert re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", html) == [], path
        assert re.findall(r"\son[a-z]+\s*=", html) == [], path


def test_the_api_docs_allow_exactly_their_own_inline_script(client):
    reply = client.get("/api/v1/docs")
    html = reply.get_data()
    scripts = re.findall(rb"<script>(.*?)</script>", html, re.S)
    assert len(scripts) == 1
    digest = base64.b64encode(hashlib.sha256(scripts[0]).digest()).decode()
    rules = policy(reply)
    assert rules["script-src"] == f"'self' 'sha256-{digest}'"
    assert rules["frame-ancestors"] == "'none'"


def test_hsts_is_sent_when_the_public_address_is_https(db_url, tmp_path):
    app = make_app(db_url, tmp_path, public_base_url="https://hy.gdjsjl.org")
    reply = app.test_client().get("/login")
    assert reply.headers["Strict-Transport-Security"] == "max-age=31536000"


def lookups(client, addresses: list[str]) -> list[int]:
    return [client.get(LOOKUP, headers={"X-Forwarded-For": a}).status_code for a in addresses]


@pytest.mark.parametrize("proxies", [1, 2])
def test_behind_trusted_proxies_each_real_client_has_its_own_rate_limit(db_url, tmp_path, proxies):
    app = make_app(db_url, tmp_path, lookup_rate="2 per minute", proxies=proxies)
    client = app.test_client()
    chain = lambda client_ip: ", ".join([client_ip] + ["10.0.0.9"] * (proxies - 1))  # noqa: E731
    assert lookups(client, [chain("203.0.113.5")] * 3) == [404, 404, 429]
    assert lookups(client, [chain("198.51.100.7")] * 2) == [404, 404]
    # a client cannot pose as another by adding addresses in front of the proxies' own
    spoofed = "192.0.2.1, " + chain("203.0.113.5")
    assert lookups(client, [spoofed]) == [429]


def test_without_trusted_proxies_a_forwarded_address_is_ignored(db_url, tmp_path):
    app = make_app(db_url, tmp_path, lookup_rate="2 per minute")
    client = app.test_client()
    assert lookups(client, ["203.0.113.5", "198.51.100.7", "192.0.2.1"]) == [404, 404, 429]
