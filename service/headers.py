"""Security headers on every response, and the real client address behind proxies.

- `X-Content-Type-Options: nosniff`, `X-Frame-Options: DENY` (and CSP `frame-ancestors
  'none'`), `Referrer-Policy`, HSTS when the public URL is https.
- A Content-Security-Policy for the pages: scripts and styles from our own /static only,
  images from ourselves and `blob:` (the upload preview uses URL.createObjectURL), no
  frames, no plug-ins. Styles also allow 'unsafe-inline': the server-drawn SVG diagrams
  carry `<style>` elements and `style` attributes, and the templates use a few `style`
  attributes; inline styles cannot run script, and inline *scripts* stay refused.
- The Swagger UI page (/api/v1/docs) has one inline script of flask-smorest's template:
  its policy allows exactly that script, by the hash of the body actually sent.
- The `Server` header is the servers' (service/server.py): `memberflow`, never the
  software and its version.
"""

from __future__ import annotations

import base64
import hashlib
import re

from flask import Flask, Response, request
from werkzeug.middleware.proxy_fix import ProxyFix

from service.config import Config

SERVER_NAME = "memberflow"  # what the Server header says, under gunicorn and --dev alike
PAGE_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' blob:; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "base-uri 'self'; form-action 'self'; frame-src 'none'; frame-ancestors 'none'"
)
DOCS_PATH = "/api/v1/docs"
_INLINE_SCRIPT = re.compile(rb"<script>(.*?)</script>", re.S)


def docs_policy(body: bytes) -> str:
    """Swagger UI's policy: our scripts plus the page's own inline ones, by their hashes."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(body)
    )
    return (
        f"default-src 'self'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'"
    )


def install(app: Flask, config: Config) -> None:
    """Trust `config.proxies` proxies' X-Forwarded-* headers; add the headers to every reply."""
    if config.proxies:
        n = config.proxies
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n, x_port=n)
    hsts = "max-age=31536000" if config.https else None

    @app.after_request
    def _security_headers(reply: Response) -> Response:
        headers = reply.headers
        headers.setdefault("X-Content-Type-Options", "nosniff")
        headers.setdefault("X-Frame-Options", "DENY")
        headers.setdefault("Referrer-Policy", "same-origin")
        if "Content-Security-Policy" not in headers:
            if request.path == DOCS_PATH and reply.mimetype == "text/html":
                headers["Content-Security-Policy"] = docs_policy(reply.get_data())
            else:
                headers["Content-Security-Policy"] = PAGE_POLICY
        if hsts:
            headers.setdefault("Strict-Transport-Security", hsts)
        return reply
