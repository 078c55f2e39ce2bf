"""HTTP helpers the API and the pages share: downloads, where page errors are drawn, and
the app's URL rules."""

from __future__ import annotations

import io
from urllib.parse import quote

from flask import Response, request, send_file
from werkzeug.routing import Rule

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


# what a stored upload may do when opened as a page of its own: nothing (an image or a
# video opened alone is shown by the browser's own page, which loads the file itself)
STORED_FILE_POLICY = (
    "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"
)


def send_stored(meta: dict, stream) -> Response:
    """An uploaded file: images and videos inline, anything else as a download; never sniffed.

    `meta` is the file's description (name, content_type, size); `stream` its open bytes. A
    video answers byte ranges: players fetch it in parts (Safari plays nothing otherwise).
    """
    mimetype = meta["content_type"]
    if mimetype.startswith(("image/", "video/")):
        video = mimetype.startswith("video/")
        reply = send_file(
            stream, mimetype=mimetype, download_name=meta["name"], conditional=not video
        )
        reply.headers["Content-Disposition"] = f"inline; filename*=UTF-8''{quote(meta['name'])}"
        if video:
            reply.content_length = meta["size"]
            reply.make_conditional(
                request.environ, accept_ranges=True, complete_length=meta["size"]
            )
    else:
        extension = mimetype.rsplit("/", 1)[-1]
        reply = attachment(stream, mimetype, meta["name"], f"material.{extension}")
    reply.headers["X-Content-Type-Options"] = "nosniff"
    reply.headers["Content-Security-Policy"] = STORED_FILE_POLICY
    return reply


class LazyRule(Rule):
    """werkzeug's URL rule, its two URL builders compiled at their first use.

    werkzeug compiles each rule's builders (Python source, `compile`, `exec`) when the rule is
    added: 0.3 ms each, two a rule, about 170 ms of the 260-odd rules an app adds at start-up,
    a third of `create_app`. A worker builds URLs for few of them; the rest are never
    compiled. Matching is unchanged (its regular expression is compiled as before)."""

    def _compile_builder(self, append_unknown: bool = True):
        compiled = None

        def build(rule, *args, **kwargs):
            nonlocal compiled
            if compiled is None:  # two threads at once may both compile: the same function
                compiled = Rule._compile_builder(rule, append_unknown)
            return compiled(rule, *args, **kwargs)

        return build
