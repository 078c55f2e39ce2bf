"""The pages' own CSS, script and icon, on a slow phone network: each page names them with
their content's version, and at that address they are kept for a year without asking again
(a revalidation is a round trip each, on 3G a third of a second); an address with another
version (a page from before a deploy) or none is revalidated every time."""

from __future__ import annotations

import re

ASSET = re.compile(r'(?:href|src)="(/static/[^"?]+\?v=[0-9a-f]+)"')


def fetched(client, address: str) -> tuple[int, str]:
    """The status and Cache-Control of a static file (its stream closed at once)."""
    with client.get(address) as reply:
        return reply.status_code, reply.headers.get("Cache-Control", "")


def test_the_assets_a_page_names_are_kept_a_year_and_others_revalidated(client):
    page = client.get("/lookup").get_data(as_text=True)
    named = ASSET.findall(page)
    assert {a.split("?")[0] for a in named} >= {
        "/static/app.css",
        "/static/app.js",
        "/static/favicon.svg",
    }
    for address in named:
        status, cache = fetched(client, address)
        assert status == 200
        assert "max-age=31536000" in cache and "immutable" in cache, (address, cache)
    for address in ("/static/app.css", "/static/app.css?v=0123456789"):
        status, cache = fetched(client, address)
        assert status == 200
        assert "immutable" not in cache and "no-cache" in cache, (address, cache)
