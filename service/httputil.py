"""HTTP helpers the API and the pages share: downloads, and where page errors are drawn."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Response, send_file

# app.extensions key: the pages' error renderer, used for errors outside /api/
PAGE_ERRORS = "memberflow.page_errors"


def attachment(content, mimetype: str, filename: str, fallback: str) -> Response:
    """Send `content` (bytes or a binary file) as a download named `filename`.

    Chinese names travel in RFC 5987's filename*; `fallback` is the ASCII name for old clients.
    """
    body = io.BytesIO(content) if isinstance(content, bytes) else content
    reply = send_file(body, mimetype=mimetype, as_attachment=True, download_name=fallback)
    reply.headers["Content-Disposition"] = (
        f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename)}"
    )
    return reply
